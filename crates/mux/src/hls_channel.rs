//! A channel's HLS output: one segmenter per hub, fed from the hub's ring by an
//! internal reader, shared by every HLS viewer of the channel, and the HLS
//! viewers themselves (sessions that poll, not connections that stay open).
//!
//! The segmenter task is a viewer of the hub like any TS player, so the channel
//! keeps exactly one engine session whatever mix of TS and HLS viewers watches
//! it. It runs while at least one HLS session fetched something within
//! `hls.viewer_timeout`; when the last one has gone quiet it leaves the hub,
//! whose idle grace then starts if no TS viewer is left either.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use acextream_core::settings::HlsSettings;
use serde::Serialize;
use tokio::sync::watch;

use crate::hls::psi::hls_support;
use crate::hls::segmenter::{Segment, Segmenter, SegmenterConfig};
use crate::hub::{Hub, StartError, ViewerMeta};

/// Sessions remembered per channel (a flood of made-up session ids cannot grow it).
const MAX_SESSIONS: usize = 4096;

/// One HLS viewer: a player identified by the session id the public side gives it.
#[derive(Debug, Clone)]
struct Session {
    meta: ViewerMeta,
    since: jiff::Timestamp,
    last_fetch: Instant,
    segments: u64,
    bytes: u64,
}

/// What a playlist request waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Readiness {
    /// No complete segment yet.
    Pending,
    /// The playlist can be served.
    Ready,
    /// The channel's codecs cannot be played as HLS (the reason, for a 415).
    Unsupported(String),
    /// The channel failed or ended before a segment was complete.
    Failed(StartError),
}

struct State {
    segmenter: Segmenter,
    sessions: HashMap<String, Session>,
    /// Whether the segmenter task is reading the hub.
    running: bool,
    unsupported: Option<String>,
    failed: Option<StartError>,
}

/// The HLS side of one hub.
pub struct HlsChannel {
    settings: HlsSettings,
    state: Mutex<State>,
    /// Bumped on every new segment and every change of readiness.
    changed: watch::Sender<u64>,
}

/// An HLS viewer, for the status pages.
#[derive(Debug, Clone, Serialize)]
pub struct HlsViewerStatus {
    /// Xtream user, or `-`.
    pub user: String,
    /// The player's IP.
    pub ip: String,
    /// The player's User-Agent.
    pub user_agent: String,
    /// When it first fetched.
    pub since: String,
    /// Segments fetched.
    pub segments: u64,
    /// Bytes of segments fetched.
    pub bytes_sent: u64,
    /// Seconds since its last fetch.
    pub idle_secs: u64,
}

/// The segmenter's state for the status pages.
#[derive(Debug, Clone, Serialize)]
pub struct HlsStatus {
    /// Whether the segmenter reads the channel now.
    pub running: bool,
    /// EXT-X-TARGETDURATION, once fixed.
    pub target_duration: Option<u64>,
    /// The newest segment's sequence number.
    pub latest_segment: Option<u64>,
    /// RFC 6381 codecs, once known.
    pub codecs: Option<String>,
    /// Why the channel is not offered as HLS.
    pub unsupported: Option<String>,
    /// The viewers polling now.
    pub viewers: Vec<HlsViewerStatus>,
}

impl HlsChannel {
    /// An idle HLS side for a hub.
    pub(crate) fn new(settings: HlsSettings) -> Self {
        let segmenter = Segmenter::new(segmenter_config(&settings, 0));
        Self {
            settings,
            state: Mutex::new(State {
                segmenter,
                sessions: HashMap::new(),
                running: false,
                unsupported: None,
                failed: None,
            }),
            changed: watch::channel(0).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Records a fetch by session `id` (a new session is a new viewer).
    pub(crate) fn touch(&self, id: &str, meta: &ViewerMeta) {
        let mut st = self.lock();
        let now = Instant::now();
        if let Some(s) = st.sessions.get_mut(id) {
            s.last_fetch = now;
            return;
        }
        let timeout = self.settings.viewer_timeout;
        st.sessions
            .retain(|_, s| now.duration_since(s.last_fetch) < timeout);
        if st.sessions.len() >= MAX_SESSIONS {
            return;
        }
        st.sessions.insert(
            id.chars().take(64).collect(),
            Session {
                meta: meta.clone(),
                since: jiff::Timestamp::now(),
                last_fetch: now,
                segments: 0,
                bytes: 0,
            },
        );
    }

    /// Forgets session `id` (its playlist request failed: it never watched).
    pub(crate) fn forget(&self, id: &str) {
        self.lock().sessions.remove(id);
    }

    /// Counts a served segment for session `id`.
    fn served(&self, id: &str, bytes: u64) {
        if let Some(s) = self.lock().sessions.get_mut(id) {
            s.segments += 1;
            s.bytes += bytes;
        }
    }

    /// HLS viewers that fetched within `hls.viewer_timeout`.
    pub fn viewer_count(&self) -> usize {
        let timeout = self.settings.viewer_timeout;
        self.lock()
            .sessions
            .values()
            .filter(|s| s.last_fetch.elapsed() < timeout)
            .count()
    }

    /// Starts the segmenter task when it is not running. Joining the hub happens
    /// here, synchronously, so a cold hub has a viewer before its idle timer looks.
    pub(crate) fn ensure_running(self: &Arc<Self>, hub: &Arc<Hub>) -> Result<(), StartError> {
        {
            let mut st = self.lock();
            if st.running {
                return Ok(());
            }
            let viewer = hub.join(ViewerMeta {
                user: "-".into(),
                ip: "-".into(),
                user_agent: "hls segmenter".into(),
                internal: true,
            })?;
            st.running = true;
            st.failed = None;
            st.unsupported = None;
            let this = self.clone();
            tokio::spawn(async move { this.run(viewer).await });
        }
        self.bump();
        Ok(())
    }

    /// The segmenter task: reads the hub until no HLS viewer is left, the codecs
    /// turn out unplayable, or the channel ends.
    async fn run(self: Arc<Self>, mut viewer: crate::hub::Viewer) {
        let timeout = self.settings.viewer_timeout;
        if let Err(e) = viewer.ready().await {
            self.lock().failed = Some(e);
            self.stop();
            return;
        }
        let mut idle_check = tokio::time::interval(Duration::from_secs(1));
        let mut skips = viewer.skips();
        loop {
            tokio::select! {
                chunk = viewer.next() => {
                    let Some(chunk) = chunk else {
                        self.lock().failed = Some(StartError::Ended);
                        break;
                    };
                    let new_segment = {
                        let mut st = self.lock();
                        if viewer.skips() != skips {
                            skips = viewer.skips();
                            st.segmenter.mark_discontinuity();
                        }
                        let before = st.segmenter.latest_seq();
                        st.segmenter.push(&chunk, jiff::Timestamp::now());
                        if let Some(Err(reason)) = st.segmenter.program().map(hls_support) {
                            st.unsupported = Some(reason);
                            drop(st);
                            break;
                        }
                        st.segmenter.latest_seq() != before
                    };
                    if new_segment {
                        self.bump();
                    }
                }
                _ = idle_check.tick() => {
                    let idle = {
                        let st = self.lock();
                        st.sessions.values().all(|s| s.last_fetch.elapsed() >= timeout)
                    };
                    if idle {
                        break;
                    }
                }
            }
        }
        self.stop();
        drop(viewer);
    }

    /// The task is over: the window is dropped (its slices keep ring chunks
    /// alive), and a later viewer starts a fresh window numbered after it.
    fn stop(&self) {
        {
            let mut st = self.lock();
            st.running = false;
            let next = st.segmenter.latest_seq().map_or(0, |s| s + 1);
            st.segmenter = Segmenter::new(segmenter_config(&self.settings, next));
        }
        self.bump();
    }

    fn readiness(&self) -> Readiness {
        let st = self.lock();
        if let Some(reason) = &st.unsupported {
            return Readiness::Unsupported(reason.clone());
        }
        if st.segmenter.target_duration().is_some() && st.segmenter.latest_seq().is_some() {
            return Readiness::Ready;
        }
        if let Some(e) = &st.failed {
            return Readiness::Failed(e.clone());
        }
        if !st.running {
            return Readiness::Failed(StartError::Ended);
        }
        Readiness::Pending
    }

    /// Waits until the playlist can be served (or cannot be, and why).
    pub(crate) async fn wait_ready(&self) -> Readiness {
        let mut changed = self.changed.subscribe();
        loop {
            changed.borrow_and_update();
            match self.readiness() {
                Readiness::Pending => {
                    if changed.changed().await.is_err() {
                        return Readiness::Failed(StartError::Ended);
                    }
                }
                other => return other,
            }
        }
    }

    /// The live media playlist, segment URIs being `<seq>.ts`.
    pub(crate) fn playlist(&self) -> Option<String> {
        self.lock().segmenter.playlist(|seq| format!("{seq}.ts"))
    }

    /// RFC 6381 codecs and peak bandwidth, for the master playlist.
    pub(crate) fn stream_info(&self) -> (Option<String>, Option<u64>) {
        let st = self.lock();
        (st.segmenter.codecs(), st.segmenter.bandwidth())
    }

    /// Segment `seq`, counted for session `id`.
    pub(crate) fn segment(
        &self,
        seq: u64,
        id: &str,
        bytes_out: &std::sync::atomic::AtomicU64,
    ) -> Option<Segment> {
        let segment = self.lock().segmenter.segment(seq)?;
        self.served(id, segment.len as u64);
        bytes_out.fetch_add(segment.len as u64, Ordering::Relaxed);
        Some(segment)
    }

    /// The state for the status pages.
    pub fn status(&self) -> HlsStatus {
        let timeout = self.settings.viewer_timeout;
        let st = self.lock();
        let mut viewers: Vec<HlsViewerStatus> = st
            .sessions
            .values()
            .filter(|s| s.last_fetch.elapsed() < timeout)
            .map(|s| HlsViewerStatus {
                user: s.meta.user.clone(),
                ip: s.meta.ip.clone(),
                user_agent: s.meta.user_agent.clone(),
                since: s.since.to_string(),
                segments: s.segments,
                bytes_sent: s.bytes,
                idle_secs: s.last_fetch.elapsed().as_secs(),
            })
            .collect();
        viewers.sort_by(|a, b| a.since.cmp(&b.since));
        HlsStatus {
            running: st.running,
            target_duration: st.segmenter.target_duration(),
            latest_segment: st.segmenter.latest_seq(),
            codecs: st.segmenter.codecs(),
            unsupported: st.unsupported.clone(),
            viewers,
        }
    }
}

/// The segmenter's settings. Sequence numbers start at the current Unix time in
/// seconds: a segment lasts at least a second, so a channel started again later
/// (after its idle grace, or a restart) never numbers a segment below one a
/// player saw before — EXT-X-MEDIA-SEQUENCE only ever increases for a URL.
fn segmenter_config(settings: &HlsSettings, at_least: u64) -> SegmenterConfig {
    SegmenterConfig {
        segment_duration: settings.segment_duration,
        window: settings.window,
        first_seq: (jiff::Timestamp::now().as_second().max(0) as u64).max(at_least),
    }
}
