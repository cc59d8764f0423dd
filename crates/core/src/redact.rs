//! Masks credentials before anything reaches a log line.
//!
//! Xtream puts passwords in URLs by design (`/live/u/p/1.ts`, `?password=`), and
//! errors from HTTP clients quote URLs whole. So redaction happens twice: precisely
//! on request URIs ([`redact_uri`], used by the access log), and as a last line of
//! defence on every formatted log line ([`redact_text`], applied by the log writer),
//! which over-masks rather than miss.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What a masked secret is replaced with.
pub const MASK: &str = "***";

/// Query parameters whose values are secrets.
const SECRET_PARAMS: &[&str] = &[
    "password", "pass", "passwd", "pwd", "token", "api_key", "apikey",
];

// First path segments of routes that are not `/{user}/{password}/{id}`.
use crate::accounts::RESERVED_SEGMENTS as NOT_LEGACY;

/// Masks the password in a request's path and query (`/live/u/p/1.ts?password=x`).
pub fn redact_uri(path_and_query: &str) -> Cow<'_, str> {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let path = redact_path(path);
    let query = query.map(redact_query);
    match (&path, &query) {
        (Cow::Borrowed(_), None | Some(Cow::Borrowed(_))) => Cow::Borrowed(path_and_query),
        _ => match query {
            Some(q) => Cow::Owned(format!("{path}?{q}")),
            None => Cow::Owned(path.into_owned()),
        },
    }
}

/// `/live/u/p/…`, `/movie/u/p/…`, `/series/u/p/…`, `/timeshift[s]/u/p/…`, the
/// catch-up segments' `/archive/u/p/…` and the
/// legacy `/{u}/{p}/{id}` keep the user name and lose the password (so does a
/// tuner's `/hdhr/u/p[/…]`, whose password may be a tuner token); `/hls/t/…`
/// loses its ticket.
fn redact_path(path: &str) -> Cow<'_, str> {
    let segments: Vec<&str> = path.split('/').collect();
    // segments[0] is "" for an absolute path.
    if segments.len() < 4 || !segments[0].is_empty() {
        return Cow::Borrowed(path);
    }
    // The router percent-decodes the path before matching (`/%6Cive/` is the
    // `/live/` route), so the route is recognised on the decoded segment.
    let first = percent_decoded(segments[1]);
    let first = first.as_str();
    let password_at = if matches!(
        first,
        "live" | "movie" | "series" | "timeshift" | "timeshifts" | "archive"
    ) {
        (segments.len() >= 5).then_some(3)
    } else if first == "hdhr" {
        // `/hdhr/u/p` is itself a tuner's base URL: masked with or without a tail.
        Some(3)
    } else if first == "hls" {
        // `/hls/<ticket>/…`: a ticket is no password, but it opens the stream.
        Some(2)
    } else if segments.len() == 4 && !NOT_LEGACY.contains(&first) && !segments[3].is_empty() {
        Some(2)
    } else {
        None
    };
    match password_at {
        Some(i) if segments[i] != MASK => {
            let mut out = segments.clone();
            out[i] = MASK;
            Cow::Owned(out.join("/"))
        }
        _ => Cow::Borrowed(path),
    }
}

/// `%XX` escapes decoded (lossily: only ever compared with route names).
fn percent_decoded(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn redact_query(query: &str) -> Cow<'_, str> {
    let mut changed = false;
    let parts: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !v.is_empty() && is_secret_param(k) => {
                changed = true;
                Cow::Owned(format!("{k}={MASK}"))
            }
            _ => Cow::Borrowed(pair),
        })
        .collect();
    if changed {
        Cow::Owned(parts.join("&"))
    } else {
        Cow::Borrowed(query)
    }
}

/// Whether a raw query key names a secret. Parsers percent-decode keys
/// (`passwor%64` is `password` to them), so the decoded key is judged, by its
/// leading name: `password%00` and `password[]` are masked too (over-masking a
/// key that is not quite a password costs nothing).
fn is_secret_param(key: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(key.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default();
    let name_len = decoded
        .bytes()
        .take_while(|b| b.is_ascii_alphabetic() || *b == b'_')
        .count();
    let name = &decoded[..name_len];
    SECRET_PARAMS.iter().any(|p| name.eq_ignore_ascii_case(p))
}

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let rules: [(&str, &str); 7] = [
        // ?password=x / &pwd=x / password=x in free text
        (
            r#"(?i)(^|[?&\s;,"'(])((?:password|pass|passwd|pwd|token|api_key|apikey)=)[^&\s"',;)]+"#,
            "${1}${2}***",
        ),
        // "password": "x" in JSON or Debug output
        (
            r#"(?i)("?(?:password|passwd|pwd|token)"?\s*[:=]\s*")[^"]*""#,
            "${1}***\"",
        ),
        // scheme://user:secret@host
        (
            r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@",
            "${1}***@",
        ),
        // Authorization: Basic xxx / Bearer xxx
        (
            r"(?i)\b((?:basic|bearer)\s+)[A-Za-z0-9+/=._~-]{6,}",
            "${1}***",
        ),
        // /live/u/p/… and friends
        (
            r"(/(?:live|movie|series|timeshifts?|archive)/[^/\s?#]+/)[^/\s?#]+(/)",
            "${1}***${2}",
        ),
        // a tuner's base /hdhr/u/p, with or without a tail
        (r#"(/hdhr/[^/\s?#"']+/)[^/\s?#"']+"#, "${1}***"),
        // legacy /u/p/123[.ts] (over-masks /api/x/1 in free text, which is harmless)
        (
            r#"(^|[\s"'=(])(/[^/\s?#"']+/)[^/\s?#"']+(/\d+(?:\.(?:ts|m3u8))?(?:[\s"'?)]|$))"#,
            "${1}${2}***${3}",
        ),
    ];
    rules
        .into_iter()
        .filter_map(|(re, with)| Regex::new(re).ok().map(|re| (re, with)))
        .collect()
});

/// `key=value` whose key has a percent-encoded byte (`passwor%64=`): the patterns
/// below only know plain spellings, but parsers decode keys, so such a key is
/// judged decoded, like the access log does ([`is_secret_param`]).
static ENCODED_KEY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(^|[?&\s;,"'(])([A-Za-z_\[\]]{0,32}%[0-9A-Fa-f]{2}(?:[A-Za-z_\[\]]|%[0-9A-Fa-f]{2}){0,32}=)([^&\s"',;)]+)"#,
    )
    .ok()
});

/// Masks anything that looks like a credential in a free-text line.
pub fn redact_text(line: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(line);
    if line.contains('%')
        && let Some(re) = ENCODED_KEY.as_ref()
        && re.is_match(line)
    {
        let masked = re.replace_all(line, |c: &regex::Captures<'_>| {
            let key = &c[2];
            if is_secret_param(key.trim_end_matches('=')) {
                format!("{}{key}***", &c[1])
            } else {
                c[0].to_owned()
            }
        });
        out = Cow::Owned(masked.into_owned());
    }
    for (re, with) in PATTERNS.iter() {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, *with).into_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuner_paths_lose_the_password_or_token() {
        assert_eq!(redact_uri("/hdhr/alice/s3cret"), "/hdhr/alice/***");
        assert_eq!(
            redact_uri("/hdhr/alice/s3cret/auto/v5?transcode=heavy"),
            "/hdhr/alice/***/auto/v5?transcode=heavy"
        );
        assert_eq!(
            redact_text("BaseURL http://h:1/hdhr/alice/0123abcd now"),
            "BaseURL http://h:1/hdhr/alice/*** now"
        );
    }

    #[test]
    fn catch_up_paths_lose_the_password() {
        for (path, masked) in [
            (
                "/timeshift/al/pw/60/2026-12-03:20-00/7.ts",
                "/timeshift/al/***/60/2026-12-03:20-00/7.ts",
            ),
            (
                "/timeshifts/al/pw/60/7/2026-12-03:20-00.ts",
                "/timeshifts/al/***/60/7/2026-12-03:20-00.ts",
            ),
            (
                "/archive/al/pw/7/1800000000000.ts",
                "/archive/al/***/7/1800000000000.ts",
            ),
            (
                "/streaming/timeshift.php?username=al&password=pw&stream=7",
                "/streaming/timeshift.php?username=al&password=***&stream=7",
            ),
        ] {
            assert_eq!(redact_uri(path), masked);
            assert!(
                !redact_text(&format!("GET http://h{path} x")).contains("pw"),
                "{path}"
            );
        }
    }

    #[test]
    fn xtream_stream_paths_lose_the_password() {
        assert_eq!(
            redact_uri("/live/alice/s3cret/17.ts"),
            "/live/alice/***/17.ts"
        );
        assert_eq!(
            redact_uri("/movie/alice/s3cret/9.mkv"),
            "/movie/alice/***/9.mkv"
        );
        assert_eq!(
            redact_uri("/series/alice/s3cret/9.mp4"),
            "/series/alice/***/9.mp4"
        );
        assert_eq!(redact_uri("/alice/s3cret/17"), "/alice/***/17");
        assert_eq!(redact_uri("/alice/s3cret/17.ts"), "/alice/***/17.ts");
        assert_eq!(redact_uri("/hls/eyJr.sig/17.ts"), "/hls/***/17.ts");
        assert_eq!(
            redact_uri("/hls/eyJr.sig/index.m3u8"),
            "/hls/***/index.m3u8"
        );
    }

    #[test]
    fn percent_encoded_route_names_are_recognised() {
        assert_eq!(redact_uri("/%6Cive/u/s3cret/1.ts"), "/%6Cive/u/***/1.ts");
        assert_eq!(
            redact_uri("/m%6fvie/u/s3cret/1.mkv"),
            "/m%6fvie/u/***/1.mkv"
        );
        assert_eq!(redact_uri("/%61pi/users/1"), "/%61pi/users/1");
        assert_eq!(redact_uri("/%zz/%/x"), "/%zz/***/x");
    }

    #[test]
    fn percent_encoded_secret_names_are_masked_in_free_text_too() {
        assert_eq!(
            redact_text("GET /get.php?username=a&passwor%64=s3cret&type=m3u from 1.2.3.4"),
            "GET /get.php?username=a&passwor%64=***&type=m3u from 1.2.3.4"
        );
        assert_eq!(redact_text("uri=/x?%70wd=hunter2"), "uri=/x?%70wd=***");
        assert_eq!(redact_text("100%25 of a=b"), "100%25 of a=b");
        assert_eq!(redact_text("q=%41BC&x=1"), "q=%41BC&x=1");
    }

    #[test]
    fn percent_encoded_secret_names_are_masked() {
        assert_eq!(
            redact_uri("/player_api.php?username=a&passwor%64=s3cret"),
            "/player_api.php?username=a&passwor%64=***"
        );
        assert_eq!(redact_uri("/get.php?%50ASS=s3cret"), "/get.php?%50ASS=***");
        assert_eq!(
            redact_uri("/get.php?password%00=s3cret&password[]=x"),
            "/get.php?password%00=***&password[]=***"
        );
        assert_eq!(redact_uri("/get.php?passwords=1"), "/get.php?passwords=1");
    }

    #[test]
    fn password_query_values_are_masked_wherever_they_are() {
        assert_eq!(
            redact_uri("/player_api.php?username=alice&password=s3cret&action=x"),
            "/player_api.php?username=alice&password=***&action=x"
        );
        assert_eq!(
            redact_uri("/get.php?PASSWORD=s3cret"),
            "/get.php?PASSWORD=***"
        );
        assert_eq!(
            redact_uri("/ace/getstream?id=ab&token=t0k"),
            "/ace/getstream?id=ab&token=***"
        );
    }

    #[test]
    fn other_routes_are_left_alone() {
        for uri in [
            "/api/channels/5",
            "/dashboard/users/3",
            "/static/css/app.css",
            "/health",
            "/ace/getstream?id=abc",
            "/epg/channel/5",
        ] {
            assert_eq!(redact_uri(uri), uri);
            assert!(matches!(redact_uri(uri), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn free_text_lines_lose_every_form_of_credential() {
        let cases = [
            ("GET /live/bob/hunter2/3.ts HTTP/1.1", "hunter2"),
            (
                "error sending request for url (http://x/get.php?username=bob&password=hunter2)",
                "hunter2",
            ),
            (
                "upstream http://bob:hunter2@example.org/list.m3u failed",
                "hunter2",
            ),
            ("authorization: Basic Ym9iOmh1bnRlcjI=", "Ym9iOmh1bnRlcjI="),
            (r#"{"username":"bob","password":"hunter2"}"#, "hunter2"),
            ("path=/bob/hunter2/17.ts status=200", "hunter2"),
            ("ACEXTREAM_ADMIN__PASSWORD set, password=hunter2", "hunter2"),
        ];
        for (line, secret) in cases {
            let out = redact_text(line);
            assert!(!out.contains(secret), "{line} -> {out}");
            assert!(out.contains(MASK), "{line} -> {out}");
        }
    }

    #[test]
    fn lines_without_secrets_are_not_touched() {
        let line = "stream opened content_id=94c2fd8fb9bc8f2fc71a2cbe9d4b866f227a0209 clients=3";
        assert!(matches!(redact_text(line), Cow::Borrowed(_)));
    }
}
