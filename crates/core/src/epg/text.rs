//! Turning the raw bytes of an XMLTV text or attribute into a trimmed, capped
//! string, leniently: real feeds carry HTML entities (`&nbsp;`), stray `&` and the
//! odd Latin-1 byte, and one bad character must not cost the whole guide.

/// Longest stored field, in bytes: a description is a paragraph, and a hostile feed
/// must not be able to bloat the store through a handful of huge fields.
pub const MAX_FIELD: usize = 4096;

/// Decodes bytes as UTF-8, or byte-per-char as Latin-1 when they are not UTF-8
/// (feeds that declare ISO-8859-1, the only other encoding still seen in the wild).
pub(crate) fn decode_bytes(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => raw.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Resolves character references and entities; anything unknown is kept literally.
pub(crate) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // Entity names are short; a `;` far away belongs to something else.
        let semi = after.char_indices().take(12).find(|&(_, c)| c == ';');
        match semi.and_then(|(end, _)| resolve(&after[..end]).map(|c| (end, c))) {
            Some((end, c)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn resolve(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        // The HTML ones that leak into feeds generated from web pages.
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "laquo" => '«',
        "raquo" => '»',
        "rsquo" => '’',
        "lsquo" => '‘',
        "rdquo" => '”',
        "ldquo" => '“',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "ograve" => 'ò',
        "ugrave" => 'ù',
        "igrave" => 'ì',
        "copy" => '©',
        "reg" => '®',
        _ => return None,
    })
}

/// Appends `piece` to `field` without letting it grow past [`MAX_FIELD`], cutting
/// on a character boundary.
pub(crate) fn push_capped(field: &mut String, piece: &str) {
    let room = MAX_FIELD.saturating_sub(field.len());
    if piece.len() <= room {
        field.push_str(piece);
    } else {
        let mut cut = room;
        while !piece.is_char_boundary(cut) {
            cut -= 1;
        }
        field.push_str(&piece[..cut]);
    }
}

/// A finished field: trimmed, capped.
pub(crate) fn finish(mut field: String) -> String {
    let trimmed = field.trim();
    if trimmed.len() != field.len() {
        field = trimmed.to_owned();
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_resolved_and_unknown_ones_kept() {
        assert_eq!(unescape("A &amp; B"), "A & B");
        assert_eq!(unescape("&#233;t&#xE9;&nbsp;!"), "été\u{a0}!");
        assert_eq!(
            unescape("Tom & Jerry &bogus; &#0; &"),
            "Tom & Jerry &bogus; &#0; &"
        );
    }

    #[test]
    fn latin1_bytes_are_not_lost() {
        assert_eq!(decode_bytes(b"caf\xe9"), "café");
        assert_eq!(decode_bytes("café".as_bytes()), "café");
    }

    #[test]
    fn fields_are_capped_on_a_char_boundary() {
        let mut f = String::new();
        push_capped(&mut f, &"é".repeat(MAX_FIELD));
        assert!(f.len() <= MAX_FIELD && f.len() >= MAX_FIELD - 1);
        push_capped(&mut f, "more");
        assert!(f.len() <= MAX_FIELD);
    }
}
