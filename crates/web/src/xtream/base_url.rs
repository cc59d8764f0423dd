//! The absolute base URL given to players in playlists and guides:
//! `server.public_url` when set, else the request's `Host` (and, only when
//! `server.trust_forwarded_headers` is on, `X-Forwarded-Host`/`-Proto`). Never
//! `0.0.0.0`, and never a Host header that could break out of an attribute.

use acextream_core::Settings;
use actix_web::HttpRequest;

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
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_owned()
            };
            return BaseUrl {
                scheme: url.scheme().to_owned(),
                host,
                port: url.port(),
            };
        }
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let trusted = settings.server.trust_forwarded_headers;
        let scheme = trusted
            .then(|| header("x-forwarded-proto"))
            .flatten()
            .filter(|p| p == "http" || p == "https")
            .unwrap_or_else(|| "http".to_owned());
        let authority = trusted
            .then(|| header("x-forwarded-host"))
            .flatten()
            .or_else(|| header("host"))
            .filter(|h| is_safe_authority(h));
        let local = req.app_config().local_addr();
        let (host, port) = match authority {
            Some(a) => split_authority(&a),
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

/// Host names, IPv4 and bracketed IPv6, with an optional port; nothing else.
fn is_safe_authority(a: &str) -> bool {
    a.len() <= 255
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
}

fn split_authority(a: &str) -> (String, Option<u16>) {
    if let Some(rest) = a.strip_prefix('[') {
        // [v6]:port
        if let Some((ip, tail)) = rest.split_once(']') {
            let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
            return (format!("[{ip}]"), port);
        }
    }
    match a.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h.to_owned(), p.parse().ok()),
        _ => (a.to_owned(), None),
    }
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
        let req = TestRequest::default()
            .insert_header(("host", "evil\"><script>"))
            .to_http_request();
        let origin = BaseUrl::of(&req, &settings()).origin();
        assert!(
            !origin.contains('"') && !origin.contains("0.0.0.0"),
            "{origin}"
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
