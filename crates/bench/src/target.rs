//! Stream URLs: the `{id}` template, a minimal `http://` parser, and the rule that
//! this tool only ever sends load to the machine it runs on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{Context as _, bail};

/// A parsed `http://host[:port]/path?query` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where to connect (always a loopback address).
    pub addr: SocketAddr,
    /// The `Host` header value, as written in the URL.
    pub host_header: String,
    /// Path and query, as sent in the request line.
    pub path_and_query: String,
}

/// Parses an `http://` URL whose host is loopback: `127.0.0.0/8`, `localhost` or
/// `[::1]`. Anything else is refused, because this machine may only load itself.
pub fn parse_loopback_url(url: &str) -> anyhow::Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("only http:// URLs are supported: {}", mask_secrets(url)))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    if authority.contains('@') {
        bail!("user info in the URL is not supported");
    }
    let (host, port) = split_host_port(authority)?;
    let ip = loopback_ip(host).with_context(|| {
        format!(
            "refusing {host:?}: only loopback targets (127.0.0.0/8, localhost, [::1]) are allowed"
        )
    })?;
    Ok(Target {
        addr: SocketAddr::new(ip, port),
        host_header: authority.to_string(),
        path_and_query: path,
    })
}

fn split_host_port(authority: &str) -> anyhow::Result<(&str, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').context("unclosed [ in the URL's host")?;
        let host = &rest[..end];
        match &rest[end + 1..] {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').context("garbage after ]")?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .with_context(|| format!("bad port {p:?}"))?,
        None => 80,
    };
    if host.is_empty() {
        bail!("the URL has no host");
    }
    Ok((host, port))
}

/// The address to connect to when `host` is a loopback name or address.
pub fn loopback_ip(host: &str) -> Option<IpAddr> {
    if host.eq_ignore_ascii_case("localhost") {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    match host.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) if v4.octets()[0] == 127 => Some(IpAddr::V4(v4)),
        IpAddr::V6(v6) if v6 == Ipv6Addr::LOCALHOST => Some(IpAddr::V6(v6)),
        _ => None,
    }
}

/// The stream URL of channel `id`: the template with every `{id}` replaced.
pub fn expand(template: &str, id: &str) -> String {
    template.replace("{id}", id)
}

/// The URL with its credentials masked, so a report or an error message never
/// carries one: the values of `password`/`pass`/`token` query parameters, the
/// password of an Xtream path (`/live/{user}/{pass}/…`) and the session token of an
/// HLS path (`/hls/{token}/…`).
pub fn mask_secrets(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = mask_path(base);
    let Some(query) = query else {
        return base;
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _))
                if ["password", "pass", "token"].contains(&k.to_ascii_lowercase().as_str()) =>
            {
                format!("{k}=***")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", masked.join("&"))
}

/// Masks the segment after `/live/{user}/` and after `/hls/` in a URL without query.
fn mask_path(base: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').collect();
    let mut i = 0;
    while i < parts.len() {
        match parts[i] {
            "live" if i + 3 < parts.len() => {
                parts[i + 2] = "***";
                i += 3;
            }
            "hls" if i + 2 < parts.len() => {
                parts[i + 1] = "***";
                i += 2;
            }
            _ => i += 1,
        }
    }
    parts.join("/")
}

/// The absolute URL of `uri` found in the playlist at `base` (RFC 8216 §4.1: URIs
/// may be relative to the playlist's own URL).
pub fn resolve(base: &str, uri: &str) -> String {
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return uri.to_string();
    }
    if let Some(rest) = uri.strip_prefix("//") {
        return format!("http://{rest}");
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..authority_end]);
    if uri.starts_with('/') {
        return format!("{origin}{uri}");
    }
    let path = &rest[authority_end..];
    let path = path.split('?').next().unwrap_or_default();
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{origin}{dir}{uri}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_accepted() {
        let t = parse_loopback_url("http://127.0.0.1:58055/ace/getstream?id=ab&x=1").unwrap();
        assert_eq!(t.addr, "127.0.0.1:58055".parse().unwrap());
        assert_eq!(t.host_header, "127.0.0.1:58055");
        assert_eq!(t.path_and_query, "/ace/getstream?id=ab&x=1");

        let t = parse_loopback_url("http://localhost/x").unwrap();
        assert_eq!(t.addr, "127.0.0.1:80".parse().unwrap());

        let t = parse_loopback_url("http://127.3.4.5:9").unwrap();
        assert_eq!(t.addr, "127.3.4.5:9".parse().unwrap());
        assert_eq!(t.path_and_query, "/");

        let t = parse_loopback_url("http://[::1]:8001?id=1").unwrap();
        assert_eq!(t.addr, "[::1]:8001".parse().unwrap());
        assert_eq!(t.path_and_query, "/?id=1");
        assert_eq!(t.host_header, "[::1]:8001");
    }

    #[test]
    fn other_hosts_are_refused() {
        for url in [
            "http://10.0.0.1:80/",
            "http://192.168.1.2/",
            "http://example.org/",
            "http://localhost.example.org/",
            "http://[::2]:80/",
            "http://0.0.0.0:80/",
            "http://128.0.0.1/",
        ] {
            let err = parse_loopback_url(url).unwrap_err().to_string();
            assert!(err.contains("loopback"), "{url}: {err}");
        }
    }

    #[test]
    fn malformed_urls_are_refused() {
        assert!(parse_loopback_url("https://127.0.0.1/").is_err());
        assert!(parse_loopback_url("127.0.0.1:80/").is_err());
        assert!(parse_loopback_url("http://127.0.0.1:99999/").is_err());
        assert!(parse_loopback_url("http://:80/").is_err());
        assert!(parse_loopback_url("http://user@127.0.0.1/").is_err());
    }

    #[test]
    fn template_and_masking() {
        let url = expand(
            "http://127.0.0.1/ace/getstream?id={id}&password=s3cret",
            "abc",
        );
        assert_eq!(url, "http://127.0.0.1/ace/getstream?id=abc&password=s3cret");
        assert_eq!(
            mask_secrets(&url),
            "http://127.0.0.1/ace/getstream?id=abc&password=***"
        );
        assert_eq!(mask_secrets("http://127.0.0.1/x"), "http://127.0.0.1/x");
    }

    #[test]
    fn path_credentials_and_hls_tokens_are_masked() {
        assert_eq!(
            mask_secrets("http://127.0.0.1:8000/live/bench/s3cret/17.m3u8"),
            "http://127.0.0.1:8000/live/bench/***/17.m3u8"
        );
        assert_eq!(
            mask_secrets("http://127.0.0.1:8000/hls/abcdef/12.ts?token=t"),
            "http://127.0.0.1:8000/hls/***/12.ts?token=***"
        );
        assert_eq!(
            mask_secrets("/hls/abcdef/index.m3u8"),
            "/hls/***/index.m3u8"
        );
        // Too short to hold a credential: left alone.
        assert_eq!(mask_secrets("http://h/live/x"), "http://h/live/x");
        assert_eq!(mask_secrets("http://h/hls/"), "http://h/hls/");
    }

    #[test]
    fn playlist_uris_resolve_against_the_playlist() {
        let base = "http://127.0.0.1:9/hls/tok/index.m3u8?x=1";
        assert_eq!(
            resolve(base, "http://127.0.0.1:9/hls/tok/5.ts"),
            "http://127.0.0.1:9/hls/tok/5.ts"
        );
        assert_eq!(resolve(base, "5.ts"), "http://127.0.0.1:9/hls/tok/5.ts");
        assert_eq!(
            resolve(base, "/other/5.ts"),
            "http://127.0.0.1:9/other/5.ts"
        );
        assert_eq!(resolve(base, "//127.0.0.2/a.ts"), "http://127.0.0.2/a.ts");
        assert_eq!(
            resolve("http://127.0.0.1:9", "a.ts"),
            "http://127.0.0.1:9/a.ts"
        );
    }
}
