//! Recognises what plays a channel in every form lists use: `acestream://` links,
//! engine and proxy URLs, bare ids, and plain http(s) streams.
//!
//! A content id and a swarm infohash are different things: each is kept as what the
//! text says it is, never converted into the other.

use url::Url;

use super::StreamRef;
use crate::engine::ContentKey;

/// Longest text accepted as a stream reference. A URL cannot be truncated like a name
/// without breaking it, so longer ones are rejected; signed CDN URLs stay well below.
pub const MAX_REF_LEN: usize = 4096;

/// Parses, after trimming:
/// - `acestream://<40 hex>`, optionally followed by a non-hex character and anything
///   (`/`, `?…`) → content id;
/// - a bare `<40 hex>` → content id;
/// - an http(s) engine or proxy URL whose path ends in `/ace/getstream` or
///   `/ace/manifest.m3u8`: `id=` or `content_id=` → content id, `infohash=` →
///   infohash (parameter order free, other parameters ignored, content id preferred if
///   both are given). Without a valid one it is rejected;
/// - an engine session URL `/ace/r/<ih>/<sid>` or `/ace/m/<ih>/<sid>.m3u8` → the
///   infohash it names (the session itself dies with the engine session); other engine
///   paths (`/ace/stat/…`, `/ace/cmd/…`) are not streams and are rejected;
/// - any other http(s) URL with a path segment `<40 hex>`, `<40 hex>.ts` or
///   `<40 hex>.m3u8` (the first one) → content id, or infohash when the segment before
///   it is `infohash` (HTTPAceProxy's `/infohash/<ih>/name.ts`);
/// - any other http(s) URL → a direct stream (URL normalised by the `url` crate).
///
/// Hex is lowercased. Everything else, and anything longer than [`MAX_REF_LEN`], is
/// `None`.
pub fn parse_stream_ref(text: &str) -> Option<StreamRef> {
    let text = text.trim();
    if text.len() > MAX_REF_LEN {
        return None;
    }
    if is_hex40(text) {
        return Some(ace(ContentKey::ContentId(text.to_ascii_lowercase())));
    }
    if let Some(key) = acestream_scheme(text) {
        return Some(ace(key));
    }
    let url = http_url(text)?;
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    if let Some(key) = engine_query(&url, &segments) {
        return key.map(ace);
    }
    if let Some(key) = engine_session(&segments) {
        return key.map(ace);
    }
    if let Some(key) = hex_segment(&segments) {
        return Some(ace(key));
    }
    Some(StreamRef::Direct {
        url: url.to_string(),
    })
}

/// Only the forms that cannot be mistaken for something else on a web page:
/// `acestream://` links and `/ace/getstream` / `/ace/manifest.m3u8` URLs. A 40-hex
/// path segment alone is too often a commit hash there.
pub fn parse_ace_link(text: &str) -> Option<ContentKey> {
    let text = text.trim();
    if text.len() > MAX_REF_LEN {
        return None;
    }
    if let Some(key) = acestream_scheme(text) {
        return Some(key);
    }
    let url = http_url(text)?;
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    engine_query(&url, &segments).flatten()
}

/// Whether `s` is exactly 40 hexadecimal digits (either case).
pub fn is_hex40(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn ace(key: ContentKey) -> StreamRef {
    StreamRef::Ace { key }
}

/// `acestream://<40 hex>` with the scheme in any case; a 41st hex digit is not junk
/// but a different (invalid) id, so it is rejected.
fn acestream_scheme(text: &str) -> Option<ContentKey> {
    const SCHEME: &str = "acestream://";
    let head = text.get(..SCHEME.len())?;
    if !head.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let rest = &text[SCHEME.len()..];
    let hex_len = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
    (hex_len == 40).then(|| ContentKey::ContentId(rest[..40].to_ascii_lowercase()))
}

fn http_url(text: &str) -> Option<Url> {
    let url = Url::parse(text).ok()?;
    let http = matches!(url.scheme(), "http" | "https");
    (http && url.host().is_some()).then_some(url)
}

/// `Some(_)` when the path is an engine stream request, with the key it names, if any.
fn engine_query(url: &Url, segments: &[&str]) -> Option<Option<ContentKey>> {
    let tail: Vec<&str> = segments.iter().copied().filter(|s| !s.is_empty()).collect();
    let [.., dir, last] = tail.as_slice() else {
        return None;
    };
    let is_stream = dir.eq_ignore_ascii_case("ace")
        && (last.eq_ignore_ascii_case("getstream") || last.eq_ignore_ascii_case("manifest.m3u8"));
    if !is_stream {
        return None;
    }
    let mut content = None;
    let mut infohash = None;
    for (k, v) in url.query_pairs() {
        if !is_hex40(&v) {
            continue;
        }
        let v = v.to_ascii_lowercase();
        if k.eq_ignore_ascii_case("id") || k.eq_ignore_ascii_case("content_id") {
            content.get_or_insert(v);
        } else if k.eq_ignore_ascii_case("infohash") {
            infohash.get_or_insert(v);
        }
    }
    Some(
        content
            .map(ContentKey::ContentId)
            .or(infohash.map(ContentKey::Infohash)),
    )
}

/// `Some(_)` for paths under the engine's `/ace/` directory other than stream requests.
fn engine_session(segments: &[&str]) -> Option<Option<ContentKey>> {
    let [first, kind, rest @ ..] = segments else {
        return None;
    };
    if !first.eq_ignore_ascii_case("ace") {
        return None;
    }
    let playback = kind.eq_ignore_ascii_case("r") || kind.eq_ignore_ascii_case("m");
    let key = match rest.first() {
        Some(ih) if playback && is_hex40(ih) => Some(ContentKey::Infohash(ih.to_ascii_lowercase())),
        _ => None,
    };
    Some(key)
}

fn hex_segment(segments: &[&str]) -> Option<ContentKey> {
    segments.iter().enumerate().find_map(|(i, seg)| {
        let lower = seg.to_ascii_lowercase();
        let hex = lower
            .strip_suffix(".ts")
            .or_else(|| lower.strip_suffix(".m3u8"))
            .unwrap_or(&lower);
        if !is_hex40(hex) {
            return None;
        }
        let by_infohash = i > 0 && segments[i - 1].eq_ignore_ascii_case("infohash");
        Some(if by_infohash {
            ContentKey::Infohash(hex.to_owned())
        } else {
            ContentKey::ContentId(hex.to_owned())
        })
    })
}
