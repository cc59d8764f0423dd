//! Cleaning of the text fields parsers copy out of untrusted lists, and the one place
//! an [`Entry`] is assembled, so every parser applies the same limits.

use super::{Entry, StreamRef};

/// Longest stored field, in bytes. Lists come from strangers: a 1 MiB "name" must not
/// reach the store or every page that shows it.
pub(crate) const MAX_FIELD: usize = 1024;

/// Trims, collapses whitespace runs to one space, drops control and bidi-override
/// characters and truncates to [`MAX_FIELD`] bytes on a char boundary. Markup is kept
/// as text: escaping is the renderer's job.
pub(crate) fn clean(s: &str) -> String {
    let mut out = String::new();
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if c.is_control() || is_invisible_format(c) {
            continue;
        }
        let extra = c.len_utf8() + usize::from(space && !out.is_empty());
        if out.len() + extra > MAX_FIELD {
            break;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// Bidi overrides and isolates can make a name render as something else; the byte-order
/// mark shows up when files are concatenated.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// [`clean`], with an empty result as `None`.
pub(crate) fn opt(s: Option<&str>) -> Option<String> {
    s.map(clean).filter(|v| !v.is_empty())
}

/// A channel number: digits only (surrounding blanks allowed), within `u32`.
pub(crate) fn chno(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

/// The name of last resort: the id, or the URL of a direct stream.
fn fallback_name(stream: &StreamRef) -> String {
    match stream {
        StreamRef::Ace { key } => key.value().to_owned(),
        StreamRef::Direct { url } => clean(url),
    }
}

/// Builds an entry; `names` are tried in order (each cleaned), then the id.
pub(crate) fn entry(
    names: &[Option<&str>],
    stream: StreamRef,
    group: Option<&str>,
    logo: Option<&str>,
    tvg_id: Option<&str>,
    chno: Option<u32>,
) -> Entry {
    let name = names
        .iter()
        .find_map(|n| opt(*n))
        .unwrap_or_else(|| fallback_name(&stream));
    Entry {
        name,
        stream,
        group: opt(group),
        logo: opt(logo),
        tvg_id: opt(tvg_id),
        chno,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_collapses_whitespace_and_drops_controls() {
        assert_eq!(clean("  a \t\u{0}b\u{7}\n\n c\u{202e}  "), "a b c");
        assert_eq!(clean("<script>x</script>"), "<script>x</script>");
    }

    #[test]
    fn clean_truncates_on_a_char_boundary() {
        let long = "é".repeat(MAX_FIELD);
        let out = clean(&long);
        assert!(out.len() <= MAX_FIELD);
        assert_eq!(out.len(), MAX_FIELD);
        assert!(out.chars().all(|c| c == 'é'));
        let odd = format!("a{}", "é".repeat(MAX_FIELD));
        assert_eq!(clean(&odd).len(), MAX_FIELD - 1);
    }

    #[test]
    fn chno_accepts_only_u32() {
        assert_eq!(chno(" 5 "), Some(5));
        assert_eq!(chno("-1"), None);
        assert_eq!(chno("99999999999"), None);
        assert_eq!(chno("5a"), None);
    }
}
