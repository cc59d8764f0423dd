//! Who is asking: the client's IP, honouring `X-Forwarded-For` only when trusted.

use actix_web::HttpRequest;

/// The player's IP address as text (`-` when unknown).
///
/// With `trust_forwarded`, the address is the **last** entry of `X-Forwarded-For`:
/// the one our own reverse proxy appended for the peer it saw. Entries before it
/// came from the client and are whatever it chose to send — taking the first would
/// let a guesser pick a fresh address per request and walk past the login brake.
pub fn client_ip(req: &HttpRequest, trust_forwarded: bool) -> String {
    if trust_forwarded
        && let Some(forwarded) = req
            .headers()
            .get_all("x-forwarded-for")
            .last()
            .and_then(|v| v.to_str().ok())
            .and_then(last_forwarded)
    {
        return forwarded.to_owned();
    }
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "-".into())
}

/// The last non-empty entry of an `X-Forwarded-For` value.
fn last_forwarded(value: &str) -> Option<&str> {
    value.rsplit(',').map(str::trim).find(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_appended_entry_wins_over_what_the_client_sent() {
        assert_eq!(last_forwarded("203.0.113.7"), Some("203.0.113.7"));
        assert_eq!(
            last_forwarded("1.2.3.4, 5.6.7.8, 203.0.113.7"),
            Some("203.0.113.7")
        );
        assert_eq!(last_forwarded("203.0.113.7, "), Some("203.0.113.7"));
        assert_eq!(last_forwarded(" , "), None);
    }
}
