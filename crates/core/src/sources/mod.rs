//! Channel lists from the outside world: the entry type every parser produces, and
//! the parsers for each source kind (M3U, JSON, HTML pages). Parsers never fail on a
//! bad line: they skip it and count it, and never panic on any input.

pub(crate) mod fields;
pub mod html;
pub mod ids;
pub mod json_list;
pub mod m3u;

use serde::{Deserialize, Serialize};

use crate::engine::ContentKey;

/// What plays a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamRef {
    /// An AceStream content id or infohash, played through the engine.
    Ace {
        /// Which identifier, sent to the engine as the matching parameter.
        key: ContentKey,
    },
    /// A plain http(s) stream, proxied directly.
    Direct {
        /// The stream URL.
        url: String,
    },
}

/// One channel as a source lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Display name (trimmed, never empty: unnamed entries get their id).
    pub name: String,
    /// What plays it.
    pub stream: StreamRef,
    /// Group / category name (`group-title`), if any.
    pub group: Option<String>,
    /// Logo URL (`tvg-logo`), if any.
    pub logo: Option<String>,
    /// Guide id (`tvg-id`), if any.
    pub tvg_id: Option<String>,
    /// Channel number (`tvg-chno`), if any.
    pub chno: Option<u32>,
}

/// A parsed list: the entries, and how many lines or items were skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedList {
    /// Entries in source order (duplicates kept; the catalogue merges them).
    pub entries: Vec<Entry>,
    /// Lines or items that could not be understood.
    pub skipped: usize,
}

/// The kinds of channel source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Decide from the content (`#EXTM3U`, JSON, HTML).
    Auto,
    /// M3U / M3U8 playlist.
    M3u,
    /// JSON list of channels.
    Json,
    /// HTML page scraped for `acestream://` links.
    Html,
}

impl SourceKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Auto => "auto",
            SourceKind::M3u => "m3u",
            SourceKind::Json => "json",
            SourceKind::Html => "html",
        }
    }

    /// Parses the stored spelling (unknown → `Auto`).
    pub fn parse(s: &str) -> SourceKind {
        match s {
            "m3u" => SourceKind::M3u,
            "json" => SourceKind::Json,
            "html" => SourceKind::Html,
            _ => SourceKind::Auto,
        }
    }
}

/// Parses a downloaded list of the given kind (`Auto` looks at the content). Bytes
/// that are not UTF-8 are decoded lossily; a byte-order mark is ignored.
pub fn parse(bytes: &[u8], kind: SourceKind) -> ParsedList {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let kind = match kind {
        SourceKind::Auto => detect(text),
        k => k,
    };
    match kind {
        SourceKind::Json => json_list::parse_json(text),
        SourceKind::Html => html::scrape_html(text),
        SourceKind::M3u | SourceKind::Auto => m3u::parse_m3u(text),
    }
}

/// Guesses the kind from the first non-blank characters.
pub fn detect(text: &str) -> SourceKind {
    let head = text.trim_start();
    if head.starts_with("#EXTM3U") || head.starts_with("#EXTINF") {
        SourceKind::M3u
    } else if head.starts_with('[') || head.starts_with('{') {
        SourceKind::Json
    } else if head.starts_with('<') {
        SourceKind::Html
    } else {
        SourceKind::M3u
    }
}
