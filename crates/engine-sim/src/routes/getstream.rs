//! `GET /ace/getstream` and `GET /ace/manifest.m3u8`: start (or reuse) a session
//! and answer its URLs, as the JSON envelope or a redirect.

use std::sync::Arc;

use http::StatusCode;
use serde_json::json;

use super::Query;
use crate::body::{Resp, redirect, response_err, response_ok, text};
use crate::content::Fault;
use crate::introspect::GetstreamCall;
use crate::server::Inner;
use crate::state::KeyParam;

/// The engine's answer for unknown or dead content.
pub(crate) const ERR_LOAD: &str = "failed to load content";

/// Which playback URL the session gets.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `/ace/r/…`, the endless TS body.
    Ts,
    /// `/ace/m/….m3u8`, an HLS playlist.
    Hls,
}

pub(crate) fn getstream(inner: &Arc<Inner>, base: &str, q: &Query, kind: Kind) -> Resp {
    let key = q
        .get("id")
        .map(|v| (KeyParam::ContentId, "id", v))
        .or_else(|| {
            q.get("infohash")
                .map(|v| (KeyParam::Infohash, "infohash", v))
        });
    // `sid` is the old alias of `pid`.
    let pid = q.get("pid").or_else(|| q.get("sid"));
    let state = &inner.state;
    state.record_call(GetstreamCall {
        param: key.map(|(_, p, _)| p.to_owned()).unwrap_or_default(),
        value: key.map(|(_, _, v)| v.to_owned()).unwrap_or_default(),
        pid: pid.map(str::to_owned),
        query: q.0.clone(),
    });
    let Some(content) = key.and_then(|(param, _, value)| state.lookup(param, value)) else {
        tracing::info!(key = ?key.map(|k| k.2), "getstream for unknown content");
        return response_err(ERR_LOAD);
    };
    if let Fault::Error { status, message } = content.fault() {
        return error_answer(status, &message);
    }
    // A missing pid is an anonymous player: it gets one of its own.
    let pid = pid
        .map(str::to_owned)
        .unwrap_or_else(|| format!("anon-{}", uuid::Uuid::new_v4().simple()));
    let session = match state.open_session(&pid, &content) {
        Ok(s) => s,
        Err(msg) => return response_err(msg),
    };
    let ih = &content.content.infohash;
    let sid = &session.id;
    let playback_url = match kind {
        Kind::Ts => format!("{base}/ace/r/{ih}/{sid}"),
        Kind::Hls => format!("{base}/ace/m/{ih}/{sid}.m3u8"),
    };
    if q.get("format") != Some("json") {
        return redirect(&playback_url);
    }
    response_ok(json!({
        "playback_url": playback_url,
        "stat_url": format!("{base}/ace/stat/{ih}/{sid}"),
        "command_url": format!("{base}/ace/cmd/{ih}/{sid}"),
        "event_url": format!("{base}/ace/event/{ih}/{sid}"),
        "infohash": ih,
        "playback_session_id": sid,
        "is_live": 1,
        "is_encrypted": 0,
        "client_session_id": -1,
    }))
}

/// The answer of [`Fault::Error`]: the envelope for status 200, else plain text.
pub(crate) fn error_answer(status: u16, message: &str) -> Resp {
    match StatusCode::from_u16(status) {
        Ok(StatusCode::OK) => response_err(message),
        Ok(s) => text(s, message),
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, message),
    }
}
