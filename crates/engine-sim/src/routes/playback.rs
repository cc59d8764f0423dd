//! `GET /ace/r/<infohash>/<session>`: the endless MPEG-TS body, after the
//! session's pre-buffering, under the second-reader policy and the content's fault.

use std::sync::Arc;

use http::StatusCode;

use super::getstream::error_answer;
use crate::body::{Resp, mpeg_ts, stream, text};
use crate::config::SecondReader;
use crate::content::Fault;
use crate::reader::Reader;
use crate::server::Inner;
use crate::session::{ReaderSlot, Session};

pub(crate) async fn playback(inner: &Arc<Inner>, ih: &str, sid: &str) -> Resp {
    let state = &inner.state;
    let Some(session) = live_session(inner, ih, sid) else {
        return text(StatusCode::NOT_FOUND, "unknown playback session");
    };
    let fault = session.content.fault();
    if let Fault::Error { status, message } = &fault {
        return error_answer(*status, message);
    }
    let policy = state.policies.second_reader;
    let Some(slot) = ReaderSlot::acquire(&session, policy == SecondReader::Refuse) else {
        return text(
            StatusCode::CONFLICT,
            "playback session already has a reader",
        );
    };
    let generation = if policy == SecondReader::KickFirst {
        session.kick_readers()
    } else {
        session.kick_signal().0
    };
    state.count_playback_open();
    if matches!(fault, Fault::Offline) {
        // Headers never come; only a stop (or the client giving up) ends the wait.
        session.stopped().await;
        return text(StatusCode::NOT_FOUND, "unknown playback session");
    }
    if !prebuffered(&session).await {
        return text(StatusCode::NOT_FOUND, "unknown playback session");
    }
    tracing::info!(session = %session.id, readers = session.readers(), "playback opened");
    mpeg_ts(stream(Reader::new(
        slot,
        generation,
        state.unpaced,
        state.burst,
    )))
}

/// The session `sid` if it is live and belongs to infohash `ih`.
pub(crate) fn live_session(inner: &Inner, ih: &str, sid: &str) -> Option<Arc<Session>> {
    inner
        .state
        .session(sid)
        .filter(|s| !s.is_stopped() && s.content.content.infohash.eq_ignore_ascii_case(ih))
}

/// Waits until the session's start-up delay (counted from its creation: the
/// engine pre-buffers once per session) has passed; `false` if it was stopped.
pub(crate) async fn prebuffered(session: &Session) -> bool {
    let ready = session.created + session.content.content.startup_delay;
    tokio::select! {
        _ = tokio::time::sleep_until(ready.into()) => !session.is_stopped(),
        _ = session.stopped() => false,
    }
}
