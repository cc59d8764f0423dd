//! HLS media playlists of recorded segments (RFC 8216): a VOD playlist of a
//! timeshift span, and the sliding live playlist of an archived channel's DVR
//! window.

use std::fmt::Write as _;

/// One segment as a playlist lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct VodSegment {
    pub uri: String,
    pub duration_secs: f64,
    pub discontinuity: bool,
    pub program_date_time: jiff::Timestamp,
}

fn header(out: &mut String, segments: &[VodSegment]) {
    let target = segments
        .iter()
        .map(|s| s.duration_secs.ceil() as u64)
        .max()
        .unwrap_or(1)
        .max(1);
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target}\n"
    );
}

fn body(out: &mut String, segments: &[VodSegment]) {
    for (i, s) in segments.iter().enumerate() {
        if s.discontinuity && i > 0 {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let _ = write!(
            out,
            "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:{:.3},\n{}\n",
            s.program_date_time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
            s.duration_secs,
            s.uri
        );
    }
}

/// A complete VOD playlist (`PLAYLIST-TYPE:VOD`, `ENDLIST`).
pub fn vod_playlist(segments: &[VodSegment]) -> String {
    let mut out = String::with_capacity(128 + segments.len() * 120);
    header(&mut out, segments);
    out.push_str("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n");
    body(&mut out, segments);
    out.push_str("#EXT-X-ENDLIST\n");
    out
}

/// A live sliding playlist (no type, no ENDLIST) whose first segment is number
/// `media_sequence`, after `discontinuity_sequence` discontinuities.
pub fn event_playlist(
    segments: &[VodSegment],
    media_sequence: u64,
    discontinuity_sequence: u64,
) -> String {
    let mut out = String::with_capacity(128 + segments.len() * 120);
    header(&mut out, segments);
    let _ = write!(
        out,
        "#EXT-X-MEDIA-SEQUENCE:{media_sequence}\n#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence}\n"
    );
    body(&mut out, segments);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(uri: &str, secs: f64, disc: bool, at: &str) -> VodSegment {
        VodSegment {
            uri: uri.into(),
            duration_secs: secs,
            discontinuity: disc,
            program_date_time: at.parse().unwrap(),
        }
    }

    #[test]
    fn a_vod_playlist_of_three_segments_with_a_discontinuity() {
        let s = [
            seg("a.ts", 6.0, true, "2026-12-03T20:00:00Z"),
            seg("b.ts", 6.04, false, "2026-12-03T20:00:06Z"),
            seg("c.ts", 2.5, true, "2026-12-03T20:01:00.250Z"),
        ];
        assert_eq!(
            vod_playlist(&s),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:7\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXT-X-PLAYLIST-TYPE:VOD\n\
             #EXT-X-PROGRAM-DATE-TIME:2026-12-03T20:00:00.000Z\n#EXTINF:6.000,\na.ts\n\
             #EXT-X-PROGRAM-DATE-TIME:2026-12-03T20:00:06.000Z\n#EXTINF:6.040,\nb.ts\n\
             #EXT-X-DISCONTINUITY\n\
             #EXT-X-PROGRAM-DATE-TIME:2026-12-03T20:01:00.250Z\n#EXTINF:2.500,\nc.ts\n\
             #EXT-X-ENDLIST\n"
        );
        let live = event_playlist(&s, 41, 3);
        assert!(live.contains("#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n"));
        assert!(!live.contains("ENDLIST") && !live.contains("PLAYLIST-TYPE"));
    }
}
