//! Writes the `get.php` playlist: `#EXTM3U`, then one `#EXTINF` line and one stream
//! URL per channel, in the shapes players parse.
//!
//! Escaping, since M3U has none:
//! - attribute values are double-quoted, so a `"` inside one would end it early: it
//!   becomes `'` in text values (`tvg-name`, `group-title`, `tvg-id`) and `%22` in
//!   the logo URL (the same URL, percent-encoded);
//! - a CR or LF would end the line: control characters become spaces everywhere;
//! - the name after the comma keeps its commas and quotes: parsers take the name from
//!   the first comma outside a quoted value, and `tvg-name` repeats it for those that
//!   take the last comma;
//! - user names and passwords are percent-encoded (everything but RFC 3986
//!   unreserved characters), so URLs keep the `http://host[:port]/live/u/p/id.ts`
//!   shape Kodi's catch-up regex expects.

use std::fmt::Write as _;

use acextream_core::store::channels::Channel;

/// The two playlist flavours of `get.php?type=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaylistKind {
    /// `#EXTINF:-1,Name` only.
    M3u,
    /// `#EXTINF` with `tvg-*` and `group-title` attributes, and the guide URL.
    M3uPlus,
}

/// Whose playlist, and where players reach the server.
#[derive(Debug, Clone, Copy)]
pub struct PlaylistLinks<'a> {
    /// `scheme://host[:port]`, from `BaseUrl::origin`.
    pub origin: &'a str,
    /// The account name, as the player logged in.
    pub username: &'a str,
    /// The password, as the player sent it.
    pub password: &'a str,
    /// The stream URLs' extension: `ts`, or `m3u8` for HLS (`output=m3u8|hls`).
    pub ext: &'a str,
    /// Archived channels and their catch-up depth in days (catch-up attributes).
    pub archived: &'a std::collections::HashMap<i64, u32>,
}

/// Bytes per channel reserved up front: an `#EXTINF` line with its attributes and
/// a URL is about this long, so 10,000 channels rarely reallocate.
const BYTES_PER_CHANNEL: usize = 320;

/// The playlist of `channels` (each with its guide id), in their order.
pub fn write_playlist(
    kind: PlaylistKind,
    links: PlaylistLinks<'_>,
    channels: &[(Channel, String)],
) -> String {
    let mut out = String::with_capacity(64 + channels.len() * BYTES_PER_CHANNEL);
    let user = encode_component(links.username);
    let pass = encode_component(links.password);
    match kind {
        PlaylistKind::M3u => out.push_str("#EXTM3U\n"),
        PlaylistKind::M3uPlus => {
            let guide = format!("{}/xmltv.php?username={user}&password={pass}", links.origin);
            let guide = attr_url(&guide);
            let _ = writeln!(out, "#EXTM3U url-tvg=\"{guide}\" x-tvg-url=\"{guide}\"");
        }
    }
    for (position, (channel, epg_id)) in channels.iter().enumerate() {
        let name = line_text(&channel.name);
        match kind {
            PlaylistKind::M3u => {
                let _ = writeln!(out, "#EXTINF:-1,{name}");
            }
            PlaylistKind::M3uPlus => {
                // Channels without a number get their 1-based position, so every entry
                // has one (players sort and zap by it).
                let chno = channel.chno.unwrap_or(position as i64 + 1);
                let catchup = match links.archived.get(&channel.id) {
                    Some(&days) => crate::timeshift::catchup::catchup_attributes(
                        links.origin,
                        &user,
                        &pass,
                        channel.id,
                        days,
                    ),
                    None => String::new(),
                };
                let _ = writeln!(
                    out,
                    "#EXTINF:-1 tvg-id=\"{}\" tvg-name=\"{}\" tvg-logo=\"{}\" tvg-chno=\"{chno}\" group-title=\"{}\"{catchup},{name}",
                    attr_text(epg_id),
                    attr_text(&channel.name),
                    attr_url(&channel.logo),
                    attr_text(channel.category.as_deref().unwrap_or("")),
                );
            }
        }
        let _ = writeln!(
            out,
            "{}/live/{user}/{pass}/{}.{}",
            links.origin, channel.id, links.ext
        );
    }
    out
}

/// A text attribute value: `"` → `'`, control characters → space.
fn attr_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// A URL attribute value: `"` → `%22` (the same URL), control characters → space.
fn attr_url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("%22"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The name after the comma: only line breaks (and other controls) must go.
fn line_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Percent-encodes all but RFC 3986 unreserved characters: safe as a path segment
/// and as a query value alike.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use acextream_core::sources::m3u::parse_m3u;

    fn channel(
        id: i64,
        name: &str,
        category: Option<&str>,
        logo: &str,
        chno: Option<i64>,
    ) -> Channel {
        Channel {
            id,
            name: name.into(),
            content_id: None,
            infohash: None,
            direct_url: None,
            links: 1,
            category_id: None,
            category: category.map(str::to_owned),
            logo: logo.into(),
            tvg_id: String::new(),
            chno,
            enabled: true,
            active: true,
            overrides: Vec::new(),
            online: None,
            checked_at: None,
            added_at: 0,
            updated_at: 0,
        }
    }

    static NOT_ARCHIVED: std::sync::LazyLock<std::collections::HashMap<i64, u32>> =
        std::sync::LazyLock::new(Default::default);

    fn links() -> PlaylistLinks<'static> {
        PlaylistLinks {
            ext: "ts",
            origin: "http://tv.example.org:58055",
            username: "u",
            password: "p!é",
            archived: &NOT_ARCHIVED,
        }
    }

    #[test]
    fn archived_channels_carry_catch_up_attributes_before_the_name() {
        let list = vec![
            (channel(17, "A, \"B\"", None, "", None), String::new()),
            (channel(18, "Plain", None, "", None), String::new()),
        ];
        let archived = [(17, 3)].into_iter().collect();
        let links = PlaylistLinks {
            archived: &archived,
            ..links()
        };
        let text = write_playlist(PlaylistKind::M3uPlus, links, &list);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].contains(" catchup=\"default\" catchup-days=\"3\" timeshift=\"3\" catchup-source=\"http://tv.example.org:58055/timeshift/u/p%21%C3%A9/"),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].ends_with("\",A, \"B\""),
            "the name is untouched: {}",
            lines[1]
        );
        assert!(!lines[3].contains("catchup"), "{}", lines[3]);
    }

    #[test]
    fn m3u_plus_has_the_guide_header_and_every_attribute() {
        let list = vec![(
            channel(17, "Sky Sport", Some("Sport"), "http://l/s.png", None),
            "sky.sport.it".into(),
        )];
        let text = write_playlist(PlaylistKind::M3uPlus, links(), &list);
        assert_eq!(
            text,
            "#EXTM3U url-tvg=\"http://tv.example.org:58055/xmltv.php?username=u&password=p%21%C3%A9\" \
             x-tvg-url=\"http://tv.example.org:58055/xmltv.php?username=u&password=p%21%C3%A9\"\n\
             #EXTINF:-1 tvg-id=\"sky.sport.it\" tvg-name=\"Sky Sport\" tvg-logo=\"http://l/s.png\" \
             tvg-chno=\"1\" group-title=\"Sport\",Sky Sport\n\
             http://tv.example.org:58055/live/u/p%21%C3%A9/17.ts\n"
        );
    }

    #[test]
    fn plain_m3u_is_the_name_only() {
        let list = vec![(channel(3, "A, \"b\"", None, "", Some(9)), String::new())];
        let text = write_playlist(PlaylistKind::M3u, links(), &list);
        assert_eq!(
            text,
            "#EXTM3U\n#EXTINF:-1,A, \"b\"\nhttp://tv.example.org:58055/live/u/p%21%C3%A9/3.ts\n"
        );
    }

    #[test]
    fn hostile_values_stay_inside_their_quotes_and_lines() {
        let list = vec![(
            channel(
                5,
                "Bad\r\n#EXTINF:-1,x",
                Some("G \"1\"\n"),
                "http://l/\"x\".png",
                None,
            ),
            "id\"\r\n".into(),
        )];
        let text = write_playlist(PlaylistKind::M3uPlus, links(), &list);
        assert_eq!(text.lines().count(), 3, "{text}");
        let parsed = parse_m3u(&text);
        assert_eq!(parsed.skipped, 0);
        let e = &parsed.entries[0];
        assert_eq!(e.name, "Bad #EXTINF:-1,x");
        assert_eq!(e.group.as_deref(), Some("G '1'"));
        assert_eq!(e.logo.as_deref(), Some("http://l/%22x%22.png"));
        assert_eq!(e.tvg_id.as_deref(), Some("id'"));
    }

    #[test]
    fn ten_thousand_channels_take_well_under_a_second() {
        let list: Vec<(Channel, String)> = (0..10_000)
            .map(|i| {
                let c = channel(
                    i,
                    &format!("Channel {i}, \"HD\""),
                    Some("Sport"),
                    "http://l/x.png",
                    None,
                );
                (c, format!("ch{i}.example.org"))
            })
            .collect();
        let started = std::time::Instant::now();
        let text = write_playlist(PlaylistKind::M3uPlus, links(), &list);
        // Generous for a debug build on a busy machine: this catches quadratic
        // behaviour, not a few percent.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(text.lines().count(), 1 + 2 * 10_000);
        assert_eq!(parse_m3u(&text).entries.len(), 10_000);
    }

    #[test]
    fn components_are_percent_encoded() {
        assert_eq!(encode_component("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(
            encode_component("a b/c?d#e%f&g+h\"'"),
            "a%20b%2Fc%3Fd%23e%25f%26g%2Bh%22%27"
        );
    }
}
