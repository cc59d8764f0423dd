//! HLS playlists as a live player reads them (RFC 8216): the master playlist's
//! variant, the media playlist's target duration, media sequence and segments, and
//! the polling rules (§6.3.3 where to start, §6.3.4 when to reload, which segments
//! are new) as pure functions, so the viewer loop only does the I/O.

use std::ops::Range;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// Largest playlist accepted; a live playlist of a few segments is well under 4 KiB.
pub const MAX_PLAYLIST: usize = 1024 * 1024;

/// How far behind the live edge a player starts, in target durations (§6.3.3: it
/// SHOULD NOT start less than three target durations from the end). Also how long a
/// viewer may see no new segment before its buffer of that depth has run dry.
pub const HOLD_BACK_TARGETS: u32 = 3;

/// One media segment of a media playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Its media sequence number: the playlist's `#EXT-X-MEDIA-SEQUENCE` plus its
    /// position (§6.3.2).
    pub seq: u64,
    /// `#EXTINF` duration, seconds.
    pub duration: f64,
    /// The URI line, as written (absolute or relative to the playlist).
    pub uri: String,
}

/// A parsed media playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaPlaylist {
    /// `#EXT-X-TARGETDURATION`, seconds (at least 1).
    pub target_duration: u64,
    /// `#EXT-X-MEDIA-SEQUENCE` (0 when absent): the sequence number of the first
    /// segment listed.
    pub media_sequence: u64,
    /// The segments, in order.
    pub segments: Vec<Segment>,
    /// `#EXT-X-ENDLIST` was present: no segment will ever be added.
    pub ended: bool,
}

impl MediaPlaylist {
    /// The target duration as a `Duration`.
    pub fn target(&self) -> Duration {
        Duration::from_secs(self.target_duration)
    }
}

/// The non-blank lines of a playlist, trimmed, after checking its `#EXTM3U` tag.
fn playlist_lines(text: &str) -> anyhow::Result<impl Iterator<Item = &str>> {
    let mut lines = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    match lines.next() {
        Some("#EXTM3U") => Ok(lines),
        Some(first) => bail!("not a playlist: the first line is {:?}", clip(first)),
        None => bail!("empty playlist"),
    }
}

/// At most 80 characters of `s`, for error messages.
fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The URI of the first variant of a master playlist (the line after its first
/// `#EXT-X-STREAM-INF`).
pub fn parse_master(text: &str) -> anyhow::Result<String> {
    let mut lines = playlist_lines(text)?;
    let mut saw_media_tag = false;
    while let Some(line) = lines.next() {
        if line.starts_with("#EXT-X-STREAM-INF:") {
            return lines
                .find(|l| !l.starts_with('#'))
                .map(str::to_string)
                .context("#EXT-X-STREAM-INF without a URI line");
        }
        saw_media_tag |= line.starts_with("#EXTINF:") || line.starts_with("#EXT-X-TARGETDURATION:");
    }
    if saw_media_tag {
        bail!("a media playlist where a master playlist was expected");
    }
    bail!("no #EXT-X-STREAM-INF in the master playlist")
}

/// Parses a media playlist: target duration, media sequence, segments.
pub fn parse_media(text: &str) -> anyhow::Result<MediaPlaylist> {
    let mut target = None;
    let mut media_sequence = 0u64;
    let mut pending: Option<f64> = None;
    let mut segments: Vec<Segment> = Vec::new();
    let mut ended = false;
    for line in playlist_lines(text)? {
        if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            let t: u64 = v
                .trim()
                .parse()
                .with_context(|| format!("bad #EXT-X-TARGETDURATION {:?}", clip(v)))?;
            // Zero would make a player reload without pause.
            anyhow::ensure!(t > 0, "#EXT-X-TARGETDURATION must be at least 1");
            target = Some(t);
        } else if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            anyhow::ensure!(
                segments.is_empty() && pending.is_none(),
                "#EXT-X-MEDIA-SEQUENCE after the first segment"
            );
            media_sequence = v
                .trim()
                .parse()
                .with_context(|| format!("bad #EXT-X-MEDIA-SEQUENCE {:?}", clip(v)))?;
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            anyhow::ensure!(pending.is_none(), "two #EXTINF lines without a URI");
            let d = v.split(',').next().unwrap_or_default().trim();
            let d: f64 = d
                .parse()
                .with_context(|| format!("bad #EXTINF duration {:?}", clip(d)))?;
            anyhow::ensure!(d.is_finite() && d >= 0.0, "bad #EXTINF duration {d}");
            pending = Some(d);
        } else if line == "#EXT-X-ENDLIST" {
            ended = true;
        } else if line.starts_with("#EXT-X-STREAM-INF:") {
            bail!("a master playlist where a media playlist was expected");
        } else if line.starts_with('#') {
            // Other tags and comments do not change what a viewer fetches.
        } else {
            let duration = pending
                .take()
                .with_context(|| format!("segment URI {:?} without #EXTINF", clip(line)))?;
            let seq = media_sequence
                .checked_add(segments.len() as u64)
                .context("media sequence number overflows")?;
            segments.push(Segment {
                seq,
                duration,
                uri: line.to_string(),
            });
        }
    }
    anyhow::ensure!(pending.is_none(), "#EXTINF without a URI at the end");
    Ok(MediaPlaylist {
        target_duration: target.context("no #EXT-X-TARGETDURATION")?,
        media_sequence,
        segments,
        ended,
    })
}

/// How long after the start of a playlist load the next one begins (§6.3.4): the
/// target duration after a load that found the playlist changed (the first load
/// included), half of it after one that found it unchanged.
pub fn reload_delay(target_duration: Duration, changed: bool) -> Duration {
    if changed {
        target_duration
    } else {
        target_duration / 2
    }
}

/// Whether `now` differs from the playlist loaded before it (`None`: the first).
pub fn changed(previous: Option<&MediaPlaylist>, now: &MediaPlaylist) -> bool {
    previous != Some(now)
}

/// Whether the media sequence went backwards from the previous load: a live
/// playlist only ever removes segments from its start (§6.2.2).
pub fn went_backwards(previous: Option<&MediaPlaylist>, now: &MediaPlaylist) -> bool {
    previous.is_some_and(|p| now.media_sequence < p.media_sequence)
}

/// Index of the segment a viewer joining the live playlist starts with: the latest
/// one that starts at least [`HOLD_BACK_TARGETS`] target durations before the end
/// (§6.3.3), or the first one when the playlist is shorter than that.
pub fn live_start(p: &MediaPlaylist) -> usize {
    let hold_back = f64::from(HOLD_BACK_TARGETS) * p.target_duration as f64;
    let mut from_end = 0.0;
    for (i, s) in p.segments.iter().enumerate().rev() {
        from_end += s.duration;
        if from_end >= hold_back {
            return i;
        }
    }
    0
}

/// What a viewer fetches after a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Indices into the playlist's segments to fetch, in order.
    pub fetch: Range<usize>,
    /// Segments after the last one fetched that left the playlist before this
    /// load: the viewer fell behind the live window and can never fetch them.
    pub missed: u64,
}

/// Which segments of `p` are new for a viewer whose last fetched segment is
/// `last` (`None`: nothing yet, so it starts at the [`live_start`]).
pub fn plan(p: &MediaPlaylist, last: Option<u64>) -> Plan {
    let n = p.segments.len();
    match last {
        None => Plan {
            fetch: live_start(p).min(n)..n,
            missed: 0,
        },
        Some(last) => Plan {
            fetch: p.segments.iter().position(|s| s.seq > last).unwrap_or(n)..n,
            missed: p.media_sequence.saturating_sub(last.saturating_add(1)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(target: u64, first: u64, durations: &[f64]) -> MediaPlaylist {
        MediaPlaylist {
            target_duration: target,
            media_sequence: first,
            segments: durations
                .iter()
                .enumerate()
                .map(|(i, &d)| Segment {
                    seq: first + i as u64,
                    duration: d,
                    uri: format!("http://127.0.0.1:9/hls/t/{}.ts", first + i as u64),
                })
                .collect(),
            ended: false,
        }
    }

    const LIVE: &str = "#EXTM3U\r\n#EXT-X-VERSION:3\r\n#EXT-X-TARGETDURATION:2\r\n\
                        #EXT-X-MEDIA-SEQUENCE:41\r\n\r\n#EXTINF:2.000,\r\n\
                        http://127.0.0.1:9/hls/t/41.ts\r\n#EXTINF:1.960,title\r\n\
                        http://127.0.0.1:9/hls/t/42.ts\r\n#EXT-X-DISCONTINUITY\r\n\
                        #EXTINF:2,\r\nhttp://127.0.0.1:9/hls/t/43.ts\r\n";

    #[test]
    fn a_live_media_playlist_parses() {
        let p = parse_media(LIVE).unwrap();
        assert_eq!(p.target_duration, 2);
        assert_eq!(p.media_sequence, 41);
        assert!(!p.ended);
        let got: Vec<(u64, f64, &str)> = p
            .segments
            .iter()
            .map(|s| (s.seq, s.duration, s.uri.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (41, 2.0, "http://127.0.0.1:9/hls/t/41.ts"),
                (42, 1.96, "http://127.0.0.1:9/hls/t/42.ts"),
                (43, 2.0, "http://127.0.0.1:9/hls/t/43.ts"),
            ]
        );
    }

    #[test]
    fn defaults_endlist_and_an_empty_live_playlist() {
        let p = parse_media("\u{feff}#EXTM3U\n#EXT-X-TARGETDURATION:6\n").unwrap();
        assert_eq!((p.target_duration, p.media_sequence), (6, 0));
        assert!(p.segments.is_empty());
        let p = parse_media("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\na.ts\n#EXT-X-ENDLIST\n")
            .unwrap();
        assert_eq!(p.segments[0].seq, 0);
        assert!(p.ended);
    }

    #[test]
    fn malformed_media_playlists_are_errors() {
        for (text, why) in [
            ("", "empty"),
            ("hello\n", "not a playlist"),
            ("#EXTM3U\n#EXTINF:2,\na.ts\n", "no #EXT-X-TARGETDURATION"),
            ("#EXTM3U\n#EXT-X-TARGETDURATION:0\n", "at least 1"),
            ("#EXTM3U\n#EXT-X-TARGETDURATION:x\n", "TARGETDURATION"),
            (
                "#EXTM3U\n#EXT-X-TARGETDURATION:2\na.ts\n",
                "without #EXTINF",
            ),
            (
                "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n",
                "without a URI",
            ),
            (
                "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n#EXTINF:2,\na.ts\n",
                "two #EXTINF",
            ),
            (
                "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:-1,\na.ts\n",
                "duration",
            ),
            (
                "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:abc,\na.ts\n",
                "duration",
            ),
            (
                "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n#EXT-X-MEDIA-SEQUENCE:3\n",
                "after the first segment",
            ),
            (
                "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://127.0.0.1/i.m3u8\n",
                "master playlist",
            ),
        ] {
            let err = format!("{:#}", parse_media(text).unwrap_err());
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn the_master_playlist_gives_its_first_variant() {
        let text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=4000000,CODECS=\"avc1.64001f\"\n\
                    http://127.0.0.1:8000/hls/abc/index.m3u8\n\
                    #EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://127.0.0.1:8000/hls/other/index.m3u8\n";
        assert_eq!(
            parse_master(text).unwrap(),
            "http://127.0.0.1:8000/hls/abc/index.m3u8"
        );
        let err = parse_master(LIVE).unwrap_err().to_string();
        assert!(err.contains("a media playlist"), "{err}");
        assert!(parse_master("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n").is_err());
        assert!(parse_master("#EXTM3U\n").is_err());
        assert!(parse_master("Forbidden: bad password").is_err());
    }

    #[test]
    fn reload_waits_a_target_after_a_change_and_half_after_none() {
        let t = Duration::from_secs(2);
        assert_eq!(reload_delay(t, true), Duration::from_secs(2));
        assert_eq!(reload_delay(t, false), Duration::from_secs(1));
        assert_eq!(
            reload_delay(Duration::from_secs(1), false),
            Duration::from_millis(500)
        );

        let a = media(2, 10, &[2.0, 2.0]);
        assert!(changed(None, &a));
        assert!(!changed(Some(&a), &a.clone()));
        let b = media(2, 11, &[2.0, 2.0]);
        assert!(changed(Some(&a), &b));
        let mut grown = a.clone();
        grown.segments.push(Segment {
            seq: 12,
            duration: 2.0,
            uri: "12.ts".into(),
        });
        assert!(changed(Some(&a), &grown));
    }

    #[test]
    fn a_media_sequence_going_backwards_is_seen() {
        let a = media(2, 10, &[2.0]);
        assert!(!went_backwards(None, &a));
        assert!(!went_backwards(Some(&a), &media(2, 10, &[2.0, 2.0])));
        assert!(!went_backwards(Some(&a), &media(2, 12, &[2.0])));
        assert!(went_backwards(Some(&a), &media(2, 9, &[2.0, 2.0])));
    }

    #[test]
    fn a_joining_viewer_starts_three_targets_from_the_end() {
        // 6 segments of 2 s, target 2: the last 3 cover 6 s, start at index 3.
        assert_eq!(live_start(&media(2, 0, &[2.0; 6])), 3);
        // Slightly short segments: one more is needed to reach 6 s.
        assert_eq!(live_start(&media(2, 0, &[1.9; 6])), 2);
        // Shorter than the hold-back: from the first.
        assert_eq!(live_start(&media(2, 0, &[2.0, 2.0])), 0);
        assert_eq!(live_start(&media(2, 0, &[])), 0);
    }

    #[test]
    fn new_segments_are_the_ones_after_the_last_fetched() {
        let p = media(2, 20, &[2.0; 5]); // 20..=24
        assert_eq!(
            plan(&p, None),
            Plan {
                fetch: 2..5,
                missed: 0
            }
        );
        assert_eq!(
            plan(&p, Some(22)),
            Plan {
                fetch: 3..5,
                missed: 0
            }
        );
        // Nothing new.
        assert_eq!(
            plan(&p, Some(24)),
            Plan {
                fetch: 5..5,
                missed: 0
            }
        );
        // The last fetched one just left the window: nothing missed.
        assert_eq!(
            plan(&p, Some(19)),
            Plan {
                fetch: 0..5,
                missed: 0
            }
        );
        // Fell behind: 17 and 18 and 19 left before this load.
        assert_eq!(
            plan(&p, Some(16)),
            Plan {
                fetch: 0..5,
                missed: 3
            }
        );
        // A sequence that went backwards offers nothing new to fetch.
        assert_eq!(plan(&media(2, 3, &[2.0; 2]), Some(24)).fetch, 2..2);
        // An empty live playlist.
        assert_eq!(plan(&media(2, 0, &[]), None).fetch, 0..0);
    }
}
