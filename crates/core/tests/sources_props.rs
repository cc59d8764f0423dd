//! Property tests: no parser panics on any input, random bytes or text built from the
//! pieces that make playlists tricky (quotes, commas, directives, line endings).

use acextream_core::sources::html::scrape_html;
use acextream_core::sources::ids::parse_stream_ref;
use acextream_core::sources::json_list::parse_json;
use acextream_core::sources::m3u::parse_m3u;
use acextream_core::sources::{SourceKind, parse};
use proptest::prelude::*;

/// Fragments glued together at random to reach the parsers' corner cases.
const PIECES: &[&str] = &[
    "#EXTM3U",
    "#EXTINF:-1",
    "#EXTINF:",
    "#EXTGRP:",
    "#EXTVLCOPT:x=y",
    " tvg-name=",
    " group-title=",
    " tvg-chno=",
    "=",
    "\"",
    "'",
    ",",
    " ",
    "\n",
    "\r\n",
    "\r",
    "\u{feff}",
    "\u{0}",
    "é",
    "acestream://",
    "356a192b7913b04c54574d18c28d46e6395428ab",
    "http://h:6878/ace/getstream?id=",
    "&infohash=",
    "/ace/r/",
    "https://",
    "[",
    "]",
    "{",
    "}",
    "\"id\":",
    "\"channels\":",
    "<a href=\"",
    "\">",
    "</a>",
    "<td>",
    "<h2>",
    "<br>",
    "<script>",
];

fn structured() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..64).prop_map(|p| p.concat())
}

fn all_parsers(text: &str) {
    let _ = parse_stream_ref(text);
    let m3u = parse_m3u(text);
    let json = parse_json(text);
    let html = scrape_html(text);
    for entry in m3u.entries.iter().chain(&json.entries).chain(&html.entries) {
        assert!(!entry.name.is_empty());
        assert!(entry.name.len() <= 1024);
        assert!(!entry.name.chars().any(char::is_control));
    }
    for kind in [
        SourceKind::Auto,
        SourceKind::M3u,
        SourceKind::Json,
        SourceKind::Html,
    ] {
        let _ = parse(text.as_bytes(), kind);
    }
}

mod sources_props {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(384))]

        #[test]
        fn no_parser_panics_on_arbitrary_bytes(bytes in any::<Vec<u8>>()) {
            all_parsers(&String::from_utf8_lossy(&bytes));
            let _ = parse(&bytes, SourceKind::Auto);
        }

        #[test]
        fn no_parser_panics_on_playlist_shaped_text(text in structured()) {
            all_parsers(&text);
        }

        #[test]
        fn no_parser_panics_on_arbitrary_strings(text in any::<String>()) {
            all_parsers(&text);
        }

        #[test]
        fn every_entry_line_with_a_valid_id_is_kept(
            names in prop::collection::vec("[^\r\n]{0,40}", 1..20)
        ) {
            let mut text = String::from("#EXTM3U\n");
            for (i, name) in names.iter().enumerate() {
                text.push_str(&format!("#EXTINF:-1,{name}\nacestream://{i:040x}\n"));
            }
            let list = parse_m3u(&text);
            prop_assert_eq!(list.entries.len(), names.len());
            prop_assert_eq!(list.skipped, 0);
        }
    }
}
