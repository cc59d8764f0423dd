//! Fuzzing harnesses of what the web crate reads from the network before any
//! account is looked up. The same functions run under `cargo fuzz` (fuzz/) and
//! over the saved inputs under `cargo test`. Not part of the API: hidden from the
//! docs.
//!
//! `xtream`: the Xtream parameters (query string, then a form body), the client
//! address, and the base URL put into playlists and `server_info` (from `Host` and
//! the forwarded headers). Input: a flags byte (bit 0: trust forwarded headers,
//! bit 1: form body), then four fields separated by `0xff` (a byte UTF-8 never
//! uses): the query string, the `Host` header, the forwarded headers' value, and
//! the body.
//!
//! `hdhr`: one datagram, as the tuner's UDP discovery and SSDP responders get it.
//!
//! `timeshift`: a catch-up request's text (START, path, query, `Range`).

use acextream_core::Settings;
use actix_web::http::header::HeaderValue;
use actix_web::test::TestRequest;

use crate::net::client_ip;
use crate::xtream::base_url::BaseUrl;
use crate::xtream::creds::XtreamParams;

/// Runs one request (see the module doc).
pub fn xtream(data: &[u8]) {
    let [flags, rest @ ..] = data else {
        return;
    };
    let mut fields = rest.splitn(4, |b| *b == 0xff);
    let query = fields.next().unwrap_or_default();
    let host = fields.next().unwrap_or_default();
    let forwarded = fields.next().unwrap_or_default();
    let body = fields.next().unwrap_or_default();

    let mut settings = Settings::default();
    settings.server.trust_forwarded_headers = flags & 1 != 0;
    let mut req = TestRequest::default();
    // A target the HTTP parser would refuse never reaches a handler. What it
    // takes may still lose a `#fragment`: the query is what the URI keeps.
    let target = std::str::from_utf8(query)
        .ok()
        .map(|q| format!("/player_api.php?{q}"))
        .filter(|t| t.parse::<actix_web::http::Uri>().is_ok());
    let mut query = None;
    if let Some(t) = &target {
        req = req.uri(t);
        query = t
            .parse::<actix_web::http::Uri>()
            .ok()
            .and_then(|u| u.query().map(str::to_owned));
    }
    for (name, value) in [
        ("host", host),
        ("x-forwarded-host", forwarded),
        ("x-forwarded-proto", forwarded),
        ("x-forwarded-for", forwarded),
    ] {
        if let Ok(v) = HeaderValue::from_bytes(value) {
            req = req.insert_header((name, v));
        }
    }
    if flags & 2 != 0 {
        req = req.insert_header(("content-type", "application/x-www-form-urlencoded"));
    }
    let req = req.to_http_request();

    let params = XtreamParams::from_request(&req, body);
    let from_query: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    // The query wins; the body only adds what the query lacks.
    for (k, v) in &from_query {
        let first = from_query.iter().find(|(q, _)| q == k).map(|(_, v)| v);
        assert_eq!(params.get(k), first.map(String::as_str), "{k}={v}");
    }
    if flags & 2 == 0 {
        assert_eq!(params.0, from_query);
    }
    assert!(!client_ip(&req, settings.server.trust_forwarded_headers).is_empty());

    base_url(&req, &settings);
    settings.server.public_url = url::Url::parse("https://tv.example.org:8443/").ok();
    let base = BaseUrl::of(&req, &settings);
    assert_eq!(
        base.origin(),
        "https://tv.example.org:8443",
        "public_url wins"
    );
}

/// The base URL is always a well-formed origin, whatever the headers said.
fn base_url(req: &actix_web::HttpRequest, settings: &Settings) {
    let base = BaseUrl::of(req, settings);
    let origin = base.origin();
    assert!(
        !origin
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'<>\\`".contains(c)),
        "{origin}"
    );
    let url = url::Url::parse(&origin);
    let Ok(url) = url else {
        panic!("base URL {origin:?} does not parse");
    };
    assert_eq!(url.scheme(), base.scheme, "{origin}");
    assert_eq!(url.host_str(), Some(base.host.as_str()), "{origin}");
    assert_eq!(url.port(), base.port, "{origin}");
    assert_eq!(url.path(), "/", "{origin}");
    assert!(
        url.username().is_empty() && url.password().is_none(),
        "{origin}"
    );
    assert!(
        url.query().is_none() && url.fragment().is_none(),
        "{origin}"
    );
    assert_eq!(
        format!("{origin}/"),
        url.as_str(),
        "the origin is already normal"
    );
    assert_ne!(base.port_or_default(), 0, "{origin}");
    assert!(base.host != "0.0.0.0" && base.host != "[::]", "{origin}");
}

/// Runs one datagram through both discovery parsers of the HDHomeRun tuner
/// (UDP 65001 and SSDP 1900): neither may panic, a packet that decodes
/// re-encodes to the same records, and an SSDP reply built from a search never
/// gains a header the search smuggled in.
pub fn hdhr(data: &[u8]) {
    use crate::hdhr::{discovery, ssdp};

    if let Ok(packet) = discovery::parse_packet(data) {
        let again = discovery::encode_packet(packet.packet_type, &packet.tlvs);
        assert_eq!(discovery::parse_packet(&again).as_ref(), Ok(&packet));
    }
    if let Ok(request) = discovery::parse_request(data) {
        request.matches(discovery::with_check_digit(0x1234_5670));
    }
    if let Ok(search) = ssdp::parse_msearch(data) {
        let udn = "2f9c0d1e-0000-4000-8000-000000000000";
        for (st, usn) in ssdp::search_replies(&search.st, udn) {
            let reply = ssdp::encode_response(&st, &usn, "http://127.0.0.1:8000/device.xml");
            assert_eq!(reply.matches("\r\n").count(), 9, "{reply:?}");
            assert!(
                reply.ends_with("\r\n\r\n") && !reply.contains('\0'),
                "{reply:?}"
            );
        }
    }
}

/// Runs one timeshift request's text through the catch-up parsers: START (in a
/// zone with DST), a path split on `/`, a query string and a `Range` header —
/// none may panic, and an accepted range lies inside the body.
pub fn timeshift(data: &[u8]) {
    use crate::timeshift::request::{self, RangeOutcome};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let tz = jiff::tz::TimeZone::get("Europe/Madrid").unwrap_or(jiff::tz::TimeZone::UTC);
    let _ = request::parse_start(text, &tz);
    let parts: Vec<&str> = text.split('/').collect();
    let _ = request::parse_timeshift_path(&parts, &tz);
    let _ = request::parse_timeshifts_path(&parts, &tz);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    let _ = request::parse_timeshift_query(&pairs, &tz);
    for len in [0u64, 1, 188, 1 << 40] {
        if let RangeOutcome::Partial {
            start,
            end_inclusive,
        } = request::parse_range(text, len)
        {
            assert!(
                start <= end_inclusive && end_inclusive < len,
                "{text:?} of {len}"
            );
        }
    }
}
