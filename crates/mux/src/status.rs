//! What `/ace/status` and `/ace/streams` report: per channel, its engine session,
//! its viewers and the engine's statistics. The shapes of the system acextream
//! replaces (`streams`, `clients`, `stream_id`, `stat_url`) are kept; fields are added.

use std::sync::atomic::Ordering;

use acextream_core::engine::EngineStat;
use serde::Serialize;

use crate::hls_channel::HlsStatus;
use crate::hub::{CurrentLink, Hub, Phase, SwitchRecord};
use crate::links::{HubKey, kind_of, value_of};

/// One live channel.
#[derive(Debug, Serialize)]
pub struct StreamStatus {
    /// Number of viewers, TS and HLS.
    pub clients: usize,
    /// Players with an open MPEG-TS stream.
    pub ts_viewers: usize,
    /// HLS players that polled within `hls.viewer_timeout`.
    pub hls_viewers: usize,
    /// The content id or infohash (or URL) playing now — the link asked for
    /// before the first bytes.
    pub stream_id: String,
    /// `id`, `infohash` or `url`.
    pub kind: &'static str,
    /// The catalogue channel, when the hub is one.
    pub channel_id: Option<i64>,
    /// How many links the channel has.
    pub links: usize,
    /// The link in use.
    pub link: Option<CurrentLink>,
    /// Link and engine switches so far.
    pub switches: u64,
    /// The last switches, oldest first.
    pub recent_switches: Vec<SwitchRecord>,
    /// The engine's statistics URL of the current session.
    pub stat_url: String,
    /// The engine's playback session id.
    pub playback_session_id: String,
    /// The swarm's infohash as the engine reported it.
    pub infohash: String,
    /// Starting, running, reconnecting…
    pub phase: Phase,
    /// When the channel started.
    pub started_at: String,
    /// Bytes received from the engine.
    pub bytes_in: u64,
    /// Engine sessions re-opened after a stall or drop.
    pub reopens: u32,
    /// The engine's last statistics.
    pub engine: Option<EngineStat>,
    /// Every TS viewer.
    pub viewers: Vec<ViewerStatus>,
    /// The HLS output, once an HLS player asked for it.
    pub hls: Option<HlsStatus>,
}

/// One viewer.
#[derive(Debug, Serialize)]
pub struct ViewerStatus {
    /// Xtream user, or `-`.
    pub user: String,
    /// The player's IP.
    pub ip: String,
    /// The player's User-Agent.
    pub user_agent: String,
    /// When it joined.
    pub since: String,
    /// Bytes sent to it.
    pub bytes_sent: u64,
    /// How far behind the live edge it is, in bytes.
    pub lag_bytes: u64,
    /// Times it fell too far behind and skipped to the live edge.
    pub skips: u64,
}

/// The status of one hub.
pub fn of(hub: &Hub) -> StreamStatus {
    let hls = hub.hls_output().map(|h| h.status());
    let hls_viewers = hls.as_ref().map_or(0, |h| h.viewers.len());
    let st = hub.lock();
    let head = st.ring.head();
    let mut viewers: Vec<ViewerStatus> = st
        .viewers
        .values()
        .filter(|v| !v.meta.internal)
        .map(|v| ViewerStatus {
            user: v.meta.user.clone(),
            ip: v.meta.ip.clone(),
            user_agent: v.meta.user_agent.clone(),
            since: v.since.to_string(),
            bytes_sent: v.bytes_sent.load(Ordering::Relaxed),
            lag_bytes: head.saturating_sub(v.position.load(Ordering::Relaxed)),
            skips: v.skips.load(Ordering::Relaxed),
        })
        .collect();
    viewers.sort_by(|a, b| a.since.cmp(&b.since));
    let session = st.session.as_ref().map(|a| &a.session);
    let (stream_id, kind) = match &st.current {
        Some(c) => (c.value.clone(), c.kind),
        None => (value_of(&hub.links[0]), kind_of(&hub.links[0])),
    };
    StreamStatus {
        clients: viewers.len() + hls_viewers,
        ts_viewers: viewers.len(),
        hls_viewers,
        stream_id,
        kind,
        channel_id: match hub.key {
            HubKey::Channel(id) => Some(id),
            HubKey::Stream(_) => None,
        },
        links: hub.links.len(),
        link: st.current.clone(),
        switches: st.switch_count,
        recent_switches: st.switches.iter().cloned().collect(),
        stat_url: session.map(|s| s.stat_url.clone()).unwrap_or_default(),
        playback_session_id: session
            .map(|s| s.playback_session_id.clone())
            .unwrap_or_default(),
        infohash: session.map(|s| s.infohash.clone()).unwrap_or_default(),
        phase: st.phase.clone(),
        started_at: hub.started_at.to_string(),
        bytes_in: head,
        reopens: st.reopens,
        engine: st.stat.clone(),
        viewers,
        hls,
    }
}

/// What a stop answer names: the channel id, or the bare stream.
pub fn stream_id(hub: &Hub) -> String {
    match &hub.key {
        HubKey::Channel(id) => id.to_string(),
        HubKey::Stream(link) => value_of(link),
    }
}
