//! `GET /ace/stat/<infohash>/<session>`: session statistics whose counters grow
//! with time, as pollers expect.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::command::ERR_SESSION;
use super::playback::live_session;
use crate::body::{Resp, response_err, response_ok};
use crate::server::Inner;

pub(crate) fn stat(inner: &Arc<Inner>, ih: &str, sid: &str) -> Resp {
    let Some(session) = live_session(inner, ih, sid) else {
        return response_err(ERR_SESSION);
    };
    let content = &session.content;
    let now = Instant::now();
    let age = now.saturating_duration_since(session.created);
    let prebuf = age < content.content.startup_delay;
    let secs = age.as_secs_f64();
    let byte_rate = content.content.bitrate_bps as f64 / 8.0;
    // Downloaded grows with time at the stream's rate (a live swarm keeps
    // downloading whether or not anyone reads), never below what was sent.
    let downloaded = ((secs * byte_rate) as u64).max(session.bytes_sent());
    let uploaded = downloaded / 8;
    // A little deterministic wobble makes graphs look alive without randomness.
    let wobble = (age.as_millis() / 1000 % 7) as u64;
    let speed_down = if prebuf {
        0
    } else {
        (byte_rate / 1024.0) as u64 + wobble
    };
    let peers = 5 + session.id.bytes().map(u64::from).sum::<u64>() % 10 + wobble % 3;
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let live_secs = content.live_secs(now) as u64;
    response_ok(json!({
        "status": if prebuf { "prebuf" } else { "dl" },
        "peers": peers,
        "speed_down": speed_down,
        "speed_up": speed_down / 10,
        "downloaded": downloaded,
        "uploaded": uploaded,
        "total_progress": 0,
        "is_live": 1,
        "livepos": {
            "is_live": 1,
            "pos": unix,
            "last_ts": unix,
            "first_ts": unix.saturating_sub(live_secs.min(600)),
            "live_first": unix.saturating_sub(live_secs.min(600)),
            "live_last": unix,
            "buffer_pieces": 15,
        },
    }))
}
