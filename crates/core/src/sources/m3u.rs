//! M3U / M3U8 playlists: `#EXTINF` lines with their attributes, followed by the line
//! that plays the channel.

use super::ids::parse_stream_ref;
use super::{ParsedList, fields};

/// Parses an M3U playlist in one pass.
///
/// - `#EXTM3U` is optional; a leading byte-order mark, blank lines and CRLF / lone CR
///   line endings are fine; other `#` lines (`#EXTVLCOPT`, `#KODIPROP`…) are ignored.
/// - `#EXTINF:<duration> key="v" key='v' key=v…,Name`: keys are case-insensitive; the
///   name follows the first comma outside a quoted value, so both attribute values and
///   names may contain commas (a name's own commas come after that one).
/// - The next non-`#` line is the stream ([`parse_stream_ref`]). `#EXTGRP:` between
///   them (or just before the `#EXTINF`) sets the group when `group-title` is absent;
///   it applies to that one entry.
/// - A stream line without `#EXTINF` is an entry of its own, named after its id.
/// - Skipped and counted: an `#EXTINF` with no stream line before the next `#EXTINF` or
///   the end, and a stream line `parse_stream_ref` rejects (with its `#EXTINF`).
///
/// Names fall back to `tvg-name`, then the id; every field is cleaned (see
/// `fields::clean`).
pub fn parse_m3u(text: &str) -> ParsedList {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = ParsedList::default();
    let mut info: Option<ExtInf<'_>> = None;
    let mut extgrp: Option<&str> = None;
    for line in text.split(['\r', '\n']) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = directive(line, "#EXTINF") {
            if info.is_some() {
                out.skipped += 1;
            }
            info = Some(ExtInf::parse(rest.strip_prefix(':').unwrap_or(rest)));
        } else if let Some(rest) = directive(line, "#EXTGRP:") {
            extgrp = Some(rest);
        } else if line.starts_with('#') {
            continue;
        } else {
            let info = info.take();
            let group = extgrp.take();
            let Some(stream) = parse_stream_ref(line) else {
                out.skipped += 1;
                continue;
            };
            let entry = match info {
                Some(i) => fields::entry(
                    &[Some(i.name), i.attr("tvg-name")],
                    stream,
                    i.attr("group-title").or(group),
                    i.attr("tvg-logo").or_else(|| i.attr("logo")),
                    i.attr("tvg-id"),
                    i.attr("tvg-chno")
                        .or_else(|| i.attr("channel-number"))
                        .and_then(fields::chno),
                ),
                None => fields::entry(&[], stream, group, None, None, None),
            };
            out.entries.push(entry);
        }
    }
    if info.is_some() {
        out.skipped += 1;
    }
    out
}

/// The rest of `line` after `tag`, matched case-insensitively.
fn directive<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    let head = line.get(..tag.len())?;
    head.eq_ignore_ascii_case(tag).then(|| &line[tag.len()..])
}

/// One `#EXTINF` line, borrowed from the text.
struct ExtInf<'a> {
    /// Lowercased key, raw value; the first of a repeated key wins.
    attrs: Vec<(String, &'a str)>,
    name: &'a str,
}

impl<'a> ExtInf<'a> {
    fn parse(rest: &'a str) -> Self {
        let (head, name) = split_name(rest);
        ExtInf {
            attrs: attributes(head),
            name,
        }
    }

    fn attr(&self, key: &str) -> Option<&'a str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// Splits at the first comma outside a quoted value. A quote opens a value only right
/// after `=`, so an apostrophe in a name is just a character. If a quote is never
/// closed, the first comma at all is used rather than losing the name.
fn split_name(rest: &str) -> (&str, &str) {
    let mut quote = None;
    let mut after_eq = false;
    for (i, c) in rest.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == ',' => return (&rest[..i], &rest[i + 1..]),
            None if (c == '"' || c == '\'') && after_eq => quote = Some(c),
            None => {}
        }
        if quote.is_none() && !c.is_whitespace() {
            after_eq = c == '=';
        }
    }
    match rest.split_once(',') {
        Some(split) if quote.is_some() => split,
        _ => (rest, ""),
    }
}

/// Attributes read from one `#EXTINF` line.
const MAX_ATTRS: usize = 32;

/// `key=value` pairs of the part before the name; the duration and any other token
/// without `=` are ignored. Values may be double-quoted, single-quoted or bare (up to
/// the next blank); blanks around `=` are allowed. Real lines carry a handful of
/// attributes; stopping at [`MAX_ATTRS`] keeps a hostile line linear.
fn attributes(head: &str) -> Vec<(String, &str)> {
    let mut attrs = Vec::new();
    let mut rest = head;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || attrs.len() >= MAX_ATTRS {
            return attrs;
        }
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        let after = rest[key_end..].trim_start();
        let Some(value_part) = after.strip_prefix('=') else {
            rest = &rest[key_end..];
            continue;
        };
        let value_part = value_part.trim_start();
        let (value, next) = match value_part.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let body = &value_part[1..];
                match body.find(q) {
                    Some(end) => (&body[..end], &body[end + 1..]),
                    None => (body, ""),
                }
            }
            _ => {
                let end = value_part
                    .find(char::is_whitespace)
                    .unwrap_or(value_part.len());
                (&value_part[..end], &value_part[end..])
            }
        };
        if !key.is_empty() {
            let key = key.to_ascii_lowercase();
            if !attrs.iter().any(|(k, _)| *k == key) {
                attrs.push((key, value));
            }
        }
        rest = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_name_skips_commas_in_quoted_values() {
        assert_eq!(
            split_name(r#"-1 group-title="A, B" tvg-name='x,"y"',Name, Two"#),
            (r#"-1 group-title="A, B" tvg-name='x,"y"'"#, "Name, Two")
        );
        assert_eq!(split_name("-1,Bob's, \"Best\""), ("-1", "Bob's, \"Best\""));
        assert_eq!(split_name(r#"-1 a="open,Name"#), (r#"-1 a="open"#, "Name"));
        assert_eq!(split_name("-1 no name"), ("-1 no name", ""));
    }

    #[test]
    fn attributes_take_every_quoting_style() {
        let attrs =
            attributes(r#"-1 TVG-ID="a b" tvg-name='say "hi"' tvg-chno=5 x = "y" tvg-id="dup""#);
        let get = |k: &str| attrs.iter().find(|(key, _)| key == k).map(|(_, v)| *v);
        assert_eq!(get("tvg-id"), Some("a b"));
        assert_eq!(get("tvg-name"), Some(r#"say "hi""#));
        assert_eq!(get("tvg-chno"), Some("5"));
        assert_eq!(get("x"), Some("y"));
    }
}
