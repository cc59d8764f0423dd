//! The text of live HLS playlists (RFC 8216): a media playlist over the
//! segmenter's window, and the one-variant master playlist pointing at it.
//! Version 3 (decimal EXTINF), no ENDLIST (live), no LL-HLS.

use std::fmt::Write;

use super::segmenter::Segment;

/// BANDWIDTH announced before any segment has been measured.
pub const DEFAULT_BANDWIDTH: u64 = 2_000_000;

/// A live media playlist listing `segments` (oldest first). `discontinuity_sequence`
/// is the number of discontinuities before the first of them; `segment_uri` names
/// a segment by its sequence number.
pub fn media_playlist<'a>(
    target_duration: u64,
    discontinuity_sequence: u64,
    segments: impl IntoIterator<Item = &'a Segment>,
    segment_uri: impl Fn(u64) -> String,
) -> String {
    let mut segments = segments.into_iter().peekable();
    let first_seq = segments.peek().map_or(0, |s| s.seq);
    let mut out = String::with_capacity(1024);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target_duration}\n\
         #EXT-X-MEDIA-SEQUENCE:{first_seq}\n#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence}\n"
    );
    for s in segments {
        if s.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let _ = write!(
            out,
            "#EXT-X-PROGRAM-DATE-TIME:{:.3}\n#EXTINF:{:.3},\n{}\n",
            s.program_date_time,
            s.duration,
            segment_uri(s.seq)
        );
    }
    out
}

/// A master playlist with the one variant at `media_uri`: its peak `bandwidth`
/// in bits/s ([`DEFAULT_BANDWIDTH`] until measured) and `codecs` when known.
pub fn master_playlist(media_uri: &str, bandwidth: Option<u64>, codecs: Option<&str>) -> String {
    let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
    let _ = write!(
        out,
        "#EXT-X-STREAM-INF:BANDWIDTH={}",
        bandwidth.unwrap_or(DEFAULT_BANDWIDTH)
    );
    if let Some(codecs) = codecs {
        let _ = write!(out, ",CODECS=\"{codecs}\"");
    }
    let _ = write!(out, "\n{media_uri}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(seq: u64, duration: f64, discontinuity: bool, ms: i64) -> Segment {
        Segment {
            seq,
            duration,
            discontinuity,
            program_date_time: jiff::Timestamp::from_millisecond(ms).unwrap(),
            parts: Vec::new(),
            len: 0,
        }
    }

    #[test]
    fn media_playlist_lists_every_segment_with_its_date_and_duration() {
        let base = 1_796_276_013_123; // 2026-12-03T05:33:33.123Z
        let segments = [
            segment(7, 4.0, false, base),
            segment(8, 3.52, true, base + 4_000),
        ];
        let text = media_playlist(4, 2, &segments, |seq| format!("seg/{seq}.ts"));
        assert_eq!(
            text,
            "#EXTM3U\n\
             #EXT-X-VERSION:3\n\
             #EXT-X-TARGETDURATION:4\n\
             #EXT-X-MEDIA-SEQUENCE:7\n\
             #EXT-X-DISCONTINUITY-SEQUENCE:2\n\
             #EXT-X-PROGRAM-DATE-TIME:2026-12-03T05:33:33.123Z\n\
             #EXTINF:4.000,\n\
             seg/7.ts\n\
             #EXT-X-DISCONTINUITY\n\
             #EXT-X-PROGRAM-DATE-TIME:2026-12-03T05:33:37.123Z\n\
             #EXTINF:3.520,\n\
             seg/8.ts\n"
        );
        assert!(!text.contains("ENDLIST"));
    }

    #[test]
    fn master_playlist_names_bandwidth_and_codecs() {
        assert_eq!(
            master_playlist(
                "live.m3u8?t=x",
                Some(3_500_000),
                Some("avc1.64001f,mp4a.40.2")
            ),
            "#EXTM3U\n#EXT-X-VERSION:3\n\
             #EXT-X-STREAM-INF:BANDWIDTH=3500000,CODECS=\"avc1.64001f,mp4a.40.2\"\n\
             live.m3u8?t=x\n"
        );
        assert_eq!(
            master_playlist("live.m3u8", None, None),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\nlive.m3u8\n"
        );
    }
}
