//! Writes the `xmltv.php` guide into any `io::Write`, one programme at a time, so a
//! guide of any size is written in constant memory. Blocking: run it on a blocking
//! thread.
//!
//! The document validates against the XMLTV DTD: `<channel>` with at least one
//! `<display-name>` then an optional `<icon>`; `<programme>` with `title`,
//! `sub-title`, `desc`, `category`, `icon` in DTD order, empty ones left out. quick-xml
//! escapes markup; characters XML 1.0 forbids (most C0 controls) are dropped first,
//! since no escape can carry them.
//!
//! Channels sharing one guide id: the id is declared once, with every channel's name
//! as a `<display-name>`. Their programmes would be the same ones (or, mapped to the
//! same id of two guide sources, overlapping ones), so each id's programmes come from
//! one channel only: the first (lowest channel id, the walk's order) that has any.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;

use acextream_core::epg::{EpgError, StoredProgramme, format_xmltv_time};
use acextream_core::store::channels::Channel;
use jiff::tz::TimeZone;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

/// One `<channel>` of the guide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideChannel {
    /// The guide id: `<channel id>`, the M3U `tvg-id`, Xtream's `epg_channel_id`.
    pub id: String,
    /// The distinct names of the channels showing it, in playlist order.
    pub names: Vec<String>,
    /// The first of those channels' logos, if any.
    pub icon: Option<String>,
    /// The logical channel number (`<lcn>`, newer XMLTV DTDs), if one is given.
    pub lcn: Option<String>,
}

/// The declared channels, and which acextream channel's programmes each one shows.
#[derive(Debug, Clone, Default)]
pub struct GuidePlan {
    /// In playlist order, one per distinct non-empty guide id.
    pub channels: Vec<GuideChannel>,
    /// Channel row id → index in `channels`.
    index_of: HashMap<i64, usize>,
    /// Per entry of `channels`: the channel whose programmes are written for it.
    owner: Vec<Option<i64>>,
}

impl GuidePlan {
    /// The plan for the playable channels with their guide ids.
    pub fn new(list: &[(Channel, String)]) -> GuidePlan {
        let mut plan = GuidePlan::default();
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for (channel, epg_id) in list {
            if epg_id.trim().is_empty() {
                continue;
            }
            let at = *by_id.entry(epg_id.as_str()).or_insert_with(|| {
                plan.channels.push(GuideChannel {
                    id: epg_id.clone(),
                    names: Vec::new(),
                    icon: None,
                    lcn: None,
                });
                plan.owner.push(None);
                plan.channels.len() - 1
            });
            let entry = &mut plan.channels[at];
            if !channel.name.is_empty() && !entry.names.contains(&channel.name) {
                entry.names.push(channel.name.clone());
            }
            if entry.icon.is_none() && !channel.logo.trim().is_empty() {
                entry.icon = Some(channel.logo.clone());
            }
            plan.index_of.insert(channel.id, at);
        }
        plan
    }

    /// The guide id to write a programme of `channel_id` under, or `None` when it is
    /// not written (the channel is not declared, or another channel supplies the id).
    pub fn route(&mut self, channel_id: i64) -> Option<&str> {
        let at = *self.index_of.get(&channel_id)?;
        let owner = self.owner[at].get_or_insert(channel_id);
        (*owner == channel_id).then(|| self.channels[at].id.as_str())
    }
}

/// An XMLTV document being written.
pub struct XmltvWriter<W: Write> {
    xml: Writer<W>,
    tz: TimeZone,
}

impl<W: Write> XmltvWriter<W> {
    /// Writes the prologue and opens `<tv>`; times will be written in `tz`.
    pub fn begin(inner: W, tz: TimeZone) -> std::io::Result<Self> {
        // Two-space indentation: about a tenth more bytes, and a guide a human can read.
        let mut xml = Writer::new_with_indent(inner, b' ', 2);
        xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        xml.write_event(Event::DocType(BytesText::from_escaped(
            "tv SYSTEM \"xmltv.dtd\"",
        )))?;
        xml.write_event(Event::Start(
            quick_xml::events::BytesStart::new("tv")
                .with_attributes([("generator-info-name", "acextream")]),
        ))?;
        Ok(XmltvWriter { xml, tz })
    }

    /// Writes one `<channel>`.
    pub fn channel(&mut self, c: &GuideChannel) -> std::io::Result<()> {
        let names: Vec<&str> = if c.names.is_empty() {
            vec![c.id.as_str()]
        } else {
            c.names.iter().map(String::as_str).collect()
        };
        self.xml
            .create_element("channel")
            .with_attribute(("id", attr(&c.id).as_ref()))
            .write_inner_content(|w| {
                for name in names {
                    w.create_element("display-name")
                        .write_text_content(BytesText::new(&text(name)))?;
                }
                if let Some(icon) = &c.icon {
                    w.create_element("icon")
                        .with_attribute(("src", attr(icon).as_ref()))
                        .write_empty()?;
                }
                if let Some(lcn) = &c.lcn {
                    w.create_element("lcn")
                        .write_text_content(BytesText::new(&text(lcn)))?;
                }
                Ok(())
            })?;
        Ok(())
    }

    /// Writes one `<programme>` under guide id `channel`. Returns false, writing
    /// nothing, for one without a title (the DTD requires one) or with a time out of
    /// range.
    pub fn programme(&mut self, channel: &str, p: &StoredProgramme) -> std::io::Result<bool> {
        self.programme_in(channel, p, &[])
    }

    /// [`XmltvWriter::programme`] with `categories` written after the programme's
    /// own (each only when it differs from that one).
    pub fn programme_in(
        &mut self,
        channel: &str,
        p: &StoredProgramme,
        categories: &[&str],
    ) -> std::io::Result<bool> {
        let (Some(start), Some(stop)) = (
            format_xmltv_time(p.start, &self.tz),
            format_xmltv_time(p.stop, &self.tz),
        ) else {
            return Ok(false);
        };
        let title = text(&p.title);
        if title.trim().is_empty() {
            return Ok(false);
        }
        self.xml
            .create_element("programme")
            .with_attribute(("start", start.as_str()))
            .with_attribute(("stop", stop.as_str()))
            .with_attribute(("channel", attr(channel).as_ref()))
            .write_inner_content(|w| {
                let mut t = w.create_element("title");
                let lang = attr(&p.lang);
                if !lang.trim().is_empty() {
                    t = t.with_attribute(("lang", lang.as_ref()));
                }
                t.write_text_content(BytesText::new(&title))?;
                // The description keeps the language it came with; the sub-title's
                // and category's are not stored, so they go without one.
                for (tag, value, lang) in [
                    ("sub-title", &p.sub_title, ""),
                    ("desc", &p.description, p.desc_lang.as_str()),
                    ("category", &p.category, ""),
                ] {
                    let value = text(value);
                    if value.trim().is_empty() {
                        continue;
                    }
                    let lang = attr(lang);
                    let mut e = w.create_element(tag);
                    if !lang.trim().is_empty() {
                        e = e.with_attribute(("lang", lang.as_ref()));
                    }
                    e.write_text_content(BytesText::new(&value))?;
                }
                // After the programme's own category, before its icon (DTD order).
                for extra in categories
                    .iter()
                    .filter(|c| !c.eq_ignore_ascii_case(p.category.trim()))
                {
                    w.create_element("category")
                        .with_attribute(("lang", "en"))
                        .write_text_content(BytesText::new(extra))?;
                }
                if !p.icon.trim().is_empty() {
                    w.create_element("icon")
                        .with_attribute(("src", attr(&p.icon).as_ref()))
                        .write_empty()?;
                }
                Ok(())
            })?;
        Ok(true)
    }

    /// Closes `<tv>` and hands back the inner writer.
    pub fn end(mut self) -> std::io::Result<W> {
        self.xml
            .write_event(Event::End(quick_xml::events::BytesEnd::new("tv")))?;
        let mut inner = self.xml.into_inner();
        inner.write_all(b"\n")?;
        Ok(inner)
    }
}

/// A visitor of the stored programmes, `(channel row id, programme)`.
pub type Visit<'a> = dyn FnMut(i64, &StoredProgramme) -> Result<(), EpgError> + 'a;

/// Writes the whole guide of `plan` into `out`: the channels, then the programmes
/// `walk` hands to its visitor (`epg::for_each_programme_of_mapped_channels` over the
/// window, by channel then start). An error of `out` stops the walk.
pub fn write_guide<W: Write>(
    mut plan: GuidePlan,
    tz: TimeZone,
    out: W,
    walk: impl FnOnce(&mut Visit<'_>) -> Result<(), EpgError>,
) -> Result<W, EpgError> {
    let mut doc = XmltvWriter::begin(out, tz)?;
    for c in &plan.channels {
        doc.channel(c)?;
    }
    walk(&mut |channel_id, p| {
        if let Some(id) = plan.route(channel_id) {
            doc.programme(id, p)?;
        }
        Ok(())
    })?;
    Ok(doc.end()?)
}

/// Text without the characters XML 1.0 cannot carry at all.
fn text(s: &str) -> Cow<'_, str> {
    if s.chars().all(xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|c| xml_char(*c)).collect())
    }
}

/// An attribute value: [`text`], with line breaks and tabs as spaces (a parser would
/// normalise them to spaces anyway).
fn attr(s: &str) -> Cow<'_, str> {
    let t = text(s);
    if t.contains(['\t', '\n', '\r']) {
        Cow::Owned(t.replace(['\t', '\n', '\r'], " "))
    } else {
        t
    }
}

/// XML 1.0's `Char` production (Rust strings hold no surrogates).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(id: i64, name: &str, logo: &str) -> Channel {
        Channel {
            id,
            name: name.into(),
            content_id: None,
            infohash: None,
            direct_url: None,
            links: 1,
            category_id: None,
            category: None,
            logo: logo.into(),
            tvg_id: String::new(),
            chno: None,
            enabled: true,
            active: true,
            overrides: Vec::new(),
            online: None,
            checked_at: None,
            added_at: 0,
            updated_at: 0,
        }
    }

    fn programme(title: &str) -> StoredProgramme {
        StoredProgramme {
            id: 1,
            source_id: 1,
            xmltv_id: "x".into(),
            start: 1_795_549_500,
            stop: 1_795_553_100,
            title: title.into(),
            sub_title: String::new(),
            description: "a < b & \"c\"\u{1}".into(),
            category: "Sport".into(),
            icon: String::new(),
            lang: "it".into(),
            desc_lang: "en".into(),
        }
    }

    #[test]
    fn shared_ids_are_declared_once_with_every_name() {
        let list = vec![
            (channel(5, "One HD", ""), "one".to_owned()),
            (channel(3, "One", "http://l/1.png"), "one".to_owned()),
            (channel(4, "None", "http://l/n.png"), String::new()),
            (channel(6, "One HD", "http://l/x.png"), "one".to_owned()),
        ];
        let mut plan = GuidePlan::new(&list);
        assert_eq!(
            plan.channels,
            vec![GuideChannel {
                id: "one".into(),
                names: vec!["One HD".into(), "One".into()],
                icon: Some("http://l/1.png".into()),
                lcn: None,
            }]
        );
        // The walk goes by channel id: 3 comes first and supplies "one".
        assert_eq!(plan.route(3), Some("one"));
        assert_eq!(plan.route(5), None);
        assert_eq!(plan.route(3), Some("one"));
        assert_eq!(plan.route(4), None, "no guide id, not declared");
        assert_eq!(plan.route(99), None, "not playable");
    }

    #[test]
    fn a_document_is_escaped_ordered_and_in_the_zone() {
        let rome = TimeZone::get("Europe/Rome").unwrap();
        let mut doc = XmltvWriter::begin(Vec::new(), rome).unwrap();
        doc.channel(&GuideChannel {
            id: "a&b".into(),
            names: vec!["A <1>".into()],
            icon: None,
            lcn: None,
        })
        .unwrap();
        assert!(doc.programme("a&b", &programme("Match")).unwrap());
        assert!(
            !doc.programme("a&b", &programme(" ")).unwrap(),
            "no title, no programme"
        );
        let text = String::from_utf8(doc.end().unwrap()).unwrap();
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n<tv generator-info-name=\"acextream\">"), "{text}");
        assert!(text.contains("<channel id=\"a&amp;b\">"), "{text}");
        assert!(
            text.contains("<display-name>A &lt;1&gt;</display-name>"),
            "{text}"
        );
        assert!(
            text.contains(
                "start=\"20261124204500 +0100\" stop=\"20261124214500 +0100\" channel=\"a&amp;b\""
            ),
            "{text}"
        );
        let title = text.find("<title lang=\"it\">Match</title>").unwrap();
        let desc = text
            .find("<desc lang=\"en\">a &lt; b &amp; &quot;c&quot;</desc>")
            .unwrap();
        let category = text.find("<category>Sport</category>").unwrap();
        assert!(title < desc && desc < category, "{text}");
        assert!(
            !text.contains("sub-title") && !text.contains('\u{1}'),
            "{text}"
        );
        assert!(text.ends_with("</tv>\n"), "{text}");
    }
}
