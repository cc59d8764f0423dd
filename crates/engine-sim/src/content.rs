//! A catalogue entry ([`Content`]) and the behaviours ([`Fault`]) a test can give it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ts::test_card;

/// A misbehaviour of one content, as real engines show under P2P trouble.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Behaves well.
    #[default]
    None,
    /// getstream answers fine, but the playback body's headers never come.
    Offline,
    /// The playback body answers 200, then never sends a byte.
    Silent,
    /// After `at_secs` of a reader's stream, no bytes for `for_secs`, then the stream
    /// continues from the live position (a gap, as a starved live channel does).
    Stall {
        /// Seconds into the reader's stream when the stall starts.
        at_secs: f64,
        /// Length of the stall in seconds.
        for_secs: f64,
    },
    /// The playback body ends after `at_secs`.
    Disconnect {
        /// Seconds into the reader's stream when the body ends.
        at_secs: f64,
        /// Only the content's first session misbehaves (a re-open cures it).
        #[serde(default)]
        first_session_only: bool,
    },
    /// After `at_secs` of a reader's stream no byte ever comes again, while the
    /// connection stays open: a link that "goes silent".
    SilentAfter {
        /// Seconds into the reader's stream when the silence starts.
        at_secs: f64,
        /// Only the content's first session misbehaves (a re-open cures it).
        #[serde(default)]
        first_session_only: bool,
    },
    /// getstream fails: with `status` 200 as the JSON error envelope carrying
    /// `message`, otherwise as a plain-text HTTP error with that status.
    Error {
        /// HTTP status of the answer.
        status: u16,
        /// The error text.
        message: String,
    },
    /// Paced at `factor` times the bitrate (below 1: the player starves).
    Slow {
        /// Fraction of real time.
        factor: f64,
    },
}

/// What a content's playback body carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Video {
    /// Generated packets whose payload is a sequence number: checkable with
    /// [`TsChecker`](crate::ts::TsChecker), not decodable.
    #[default]
    Synthetic,
    /// The embedded H.264 + AAC test card (640x360, 25 fps, 12.8 s), looped as a
    /// live channel that players decode.
    H264,
    /// The embedded MPEG-2 + MP2 test card (320x180, 25 fps, 6 s), looped.
    Mpeg2,
}

impl Video {
    fn is_synthetic(&self) -> bool {
        *self == Video::Synthetic
    }
}

/// One live channel the simulated engine can play.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ContentSpec", into = "ContentSpec")]
pub struct Content {
    /// The content id players ask for with `id=` (40 lowercase hex).
    pub content_id: String,
    /// The swarm's infohash, asked for with `infohash=` (40 lowercase hex, differs
    /// from the content id).
    pub infohash: String,
    /// Display name; also names the single media file.
    pub name: String,
    /// Stream bitrate in bits per second, TS overhead included. For real video,
    /// the file's own average (pacing follows the file's clock).
    pub bitrate_bps: u64,
    /// How long the playback body holds its headers while the engine "pre-buffers".
    pub startup_delay: Duration,
    /// Behaviour of this content.
    pub fault: Fault,
    /// What the stream carries.
    pub video: Video,
}

impl Fault {
    /// Whether a session that is not the content's first is spared this fault.
    pub fn spares_later_sessions(&self) -> bool {
        matches!(
            self,
            Fault::Disconnect {
                first_session_only: true,
                ..
            } | Fault::SilentAfter {
                first_session_only: true,
                ..
            }
        )
    }
}

impl Content {
    /// The 4-byte tag every data packet of this content carries after its
    /// sequence number (the first 8 hex digits of the content id), so a reader can
    /// tell which content's bytes it got.
    pub fn tag(&self) -> u32 {
        tag_of(&self.content_id)
    }

    /// A well-behaved 4 Mbit/s channel whose ids are derived from its name, so the
    /// same name always gets the same ids.
    pub fn new(name: &str) -> Content {
        Content {
            content_id: derive_id("content_id", name),
            infohash: derive_id("infohash", name),
            name: name.to_owned(),
            bitrate_bps: 4_000_000,
            startup_delay: Duration::ZERO,
            fault: Fault::None,
            video: Video::Synthetic,
        }
    }

    /// Builder-style: sets the bitrate in bits per second.
    pub fn with_bitrate(mut self, bps: u64) -> Self {
        self.bitrate_bps = bps;
        self
    }

    /// Builder-style: sets the start-up delay.
    pub fn with_startup_delay(mut self, delay: Duration) -> Self {
        self.startup_delay = delay;
        self
    }

    /// Builder-style: sets the fault.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }

    /// Builder-style: sets what the stream carries; real video brings its file's
    /// bitrate.
    pub fn with_video(mut self, video: Video) -> Self {
        self.video = video;
        if let Ok(Some(card)) = test_card(video) {
            self.bitrate_bps = card.bitrate_bps();
        }
        self
    }

    /// Categories for search, guessed from the name (the catalogue has no field
    /// for them): "sport", "news", "movies", "music", else "other".
    pub fn categories(&self) -> Vec<&'static str> {
        let name = self.name.to_ascii_lowercase();
        let found: Vec<&'static str> = [
            ("sport", "sport"),
            ("news", "news"),
            ("movie", "movies"),
            ("film", "movies"),
            ("music", "music"),
        ]
        .iter()
        .filter(|(word, _)| name.contains(word))
        .map(|(_, cat)| *cat)
        .collect();
        if found.is_empty() {
            vec!["other"]
        } else {
            found
        }
    }
}

/// The content as written in a catalogue file or posted to `/sim/content`: ids are
/// optional (derived from the name), bitrate in kbit/s or bit/s, delay in ms.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentSpec {
    /// Display name.
    pub name: String,
    /// 40 hex; derived from the name if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// 40 hex; derived from the name if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infohash: Option<String>,
    /// Bitrate in kbit/s (default 4000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate_kbps: Option<u64>,
    /// Bitrate in bit/s; wins over `bitrate_kbps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate_bps: Option<u64>,
    /// Start-up delay in milliseconds (default 0).
    #[serde(default)]
    pub startup_delay_ms: u64,
    /// Behaviour (default none).
    #[serde(default)]
    pub fault: Fault,
    /// `"synthetic"` (default), `"h264"` or `"mpeg2"`; real video ignores the
    /// bitrate given here and uses its file's.
    #[serde(default, skip_serializing_if = "Video::is_synthetic")]
    pub video: Video,
}

impl TryFrom<ContentSpec> for Content {
    type Error = String;

    fn try_from(s: ContentSpec) -> Result<Self, String> {
        let mut c = Content::new(&s.name);
        if let Some(id) = s.content_id {
            c.content_id = valid_hex40("content_id", &id)?;
        }
        if let Some(ih) = s.infohash {
            c.infohash = valid_hex40("infohash", &ih)?;
        }
        if c.content_id == c.infohash {
            return Err(format!("{}: content_id and infohash must differ", s.name));
        }
        c.bitrate_bps = s
            .bitrate_bps
            .or(s.bitrate_kbps.map(|k| k * 1000))
            .unwrap_or(c.bitrate_bps);
        if c.bitrate_bps < 8 * 188 {
            return Err(format!("{}: bitrate below one packet per second", s.name));
        }
        c.startup_delay = Duration::from_millis(s.startup_delay_ms);
        c.fault = s.fault;
        if let Some(card) = test_card(s.video)? {
            c.bitrate_bps = card.bitrate_bps();
        }
        c.video = s.video;
        Ok(c)
    }
}

impl From<Content> for ContentSpec {
    fn from(c: Content) -> Self {
        ContentSpec {
            name: c.name,
            content_id: Some(c.content_id),
            infohash: Some(c.infohash),
            bitrate_kbps: None,
            bitrate_bps: Some(c.bitrate_bps),
            startup_delay_ms: u64::try_from(c.startup_delay.as_millis()).unwrap_or(u64::MAX),
            fault: c.fault,
            video: c.video,
        }
    }
}

/// The tag of the content with this content id (see [`Content::tag`]).
pub fn tag_of(content_id: &str) -> u32 {
    content_id
        .get(..8)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}

fn valid_hex40(what: &str, v: &str) -> Result<String, String> {
    if v.len() == 40 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(format!("{what} must be 40 hex digits, got {v:?}"))
    }
}

/// 40 hex digits from (tag, name) with a fixed, version-independent hash (FNV-1a
/// then a splitmix finaliser per 8-byte block); std's hasher may change between
/// Rust releases, and ids must stay stable across builds.
fn derive_id(tag: &str, name: &str) -> String {
    let mut out = String::with_capacity(48);
    for block in 0u64..3 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in tag
            .bytes()
            .chain([0])
            .chain(name.bytes())
            .chain(block.to_le_bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        out.push_str(&format!("{h:016x}"));
    }
    out.truncate(40);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_distinct_and_hex() {
        let a = Content::new("Demo Sport");
        let b = Content::new("Demo Sport");
        let c = Content::new("Demo News");
        assert_eq!(a.content_id, b.content_id);
        assert_ne!(a.content_id, a.infohash);
        assert_ne!(a.content_id, c.content_id);
        for id in [&a.content_id, &a.infohash] {
            assert_eq!(id.len(), 40);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
    }

    #[test]
    fn json_round_trips_with_delay_in_ms() {
        let c = Content::new("X")
            .with_startup_delay(Duration::from_millis(1500))
            .with_fault(Fault::Stall {
                at_secs: 1.0,
                for_secs: 2.0,
            });
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["startup_delay_ms"], 1500);
        assert_eq!(v["fault"]["kind"], "stall");
        let back: Content = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn bad_ids_are_rejected() {
        let r: Result<Content, _> = serde_json::from_str(r#"{"name":"x","content_id":"abc"}"#);
        assert!(r.is_err());
    }

    #[test]
    fn categories_come_from_the_name() {
        assert_eq!(Content::new("Demo Sport").categories(), vec!["sport"]);
        assert_eq!(Content::new("Something").categories(), vec!["other"]);
    }
}
