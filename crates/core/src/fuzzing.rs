//! Fuzzing harnesses: one function per parser, taking raw bytes and asserting the
//! invariants the parser promises, so the same checks run under `cargo fuzz`
//! (fuzz/) and, for every saved seed and regression input, under `cargo test`
//! (tests/fuzz_regressions.rs). Not part of the API: hidden from the docs.
//!
//! The assertions panic on purpose: a panic is how libFuzzer learns an input broke
//! a promise.

use std::io::Cursor;

use serde_json::Value;

use crate::epg::{self, Programme, XmltvChannel};
use crate::runtime_settings::{self, EDITABLE};
use crate::settings::Settings;
use crate::sources::fields::MAX_FIELD;
use crate::sources::ids::is_hex40;
use crate::sources::{self, Entry, ParsedList, SourceKind, StreamRef, html, json_list, m3u};

/// M3U playlists: [`m3u::parse_m3u`] and the generic [`sources::parse`].
pub fn m3u(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let list = m3u::parse_m3u(&text);
    check_list(&list);
    // Every entry or skip comes from at least one line of its own.
    let lines = text.split(['\r', '\n']).filter(|l| !l.trim().is_empty());
    assert!(list.entries.len() + list.skipped <= lines.count());
    check_list(&sources::parse(data, SourceKind::M3u));
    check_list(&sources::parse(data, SourceKind::Auto));
}

/// JSON channel lists: [`json_list::parse_json`].
pub fn json_list(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let list = json_list::parse_json(&text);
    check_list(&list);
    if serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')).is_err() {
        assert_eq!(
            list,
            ParsedList {
                entries: Vec::new(),
                skipped: 1
            }
        );
    }
    check_list(&sources::parse(data, SourceKind::Json));
}

/// HTML pages: [`html::scrape_html`].
pub fn html(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let list = html::scrape_html(&text);
    check_list(&list);
    let mut seen = std::collections::HashSet::new();
    for e in &list.entries {
        // Pages only ever yield AceStream ids, each once.
        assert!(matches!(e.stream, StreamRef::Ace { .. }), "{e:?}");
        assert!(seen.insert(&e.stream), "duplicate {e:?}");
    }
}

/// XMLTV feeds, through the decompression sniffing ([`epg::decoded`]) and the
/// streaming reader; and the time parser on the first line.
pub fn xmltv(data: &[u8]) {
    if let Some(first) = data.split(|b| *b == b'\n').next()
        && let Ok(first) = std::str::from_utf8(first)
    {
        xmltv_time(first);
    }
    let Ok(reader) = epg::decoded(Cursor::new(data.to_vec())) else {
        return;
    };
    let mut channels = 0u64;
    let mut programmes = 0u64;
    let result = epg::read_xmltv(
        reader,
        |c| {
            check_channel(&c);
            channels += 1;
        },
        |p| {
            check_programme(&p);
            programmes += 1;
        },
    );
    if let Ok(stats) = result {
        assert_eq!((stats.channels, stats.programmes), (channels, programmes));
    }
}

/// A time that parses formats back (in UTC) to a text that parses to the same time.
fn xmltv_time(text: &str) {
    let Some(t) = epg::parse_xmltv_time(text) else {
        return;
    };
    if let Some(formatted) = epg::format_xmltv_time(t, &jiff::tz::TimeZone::UTC) {
        assert_eq!(
            epg::parse_xmltv_time(&formatted),
            Some(t),
            "{text:?} → {formatted}"
        );
    }
}

fn check_channel(c: &XmltvChannel) {
    assert!(
        !c.id.is_empty() && c.id.len() <= epg::xmltv::MAX_FIELD,
        "{c:?}"
    );
    assert!(c.display_names.len() <= 16, "{c:?}");
    for name in &c.display_names {
        assert!(
            !name.is_empty() && name.len() <= epg::xmltv::MAX_FIELD,
            "{c:?}"
        );
        assert_eq!(name.trim(), name, "{c:?}");
    }
}

fn check_programme(p: &Programme) {
    assert!(p.stop > p.start, "{p:?}");
    assert!(!p.channel.is_empty() && !p.title.is_empty(), "{p:?}");
    for field in [
        &p.channel,
        &p.title,
        &p.sub_title,
        &p.description,
        &p.category,
    ] {
        assert!(field.len() <= epg::xmltv::MAX_FIELD, "{p:?}");
        assert_eq!(field.trim(), field, "{p:?}");
    }
}

/// The settings loader: a settings file ([`Settings::from_toml`]); or, when the
/// first byte is `0x01` (no TOML file starts so), a runtime edit (`/api/settings`,
/// [`runtime_settings::set`]) of the key the second byte picks, with the rest as
/// its JSON value (or, when not JSON, as a string).
pub fn settings(data: &[u8]) {
    match data {
        [0x01, pick, rest @ ..] => {
            let def = &EDITABLE[usize::from(*pick) % EDITABLE.len()];
            let text = String::from_utf8_lossy(rest);
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text.into_owned()));
            runtime_edit(def.key, &value);
        }
        _ => toml_file(&String::from_utf8_lossy(data)),
    }
}

/// Loaded settings are valid, and the printed form loads back to the same tree.
fn toml_file(text: &str) {
    let Ok(settings) = Settings::from_toml(text) else {
        return;
    };
    assert!(settings.validate().is_ok());
    let printed = settings.to_masked_toml();
    let secrets = settings.admin.password.is_some() || settings.server.metrics_token.is_some();
    if !secrets {
        let again = Settings::from_toml(&printed);
        assert_eq!(again.ok().as_ref(), Some(&settings), "{printed}");
    }
}

/// A value an admin may set is stored normalised; the stored form, applied again
/// at the next start, gives the same settings.
fn runtime_edit(key: &str, value: &Value) {
    let mut settings = Settings::default();
    let accepted = runtime_settings::set(&mut settings, key, value).is_ok();
    let normalized = runtime_settings::normalize(key, value);
    if !accepted {
        assert_eq!(
            settings,
            Settings::default(),
            "a refused value changed nothing"
        );
        return;
    }
    assert!(settings.validate().is_ok());
    let Ok(stored) = normalized else {
        panic!("{key}: accepted {value} but cannot store it");
    };
    let mut reloaded = Settings::default();
    let text = stored.to_string();
    let applied = runtime_settings::apply(
        &mut reloaded,
        &[(key.to_owned(), text)],
        &Default::default(),
    );
    assert!(
        applied.rejected.is_empty(),
        "{key}: {value} → {stored}: {applied:?}"
    );
    assert_eq!(reloaded, settings, "{key}: {value} → {stored}");
}

/// What every channel-list parser promises about its entries.
fn check_list(list: &ParsedList) {
    for e in &list.entries {
        check_entry(e);
    }
}

fn check_entry(e: &Entry) {
    check_field(&e.name, e);
    for f in [&e.group, &e.logo, &e.tvg_id].into_iter().flatten() {
        check_field(f, e);
    }
    match &e.stream {
        StreamRef::Ace { key } => {
            let v = key.value();
            assert!(
                is_hex40(v) && v.bytes().all(|b| !b.is_ascii_uppercase()),
                "{e:?}"
            );
        }
        StreamRef::Direct { url } => {
            let parsed = url::Url::parse(url);
            assert!(
                parsed.is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some()),
                "{e:?}"
            );
        }
    }
}

/// Cleaned: non-empty, bounded, trimmed, single spaces, no control characters.
fn check_field(f: &str, e: &Entry) {
    assert!(!f.is_empty() && f.len() <= MAX_FIELD, "{e:?}");
    assert_eq!(f.trim(), f, "{e:?}");
    assert!(!f.contains("  "), "{e:?}");
    assert!(
        !f.chars()
            .any(|c| c.is_control() || (c.is_whitespace() && c != ' ')),
        "{e:?}"
    );
}
