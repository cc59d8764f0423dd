//! A hub: one channel's engine session shared by all of its viewers.
//!
//! The hub owns the [`Ring`] of recent chunks and the list of viewers. Its state
//! sits behind a `std::sync::Mutex`, not a tokio one, because it is only ever held
//! for a few instructions (push a chunk, clone a `Bytes`, update a counter) and
//! never across an `.await`: no viewer, however slow, can hold it while writing.
//! Viewers learn about new chunks through a `watch` channel, which wakes all of
//! them at once and never loses a wake-up.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use acextream_core::engine::{EngineClient, EngineSession, EngineStat};
use acextream_core::settings::HlsSettings;
use acextream_core::sources::StreamRef;
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::hls_channel::HlsChannel;
use crate::links::{HubKey, Shown};
use crate::metrics::SwitchReason;
use crate::ring::{Cursor, Read, Ring};

/// Switches remembered per channel for the status pages.
const SWITCH_LOG: usize = 20;

/// Why a channel could not start, decided before any byte is sent to a viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum StartError {
    /// The engine refused or failed (→ 502).
    #[error("engine error: {0}")]
    Engine(String),
    /// The engine did not produce a first byte in time (→ 504).
    #[error("engine did not answer in time")]
    Timeout,
    /// A direct link's server failed (→ 502).
    #[error("source error: {0}")]
    Source(String),
    /// No engine of the pool can take the channel: all down or full (→ 503).
    #[error("no engine available: {0}")]
    NoEngine(String),
    /// Every link of the channel was tried and failed; `last` is the last reason.
    #[error("all {links} links failed; last: {last}")]
    AllLinksFailed {
        /// How many links were tried.
        links: usize,
        /// Why the last one failed.
        last: Box<StartError>,
    },
    /// The stream ended while the viewer was joining (→ 502).
    #[error("stream ended")]
    Ended,
}

impl StartError {
    /// The HTTP status the viewer gets.
    pub fn status(&self) -> u16 {
        match self {
            StartError::Timeout => 504,
            StartError::NoEngine(_) => 503,
            StartError::AllLinksFailed { last, .. } => last.status(),
            StartError::Engine(_) | StartError::Source(_) | StartError::Ended => 502,
        }
    }
}

/// Where a hub is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum Phase {
    /// Waiting for the engine's first bytes.
    Starting,
    /// Bytes are flowing.
    Running,
    /// The engine session failed; a new one is being opened on the same link.
    Reconnecting,
    /// The link failed; the channel is moving to another link or engine.
    Switching,
    /// The channel could not start; waiting viewers get the error.
    Failed(StartError),
    /// Over: no new viewers, current viewers' bodies end.
    Ended,
}

/// Who a viewer is, for the status pages.
#[derive(Debug, Clone, Default)]
pub struct ViewerMeta {
    /// Xtream user name, or `-`.
    pub user: String,
    /// The player's IP.
    pub ip: String,
    /// The player's User-Agent.
    pub user_agent: String,
    /// A reader of our own (the HLS segmenter), not a player: it keeps the channel
    /// open but is not listed or counted as a TS viewer.
    pub internal: bool,
}

/// A viewer's live counters (read by status, written by its body stream).
#[derive(Debug)]
pub struct ViewerInfo {
    /// The viewer's identity.
    pub meta: ViewerMeta,
    /// When it joined.
    pub since: jiff::Timestamp,
    /// Bytes handed to its connection.
    pub bytes_sent: AtomicU64,
    /// Its stream offset.
    pub position: AtomicU64,
    /// Times it fell behind and was moved to the live edge.
    pub skips: AtomicU64,
}

/// An engine session in use, with the engine that owns it (stops go there).
#[derive(Debug, Clone)]
pub struct ActiveSession {
    /// The session.
    pub session: EngineSession,
    /// Its engine.
    pub engine: EngineClient,
}

/// The link a channel plays now.
#[derive(Debug, Clone, Serialize)]
pub struct CurrentLink {
    /// Its place in the channel's list (0 = first).
    pub index: usize,
    /// `id`, `infohash` or `url`.
    pub kind: &'static str,
    /// The content id, infohash or URL (credentials masked).
    pub value: String,
    /// The engine it plays on (none for a direct URL).
    pub engine: Option<String>,
    /// When it started.
    pub since: String,
}

/// One switch of link or engine.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchRecord {
    /// When.
    pub at: String,
    /// The link left (index).
    pub from: usize,
    /// The link tried next (index; the same one when only the engine changed).
    pub to: usize,
    /// Why.
    pub reason: SwitchReason,
    /// The failure in words.
    pub detail: String,
}

pub(crate) struct HubState {
    pub(crate) ring: Ring,
    pub(crate) phase: Phase,
    pub(crate) viewers: HashMap<u64, Arc<ViewerInfo>>,
    pub(crate) session: Option<ActiveSession>,
    pub(crate) stat: Option<EngineStat>,
    pub(crate) reopens: u32,
    pub(crate) current: Option<CurrentLink>,
    pub(crate) switches: VecDeque<SwitchRecord>,
    pub(crate) switch_count: u64,
    /// When the last media bytes (not filler) arrived.
    pub(crate) last_data: Option<Instant>,
    next_viewer: u64,
}

impl HubState {
    /// The stream offset of the viewer furthest behind, so the ring keeps what it
    /// has yet to read; `None` without viewers. Positions are stored under this
    /// same lock after every read, so none is older than what it holds.
    fn oldest_reader(&self) -> Option<u64> {
        self.viewers
            .values()
            .map(|v| v.position.load(Ordering::Relaxed))
            .min()
    }

    /// Appends a chunk to the ring, keeping what the slowest viewer has yet to read.
    fn push_chunk(&mut self, chunk: Bytes) {
        let oldest = self.oldest_reader();
        self.ring.push(chunk, oldest);
    }
}

/// One channel.
pub struct Hub {
    /// The channel.
    pub key: HubKey,
    /// Its links, in the order they are tried.
    pub links: Vec<StreamRef>,
    /// Unique per hub, so a finished hub never removes its successor.
    pub id: u64,
    /// When the hub was created.
    pub started_at: jiff::Timestamp,
    state: Mutex<HubState>,
    /// Bumped on every new chunk and phase change.
    signal: watch::Sender<u64>,
    /// Poked when a viewer joins or leaves (the idle timer listens).
    pub(crate) viewers_changed: Notify,
    /// Cancels this hub (admin stop, shutdown).
    pub cancel: CancellationToken,
    /// Bytes sent to all viewers (shared with the mux's metrics).
    bytes_out: Arc<AtomicU64>,
    /// The HLS output, created by the first HLS request.
    hls: Mutex<Option<Arc<HlsChannel>>>,
}

impl Hub {
    pub(crate) fn new(
        key: HubKey,
        links: Vec<StreamRef>,
        id: u64,
        ring: Ring,
        cancel: CancellationToken,
        bytes_out: Arc<AtomicU64>,
    ) -> Self {
        Self {
            key,
            links,
            id,
            started_at: jiff::Timestamp::now(),
            state: Mutex::new(HubState {
                ring,
                phase: Phase::Starting,
                viewers: HashMap::new(),
                session: None,
                stat: None,
                reopens: 0,
                current: None,
                switches: VecDeque::new(),
                switch_count: 0,
                last_data: None,
                next_viewer: 0,
            }),
            signal: watch::channel(0).0,
            viewers_changed: Notify::new(),
            cancel,
            bytes_out,
            hls: Mutex::new(None),
        }
    }

    /// The HLS output of this channel, created on first use.
    pub(crate) fn hls(&self, settings: &HlsSettings) -> Arc<HlsChannel> {
        let mut hls = self.hls.lock().unwrap_or_else(|p| p.into_inner());
        hls.get_or_insert_with(|| Arc::new(HlsChannel::new(settings.clone())))
            .clone()
    }

    /// The HLS output, if any HLS viewer ever asked for it.
    pub fn hls_output(&self) -> Option<Arc<HlsChannel>> {
        self.hls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Bytes sent to viewers (TS and HLS), shared with the mux's metrics.
    pub(crate) fn bytes_out(&self) -> &AtomicU64 {
        &self.bytes_out
    }

    /// Locks the state; a poisoned lock (a panic elsewhere) still yields the data,
    /// because every update to it is a single consistent assignment.
    pub(crate) fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(&self) {
        self.signal.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// What logs call this channel: `channel 7`, or the bare link.
    pub fn label(&self) -> String {
        match &self.key {
            HubKey::Channel(id) => format!("channel {id}"),
            HubKey::Stream(link) => Shown(link).to_string(),
        }
    }

    /// Whether `link` is one of this channel's links.
    pub fn has_link(&self, link: &StreamRef) -> bool {
        self.links.contains(link)
    }

    /// Shares a packet-aligned chunk of media with every viewer.
    pub(crate) fn push(&self, chunk: Bytes) {
        {
            let mut st = self.lock();
            st.push_chunk(chunk);
            st.last_data = Some(Instant::now());
            if st.phase != Phase::Running {
                st.phase = Phase::Running;
            }
        }
        self.wake();
    }

    /// Shares filler (null packets) while the channel has no source: the phase and
    /// the media clock stay as they are.
    pub(crate) fn push_filler(&self, chunk: Bytes) {
        self.lock().push_chunk(chunk);
        self.wake();
    }

    /// How long since the last media bytes; `None` before the first.
    pub(crate) fn silent_for(&self) -> Option<std::time::Duration> {
        self.lock().last_data.map(|t| t.elapsed())
    }

    /// Records the link now playing.
    pub(crate) fn set_current(&self, current: CurrentLink) {
        self.lock().current = Some(current);
    }

    /// Records a switch for the status pages.
    pub(crate) fn record_switch(&self, record: SwitchRecord) {
        let mut st = self.lock();
        st.switch_count += 1;
        if st.switches.len() == SWITCH_LOG {
            st.switches.pop_front();
        }
        st.switches.push_back(record);
    }

    /// Moves to `phase` unless the hub is already over.
    pub(crate) fn set_phase(&self, phase: Phase) {
        {
            let mut st = self.lock();
            if matches!(st.phase, Phase::Ended | Phase::Failed(_)) {
                return;
            }
            st.phase = phase;
        }
        self.wake();
    }

    /// Ends the hub for good with `phase` (`Ended` or `Failed`) and wakes everyone.
    pub(crate) fn finish(&self, phase: Phase) {
        self.lock().phase = phase;
        self.wake();
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.lock().phase.clone()
    }

    /// Ends the hub if it has no viewers; returns whether it did.
    pub(crate) fn end_if_idle(&self) -> bool {
        let ended = {
            let mut st = self.lock();
            let idle = st.viewers.is_empty();
            if idle {
                st.phase = Phase::Ended;
            }
            idle
        };
        if ended {
            self.wake();
        }
        ended
    }

    /// Number of readers, the HLS segmenter included (what keeps the hub open).
    pub fn viewer_count(&self) -> usize {
        self.lock().viewers.len()
    }

    /// Number of TS viewers (players with an open stream).
    pub fn ts_viewer_count(&self) -> usize {
        self.lock()
            .viewers
            .values()
            .filter(|v| !v.meta.internal)
            .count()
    }

    /// Number of HLS viewers (players that polled within `hls.viewer_timeout`).
    pub fn hls_viewer_count(&self) -> usize {
        self.hls_output().map_or(0, |h| h.viewer_count())
    }

    /// Adds a viewer at the instant-start position; fails when the hub is over.
    pub(crate) fn join(self: &Arc<Self>, meta: ViewerMeta) -> Result<Viewer, StartError> {
        let (id, info, cursor) = {
            let mut st = self.lock();
            match &st.phase {
                Phase::Ended => return Err(StartError::Ended),
                Phase::Failed(e) => return Err(e.clone()),
                _ => {}
            }
            let cursor = st.ring.start_cursor();
            let info = Arc::new(ViewerInfo {
                meta,
                since: jiff::Timestamp::now(),
                bytes_sent: AtomicU64::new(0),
                position: AtomicU64::new(st.ring.position(cursor)),
                skips: AtomicU64::new(0),
            });
            st.next_viewer += 1;
            let id = st.next_viewer;
            st.viewers.insert(id, info.clone());
            (id, info, cursor)
        };
        self.viewers_changed.notify_one();
        Ok(Viewer {
            hub: self.clone(),
            id,
            info,
            cursor,
            signal: self.signal.subscribe(),
        })
    }
}

/// One viewer's read side: a cursor into the hub's ring. Dropping it (the player
/// disconnected) removes the viewer at once.
pub struct Viewer {
    hub: Arc<Hub>,
    id: u64,
    info: Arc<ViewerInfo>,
    cursor: Cursor,
    signal: watch::Receiver<u64>,
}

impl Viewer {
    /// The hub this viewer watches.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Times this viewer fell behind and was moved forward.
    pub fn skips(&self) -> u64 {
        self.info.skips.load(Ordering::Relaxed)
    }

    /// Waits until the channel has produced its first bytes, or failed.
    pub async fn ready(&mut self) -> Result<(), StartError> {
        loop {
            self.signal.borrow_and_update();
            match self.hub.phase() {
                Phase::Running | Phase::Reconnecting | Phase::Switching => return Ok(()),
                Phase::Failed(e) => return Err(e),
                Phase::Ended => return Err(StartError::Ended),
                Phase::Starting => {
                    if self.signal.changed().await.is_err() {
                        return Err(StartError::Ended);
                    }
                }
            }
        }
    }

    /// The next bytes for this viewer, waiting for the engine when at the live edge;
    /// `None` when the channel is over.
    pub async fn next(&mut self) -> Option<Bytes> {
        loop {
            // Mark the current version seen *before* looking, so a chunk pushed
            // between the look and the wait still wakes us.
            self.signal.borrow_and_update();
            let read = {
                let st = self.hub.lock();
                if matches!(st.phase, Phase::Ended | Phase::Failed(_)) {
                    return None;
                }
                let read = st.ring.read(&mut self.cursor);
                self.info
                    .position
                    .store(st.ring.position(self.cursor), Ordering::Relaxed);
                read
            };
            match read {
                Read::Data(bytes) => {
                    let n = bytes.len() as u64;
                    self.info.bytes_sent.fetch_add(n, Ordering::Relaxed);
                    self.hub.bytes_out.fetch_add(n, Ordering::Relaxed);
                    return Some(bytes);
                }
                Read::Lagged { skipped } => {
                    self.info.skips.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        stream = %self.hub.label(),
                        user = %self.info.meta.user,
                        ip = %self.info.meta.ip,
                        skipped,
                        "viewer fell behind; moved to the live edge"
                    );
                }
                Read::Wait => {
                    if self.signal.changed().await.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let left = {
            let mut st = self.hub.lock();
            st.viewers.remove(&self.id);
            st.viewers.len()
        };
        tracing::info!(
            stream = %self.hub.label(),
            user = %self.info.meta.user,
            ip = %self.info.meta.ip,
            bytes = self.info.bytes_sent.load(Ordering::Relaxed),
            viewers = left,
            "viewer left"
        );
        self.hub.viewers_changed.notify_one();
    }
}
