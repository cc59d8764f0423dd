//! `GET /ace/cmd/<infohash>/<session>?method=stop` and the (minimal) event URL.

use std::sync::Arc;

use super::Query;
use super::playback::live_session;
use crate::body::{Resp, response_err, response_ok};
use crate::server::Inner;

/// The engine's answer for a stopped or unknown session.
pub(crate) const ERR_SESSION: &str = "unknown playback session id";

pub(crate) fn command(inner: &Arc<Inner>, ih: &str, sid: &str, q: &Query) -> Resp {
    match q.get("method") {
        Some("stop") => {
            inner.state.count_stop_call();
            // Counted on the session even when it is already stopped: a second
            // stop of the same session is what a churn test must catch.
            if let Some(s) = inner.state.session(sid) {
                s.count_stop_call();
            }
            match live_session(inner, ih, sid) {
                Some(s) if s.stop() => response_ok("ok".into()),
                _ => response_err(ERR_SESSION),
            }
        }
        _ => response_err("unknown method"),
    }
}

/// The event URL: players post user events here; the simulator only acknowledges.
pub(crate) fn event(inner: &Arc<Inner>, ih: &str, sid: &str) -> Resp {
    match live_session(inner, ih, sid) {
        Some(_) => response_ok("ok".into()),
        None => response_err(ERR_SESSION),
    }
}
