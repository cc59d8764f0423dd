//! HTML pages scraped for AceStream links: `<a href>` to `acestream://` or engine
//! URLs, and `acestream://` links written out in the page's text.

use std::collections::HashSet;

use scraper::{ElementRef, Html, Node};

use super::ids::{is_hex40, parse_ace_link};
use super::{ParsedList, StreamRef, fields};
use crate::engine::ContentKey;

const SCHEME: &str = "acestream://";

/// Elements whose text is never a label: code, styles, templates.
const SKIPPED: [&str; 4] = ["script", "style", "template", "noscript"];

/// Bounds on the walks that look for a label near a link, so a page with many links
/// in one huge container stays linear.
const MAX_SIBLINGS: usize = 16;
const MAX_ANCESTORS: usize = 6;

/// html5ever checks scopes by walking its stack of open elements, so each tag costs
/// the current depth and a page nested 20 000 deep takes seconds (minutes in debug
/// builds). Real pages stay far below this.
const MAX_DEPTH: usize = 512;

/// Elements that never hold children or whose end tag the parser implies (`<li>`,
/// `<p>`, `<td>`… close their predecessor), so they do not deepen the tree.
const FLAT: [&str; 22] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "p", "li", "dt", "dd", "tr", "td", "th", "option",
];

/// Scrapes a page, in document order:
/// - `<a href>` whose target is `acestream://<id>` or an engine `/ace/getstream` /
///   `/ace/manifest.m3u8` URL ([`parse_ace_link`]; a bare hex path segment is not
///   enough here, commit links look like that). Name: the link text, unless it is
///   the link itself; else its `title`; else, inside a table, the first non-empty
///   cell before it in the row (usually the channel column); else the nearest
///   preceding `h1`–`h6` among its own and its ancestors' earlier siblings; else the
///   id.
/// - `acestream://<id>` written in text (outside links, scripts and styles). Name:
///   the text before it on the same line; else, when it starts its text node, the
///   inline text before it up to a `<br>` or block; else the id.
///
/// The same stream found twice on a page gives one entry, with the first name.
/// `acestream://` links whose id is not 40 hex are skipped and counted.
///
/// Pages nested deeper than [`MAX_DEPTH`] (estimated in one linear pass) are not
/// parsed as HTML but scanned line by line: each `acestream://` link, in text or in a
/// tag, named by the visible text before it on its line.
pub fn scrape_html(text: &str) -> ParsedList {
    if nesting_estimate(text) > MAX_DEPTH {
        return scrape_flat(text);
    }
    let html = Html::parse_document(text);
    let mut page = Page::default();
    // An explicit walk rather than recursion: hostile pages can nest very deep.
    let mut next = html.tree.root().first_child();
    while let Some(node) = next {
        let mut descend = true;
        match node.value() {
            Node::Element(el) if SKIPPED.contains(&el.name()) => descend = false,
            Node::Element(el) if el.name() == "a" => {
                if let Some(a) = ElementRef::wrap(node) {
                    descend = !page.anchor(a);
                }
            }
            Node::Text(t) if contains_scheme(&t.text) => {
                let before = || {
                    let mut parts = Vec::new();
                    for sib in node.prev_siblings().take(MAX_SIBLINGS) {
                        match sib.value() {
                            Node::Text(t) => parts.push(t.text.to_string()),
                            Node::Element(el) if is_inline(el.name()) => {
                                if let Some(el) = ElementRef::wrap(sib) {
                                    parts.push(bounded_text(el));
                                }
                            }
                            Node::Comment(_) => {}
                            _ => break,
                        }
                    }
                    parts.reverse();
                    parts.concat()
                };
                page.text(&t.text, before);
            }
            _ => {}
        }
        next = if descend { node.first_child() } else { None };
        let mut up = Some(node);
        while next.is_none() {
            let Some(n) = up else { break };
            next = n.next_sibling();
            up = n.parent();
        }
    }
    page.out
}

#[derive(Default)]
struct Page {
    out: ParsedList,
    seen: HashSet<ContentKey>,
}

impl Page {
    fn push(&mut self, key: ContentKey, names: &[Option<&str>]) {
        if self.seen.insert(key.clone()) {
            let stream = StreamRef::Ace { key };
            let entry = fields::entry(names, stream, None, None, None, None);
            self.out.entries.push(entry);
        }
    }

    /// Returns whether the link was a stream (its text is then used up as its name).
    fn anchor(&mut self, a: ElementRef<'_>) -> bool {
        let Some(href) = a.attr("href") else {
            return false;
        };
        let Some(key) = parse_ace_link(href) else {
            if contains_scheme(href) {
                self.out.skipped += 1;
                return true;
            }
            return false;
        };
        if self.seen.contains(&key) {
            return true;
        }
        let text = bounded_text(a);
        let own =
            (!is_self_label(&text) && !fields::clean(&text).is_empty()).then_some(text.as_str());
        let title = a.attr("title").filter(|t| !fields::clean(t).is_empty());
        // The walks for a nearby label run only for links that carry no name.
        let nearby = match own.or(title) {
            Some(_) => None,
            None => row_label(a).or_else(|| heading_label(a)),
        };
        let names = [own, title, nearby.as_deref()];
        self.push(key, &names);
        true
    }

    fn text(&mut self, text: &str, before: impl Fn() -> String) {
        let lower = text.to_ascii_lowercase();
        for (at, _) in lower.match_indices(SCHEME) {
            let rest = &text[at + SCHEME.len()..];
            let hex_len = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
            if hex_len != 40 {
                self.out.skipped += 1;
                continue;
            }
            let key = ContentKey::ContentId(rest[..40].to_ascii_lowercase());
            if self.seen.contains(&key) {
                continue;
            }
            let line_start = text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
            let mut label = trim_label(&text[line_start..at]).to_owned();
            if label.is_empty() && line_start == 0 {
                let before = before();
                let line = before.rsplit(['\n', '\r']).next().unwrap_or_default();
                label = trim_label(line).to_owned();
            }
            self.push(key, &[Some(&label)]);
        }
    }
}

fn contains_scheme(s: &str) -> bool {
    s.as_bytes()
        .windows(SCHEME.len())
        .any(|w| w.eq_ignore_ascii_case(SCHEME.as_bytes()))
}

/// Link text that is just the link (`acestream://…` or the bare id) names nothing.
fn is_self_label(text: &str) -> bool {
    let t = text.trim();
    contains_scheme(t) || is_hex40(t)
}

/// Separators people put between a name and its link: `Name: acestream://…`.
fn trim_label(s: &str) -> &str {
    s.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, ':' | '-' | '–' | '—' | '|' | '>' | '=')
    })
}

/// The element's text, stopping once it exceeds a stored field.
fn bounded_text(el: ElementRef<'_>) -> String {
    let mut s = String::new();
    for t in el.text() {
        s.push_str(t);
        if s.len() > fields::MAX_FIELD * 2 {
            break;
        }
    }
    s
}

fn is_inline(name: &str) -> bool {
    matches!(
        name,
        "b" | "strong"
            | "i"
            | "em"
            | "u"
            | "span"
            | "font"
            | "small"
            | "big"
            | "mark"
            | "label"
            | "abbr"
            | "code"
    )
}

/// For a link inside a table cell: the first non-empty cell before it in its row.
fn row_label(a: ElementRef<'_>) -> Option<String> {
    let cell = ancestors(a).find(|e| matches!(e.value().name(), "td" | "th"))?;
    let mut earlier: Vec<String> = cell
        .prev_siblings()
        .filter_map(ElementRef::wrap)
        .filter(|e| matches!(e.value().name(), "td" | "th"))
        .take(MAX_SIBLINGS)
        .map(bounded_text)
        .filter(|t| !fields::clean(t).is_empty())
        .collect();
    earlier.pop()
}

/// The nearest `h1`–`h6` before the link among its own and its ancestors' siblings.
fn heading_label(a: ElementRef<'_>) -> Option<String> {
    std::iter::once(a).chain(ancestors(a)).find_map(|e| {
        e.prev_siblings()
            .filter_map(ElementRef::wrap)
            .take(MAX_SIBLINGS)
            .find(|s| matches!(s.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6"))
            .map(bounded_text)
    })
}

fn ancestors(el: ElementRef<'_>) -> impl Iterator<Item = ElementRef<'_>> {
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .take(MAX_ANCESTORS)
}

/// The deepest element nesting the tags suggest: start tags push, end tags pop;
/// scripts and styles are jumped over, their `<` are comparisons.
fn nesting_estimate(text: &str) -> usize {
    let lower = text.to_ascii_lowercase();
    let (mut depth, mut max, mut pos) = (0usize, 0usize, 0usize);
    while let Some(found) = lower[pos..].find('<') {
        let rest = &lower.as_bytes()[pos + found + 1..];
        pos += found + 1;
        if rest.first() == Some(&b'/') {
            depth = depth.saturating_sub(1);
            continue;
        }
        if !rest.first().is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let name_len = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let name = &lower[pos..pos + name_len];
        if matches!(name, "script" | "style") {
            let close = format!("</{name}");
            match lower[pos..].find(&close) {
                Some(end) => pos += end,
                None => break,
            }
        } else if !FLAT.contains(&name) {
            depth += 1;
            max = max.max(depth);
        }
    }
    max
}

/// The fallback for pages too deep to parse: one line at a time, tags replaced by a
/// blank except the `acestream://` links they carry, then read as page text.
fn scrape_flat(text: &str) -> ParsedList {
    let mut page = Page::default();
    for line in text.split(['\n', '\r']).filter(|l| contains_scheme(l)) {
        let mut visible = String::new();
        let mut rest = line;
        while let Some(open) = rest.find('<') {
            visible.push_str(&rest[..open]);
            let close = rest[open..].find('>').map_or(rest.len(), |c| open + c + 1);
            let tag = &rest[open..close];
            if let Some(at) = tag.to_ascii_lowercase().find(SCHEME) {
                let end = tag[at..]
                    .find(|c: char| matches!(c, '"' | '\'' | '>') || c.is_whitespace())
                    .map_or(tag.len(), |e| at + e);
                visible.push(' ');
                visible.push_str(&tag[at..end]);
            }
            visible.push(' ');
            rest = &rest[close..];
        }
        visible.push_str(rest);
        page.text(&visible, String::new);
    }
    page.out
}
