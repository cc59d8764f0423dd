//! What the simulator tells a test about what was done to it ([`Introspection`]).

use serde::{Deserialize, Serialize};

/// A snapshot of the simulator's sessions and the calls it received.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Introspection {
    /// Every session since start, in creation order, stopped ones included.
    pub sessions: Vec<SessionInfo>,
    /// Every getstream (and manifest.m3u8) call, in order.
    pub getstream_calls: Vec<GetstreamCall>,
    /// `command_url?method=stop` calls, answered ok or not.
    pub stop_calls: u64,
    /// Playback opens of a live session (`/ace/r/…`), refused ones excluded.
    pub playback_opens: u64,
}

/// One engine session.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The `playback_session_id` (32 hex).
    pub session_id: String,
    /// Player id that opened it (generated when the caller sent none).
    pub pid: String,
    /// Content id of the content played.
    pub content_id: String,
    /// Infohash of the content played.
    pub infohash: String,
    /// Playback requests currently open (including ones still waiting for headers).
    pub readers: usize,
    /// Body bytes handed to readers so far.
    pub bytes_sent: u64,
    /// Stopped by a stop command, a policy, or a restart.
    pub stopped: bool,
    /// `method=stop` commands addressed to this session, before or after it
    /// stopped: a proxy that stops each session exactly once leaves 1 here.
    #[serde(default)]
    pub stop_calls: u64,
    /// Creation time, milliseconds since the Unix epoch.
    pub started_at_ms: u64,
}

/// One getstream call as received.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GetstreamCall {
    /// `"id"` or `"infohash"` (empty if neither was sent).
    pub param: String,
    /// Its value.
    pub value: String,
    /// The `pid` (or its old alias `sid`) sent, if any.
    pub pid: Option<String>,
    /// All query parameters, in order.
    pub query: Vec<(String, String)>,
}

impl Introspection {
    /// Sessions not stopped.
    pub fn live_sessions(&self) -> Vec<&SessionInfo> {
        self.sessions.iter().filter(|s| !s.stopped).collect()
    }

    /// Sessions (any state) of the content with this content id or infohash.
    pub fn sessions_for(&self, content_id_or_infohash: &str) -> Vec<&SessionInfo> {
        let key = content_id_or_infohash.to_ascii_lowercase();
        self.sessions
            .iter()
            .filter(|s| s.content_id == key || s.infohash == key)
            .collect()
    }

    /// getstream calls for this content id or infohash value.
    pub fn calls_for(&self, value: &str) -> Vec<&GetstreamCall> {
        self.getstream_calls
            .iter()
            .filter(|c| c.value.eq_ignore_ascii_case(value))
            .collect()
    }
}
