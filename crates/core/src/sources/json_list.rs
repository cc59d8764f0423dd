//! JSON lists of AceStream channels, in the shapes public lists use: a bare array of
//! channel objects, or one wrapped in an object.

use serde_json::{Map, Value};

use super::ids::{is_hex40, parse_stream_ref};
use super::{ParsedList, StreamRef, fields};
use crate::engine::ContentKey;

/// Keys under which a wrapping object keeps its array, tried in this order.
const LIST_KEYS: [&str; 4] = ["channels", "items", "results", "data"];

/// Keys that may hold anything [`parse_stream_ref`] accepts, tried in this order; the
/// first that parses wins (so a numeric database `id` falls through to `url`).
const STREAM_KEYS: [&str; 5] = ["id", "content_id", "acestream_id", "url", "link"];

/// Parses a JSON list: a top-level array of channel objects, or an object with such an
/// array under `channels`, `items`, `results` or `data` (an object with none of these
/// is read as a single channel).
///
/// Per item: name from `name` / `title` (else the id); stream from the first of
/// `id`, `content_id`, `acestream_id`, `url`, `link` that [`parse_stream_ref`]
/// accepts, else `infohash` (40 hex, kept as an infohash); group from `category` /
/// `group` / `categories` (an array gives its first element); logo from `logo` /
/// `icon` / `tvg_logo`; guide id from `tvg_id` / `epg_id`; number from `chno` /
/// `number`. Strings and numbers are both accepted as values.
///
/// Invalid JSON gives no entries and `skipped = 1`; items that are not objects or have
/// no playable id are skipped and counted. serde_json's nesting limit keeps hostile
/// depth from overflowing the stack.
pub fn parse_json(text: &str) -> ParsedList {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return ParsedList {
            entries: Vec::new(),
            skipped: 1,
        };
    };
    let items: &[Value] = match &value {
        Value::Array(items) => items,
        Value::Object(obj) => match LIST_KEYS.iter().find_map(|k| obj.get(*k)?.as_array()) {
            Some(items) => items,
            None => std::slice::from_ref(&value),
        },
        _ => std::slice::from_ref(&value),
    };
    let mut out = ParsedList::default();
    for item in items {
        match item.as_object().and_then(entry) {
            Some(e) => out.entries.push(e),
            None => out.skipped += 1,
        }
    }
    out
}

fn entry(obj: &Map<String, Value>) -> Option<super::Entry> {
    let stream = stream(obj)?;
    let name = text(obj, &["name", "title"]);
    let group = text(obj, &["category", "group"]).or_else(|| {
        let first = obj.get("categories")?.as_array()?.first()?;
        scalar(first)
    });
    let logo = text(obj, &["logo", "icon", "tvg_logo"]);
    let tvg_id = text(obj, &["tvg_id", "epg_id"]);
    let chno = text(obj, &["chno", "number"]).and_then(|n| fields::chno(&n));
    Some(fields::entry(
        &[name.as_deref()],
        stream,
        group.as_deref(),
        logo.as_deref(),
        tvg_id.as_deref(),
        chno,
    ))
}

fn stream(obj: &Map<String, Value>) -> Option<StreamRef> {
    let from_ref = STREAM_KEYS
        .iter()
        .find_map(|k| parse_stream_ref(&scalar(obj.get(*k)?)?));
    from_ref.or_else(|| {
        let ih = scalar(obj.get("infohash")?)?;
        let ih = ih.trim();
        is_hex40(ih).then(|| StreamRef::Ace {
            key: ContentKey::Infohash(ih.to_ascii_lowercase()),
        })
    })
}

/// The first of `keys` holding a non-empty string or a number, as text.
fn text(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| scalar(obj.get(*k)?).filter(|s| !s.trim().is_empty()))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
