//! The internal multiplexer (raw hyper 1.x on 127.0.0.1:8001): one engine session
//! per channel, fanned out to every viewer, with no viewer able to hurt another.
//!
//! Pieces, in the order a request meets them: [`server`] (accept loop, routing) →
//! [`Mux::watch`] (find or start the channel's [`hub::Hub`]) → [`upstream`] (the
//! one task per channel reading the engine) → [`ring`] (the shared window of
//! packet-aligned `Bytes`) → [`hub::Viewer`] (one cursor per player).

pub mod body;
#[doc(hidden)]
pub mod fuzzing;
pub mod hub;
pub mod metrics;
pub mod ring;
pub mod server;
pub mod status;
pub mod ts;
mod upstream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use acextream_core::engine::{ContentKey, EngineClient};
use acextream_core::settings::MuxSettings;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::hub::{Hub, StartError, Viewer, ViewerMeta};
use crate::metrics::Metrics;
use crate::ring::Ring;

/// The multiplexer: the registry of live channels and what they share.
pub struct Mux {
    settings: Arc<MuxSettings>,
    engine: EngineClient,
    /// Live channels. A `std::sync::Mutex` because it is held only to look up or
    /// insert an entry — never across an engine call — so distinct channels never
    /// wait on each other's engine.
    hubs: Mutex<HashMap<ContentKey, Arc<Hub>>>,
    next_hub: AtomicU64,
    /// Parent of every hub's token: cancelling it ends every channel (shutdown).
    cancel: CancellationToken,
    /// Every upstream task, so shutdown can wait for their engine stops.
    tasks: TaskTracker,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

impl Mux {
    /// A multiplexer using `engine`.
    pub fn new(settings: MuxSettings, engine: EngineClient) -> Arc<Self> {
        Arc::new(Self {
            settings: Arc::new(settings),
            engine,
            hubs: Mutex::new(HashMap::new()),
            next_hub: AtomicU64::new(1),
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
            metrics: Arc::new(Metrics::default()),
        })
    }

    fn hubs(&self) -> MutexGuard<'_, HashMap<ContentKey, Arc<Hub>>> {
        self.hubs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Joins the channel `key` (starting its engine session if it is cold) and
    /// waits until it has bytes. `params` are the player's engine parameters; the
    /// first viewer's win for the life of the session.
    pub async fn watch(
        self: &Arc<Self>,
        key: ContentKey,
        params: Vec<(String, String)>,
        meta: ViewerMeta,
    ) -> Result<Viewer, StartError> {
        let mut viewer = loop {
            let hub = self.hub_for(&key, &params);
            match hub.join(meta.clone()) {
                Ok(v) => break v,
                // The hub ended between lookup and join: remove it and start afresh.
                Err(StartError::Ended) => self.remove(&hub),
                Err(e) => return Err(e),
            }
        };
        viewer.ready().await?;
        self.metrics.viewers_total.inc();
        tracing::info!(
            stream = key.value(),
            user = %meta.user,
            ip = %meta.ip,
            viewers = viewer.hub().viewer_count(),
            "viewer joined"
        );
        Ok(viewer)
    }

    fn hub_for(self: &Arc<Self>, key: &ContentKey, params: &[(String, String)]) -> Arc<Hub> {
        let mut hubs = self.hubs();
        if let Some(hub) = hubs.get(key) {
            return hub.clone();
        }
        let hub = Arc::new(Hub::new(
            key.clone(),
            self.next_hub.fetch_add(1, Ordering::Relaxed),
            Ring::new(
                self.settings.max_client_lag_bytes,
                self.settings.instant_start_bytes,
            ),
            self.cancel.child_token(),
            self.metrics.bytes_out.clone(),
        ));
        hubs.insert(key.clone(), hub.clone());
        let upstream = upstream::Upstream {
            hub: hub.clone(),
            engine: self.engine.clone(),
            settings: self.settings.clone(),
            params: params.to_vec(),
            metrics: self.metrics.clone(),
            tasks: self.tasks.clone(),
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
    pub fn hub(&self, key: &ContentKey) -> Option<Arc<Hub>> {
        self.hubs().get(key).cloned()
    }

    /// Stops a channel now: its viewers' bodies end and the engine session is stopped.
    pub fn stop(&self, key: &ContentKey) -> bool {
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
