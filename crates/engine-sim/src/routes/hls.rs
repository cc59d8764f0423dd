//! A minimal HLS rendition of a session (`/ace/m/<ih>/<sid>.m3u8` and its
//! segments `/ace/c/<ih>/<sid>/<n>.ts`): a sliding window over the same live
//! stream the TS body carries, so segment bytes check with the same tools.
//! Faults other than Offline and Error are not played on this path.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use http::StatusCode;

use super::getstream::error_answer;
use super::playback::{live_session, prebuffered};
use crate::body::{Resp, full, m3u8, mpeg_ts, text};
use crate::content::Fault;
use crate::live::LiveContent;
use crate::server::Inner;

/// Segment length in seconds: short, so a test sees new segments quickly.
const SEGMENT_SECS: f64 = 2.0;
/// Segments listed in the sliding window.
const WINDOW: u64 = 3;

pub(crate) async fn playlist(inner: &Arc<Inner>, base: &str, ih: &str, file: &str) -> Resp {
    let Some(session) = file
        .strip_suffix(".m3u8")
        .and_then(|sid| live_session(inner, ih, sid))
    else {
        return text(StatusCode::NOT_FOUND, "unknown playback session");
    };
    match session.content.fault() {
        Fault::Error { status, message } => return error_answer(status, &message),
        Fault::Offline => {
            session.stopped().await;
            return text(StatusCode::NOT_FOUND, "unknown playback session");
        }
        _ => {}
    }
    if !prebuffered(&session).await {
        return text(StatusCode::NOT_FOUND, "unknown playback session");
    }
    let complete = (session.content.live_secs(Instant::now()) / SEGMENT_SECS) as u64;
    let first = complete.saturating_sub(WINDOW);
    let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
    let _ = write!(
        out,
        "#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{first}\n",
        SEGMENT_SECS as u64
    );
    for n in first..complete {
        let _ = write!(
            out,
            "#EXTINF:{SEGMENT_SECS:.3},\n{base}/ace/c/{ih}/{}/{n}.ts\n",
            session.id
        );
    }
    m3u8(out)
}

pub(crate) fn segment(inner: &Arc<Inner>, ih: &str, sid: &str, file: &str) -> Resp {
    let Some(session) = live_session(inner, ih, sid) else {
        return text(StatusCode::NOT_FOUND, "unknown playback session");
    };
    let content = &session.content;
    let complete = (content.live_secs(Instant::now()) / SEGMENT_SECS) as u64;
    let n = match file.strip_suffix(".ts").and_then(|n| n.parse::<u64>().ok()) {
        Some(n) if n < complete => n,
        _ => return text(StatusCode::NOT_FOUND, "no such segment"),
    };
    let mut buf = BytesMut::new();
    content.write_packets(
        &mut buf,
        segment_start(content, n),
        segment_start(content, n + 1),
    );
    session.add_bytes(buf.len());
    mpeg_ts(full(buf.freeze()))
}

/// First packet of segment `n`: a place to join, so every segment opens with a
/// PAT (and, for real video, a keyframe).
fn segment_start(content: &LiveContent, n: u64) -> u64 {
    content.join_floor(content.pos_at(n as f64 * SEGMENT_SECS))
}
