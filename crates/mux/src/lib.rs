//! The internal multiplexer (raw hyper 1.x on 127.0.0.1:8001): one engine session
//! per channel, fanned out to every viewer, with no viewer able to hurt another.
//!
//! Pieces, in the order a request meets them: [`server`] (accept loop, routing) →
//! [`links`] (the channel and its links, from the query) → [`Mux::watch`] (find
//! or start the channel's [`hub::Hub`]) → `upstream` (the one task per channel
//! reading a link, failing over to the next) → [`ring`] (the shared window of
//! packet-aligned `Bytes`) → [`hub::Viewer`] (one cursor per player).

pub mod body;
pub mod events;
mod failover;
#[doc(hidden)]
pub mod fuzzing;
pub mod hls;
pub mod hls_channel;
pub mod hub;
pub mod links;
pub mod metrics;
pub mod ring;
pub mod server;
mod source;
pub mod splice;
pub mod status;
pub mod ts;
mod upstream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use acextream_core::engine::pool::EnginePool;
use acextream_core::settings::{HlsSettings, MuxSettings};
use acextream_core::sources::StreamRef;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::events::LinkEvents;
use crate::hls_channel::Readiness;
use crate::hub::{Hub, StartError, Viewer, ViewerMeta};
use crate::links::{ChannelRequest, HubKey};
use crate::metrics::Metrics;
use crate::ring::Ring;

/// A live media playlist and what the master playlist says about it.
#[derive(Debug, Clone)]
pub struct HlsPlaylist {
    /// The media playlist; segment URIs are `<seq>.ts`.
    pub text: String,
    /// RFC 6381 codecs, when known.
    pub codecs: Option<String>,
    /// Peak bits per second, when measured.
    pub bandwidth: Option<u64>,
}

/// Why a channel has no HLS playlist.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HlsError {
    /// The channel did not start (the same statuses as a TS viewer gets).
    #[error("{0}")]
    Start(StartError),
    /// Its codecs cannot be played as HLS (→ 415).
    #[error("{0}")]
    Unsupported(String),
}

/// The multiplexer: the registry of live channels and what they share.
pub struct Mux {
    settings: Arc<MuxSettings>,
    hls: HlsSettings,
    pool: Arc<EnginePool>,
    /// For direct http(s) links.
    direct: reqwest::Client,
    /// Live channels. A `std::sync::Mutex` because it is held only to look up or
    /// insert an entry — never across an engine call — so distinct channels never
    /// wait on each other's engine.
    hubs: Mutex<HashMap<HubKey, Arc<Hub>>>,
    /// Where link health goes (set once by the daemon).
    events: OnceLock<LinkEvents>,
    next_hub: AtomicU64,
    /// Parent of every hub's token: cancelling it ends every channel (shutdown).
    cancel: CancellationToken,
    /// Every upstream task, so shutdown can wait for their engine stops.
    tasks: TaskTracker,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

impl Mux {
    /// A multiplexer placing channels on the engines of `pool`.
    pub fn new(settings: MuxSettings, hls: HlsSettings, pool: Arc<EnginePool>) -> Arc<Self> {
        // Direct links are remote streams: connect in bounded time, read forever.
        let direct = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .user_agent(concat!("acextream/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Arc::new(Self {
            settings: Arc::new(settings),
            hls,
            pool,
            direct,
            hubs: Mutex::new(HashMap::new()),
            events: OnceLock::new(),
            next_hub: AtomicU64::new(1),
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
            metrics: Arc::new(Metrics::default()),
        })
    }

    fn hubs(&self) -> MutexGuard<'_, HashMap<HubKey, Arc<Hub>>> {
        self.hubs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends every link's successes and failures to `events` from now on.
    pub fn on_link_events(&self, events: LinkEvents) {
        let _ = self.events.set(events);
    }

    /// The engines.
    pub fn pool(&self) -> &Arc<EnginePool> {
        &self.pool
    }

    /// Joins the channel `request` names (starting it if it is cold) and waits,
    /// at most `mux.response_timeout`, until it has bytes. The first viewer's
    /// links and engine parameters win for the life of the channel.
    pub async fn watch(
        self: &Arc<Self>,
        request: ChannelRequest,
        meta: ViewerMeta,
    ) -> Result<Viewer, StartError> {
        let mut viewer = loop {
            let hub = self.hub_for(&request);
            match hub.join(meta.clone()) {
                Ok(v) => break v,
                // The hub ended between lookup and join: remove it and start afresh.
                Err(StartError::Ended) => self.remove(&hub),
                Err(e) => return Err(e),
            }
        };
        match tokio::time::timeout(self.settings.response_timeout, viewer.ready()).await {
            Ok(r) => r?,
            Err(_) => return Err(StartError::Timeout),
        }
        self.metrics.viewers_total.inc();
        tracing::info!(
            stream = %viewer.hub().label(),
            user = %meta.user,
            ip = %meta.ip,
            viewers = viewer.hub().viewer_count(),
            "viewer joined"
        );
        Ok(viewer)
    }

    /// The live HLS playlist of the channel `request` names, for HLS session
    /// `session`: starts the channel and its segmenter when cold, and waits (at
    /// most `mux.response_timeout`) for the first complete segment.
    pub async fn hls_playlist(
        self: &Arc<Self>,
        request: ChannelRequest,
        session: &str,
        meta: ViewerMeta,
    ) -> Result<HlsPlaylist, HlsError> {
        let (hub, hls) = loop {
            let hub = self.hub_for(&request);
            let hls = hub.hls(&self.hls);
            hls.touch(session, &meta);
            match hls.ensure_running(&hub) {
                Ok(()) => break (hub, hls),
                Err(StartError::Ended) => self.remove(&hub),
                Err(e) => return Err(HlsError::Start(e)),
            }
        };
        let ready = tokio::time::timeout(self.settings.response_timeout, hls.wait_ready()).await;
        if !matches!(ready, Ok(Readiness::Ready | Readiness::Pending)) {
            hls.forget(session);
        }
        match ready {
            Err(_) => Err(HlsError::Start(StartError::Timeout)),
            Ok(Readiness::Pending) | Ok(Readiness::Ready) => {
                let (codecs, bandwidth) = hls.stream_info();
                let text = hls.playlist().ok_or(HlsError::Start(StartError::Timeout))?;
                tracing::debug!(stream = %hub.label(), "HLS playlist served");
                Ok(HlsPlaylist {
                    text,
                    codecs,
                    bandwidth,
                })
            }
            Ok(Readiness::Unsupported(reason)) => Err(HlsError::Unsupported(reason)),
            Ok(Readiness::Failed(e)) => Err(HlsError::Start(e)),
        }
    }

    /// Segment `seq` of the live channel `hub`, fetched by HLS session `session`.
    /// `None` when the channel has no HLS output or the segment is not (or no
    /// longer) held.
    pub fn hls_segment(
        &self,
        hub: &Hub,
        seq: u64,
        session: &str,
        meta: &ViewerMeta,
    ) -> Option<hls::segmenter::Segment> {
        let hls = hub.hls_output()?;
        hls.touch(session, meta);
        hls.segment(seq, session, hub.bytes_out())
    }

    /// The HLS settings in force.
    pub fn hls_settings(&self) -> &HlsSettings {
        &self.hls
    }

    fn hub_for(self: &Arc<Self>, request: &ChannelRequest) -> Arc<Hub> {
        let mut hubs = self.hubs();
        if let Some(hub) = hubs.get(&request.key) {
            return hub.clone();
        }
        let hub = Arc::new(Hub::new(
            request.key.clone(),
            request.links.clone(),
            self.next_hub.fetch_add(1, Ordering::Relaxed),
            Ring::new(
                self.settings.max_client_lag_bytes,
                self.settings.instant_start_bytes,
            ),
            self.cancel.child_token(),
            self.metrics.bytes_out.clone(),
        ));
        hubs.insert(request.key.clone(), hub.clone());
        let upstream = upstream::Upstream {
            hub: hub.clone(),
            pool: self.pool.clone(),
            direct: self.direct.clone(),
            settings: self.settings.clone(),
            params: request.params.clone(),
            cooling: request.cooling,
            metrics: self.metrics.clone(),
            tasks: self.tasks.clone(),
            events: self.events.get().cloned(),
        };
        let mux = self.clone();
        self.tasks
            .spawn(async move { upstream.run(|hub| mux.remove(hub)).await });
        hub
    }

    /// Removes `hub` from the registry if it is still the entry for its key.
    fn remove(&self, hub: &Arc<Hub>) {
        let mut hubs = self.hubs();
        if hubs.get(&hub.key).is_some_and(|h| h.id == hub.id) {
            hubs.remove(&hub.key);
        }
    }

    /// The live channels.
    pub fn hubs_snapshot(&self) -> Vec<Arc<Hub>> {
        let mut v: Vec<_> = self.hubs().values().cloned().collect();
        v.sort_by_key(|h| h.id);
        v
    }

    /// The live channel `key`, if any.
    pub fn hub(&self, key: &HubKey) -> Option<Arc<Hub>> {
        self.hubs().get(key).cloned()
    }

    /// The live channel playing or holding `link`: the link's own hub, else a
    /// channel whose current link it is, else one that lists it.
    pub fn hub_with_link(&self, link: &StreamRef) -> Option<Arc<Hub>> {
        if let Some(h) = self.hub(&HubKey::Stream(link.clone())) {
            return Some(h);
        }
        let hubs = self.hubs_snapshot();
        let value = links::value_of(link);
        hubs.iter()
            .find(|h| {
                h.lock()
                    .current
                    .as_ref()
                    .is_some_and(|c| c.value == value && h.has_link(link))
            })
            .or_else(|| hubs.iter().find(|h| h.has_link(link)))
            .cloned()
    }

    /// Stops a channel now: its viewers' bodies end and the engine session is stopped.
    pub fn stop(&self, key: &HubKey) -> bool {
        match self.hub(key) {
            Some(hub) => {
                hub.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Ends every channel and waits (at most `bound`) for their engine stops.
    pub async fn shutdown(&self, bound: Duration) {
        self.cancel.cancel();
        self.tasks.close();
        if tokio::time::timeout(bound, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some engine sessions did not stop in time");
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &MuxSettings {
        &self.settings
    }
}
