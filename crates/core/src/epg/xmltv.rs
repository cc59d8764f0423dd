//! A streaming XMLTV reader: events from quick-xml over a `BufRead`, one channel or
//! programme in memory at a time, so a feed of any size reads in constant memory.
//!
//! Leniency, because one bad entry must not cost a whole guide:
//! - a programme with an unreadable `start`, no `channel` or no `title`, or with
//!   `stop <= start`, is skipped and counted; so is a channel without an `id`;
//! - a programme without `stop` ends when the next programme of the same channel
//!   starts (feeds list a channel's programmes in order); the last one of a channel,
//!   having no successor, is skipped;
//! - entities and CDATA are decoded, unknown entities kept literally, non-UTF-8
//!   bytes read as Latin-1; text is trimmed and capped at [`MAX_FIELD`] bytes.
//!
//! Malformed XML is an error, returned after the entries before it were handed out:
//! the caller's transaction decides whether those count.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::EpgError;
use super::guard::{MAX_RUN, MarkupGuard};
pub use super::text::MAX_FIELD;
use super::text::{decode_bytes, finish, push_capped, unescape};
use super::time::parse_xmltv_time;

/// A `<channel>` of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmltvChannel {
    /// Its `id` attribute, what programmes refer to.
    pub id: String,
    /// Every non-empty `<display-name>`, in document order.
    pub display_names: Vec<String>,
    /// The first `<icon src>`.
    pub icon: Option<String>,
}

/// A `<programme>` of the feed; empty strings for absent elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programme {
    /// The `channel` attribute: the XMLTV id of its channel.
    pub channel: String,
    /// Start, Unix epoch seconds.
    pub start: i64,
    /// Stop, Unix epoch seconds, always after `start`.
    pub stop: i64,
    /// The first non-empty `<title>`.
    pub title: String,
    /// The first non-empty `<sub-title>`.
    pub sub_title: String,
    /// The first non-empty `<desc>`.
    pub description: String,
    /// The first non-empty `<category>`.
    pub category: String,
    /// The first `<icon src>`.
    pub icon: String,
    /// The `lang` attribute of the title.
    pub lang: String,
    /// The `lang` attribute of the description (it may differ from the title's).
    pub desc_lang: String,
}

/// What a read found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReadStats {
    /// Channels handed out.
    pub channels: u64,
    /// Programmes handed out.
    pub programmes: u64,
    /// Channels and programmes left out as unusable (see the module doc).
    pub skipped: u64,
}

/// Most display names kept per channel: real feeds have one to four.
const MAX_DISPLAY_NAMES: usize = 16;

/// Most stop-less programmes waiting for their successor: one per channel in a sane
/// feed; beyond that a hostile feed is only trying to grow memory.
const MAX_PENDING: usize = 65_536;

/// quick-xml's event buffer starts at this size and is reused for every event.
const EVENT_BUF: usize = 16 * 1024;

/// Reads a whole XMLTV document, calling `on_channel` / `on_programme` for each
/// usable entry as soon as it is complete.
pub fn read_xmltv<R: BufRead>(
    reader: R,
    mut on_channel: impl FnMut(XmltvChannel),
    mut on_programme: impl FnMut(Programme),
) -> Result<ReadStats, EpgError> {
    read_xmltv_with(
        reader,
        |c| {
            on_channel(c);
            Ok(())
        },
        |p| {
            on_programme(p);
            Ok(())
        },
    )
}

/// [`read_xmltv`] with fallible callbacks: the first error stops the read and is
/// returned (a database write that failed need not wait for the end of the feed).
pub fn read_xmltv_with<R: BufRead>(
    reader: R,
    on_channel: impl FnMut(XmltvChannel) -> Result<(), EpgError>,
    on_programme: impl FnMut(Programme) -> Result<(), EpgError>,
) -> Result<ReadStats, EpgError> {
    let mut xml = Reader::from_reader(MarkupGuard::new(reader, MAX_RUN));
    // Pieces of one field (text, CDATA, text) are joined first and trimmed after,
    // so the spaces between them survive.
    xml.config_mut().trim_text(false);
    let mut parser = Parser {
        on_channel,
        on_programme,
        stats: ReadStats::default(),
        depth: 0,
        saw_root: false,
        record: None,
        field: None,
        pending: HashMap::new(),
    };
    let mut buf = Vec::with_capacity(EVENT_BUF);
    loop {
        let event = match xml.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(quick_xml::Error::Io(e)) => {
                return Err(EpgError::Io(std::io::Error::new(e.kind(), e.to_string())));
            }
            Err(e) => {
                return Err(EpgError::Xml(format!(
                    "{e} (near byte {})",
                    xml.error_position()
                )));
            }
        };
        match event {
            Event::Start(e) => parser.start(&e, false)?,
            Event::Empty(e) => parser.start(&e, true)?,
            Event::End(_) => parser.end()?,
            // Only text inside a wanted field is decoded: the whitespace between
            // elements, and the text of ignored ones, is most of a feed's text.
            Event::Text(t) if parser.collecting() => parser.text(&unescape(&decode_bytes(&t))),
            Event::CData(t) if parser.collecting() => parser.text(&decode_bytes(&t)),
            Event::Text(_) | Event::CData(_) => {}
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
    parser.finish()
}

/// The entry being read.
enum Record {
    Channel(XmltvChannel),
    Programme(Draft),
}

/// A programme before its times are checked.
struct Draft {
    start: Option<i64>,
    /// `None` when absent; `Some(None)` when present but unreadable.
    stop: Option<Option<i64>>,
    programme: Programme,
}

/// The child element whose text is being collected.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    DisplayName,
    Title,
    SubTitle,
    Desc,
    Category,
}

struct Parser<C, P> {
    on_channel: C,
    on_programme: P,
    stats: ReadStats,
    /// Elements open, the root included.
    depth: usize,
    saw_root: bool,
    /// Set while inside a `<channel>` or `<programme>` (always at depth 2).
    record: Option<Record>,
    /// The field being collected, its text so far and its `lang`.
    field: Option<(Field, String, String)>,
    /// Programmes without `stop`, by channel, waiting for the next one to start.
    pending: HashMap<String, Programme>,
}

impl<C, P> Parser<C, P>
where
    C: FnMut(XmltvChannel) -> Result<(), EpgError>,
    P: FnMut(Programme) -> Result<(), EpgError>,
{
    fn start(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), EpgError> {
        let name = e.local_name();
        let name = name.as_ref();
        if !self.saw_root {
            if name != b"tv" {
                return Err(EpgError::NotXmltv(format!(
                    "the document starts with <{}>, not <tv>",
                    decode_bytes(name)
                )));
            }
            self.saw_root = true;
        }
        self.depth += 1;
        match (self.depth, name) {
            (2, b"channel") => {
                self.record = Some(Record::Channel(XmltvChannel {
                    id: attr(e, b"id").unwrap_or_default(),
                    display_names: Vec::new(),
                    icon: None,
                }));
            }
            (2, b"programme") => {
                self.record = Some(Record::Programme(Draft {
                    start: attr(e, b"start").as_deref().and_then(parse_xmltv_time),
                    stop: attr(e, b"stop").map(|s| parse_xmltv_time(&s)),
                    programme: Programme {
                        channel: attr(e, b"channel").unwrap_or_default(),
                        start: 0,
                        stop: 0,
                        title: String::new(),
                        sub_title: String::new(),
                        description: String::new(),
                        category: String::new(),
                        icon: String::new(),
                        lang: String::new(),
                        desc_lang: String::new(),
                    },
                }));
            }
            (3, _) if self.record.is_some() => self.child(e, name),
            _ => {}
        }
        if empty {
            self.end()?;
        }
        Ok(())
    }

    /// A direct child of the record: either the start of a text field or an icon.
    fn child(&mut self, e: &BytesStart<'_>, name: &[u8]) {
        let field = match (&self.record, name) {
            (Some(Record::Channel(_)), b"display-name") => Field::DisplayName,
            (Some(Record::Programme(_)), b"title") => Field::Title,
            (Some(Record::Programme(_)), b"sub-title") => Field::SubTitle,
            (Some(Record::Programme(_)), b"desc") => Field::Desc,
            (Some(Record::Programme(_)), b"category") => Field::Category,
            (Some(_), b"icon") => {
                self.set_icon(attr(e, b"src").filter(|s| !s.is_empty()));
                return;
            }
            _ => return,
        };
        let lang = attr(e, b"lang").unwrap_or_default();
        self.field = Some((field, String::new(), lang));
    }

    fn set_icon(&mut self, src: Option<String>) {
        let Some(src) = src else { return };
        match &mut self.record {
            Some(Record::Channel(c)) if c.icon.is_none() => c.icon = Some(src),
            Some(Record::Programme(d)) if d.programme.icon.is_empty() => d.programme.icon = src,
            _ => {}
        }
    }

    /// Whether text here belongs to a field being collected (not to an element
    /// nested inside it).
    fn collecting(&self) -> bool {
        self.field.is_some() && self.depth == 3
    }

    fn text(&mut self, piece: &str) {
        if let Some((_, text, _)) = &mut self.field {
            push_capped(text, piece);
        }
    }

    fn end(&mut self) -> Result<(), EpgError> {
        match self.depth {
            3 => self.end_field(),
            2 => self.end_record()?,
            _ => {}
        }
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    fn end_field(&mut self) {
        let Some((field, text, lang)) = self.field.take() else {
            return;
        };
        let text = finish(text);
        if text.is_empty() {
            return;
        }
        match &mut self.record {
            Some(Record::Channel(c))
                if c.display_names.len() < MAX_DISPLAY_NAMES
                    && !c.display_names.contains(&text) =>
            {
                c.display_names.push(text);
            }
            Some(Record::Channel(_)) => {}
            Some(Record::Programme(d)) => {
                let p = &mut d.programme;
                let slot = match field {
                    Field::Title if p.title.is_empty() => {
                        p.lang = lang;
                        &mut p.title
                    }
                    Field::SubTitle => &mut p.sub_title,
                    Field::Desc if p.description.is_empty() => {
                        p.desc_lang = lang;
                        &mut p.description
                    }
                    Field::Desc => return,
                    Field::Category => &mut p.category,
                    Field::Title | Field::DisplayName => return,
                };
                if slot.is_empty() {
                    *slot = text;
                }
            }
            None => {}
        }
    }

    fn end_record(&mut self) -> Result<(), EpgError> {
        self.field = None;
        match self.record.take() {
            Some(Record::Channel(c)) if !c.id.is_empty() => {
                self.stats.channels += 1;
                (self.on_channel)(c)?;
            }
            Some(Record::Channel(_)) => self.stats.skipped += 1,
            Some(Record::Programme(d)) => self.programme(d)?,
            None => {}
        }
        Ok(())
    }

    fn programme(&mut self, draft: Draft) -> Result<(), EpgError> {
        let Draft {
            start,
            stop,
            mut programme,
        } = draft;
        let start = match start {
            Some(start) if !programme.channel.is_empty() && !programme.title.is_empty() => start,
            _ => {
                self.stats.skipped += 1;
                return Ok(());
            }
        };
        programme.start = start;
        // The stop-less programme before this one on the channel ends now.
        if let Some(mut before) = self.pending.remove(&programme.channel) {
            before.stop = start;
            self.emit(before)?;
        }
        match stop {
            Some(Some(stop)) => {
                programme.stop = stop;
                self.emit(programme)
            }
            None if self.pending.len() < MAX_PENDING => {
                self.pending.insert(programme.channel.clone(), programme);
                Ok(())
            }
            _ => {
                self.stats.skipped += 1;
                Ok(())
            }
        }
    }

    /// Hands out a programme whose times are known, if they make sense.
    fn emit(&mut self, programme: Programme) -> Result<(), EpgError> {
        if programme.stop <= programme.start {
            self.stats.skipped += 1;
            return Ok(());
        }
        self.stats.programmes += 1;
        (self.on_programme)(programme)
    }

    fn finish(self) -> Result<ReadStats, EpgError> {
        if !self.saw_root {
            return Err(EpgError::NotXmltv("no <tv> element".into()));
        }
        if self.depth > 0 {
            return Err(EpgError::Xml("the document ends before </tv>".into()));
        }
        let mut stats = self.stats;
        // The last stop-less programme of each channel has no known end.
        stats.skipped += self.pending.len() as u64;
        Ok(stats)
    }
}

/// One attribute, decoded, trimmed and capped; `None` when absent. A malformed
/// attribute list yields what could be read.
fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    let found = e
        .attributes()
        .with_checks(false)
        .map_while(Result::ok)
        .find(|a| a.key.local_name().as_ref() == name)?;
    let mut value = String::new();
    push_capped(&mut value, &unescape(&decode_bytes(&found.value)));
    Some(finish(value))
}

#[cfg(test)]
mod tests;
