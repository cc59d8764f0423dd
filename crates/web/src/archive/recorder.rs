//! One archived channel's recorder: a viewer of the channel's hub on the
//! multiplexer (loopback), cut into segments by [`Cutter`] and written to the
//! ring. When the stream ends or cannot start (engine down, every link failing)
//! it tries again with a back-off; the time between is a gap in the index. A
//! write the disk refuses (full, over a size limit, read-only) stops it with the
//! reason in its status; the supervisor tries again later.

use std::sync::Arc;
use std::time::Duration;

use acextream_core::archive::{Archive, ArchiveError, SegmentMeta};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::Recording;
use super::cutter::{Cut, Cutter};
use crate::state::AppState;

/// The name the multiplexer's status pages show for a recorder.
pub const RECORDER_USER: &str = "archive";
/// Waits between tries to (re)start the stream: doubling up to the last.
const BACKOFF: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(15),
    Duration::from_secs(30),
];

/// Why a recorder stopped for good (until the supervisor starts it again).
#[derive(Debug)]
pub enum Stopped {
    /// Asked to (unarchived, shutdown).
    Cancelled,
    /// The ring refused a write.
    Disk(String),
}

/// Records `channel` until `stop` or a disk error.
pub async fn run(
    state: AppState,
    recording: Arc<Recording>,
    archive: Arc<Archive>,
    channel: i64,
    segment: Duration,
    stop: CancellationToken,
) -> Stopped {
    let mut attempt = 0usize;
    loop {
        let outcome = record_once(&state, &recording, &archive, channel, segment, &stop).await;
        if stop.is_cancelled() {
            recording.update(channel, |s| s.recording = false);
            return Stopped::Cancelled;
        }
        match outcome {
            Ok(()) => {}
            Err(Failure::Disk(reason)) => {
                tracing::warn!(channel, error = %reason, "recording stopped: the archive cannot be written");
                recording.update(channel, |s| {
                    s.recording = false;
                    s.error = Some(reason.clone());
                    s.disk_error = true;
                });
                return Stopped::Disk(reason);
            }
            Err(Failure::Ended(reason)) => {
                tracing::info!(channel, reason = %reason, "recording paused: the stream ended");
                recording.update(channel, |s| s.recording = false);
                attempt = 0;
            }
            Err(Failure::Stream(reason)) => {
                tracing::info!(channel, reason = %reason, "recording paused: no stream");
                recording.update(channel, |s| {
                    s.recording = false;
                    s.error = Some(reason);
                    s.disk_error = false;
                });
            }
        }
        let wait = BACKOFF[attempt.min(BACKOFF.len() - 1)];
        attempt += 1;
        tokio::select! {
            _ = stop.cancelled() => return Stopped::Cancelled,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

enum Failure {
    /// The stream would not start.
    Stream(String),
    /// It played, then ended: try again at once.
    Ended(String),
    Disk(String),
}

/// One run of the stream, until it ends or `stop`.
async fn record_once(
    state: &AppState,
    recording: &Recording,
    archive: &Arc<Archive>,
    channel: i64,
    segment: Duration,
    stop: &CancellationToken,
) -> Result<(), Failure> {
    let query = crate::play::channel_query(state, channel, None)
        .await
        .map_err(|e| Failure::Stream(e.to_string()))?;
    let mut url = state
        .mux_url
        .join("/ace/getstream")
        .map_err(|e| Failure::Stream(e.to_string()))?;
    url.query_pairs_mut().extend_pairs(&query);
    let headers = [
        ("x-acextream-user", RECORDER_USER),
        ("x-forwarded-for", "127.0.0.1"),
        ("user-agent", "acextream-recorder"),
    ];
    let response = tokio::select! {
        _ = stop.cancelled() => return Ok(()),
        r = crate::stream_hop::request(&url, "GET", &headers) => r,
    }
    .map_err(|e| Failure::Stream(format!("multiplexer unreachable: {e}")))?;
    if !(200..300).contains(&response.status) {
        return Err(Failure::Stream(format!(
            "the channel did not start ({})",
            response.status
        )));
    }
    recording.update(channel, |s| s.recording = true);
    tracing::info!(channel, "recording");
    let mut cutter = Cutter::new(segment);
    let mut body = response.body;
    let ended = loop {
        let read = tokio::select! {
            _ = stop.cancelled() => break "stopped".to_owned(),
            r = body.next() => r,
        };
        match read {
            Some(Ok(data)) => {
                for cut in cutter.push(&data, jiff::Timestamp::now()) {
                    write(recording, archive, channel, cut).await?;
                }
            }
            Some(Err(e)) => break format!("stream broke: {e}"),
            None => break "stream ended".to_owned(),
        }
    };
    // What was received of the open segment is kept (a stop, a broken stream).
    if let Some(cut) = cutter.finish() {
        write(recording, archive, channel, cut).await?;
    }
    Err(Failure::Ended(ended))
}

async fn write(
    recording: &Recording,
    archive: &Arc<Archive>,
    channel: i64,
    cut: Cut,
) -> Result<(), Failure> {
    let archive = archive.clone();
    let len = cut.len as u64;
    let meta = SegmentMeta {
        start: cut.start,
        duration: cut.duration,
        discontinuity: cut.discontinuity,
    };
    let written = tokio::task::spawn_blocking(move || archive.append(channel, &meta, &cut.parts))
        .await
        .map_err(|e| Failure::Disk(e.to_string()))?;
    match written {
        Ok(()) => {
            recording.update(channel, |s| {
                s.segments_written += 1;
                s.bytes_written += len;
                s.error = None;
                s.disk_error = false;
            });
            Ok(())
        }
        // Full, over a size limit, read-only, gone: the recording stops either way.
        Err(e @ (ArchiveError::DiskFull { .. } | ArchiveError::Io { .. })) => {
            Err(Failure::Disk(format!("cannot write the archive: {e}")))
        }
    }
}
