//! Opening one link: an engine session (getstream, then its playback body) or a
//! direct http(s) stream, as one byte stream the upstream task reads.
//!
//! A start is bounded by the link's start deadline. The engine's getstream runs in
//! a task of its own, so giving up on its answer does not cancel a request the
//! engine may already be acting on: whatever session it hands out later arrives as
//! an [`Unclaimed`], which stops it if nobody takes it.

use std::sync::Arc;
use std::time::Duration;

use acextream_core::engine::{ContentKey, EngineClient, EngineError, EngineSession};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use tokio::sync::oneshot;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_util::task::TaskTracker;

use crate::hub::StartError;
use crate::metrics::Metrics;

/// How long past the start deadline an abandoned getstream may still answer (its
/// session is then stopped); after that the request is dropped. An engine that has
/// not answered by then is not going to.
const ABANDONED_START_BOUND: Duration = Duration::from_secs(60);

/// A link's body: pieces of any size, ending with an error or the end.
pub(crate) type Pieces = BoxStream<'static, Result<Bytes, String>>;

/// Why a start failed, and whose fault it likely was.
#[derive(Debug)]
pub(crate) struct StartFailure {
    /// What the viewer would be told.
    pub error: StartError,
    /// The engine could not be reached at all: its fault, not the link's.
    pub engine_unreachable: bool,
}

impl StartFailure {
    fn from_engine(e: EngineError) -> Self {
        let engine_unreachable = matches!(e, EngineError::Unreachable(_));
        let error = match e {
            EngineError::Timeout => StartError::Timeout,
            e => StartError::Engine(e.to_string()),
        };
        Self {
            error,
            engine_unreachable,
        }
    }

    fn timeout() -> Self {
        Self {
            error: StartError::Timeout,
            engine_unreachable: false,
        }
    }
}

/// Sends engine stops; cheap to clone, so a stop can run in a task of its own.
#[derive(Clone)]
pub(crate) struct Stopper {
    pub metrics: Arc<Metrics>,
    pub bound: Duration,
    pub label: String,
}

impl Stopper {
    /// Sends the engine `stop`, bounded: a hanging engine costs only the task that
    /// awaits it. The future owns what it needs.
    pub fn stop(
        &self,
        engine: EngineClient,
        session: EngineSession,
    ) -> impl Future<Output = ()> + Send + use<> {
        let Stopper {
            metrics,
            bound,
            label,
        } = self.clone();
        async move {
            metrics.sessions_stopped.inc();
            match timeout(bound, engine.stop(&session.command_url)).await {
                Ok(Ok(())) => tracing::info!(stream = label, "engine session stopped"),
                Ok(Err(e)) => tracing::warn!(stream = label, error = %e, "engine stop failed"),
                Err(_) => tracing::warn!(stream = label, "engine stop timed out"),
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
    engine: EngineClient,
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
            stream = self.stopper.label,
            session = %session.playback_session_id,
            "engine answered a start nobody waits for any more; stopping its session"
        );
        // Dropped outside a runtime only when the process is going down anyway.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let stop = self.stopper.stop(self.engine.clone(), session);
            self.tasks.spawn_on(stop, &rt);
        }
    }
}

/// Starts an engine session for `key` by `deadline`; the session is handed to
/// `claim` as soon as the engine answers (so it is stopped with the hub even if
/// the playback never opens), then the playback body is opened.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn open_engine(
    engine: &EngineClient,
    key: &ContentKey,
    params: &[(String, String)],
    deadline: Instant,
    stopper: &Stopper,
    tasks: &TaskTracker,
    claim: impl FnOnce(EngineSession),
) -> Result<Pieces, StartFailure> {
    let (tx, rx) = oneshot::channel();
    {
        let (engine, key, params) = (engine.clone(), key.clone(), params.to_vec());
        let (stopper, tasks2) = (stopper.clone(), tasks.clone());
        let bound = deadline.saturating_duration_since(Instant::now()) + ABANDONED_START_BOUND;
        tasks.spawn(async move {
            let result = match timeout(bound, engine.start(&key, &params)).await {
                Ok(r) => r,
                Err(_) => Err(EngineError::Timeout),
            };
            let result = result.map(|session| {
                stopper.metrics.sessions_opened.inc();
                Unclaimed {
                    session: Some(session),
                    engine,
                    stopper,
                    tasks: tasks2,
                }
            });
            // Nobody waiting: dropping the answer stops its session.
            let _ = tx.send(result);
        });
    }
    let session = match timeout_at(deadline, rx).await {
        Ok(Ok(Ok(s))) => s.claim(),
        // The start task ended without answering: only at runtime shutdown.
        Ok(Err(_)) => None,
        Err(_) => return Err(StartFailure::timeout()),
        Ok(Ok(Err(e))) => return Err(StartFailure::from_engine(e)),
    };
    let Some(session) = session else {
        return Err(StartFailure {
            error: StartError::Ended,
            engine_unreachable: false,
        });
    };
    tracing::info!(
        stream = stopper.label,
        kind = key.param(),
        infohash = %session.infohash,
        session = %session.playback_session_id,
        engine = %engine.base(),
        "engine session opened"
    );
    let playback_url = session.playback_url.clone();
    claim(session);
    let response = match timeout_at(deadline, engine.open_playback(&playback_url)).await {
        Ok(Ok(r)) => r,
        Err(_) => return Err(StartFailure::timeout()),
        Ok(Err(e)) => return Err(StartFailure::from_engine(e)),
    };
    Ok(response
        .bytes_stream()
        .map_err(|e| format!("playback read failed: {}", e.without_url()))
        .boxed())
}

/// Opens a direct http(s) stream by `deadline`.
pub(crate) async fn open_direct(
    client: &reqwest::Client,
    url: &str,
    deadline: Instant,
) -> Result<Pieces, StartFailure> {
    let source = |msg: String| StartFailure {
        error: StartError::Source(msg),
        engine_unreachable: false,
    };
    let response = match timeout_at(deadline, client.get(url).send()).await {
        Err(_) => return Err(StartFailure::timeout()),
        Ok(Err(e)) if e.is_timeout() => return Err(StartFailure::timeout()),
        Ok(Err(e)) => return Err(source(format!("unreachable: {}", e.without_url()))),
        Ok(Ok(r)) => r,
    };
    if !response.status().is_success() {
        return Err(source(format!(
            "answered HTTP {}",
            response.status().as_u16()
        )));
    }
    Ok(response
        .bytes_stream()
        .map_err(|e| format!("read failed: {}", e.without_url()))
        .boxed())
}
