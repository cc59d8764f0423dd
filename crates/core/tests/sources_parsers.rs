//! The channel-list parsers on fixture files: every accepted form, malformed input,
//! hostile names and a very large list. Test paths contain `sources` so
//! `cargo test -p acextream-core sources` selects them.

use acextream_core::engine::ContentKey;
use acextream_core::sources::{Entry, ParsedList, SourceKind, StreamRef, parse};

/// The ids the fixtures use (SHA-1 of "1", "2", …), by number.
const ID: [&str; 23] = [
    "",
    "356a192b7913b04c54574d18c28d46e6395428ab",
    "da4b9237bacccdf19c0760cab7aec4a8359010b0",
    "77de68daecd823babbb58edb1c8e14d7106e83bb",
    "1b6453892473a467d07372d45eb05abc2031647a",
    "ac3478d69a3c81fa62e60f5c3696165a4e5e6ac4",
    "c1dfd96eea8cc2b62785275bca38ac261256e278",
    "902ba3cda1883801594b6e1b452790cc53948fda",
    "fe5dbbcea5ce7e2988b8c69bcfdfde8904aabc1f",
    "0ade7c2cf97f75d009975f4d720d1fa6c19f4897",
    "b1d5781111d84f7b3fe45a0852e59758cd7a87e5",
    "17ba0791499db908433b80f37c5fbc89b870084b",
    "7b52009b64fd0a2a49e6d8a939753077792b0554",
    "bd307a3ec329e10a2cff8fb87480823da114f8f4",
    "fa35e192121eabf3dabf9f5ea6abdbcbc107ac3b",
    "f1abd670358e036c31296e66b3b66c382ac00812",
    "1574bddb75c78a6fd2251d61e2993b5146201319",
    "0716d9708d321ffb6a00818614779e779925365c",
    "9e6a55b6b4563e652a23be9d623ca5055c356940",
    "b3f0c7f6bb763af1be91d9e74eabfeb199dc1f1f",
    "91032ad7bbcb6cf72875e8e8207dcfba80173f7c",
    "472b07b9fcf2c2451e8781e944bf5f77cd8457c8",
    "12c6fc06c99a462375eeb3f43dfd832b08ca9e17",
];

fn cid(n: usize) -> StreamRef {
    StreamRef::Ace {
        key: ContentKey::ContentId(ID[n].to_owned()),
    }
}

fn ih(n: usize) -> StreamRef {
    StreamRef::Ace {
        key: ContentKey::Infohash(ID[n].to_owned()),
    }
}

fn direct(url: &str) -> StreamRef {
    StreamRef::Direct {
        url: url.to_owned(),
    }
}

fn names(list: &ParsedList) -> Vec<&str> {
    list.entries.iter().map(|e| e.name.as_str()).collect()
}

fn streams(list: &ParsedList) -> Vec<&StreamRef> {
    list.entries.iter().map(|e| &e.stream).collect()
}

fn by_name<'a>(list: &'a ParsedList, name: &str) -> &'a Entry {
    let found = list.entries.iter().find(|e| e.name == name);
    found.unwrap_or_else(|| panic!("no entry {name:?} in {:?}", names(list)))
}

mod sources_ids {
    use acextream_core::sources::ids::{parse_ace_link, parse_stream_ref};

    use super::*;

    #[test]
    fn acestream_links_with_or_without_trailing_junk_are_content_ids() {
        let upper = ID[1].to_uppercase();
        for text in [
            format!("acestream://{}", ID[1]),
            format!("  acestream://{upper}/ \n"),
            format!("ACESTREAM://{}?name=x", ID[1]),
            format!("acestream://{}#frag", ID[1]),
        ] {
            assert_eq!(parse_stream_ref(&text), Some(cid(1)), "{text}");
        }
    }

    #[test]
    fn malformed_acestream_links_are_rejected() {
        for text in [
            "acestream://".to_owned(),
            "acestream://xyz".to_owned(),
            format!("acestream://{}", &ID[1][..39]),
            format!("acestream://{}0", ID[1]),
            format!("acestream:{}", ID[1]),
            format!("{}0", ID[1]),
            "".to_owned(),
            "   ".to_owned(),
            "rtmp://host/live".to_owned(),
            "http://".to_owned(),
            "file:///etc/passwd".to_owned(),
        ] {
            assert_eq!(parse_stream_ref(&text), None, "{text}");
        }
    }

    #[test]
    fn bare_ids_are_content_ids_lowercased() {
        assert_eq!(parse_stream_ref(&ID[2].to_uppercase()), Some(cid(2)));
    }

    #[test]
    fn engine_urls_keep_id_and_infohash_apart() {
        let cases = [
            (
                format!("http://127.0.0.1:6878/ace/getstream?id={}", ID[1]),
                cid(1),
            ),
            (
                format!("http://h/ace/getstream?pid=1&infohash={}&x=y", ID[2]),
                ih(2),
            ),
            (
                format!("https://h/ace/getstream/?content_id={}", ID[3]),
                cid(3),
            ),
            (format!("http://h:1/ace/manifest.m3u8?id={}", ID[4]), cid(4)),
            (
                format!("http://h:1/ace/manifest.m3u8?infohash={}", ID[5]),
                ih(5),
            ),
            (
                format!("http://h/ace/getstream?infohash={}&id={}", ID[5], ID[6]),
                cid(6),
            ),
            (
                format!("http://h/ace/getstream?id=bad&infohash={}", ID[7]),
                ih(7),
            ),
            (format!("http://h/ace/r/{}/{}", ID[8], "0123abcd"), ih(8)),
            (format!("http://h/ace/m/{}/s.m3u8", ID[9]), ih(9)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_stream_ref(&text), Some(want), "{text}");
        }
    }

    #[test]
    fn engine_urls_without_a_playable_id_are_rejected() {
        for text in [
            "http://h/ace/getstream?id=xyz".to_owned(),
            "http://h/ace/getstream".to_owned(),
            format!("http://h/ace/stat/{}/s", ID[1]),
            format!("http://h/ace/cmd/{}/s?method=stop", ID[1]),
        ] {
            assert_eq!(parse_stream_ref(&text), None, "{text}");
        }
    }

    #[test]
    fn hex_path_segments_are_content_ids_unless_labelled_infohash() {
        let cases = [
            (format!("http://p:8000/pid/{}/stream.mp4", ID[1]), cid(1)),
            (format!("http://p/content_id/{}.ts", ID[2]), cid(2)),
            (format!("http://p/{}.m3u8", ID[3].to_uppercase()), cid(3)),
            (format!("http://p/infohash/{}/name.ts", ID[4]), ih(4)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_stream_ref(&text), Some(want), "{text}");
        }
    }

    #[test]
    fn other_http_urls_are_direct_streams() {
        assert_eq!(
            parse_stream_ref(" https://cdn.example/live/index.m3u8?t=1 "),
            Some(direct("https://cdn.example/live/index.m3u8?t=1"))
        );
        assert_eq!(
            parse_stream_ref("HTTP://Cdn.Example"),
            Some(direct("http://cdn.example/"))
        );
        let long = format!("http://h/{}", "a".repeat(5000));
        assert_eq!(parse_stream_ref(&long), None);
    }

    #[test]
    fn ace_links_on_pages_ignore_bare_hex_segments() {
        let commit = format!("https://github.com/o/r/commit/{}", ID[1]);
        assert_eq!(parse_ace_link(&commit), None);
        let engine = format!("http://h/ace/getstream?id={}", ID[1]);
        assert_eq!(
            parse_ace_link(&engine),
            Some(ContentKey::ContentId(ID[1].into()))
        );
    }
}

mod sources_m3u {
    use acextream_core::sources::m3u::parse_m3u;

    use super::*;

    const BASIC: &str = include_str!("fixtures/sources/basic.m3u");
    const TRICKY: &str = include_str!("fixtures/sources/tricky.m3u");
    const HOSTILE: &str = include_str!("fixtures/sources/hostile.m3u");

    #[test]
    fn every_stream_form_in_a_playlist_is_recognised() {
        let list = parse_m3u(BASIC);
        assert_eq!(list.skipped, 0);
        let want = vec![
            cid(1),
            cid(2),
            ih(3),
            cid(4),
            ih(5),
            cid(6),
            cid(7),
            cid(8),
            ih(9),
            cid(10),
            direct("https://radio.example/live/stream.m3u8?token=abc"),
        ];
        assert_eq!(streams(&list), want.iter().collect::<Vec<_>>());
        let first = &list.entries[0];
        assert_eq!(first.name, "Sport 1 HD");
        assert_eq!(first.group.as_deref(), Some("Sport"));
        assert_eq!(first.logo.as_deref(), Some("http://logo.example/s1.png"));
        assert_eq!(first.tvg_id.as_deref(), Some("sport1.es"));
        assert_eq!(first.chno, Some(5));
        assert_eq!(list.entries[1].group.as_deref(), Some("News"));
        assert_eq!(list.entries[10].tvg_id.as_deref(), Some("radio"));
    }

    #[test]
    fn crlf_and_lone_cr_line_endings_parse_the_same() {
        let lf = parse_m3u(BASIC);
        assert_eq!(parse_m3u(&BASIC.replace('\n', "\r\n")), lf);
        assert_eq!(parse_m3u(&BASIC.replace('\n', "\r")), lf);
    }

    #[test]
    fn header_is_optional_and_bom_is_ignored() {
        let body = BASIC.split_once('\n').map(|(_, b)| b).unwrap_or_default();
        assert_eq!(parse_m3u(body), parse_m3u(BASIC));
        assert_eq!(parse_m3u(&format!("\u{feff}{BASIC}")), parse_m3u(BASIC));
        let via_parse = parse(format!("\u{feff}{BASIC}").as_bytes(), SourceKind::Auto);
        assert_eq!(via_parse, parse_m3u(BASIC));
    }

    #[test]
    fn quotes_commas_and_case_in_attributes() {
        let list = parse_m3u(TRICKY);
        let e = by_name(&list, "Name, with comma");
        assert_eq!(e.stream, cid(11));
        assert_eq!(e.group.as_deref(), Some("A, B"));
        assert_eq!(e.tvg_id.as_deref(), Some("single"));
        let e = by_name(&list, "Unquoted");
        assert_eq!(e.stream, cid(12));
        assert_eq!(e.group.as_deref(), Some("Bare"));
        assert_eq!(e.chno, None);
        let e = by_name(&list, "Spaced out name");
        assert_eq!(e.stream, cid(13));
        assert_eq!(e.tvg_id.as_deref(), Some("caps"));
        assert_eq!(e.group.as_deref(), Some("Caps"));
        assert_eq!(by_name(&list, "From tvg-name").stream, cid(20));
    }

    #[test]
    fn extgrp_sets_the_group_of_one_entry_when_group_title_is_absent() {
        let list = parse_m3u(TRICKY);
        let group = |name: &str| by_name(&list, name).group.clone();
        assert_eq!(group("Grouped by EXTGRP").as_deref(), Some("Documentaries"));
        assert_eq!(group("Group first").as_deref(), Some("Before EXTINF"));
        assert_eq!(group("Title beats EXTGRP").as_deref(), Some("Wins"));
        assert_eq!(group("No group here"), None);
    }

    #[test]
    fn malformed_entries_are_skipped_and_counted() {
        let list = parse_m3u(TRICKY);
        // Missing URL, bad URL, too-long id, "not a url at all", ftp://, trailing EXTINF.
        assert_eq!(list.skipped, 6);
        assert_eq!(list.entries.len(), 9);
        // A bare stream line is an entry named after its id.
        let bare = by_name(&list, ID[19]);
        assert_eq!(bare.stream, cid(19));
        assert_eq!(bare.group, None);
    }

    #[test]
    fn hostile_names_keep_markup_but_lose_control_characters() {
        let list = parse_m3u(HOSTILE);
        assert_eq!(list.skipped, 0);
        assert_eq!(
            names(&list),
            ["<script>alert(1)</script> Evil[31m", "Tab here Reversed"]
        );
        assert_eq!(list.entries[0].group.as_deref(), Some("<b>Grp</b>"));
        assert_eq!(list.entries[1].logo.as_deref(), Some("javascript:alert(1)"));
    }

    #[test]
    fn oversized_fields_are_truncated_to_one_kib() {
        let text = format!(
            "#EXTINF:-1 group-title=\"{}\",{}\nacestream://{}\n",
            "g".repeat(100_000),
            "é".repeat(100_000),
            ID[1]
        );
        let list = parse_m3u(&text);
        let e = &list.entries[0];
        assert_eq!(e.name.len(), 1024);
        assert_eq!(e.group.as_ref().map(String::len), Some(1024));
    }

    #[test]
    fn two_hundred_thousand_entries_parse_in_one_pass() {
        const N: usize = 200_000;
        let mut text = String::from("#EXTM3U\n");
        for i in 0..N {
            text.push_str(&format!(
                "#EXTINF:-1 tvg-id=\"c{i}\" group-title=\"G{}\",Channel {i}\r\nacestream://{:040x}\r\n",
                i % 50,
                i
            ));
        }
        let list = parse(text.as_bytes(), SourceKind::Auto);
        assert_eq!(list.skipped, 0);
        assert_eq!(list.entries.len(), N);
        let last = &list.entries[N - 1];
        assert_eq!(last.name, format!("Channel {}", N - 1));
        assert_eq!(
            last.stream,
            StreamRef::Ace {
                key: ContentKey::ContentId(format!("{:040x}", N - 1)),
            }
        );
    }
}

mod sources_json {
    use acextream_core::sources::json_list::parse_json;

    use super::*;

    const LIST: &str = include_str!("fixtures/sources/list.json");
    const WRAPPED: &str = include_str!("fixtures/sources/wrapped.json");

    #[test]
    fn every_field_spelling_is_read() {
        let list = parse_json(LIST);
        let e = by_name(&list, "Array one");
        assert_eq!(e.stream, cid(1));
        assert_eq!(e.group.as_deref(), Some("Sport"));
        assert_eq!(e.logo.as_deref(), Some("http://l/1.png"));
        assert_eq!(e.tvg_id.as_deref(), Some("one"));
        assert_eq!(e.chno, Some(7));
        let e = by_name(&list, "By content_id");
        assert_eq!(e.stream, cid(2));
        assert_eq!(e.group.as_deref(), Some("News"));
        assert_eq!(e.logo.as_deref(), Some("http://l/2.png"));
        assert_eq!(e.tvg_id.as_deref(), Some("two"));
        assert_eq!(e.chno, Some(8));
        let e = by_name(&list, "By acestream_id");
        assert_eq!(e.stream, cid(3));
        assert_eq!(e.group.as_deref(), Some("Movies"));
        assert_eq!(e.logo.as_deref(), Some("http://l/3.png"));
        assert_eq!(by_name(&list, "Numeric id falls through").stream, ih(4));
        assert_eq!(
            by_name(&list, "By link").stream,
            direct("https://cdn.example/live.m3u8")
        );
        assert_eq!(by_name(&list, "By infohash").stream, ih(5));
        assert_eq!(by_name(&list, ID[6]).stream, cid(6));
        let blank = by_name(&list, ID[7]);
        assert_eq!(blank.chno, None);
    }

    #[test]
    fn items_without_a_playable_id_are_skipped_and_counted() {
        let list = parse_json(LIST);
        // "No id", "Bad id", a string and a number.
        assert_eq!(list.skipped, 4);
        assert_eq!(list.entries.len(), 8);
    }

    #[test]
    fn wrapped_lists_are_found_under_each_key() {
        let list = parse_json(WRAPPED);
        assert_eq!(names(&list), ["Wrapped"]);
        assert_eq!(list.skipped, 1);
        for key in ["channels", "items", "results", "data"] {
            let text = format!(r#"{{"{key}": [{{"title": "T", "id": "{}"}}]}}"#, ID[1]);
            let list = parse(text.as_bytes(), SourceKind::Auto);
            assert_eq!(names(&list), ["T"], "{key}");
        }
        let single = format!(r#"{{"name": "Alone", "id": "{}"}}"#, ID[2]);
        assert_eq!(names(&parse_json(&single)), ["Alone"]);
    }

    #[test]
    fn invalid_json_is_one_skipped_item() {
        for text in ["", "[", "{\"channels\": [", "nope", "[1,]"] {
            let list = parse_json(text);
            assert_eq!(list.skipped, 1, "{text}");
            assert!(list.entries.is_empty());
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(parse_json(&deep).skipped, 1);
    }
}

mod sources_html {
    use acextream_core::sources::html::scrape_html;

    use super::*;

    const PAGE: &str = include_str!("fixtures/sources/page.html");

    #[test]
    fn links_and_text_are_found_and_named() {
        let list = scrape_html(PAGE);
        let got: Vec<(&str, &StreamRef)> = list
            .entries
            .iter()
            .map(|e| (e.name.as_str(), &e.stream))
            .collect();
        let want = [
            ("Sport One", cid(1)),
            ("Titled link", cid(2)),
            ("Table Channel", cid(3)),
            ("Under a heading", cid(4)),
            ("Engine link", cid(5)),
            ("By infohash", ih(6)),
            ("Plain text channel", cid(8)),
            ("Second line", cid(9)),
            ("Bold name", cid(10)),
            (ID[11], cid(11)),
            ("Forum", cid(12)),
        ];
        let want: Vec<(&str, &StreamRef)> = want.iter().map(|(n, s)| (*n, s)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn duplicates_keep_the_first_name_and_broken_links_are_counted() {
        let list = scrape_html(PAGE);
        assert_eq!(
            list.entries.iter().filter(|e| e.stream == cid(1)).count(),
            1
        );
        // `acestream://broken` in a link and `acestream://123` in text.
        assert_eq!(list.skipped, 2);
    }

    #[test]
    fn scripts_and_styles_are_not_scraped() {
        let list = scrape_html(PAGE);
        let ids: Vec<String> = list
            .entries
            .iter()
            .filter_map(|e| match &e.stream {
                StreamRef::Ace { key } => Some(key.value().to_owned()),
                StreamRef::Direct { .. } => None,
            })
            .collect();
        assert!(
            !ids.iter()
                .any(|id| id.starts_with("7719a1c7") || id.starts_with("0a57cb53"))
        );
    }

    #[test]
    fn pages_are_detected_by_parse() {
        assert_eq!(parse(PAGE.as_bytes(), SourceKind::Auto), scrape_html(PAGE));
    }

    #[test]
    fn moderately_nested_markup_is_parsed_as_html() {
        let page = format!(
            "{}<b>Deep</b>: <a href='acestream://{}'></a> acestream://{}{}",
            "<div><span>".repeat(200),
            ID[1],
            ID[2],
            "</span></div>".repeat(200)
        );
        let list = scrape_html(&page);
        assert_eq!(names(&list), [ID[1], ID[2]]);
    }

    #[test]
    fn hostile_nesting_falls_back_to_a_line_scan() {
        // html5ever costs the current depth per tag: 50 000 levels would take minutes.
        let page = format!(
            "{}<p>Deep one: <a href=\"acestream://{}\">x</a></p>\n<i>Two</i> acestream://{}{}",
            "<div><span>".repeat(50_000),
            ID[1],
            ID[2],
            "</span></div>".repeat(50_000)
        );
        let list = scrape_html(&page);
        assert_eq!(streams(&list), [&cid(1), &cid(2)]);
        assert_eq!(names(&list), ["Deep one", "Two"]);
    }

    #[test]
    fn scripts_full_of_comparisons_do_not_trigger_the_fallback() {
        let script = "if (a<b && c<d) {}\n".repeat(2_000);
        let page = format!(
            "<script>{script}</script><table><tr><td>Cell name</td><td><a href=\"acestream://{}\"></a></td></tr></table>",
            ID[1]
        );
        assert_eq!(names(&scrape_html(&page)), ["Cell name"]);
    }
}
