//! The one task per channel that talks to the engine: opens the session, reads the
//! playback body into the hub, re-opens it when the engine stalls or drops, and
//! stops it after the last viewer has been gone for the idle grace.
//!
//! Viewers never wait on this task except for the very first bytes: it pushes
//! chunks into the hub and moves on, whatever any viewer is doing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acextream_core::engine::{EngineClient, EngineError, EngineSession};
use acextream_core::settings::MuxSettings;
use futures_util::StreamExt;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tokio_util::task::TaskTracker;

use crate::hub::{Hub, Phase, StartError};
use crate::metrics::Metrics;
use crate::ts::Packetizer;

/// How a hub's life ended.
#[derive(Debug)]
enum Outcome {
    /// No viewer for the idle grace.
    Idle,
    /// Stopped by an admin or by shutdown.
    Cancelled,
    /// The first session never produced a byte.
    Failed(StartError),
    /// Every re-open failed.
    Exhausted,
}

/// A session that delivered data this long is healthy again: its failure starts
/// the re-open budget afresh.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// How long past the start deadline an abandoned getstream may still answer (its
/// session is then stopped); after that the request is dropped. An engine that has
/// not answered by then is not going to.
const ABANDONED_START_BOUND: Duration = Duration::from_secs(60);

/// Everything the upstream task needs.
pub(crate) struct Upstream {
    pub hub: Arc<Hub>,
    pub engine: EngineClient,
    pub settings: Arc<MuxSettings>,
    pub params: Vec<(String, String)>,
    pub metrics: Arc<Metrics>,
    /// The mux's task tracker: starts and stops in flight are waited for at shutdown.
    pub tasks: TaskTracker,
}

/// Sends engine stops; cheap to clone, so a stop can run in a task of its own.
#[derive(Clone)]
struct Stopper {
    engine: EngineClient,
    metrics: Arc<Metrics>,
    bound: Duration,
    key: String,
}

impl Stopper {
    /// Sends the engine `stop`, bounded: a hanging engine costs only the task that
    /// awaits it. The future owns what it needs.
    fn stop(&self, session: EngineSession) -> impl Future<Output = ()> + Send + use<> {
        let Stopper {
            engine,
            metrics,
            bound,
            key,
        } = self.clone();
        async move {
            metrics.sessions_stopped.inc();
            match timeout(bound, engine.stop(&session.command_url)).await {
                Ok(Ok(())) => tracing::info!(stream = key, "engine session stopped"),
                Ok(Err(e)) => tracing::warn!(stream = key, error = %e, "engine stop failed"),
                Err(_) => tracing::warn!(stream = key, "engine stop timed out"),
            }
        }
    }
}

/// A session the engine handed out that is not in the hub yet. If it is dropped
/// unclaimed — nobody waited for the answer any more: the start deadline passed,
/// or the hub ended (idle grace, admin stop, shutdown) while getstream was under
/// way — it is stopped in the background; the engine would otherwise keep it
/// running, and downloading, with nobody left to stop it.
struct Unclaimed {
    session: Option<EngineSession>,
    stopper: Stopper,
    tasks: TaskTracker,
}

impl Unclaimed {
    fn claim(mut self) -> Option<EngineSession> {
        self.session.take()
    }
}

impl Drop for Unclaimed {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        tracing::info!(
            stream = self.stopper.key,
            session = %session.playback_session_id,
            "engine answered a start nobody waits for any more; stopping its session"
        );
        // Dropped outside a runtime only when the process is going down anyway.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            self.tasks.spawn_on(self.stopper.stop(session), &rt);
        }
    }
}

impl Upstream {
    /// Runs the hub to its end, then stops its engine session (bounded) and calls
    /// `on_end` to remove it from the registry.
    pub async fn run(self, on_end: impl FnOnce(&Arc<Hub>)) {
        let hub = self.hub.clone();
        let outcome = tokio::select! {
            _ = hub.cancel.cancelled() => Outcome::Cancelled,
            _ = wait_idle(&hub, self.settings.idle_grace) => Outcome::Idle,
            outcome = self.feed() => outcome,
            _ = self.poll_stats() => Outcome::Cancelled,
        };
        if let Outcome::Failed(e) = &outcome {
            self.metrics.sessions_failed.inc();
            hub.finish(Phase::Failed(e.clone()));
        } else {
            // Viewers' bodies end now.
            hub.finish(Phase::Ended);
        }
        on_end(&hub);
        tracing::info!(stream = hub.key.value(), outcome = ?outcome, "stream closed");
        let session = hub.lock().session.take();
        if let Some(session) = session {
            self.stop(session).await;
        }
    }

    /// Sends the engine `stop`, bounded by `stop_timeout`; the future owns what it
    /// needs, so a broken session can be stopped in the background while the
    /// re-open goes on.
    fn stop(&self, session: EngineSession) -> impl Future<Output = ()> + Send + use<> {
        self.stopper().stop(session)
    }

    fn stopper(&self) -> Stopper {
        Stopper {
            engine: self.engine.clone(),
            metrics: self.metrics.clone(),
            bound: self.settings.stop_timeout,
            key: self.hub.key.value().to_owned(),
        }
    }

    /// Asks the engine for a session in a task of its own, so that giving up on
    /// the answer (the deadline, or the hub ending and dropping this side) does not
    /// cancel a request the engine may already be acting on: whatever session it
    /// hands out later arrives as an [`Unclaimed`], which stops it if nobody
    /// takes it.
    fn start_session(&self) -> oneshot::Receiver<Result<Unclaimed, EngineError>> {
        let (tx, rx) = oneshot::channel();
        let (engine, key, params) = (
            self.engine.clone(),
            self.hub.key.clone(),
            self.params.clone(),
        );
        let (stopper, tasks) = (self.stopper(), self.tasks.clone());
        let bound = self.settings.response_timeout + ABANDONED_START_BOUND;
        self.tasks.spawn(async move {
            let result = match timeout(bound, engine.start(&key, &params)).await {
                Ok(r) => r,
                Err(_) => Err(EngineError::Timeout),
            };
            let result = result.map(|session| {
                stopper.metrics.sessions_opened.inc();
                Unclaimed {
                    session: Some(session),
                    stopper,
                    tasks,
                }
            });
            // Nobody waiting: dropping the answer stops its session.
            let _ = tx.send(result);
        });
        rx
    }

    /// Opens engine sessions and feeds their bytes to the hub until re-opens run out.
    async fn feed(&self) -> Outcome {
        let mut failures = 0u32;
        let mut delivered = false;
        loop {
            let opened = Instant::now();
            let result = self.open_and_read(delivered).await;
            let (got_bytes, reason) = match result {
                Ok(r) => r,
                Err(e) if !delivered => return Outcome::Failed(e),
                Err(e) => (false, e.to_string()),
            };
            delivered |= got_bytes;
            if got_bytes && opened.elapsed() >= HEALTHY_AFTER {
                failures = 0;
            }
            if let Some(old) = self.hub.lock().session.take() {
                // Stop the broken session in the background: the re-open must not
                // wait (tracked, so shutdown still waits for the stop).
                self.tasks.spawn(self.stop(old));
            }
            failures += 1;
            if failures > self.settings.max_reopens {
                tracing::warn!(
                    stream = self.hub.key.value(),
                    reason,
                    "engine failed; giving up"
                );
                return Outcome::Exhausted;
            }
            self.hub.set_phase(Phase::Reconnecting);
            self.hub.lock().reopens += 1;
            self.metrics.reopens.inc();
            let backoff = Duration::from_millis(500 * (1 << (failures - 1).min(4)));
            tracing::warn!(
                stream = self.hub.key.value(),
                reason,
                attempt = failures,
                backoff_ms = backoff.as_millis() as u64,
                "engine session lost; re-opening"
            );
            tokio::time::sleep(backoff).await;
        }
    }

    /// One engine session: start it, read its body into the hub. Returns whether it
    /// delivered bytes and why it ended; an error means it never delivered a byte.
    async fn open_and_read(&self, delivered_before: bool) -> Result<(bool, String), StartError> {
        let deadline = tokio::time::Instant::now() + self.settings.response_timeout;
        let key = &self.hub.key;
        let session = match tokio::time::timeout_at(deadline, self.start_session()).await {
            Ok(Ok(Ok(s))) => s.claim(),
            // The start task ended without answering: only at runtime shutdown.
            Ok(Err(_)) => None,
            Ok(Ok(Err(EngineError::Timeout))) | Err(_) => return Err(StartError::Timeout),
            Ok(Ok(Err(e))) => return Err(StartError::Engine(e.to_string())),
        };
        let Some(session) = session else {
            return Err(StartError::Ended);
        };
        tracing::info!(
            stream = key.value(),
            kind = key.param(),
            infohash = %session.infohash,
            session = %session.playback_session_id,
            "engine session opened"
        );
        let playback_url = session.playback_url.clone();
        self.hub.lock().session = Some(session);

        let response =
            match tokio::time::timeout_at(deadline, self.engine.open_playback(&playback_url)).await
            {
                Ok(Ok(r)) => r,
                Ok(Err(EngineError::Timeout)) | Err(_) => return Err(StartError::Timeout),
                Ok(Err(e)) => return Err(StartError::Engine(e.to_string())),
            };
        let mut body = response.bytes_stream();
        let mut packets = Packetizer::new();
        let mut got_bytes = false;
        loop {
            // Until this session's first byte the start deadline applies (the engine
            // pre-buffers, even on a re-open); after it, the stall timeout.
            let next = if got_bytes {
                timeout(self.settings.stall_timeout, body.next())
                    .await
                    .map_err(|_| ())
            } else {
                tokio::time::timeout_at(deadline, body.next())
                    .await
                    .map_err(|_| ())
            };
            match next {
                Ok(Some(Ok(piece))) => {
                    if let Some(chunk) = packets.push(&piece) {
                        got_bytes = true;
                        self.hub.push(chunk);
                    }
                }
                Ok(Some(Err(e))) => {
                    return Ok((
                        got_bytes,
                        format!("playback read failed: {}", e.without_url()),
                    ));
                }
                Ok(None) => return Ok((got_bytes, "engine closed the playback".into())),
                Err(()) if got_bytes => return Ok((true, "engine stalled".into())),
                Err(()) if delivered_before => {
                    return Ok((false, "re-opened session sent nothing in time".into()));
                }
                Err(()) => return Err(StartError::Timeout),
            }
        }
    }

    /// Polls the engine's statistics for the status pages; never returns.
    async fn poll_stats(&self) {
        loop {
            tokio::time::sleep(self.settings.stat_interval).await;
            let url = self.hub.lock().session.as_ref().map(|s| s.stat_url.clone());
            if let Some(url) = url
                && let Ok(Ok(stat)) =
                    timeout(self.engine.request_timeout(), self.engine.stat(&url)).await
            {
                self.hub.lock().stat = Some(stat);
            }
        }
    }
}

/// Returns once the hub has had no viewer for `grace` (and marks it ended).
async fn wait_idle(hub: &Hub, grace: Duration) {
    loop {
        if hub.viewer_count() == 0 {
            tokio::select! {
                _ = tokio::time::sleep(grace) => {
                    if hub.end_if_idle() {
                        return;
                    }
                }
                _ = hub.viewers_changed.notified() => {}
            }
        } else {
            hub.viewers_changed.notified().await;
        }
    }
}
