//! The absolute base URL given to players in playlists and guides:
//! `server.public_url` when set, else the request's `Host` (and, only when
//! `server.trust_forwarded_headers` is on, `X-Forwarded-Host`/`-Proto`). Never
//! `0.0.0.0`, and never a Host header that is not a host (`[::1`, `h:0`, quotes):
//! those fall back to the address the listener is bound to.

use std::net::Ipv6Addr;

use acextream_core::Settings;
use actix_web::HttpRequest;
use url::Url;

/// `scheme://host[:port]` of the public side, as a player should reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or IP (IPv6 in brackets).
    pub host: String,
    /// Port, when not the scheme's default.
    pub port: Option<u16>,
}

impl BaseUrl {
    /// The base URL for `req`.
    pub fn of(req: &HttpRequest, settings: &Settings) -> BaseUrl {
        if let Some(url) = &settings.server.public_url
            && let Some(host) = url.host_str()
        {
            // host_str already brackets an IPv6 address.
            return BaseUrl {
                scheme: url.scheme().to_owned(),
                host: host.to_owned(),
                port: url.port(),
            };
        }
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        // Proxies append to the forwarded headers: the first entry is the client's.
        let forwarded = |name: &str| {
            settings
                .server
                .trust_forwarded_headers
                .then(|| header(name))
                .flatten()
                .map(|v| v.split(',').next().unwrap_or("").trim())
        };
        let scheme = forwarded("x-forwarded-proto")
            .filter(|p| *p == "http" || *p == "https")
            .unwrap_or("http")
            .to_owned();
        let authority = forwarded("x-forwarded-host")
            .and_then(parse_authority)
            .or_else(|| header("host").and_then(parse_authority));
        let local = req.app_config().local_addr();
        let (host, port) = match authority {
            Some(a) => a,
            None => {
                let ip = local.ip();
                let host = if ip.is_unspecified() {
                    "localhost".to_owned()
                } else if ip.is_ipv6() {
                    format!("[{ip}]")
                } else {
                    ip.to_string()
                };
                (host, Some(local.port()))
            }
        };
        let host = if host == "0.0.0.0" || host == "[::]" {
            "localhost".to_owned()
        } else {
            host
        };
        let default_port = if scheme == "https" { 443 } else { 80 };
        BaseUrl {
            scheme,
            host,
            port: port.filter(|p| *p != default_port),
        }
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{p}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// The port as players expect it in `server_info` (the default when implicit).
    pub fn port_or_default(&self) -> u16 {
        self.port
            .unwrap_or(if self.scheme == "https" { 443 } else { 80 })
    }
}

/// `host[:port]` of a `Host` (or `X-Forwarded-Host`) value a player could really
/// have connected to: a DNS name, an IPv4 address or a bracketed IPv6 address,
/// and a port 1–65535; the host as the `url` crate writes it (lowercase, IPv6
/// compressed). Anything else (`[::1`, `:::::`, `h:0`, `a@b`, quotes) is `None`,
/// and the caller falls back to the listener's own address: a header copied into
/// every playlist URL must not be able to break them or inject markup.
fn parse_authority(a: &str) -> Option<(String, Option<u16>)> {
    if a.is_empty() || a.len() > 255 {
        return None;
    }
    let (host, port) = match a.strip_prefix('[') {
        Some(rest) => {
            let (ip, tail) = rest.split_once(']')?;
            ip.parse::<Ipv6Addr>().ok()?;
            let port = match tail {
                "" => None,
                t => Some(t.strip_prefix(':')?),
            };
            (&a[..ip.len() + 2], port)
        }
        None => match a.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        },
    };
    let port = match port {
        Some(p) => Some(parse_port(p)?),
        None => None,
    };
    if !host.starts_with('[') && !is_host_name(host) {
        return None;
    }
    // Names that look like IPv4 but are not one (`1.2.3.999`) are refused by the
    // URL parser players use; ask it, and keep its spelling of the host.
    let url = Url::parse(&format!("http://{host}/")).ok()?;
    Some((url.host_str()?.to_owned(), port))
}

/// 1 to 5 digits, 1–65535.
fn parse_port(p: &str) -> Option<u16> {
    let digits = !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| p.parse().ok()).flatten().filter(|p| *p != 0)
}

/// Dot-separated labels of letters, digits, `-` and `_` (one trailing dot allowed).
fn is_host_name(h: &str) -> bool {
    let h = h.strip_suffix('.').unwrap_or(h);
    !h.is_empty()
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn settings() -> Settings {
        Settings::default()
    }

    #[test]
    fn the_host_header_is_used_and_default_ports_dropped() {
        let req = TestRequest::default()
            .insert_header(("host", "tv.example.org:58055"))
            .to_http_request();
        assert_eq!(
            BaseUrl::of(&req, &settings()).origin(),
            "http://tv.example.org:58055"
        );
        let req = TestRequest::default()
            .insert_header(("host", "tv.example.org"))
            .to_http_request();
        assert_eq!(
            BaseUrl::of(&req, &settings()).origin(),
            "http://tv.example.org"
        );
    }

    #[test]
    fn forwarded_headers_count_only_when_trusted() {
        let req = TestRequest::default()
            .insert_header(("host", "internal:58055"))
            .insert_header(("x-forwarded-host", "tv.example.org"))
            .insert_header(("x-forwarded-proto", "https"))
            .to_http_request();
        assert_eq!(
            BaseUrl::of(&req, &settings()).origin(),
            "http://internal:58055"
        );
        let mut s = settings();
        s.server.trust_forwarded_headers = true;
        assert_eq!(BaseUrl::of(&req, &s).origin(), "https://tv.example.org");
    }

    #[test]
    fn public_url_wins_and_hostile_or_unspecified_hosts_are_never_used() {
        let mut s = settings();
        s.server.public_url = Some("https://iptv.example.net:8443".parse().unwrap());
        let req = TestRequest::default()
            .insert_header(("host", "x"))
            .to_http_request();
        assert_eq!(
            BaseUrl::of(&req, &s).origin(),
            "https://iptv.example.net:8443"
        );
        s.server.public_url = Some("http://[::1]:58055".parse().unwrap());
        assert_eq!(BaseUrl::of(&req, &s).origin(), "http://[::1]:58055");
        let req = TestRequest::default()
            .insert_header(("host", "evil\"><script>"))
            .to_http_request();
        let origin = BaseUrl::of(&req, &settings()).origin();
        assert!(
            !origin.contains('"') && !origin.contains("0.0.0.0"),
            "{origin}"
        );
        for bad in [
            "[::1",
            ":::::",
            "h:0",
            "h:",
            "h:65536",
            "a@b",
            "a b",
            "1.2.3.999",
            "h:1:2",
        ] {
            let req = TestRequest::default()
                .insert_header(("host", bad))
                .to_http_request();
            let base = BaseUrl::of(&req, &settings());
            // TestRequest's listener is 127.0.0.1:8080.
            assert_eq!(base.origin(), "http://127.0.0.1:8080", "Host {bad:?}");
        }
        let req = TestRequest::default()
            .insert_header(("host", "[::0001]:58055"))
            .to_http_request();
        assert_eq!(
            BaseUrl::of(&req, &settings()).origin(),
            "http://[::1]:58055"
        );
        let req = TestRequest::default()
            .insert_header(("host", "TV.Example.org."))
            .to_http_request();
        assert_eq!(
            BaseUrl::of(&req, &settings()).origin(),
            "http://tv.example.org."
        );
        let req = TestRequest::default()
            .insert_header(("host", "0.0.0.0:58055"))
            .to_http_request();
        assert_eq!(
            BaseUrl::of(&req, &settings()).origin(),
            "http://localhost:58055"
        );
    }
}
