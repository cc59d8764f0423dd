//! The live HLS DVR window of an archived channel: instead of the multiplexer's
//! short live window, its media playlist lists the recording ring's segments of
//! the last `archive.hls_dvr` minutes, so the dashboard player (and any HLS
//! player) can pause and rewind live TV. It is still a live playlist (no
//! ENDLIST): it grows at the live edge as segments are written and drops the
//! oldest; every segment keeps its media sequence number across reloads (the
//! ring numbers them in recording order, see `Archive::window_segments`).
//!
//! A channel that is not being recorded, or whose ring holds fewer than
//! [`MIN_SEGMENTS`], falls back to the multiplexer's live window.

use acextream_core::archive::StoredSegment;

use super::Recording;
use crate::timeshift::vod::{VodSegment, event_playlist};

/// Fewer segments than this: not worth a DVR window yet.
pub const MIN_SEGMENTS: usize = 3;
/// The URI prefix of a ring segment in an HLS playlist (`a<start ms>.ts`).
pub const SEGMENT_PREFIX: char = 'a';

/// The DVR playlist of channel `id`, with URIs `a<start ms>.ts` (the HLS routes
/// prefix them with the viewer's ticket), if the channel has a DVR window.
pub fn playlist(recording: &Recording, id: i64, minutes: u32) -> Option<String> {
    if minutes == 0 || !recording.recorders().get(&id).is_some_and(|r| r.recording) {
        return None;
    }
    let archive = recording.archive()?;
    let from = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(i64::from(minutes));
    let window = archive.window_segments(id, from)?;
    if window.segments.len() < MIN_SEGMENTS {
        return None;
    }
    let segments: Vec<VodSegment> = window.segments.iter().map(vod_segment).collect();
    Some(event_playlist(
        &segments,
        window.first_sequence,
        window.discontinuity_sequence,
    ))
}

fn vod_segment(s: &StoredSegment) -> VodSegment {
    VodSegment {
        uri: format!("{SEGMENT_PREFIX}{}.ts", s.start.as_millisecond()),
        duration_secs: s.duration.as_secs_f64(),
        discontinuity: s.discontinuity,
        program_date_time: s.start,
    }
}

/// The ring segment named `a<start ms>.ts`, if that is what `name` is.
pub fn segment_start(name: &str) -> Option<jiff::Timestamp> {
    let ms: i64 = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(".ts")?
        .parse()
        .ok()?;
    jiff::Timestamp::from_millisecond(ms).ok()
}
