//! The one task per channel that feeds its hub: opens a link (on an engine of the
//! pool, or a direct URL), reads it into the hub, and when it fails — no first
//! byte, silence, a dropped connection, its engine going down — re-opens it or
//! moves to the next link while the viewers stay connected; it stops the engine
//! session after the last viewer has been gone for the idle grace.
//!
//! Viewers never wait on this task except for the very first bytes: it pushes
//! chunks into the hub and moves on, whatever any viewer is doing. Every source
//! after the channel's first is spliced in (see [`crate::splice`]), and the gap
//! is kept alive with null packets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acextream_core::engine::pool::{EnginePool, Lease, PoolError};
use acextream_core::settings::MuxSettings;
use acextream_core::sources::StreamRef;
use futures_util::StreamExt;
use tokio::time::timeout;
use tokio_util::task::TaskTracker;

use crate::events::{LinkEvent, LinkEvents};
use crate::failover::LinkBook;
use crate::hub::{ActiveSession, CurrentLink, Hub, Phase, StartError, SwitchRecord};
use crate::links::{Shown, kind_of, value_of};
use crate::metrics::{Metrics, SwitchReason};
use crate::source::{self, Pieces, StartFailure, Stopper};
use crate::splice::{Splicer, null_packets};
use crate::ts::Packetizer;

/// How a hub's life ended.
#[derive(Debug)]
enum Outcome {
    /// No viewer for the idle grace.
    Idle,
    /// Stopped by an admin or by shutdown.
    Cancelled,
    /// The channel never produced a byte.
    Failed(StartError),
    /// Every link failed, round after round.
    Exhausted,
}

/// A session that delivered data this long is healthy again: its failure starts
/// the re-open budget afresh.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// How often null packets go out while a running channel has no source.
const FILLER_EVERY: Duration = Duration::from_millis(500);
/// Silence after which filler starts (a normal stream is never this quiet).
const FILLER_AFTER: Duration = Duration::from_secs(1);
/// Longest gap filled: after that the players may give up as they see fit.
const FILLER_CAP: Duration = Duration::from_secs(300);
/// Null packets per filler push (one Ethernet frame's worth).
const FILLER_PACKETS: usize = 7;
/// How long a running channel waits for an engine of the pool to come back.
const NO_ENGINE_GIVE_UP: Duration = Duration::from_secs(60);

/// Everything the upstream task needs.
pub(crate) struct Upstream {
    pub hub: Arc<Hub>,
    pub pool: Arc<EnginePool>,
    pub direct: reqwest::Client,
    pub settings: Arc<MuxSettings>,
    pub params: Vec<(String, String)>,
    pub cooling: usize,
    pub metrics: Arc<Metrics>,
    /// The mux's task tracker: starts and stops in flight are waited for at shutdown.
    pub tasks: TaskTracker,
    pub events: Option<LinkEvents>,
}

/// How one session of a link ended.
enum End {
    /// It never produced a byte.
    StartFailed(StartFailure),
    /// It produced bytes, then nothing for the stall timeout.
    Stalled,
    /// Its connection ended or failed.
    Dropped(String),
    /// Its engine was marked down.
    EngineDown,
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
            _ = fill_gaps(&hub) => Outcome::Cancelled,
        };
        if let Outcome::Failed(e) = &outcome {
            self.metrics.sessions_failed.inc();
            hub.finish(Phase::Failed(e.clone()));
        } else {
            // Viewers' bodies end now.
            hub.finish(Phase::Ended);
        }
        on_end(&hub);
        tracing::info!(stream = %hub.label(), outcome = ?outcome, "stream closed");
        let active = hub.lock().session.take();
        if let Some(a) = active {
            self.stopper().stop(a.engine, a.session).await;
        }
    }

    fn stopper(&self) -> Stopper {
        Stopper {
            metrics: self.metrics.clone(),
            bound: self.settings.stop_timeout,
            label: self.hub.label(),
        }
    }

    fn event(&self, e: LinkEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    /// Plays the channel's links until they are exhausted.
    async fn feed(&self) -> Outcome {
        let links = &self.hub.links;
        let mut book = LinkBook::new(links.len(), self.cooling, self.settings.link_cooldown);
        let mut current = book.first();
        let mut delivered_ever = false;
        let mut lease: Option<Lease> = None;
        let mut reopens = 0u32;
        let mut rounds = 0u32;
        let mut no_engine_since: Option<Instant> = None;
        loop {
            let link = &links[current];
            if matches!(link, StreamRef::Ace { .. }) {
                if lease.as_ref().is_some_and(|l| !l.member().is_usable()) {
                    lease = None;
                }
                if lease.is_none() {
                    let mut acquired = self.pool.acquire(None);
                    if let Err(PoolError::AllDown(_)) = acquired {
                        // Engines marked down may be back (a restart takes seconds,
                        // the next scheduled check may be far): look once more now.
                        let _ = timeout(Duration::from_secs(2), self.pool.check_all()).await;
                        acquired = self.pool.acquire(None);
                    }
                    match acquired {
                        Ok(l) => {
                            no_engine_since = None;
                            lease = Some(l);
                        }
                        Err(e) if !delivered_ever => {
                            return Outcome::Failed(StartError::NoEngine(e.to_string()));
                        }
                        Err(e) => {
                            let since = *no_engine_since.get_or_insert_with(Instant::now);
                            if since.elapsed() > NO_ENGINE_GIVE_UP {
                                tracing::warn!(stream = %self.hub.label(), error = %e, "no engine came back; giving up");
                                return Outcome::Exhausted;
                            }
                            self.hub.set_phase(Phase::Switching);
                            // Look again at once rather than at the next scheduled
                            // check: a restarted engine is back within seconds.
                            let bound = Duration::from_secs(2);
                            let _ = timeout(bound, self.pool.check_all()).await;
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                    }
                }
            } else {
                lease = None;
            }
            let opened = Instant::now();
            let (delivered, end) = self
                .run_session(current, lease.as_ref(), delivered_ever)
                .await;
            if delivered {
                delivered_ever = true;
                book.delivered();
                if opened.elapsed() >= HEALTHY_AFTER {
                    reopens = 0;
                    rounds = 0;
                }
            }
            let (reason, detail) = match end {
                End::EngineDown => {
                    // The link is fine; its engine is not. Same link, other engine.
                    lease = None;
                    self.engine_moved(current, "engine down");
                    continue;
                }
                End::StartFailed(f) if f.engine_unreachable => {
                    if !self.engine_usable(lease.as_ref()).await {
                        lease = None;
                        self.engine_moved(current, &f.error.to_string());
                        continue;
                    }
                    (SwitchReason::Error, f.error)
                }
                End::StartFailed(f) => {
                    let reason = if f.error == StartError::Timeout {
                        SwitchReason::Timeout
                    } else {
                        SwitchReason::Error
                    };
                    (reason, f.error)
                }
                End::Stalled => (
                    SwitchReason::Stall,
                    StartError::Engine("the stream went silent".into()),
                ),
                End::Dropped(why) => {
                    if !self.engine_usable(lease.as_ref()).await {
                        lease = None;
                        self.engine_moved(current, &why);
                        continue;
                    }
                    reopens += 1;
                    if reopens <= self.settings.max_reopens {
                        self.hub.set_phase(Phase::Reconnecting);
                        self.hub.lock().reopens += 1;
                        self.metrics.reopens.inc();
                        let backoff = Duration::from_millis(500 * (1 << (reopens - 1).min(4)));
                        tracing::warn!(
                            stream = %self.hub.label(),
                            link = %Shown(link),
                            reason = why,
                            attempt = reopens,
                            backoff_ms = backoff.as_millis() as u64,
                            "engine session lost; re-opening"
                        );
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                    (SwitchReason::Disconnect, StartError::Engine(why))
                }
            };
            // The link failed: remember it, tell the store, move on.
            book.fail(current);
            reopens = 0;
            self.event(LinkEvent::Failed(link.clone(), detail.to_string()));
            tracing::warn!(
                stream = %self.hub.label(),
                link = %Shown(link),
                reason = reason.as_str(),
                error = %detail,
                "link failed"
            );
            let last_error = detail;
            let next = match book.next(current) {
                Some(next) => next,
                None if !delivered_ever => {
                    return Outcome::Failed(if links.len() > 1 {
                        StartError::AllLinksFailed {
                            links: links.len(),
                            last: Box::new(last_error),
                        }
                    } else {
                        last_error
                    });
                }
                None => {
                    rounds += 1;
                    if rounds > self.settings.max_reopens {
                        tracing::warn!(stream = %self.hub.label(), error = %last_error, "every link failed; giving up");
                        return Outcome::Exhausted;
                    }
                    book.new_round();
                    tokio::time::sleep(Duration::from_millis(500 * (1 << rounds.min(4)))).await;
                    book.next(current).unwrap_or(current)
                }
            };
            self.switch(current, next, reason, &last_error.to_string());
            current = next;
        }
    }

    /// Whether the engine of `lease` still answers (probed at once, since one of
    /// its connections just failed); a direct link has no engine to blame.
    async fn engine_usable(&self, lease: Option<&Lease>) -> bool {
        match lease {
            Some(l) => self.pool.probe(l.member().index).await,
            None => true,
        }
    }

    /// The engine of link `index` went down: the link re-opens on another engine
    /// (a re-open, and a switch with reason `engine_down`).
    fn engine_moved(&self, index: usize, detail: &str) {
        self.hub.lock().reopens += 1;
        self.metrics.reopens.inc();
        self.switch(index, index, SwitchReason::EngineDown, detail);
    }

    /// Records a move from link `from` to `to` (the same link on another engine
    /// when equal) on the hub, in the metrics and in the log.
    fn switch(&self, from: usize, to: usize, reason: SwitchReason, detail: &str) {
        let running = self.hub.silent_for().is_some();
        if running {
            self.hub.set_phase(Phase::Switching);
        }
        self.metrics.switched(reason);
        self.hub.record_switch(SwitchRecord {
            at: jiff::Timestamp::now().to_string(),
            from,
            to,
            reason,
            detail: detail.chars().take(300).collect(),
        });
        tracing::warn!(
            stream = %self.hub.label(),
            from = %Shown(&self.hub.links[from]),
            to = %Shown(&self.hub.links[to]),
            reason = reason.as_str(),
            "switching link"
        );
    }

    /// One session of link `index`: open it, read it into the hub. Returns whether
    /// it delivered bytes and how it ended. `splice`: the channel has played
    /// before, so this source is cut in at its first PAT with discontinuities
    /// flagged.
    async fn run_session(&self, index: usize, lease: Option<&Lease>, splice: bool) -> (bool, End) {
        let link = &self.hub.links[index];
        let deadline = tokio::time::Instant::now() + self.settings.link_start_timeout;
        let mut down = lease.map(|l| {
            let mut rx = l.member().down_signal();
            rx.borrow_and_update();
            rx
        });
        let opened: Result<Pieces, StartFailure> = match (link, lease) {
            (StreamRef::Ace { key }, Some(lease)) => {
                let engine = lease.client().clone();
                let hub = self.hub.clone();
                source::open_engine(
                    &engine.clone(),
                    key,
                    &self.params,
                    deadline,
                    &self.stopper(),
                    &self.tasks,
                    move |session| hub.lock().session = Some(ActiveSession { session, engine }),
                )
                .await
            }
            (StreamRef::Direct { url }, _) => {
                source::open_direct(&self.direct, url, deadline).await
            }
            (StreamRef::Ace { .. }, None) => Err(StartFailure {
                error: StartError::NoEngine("no engine leased".into()),
                engine_unreachable: false,
            }),
        };
        let result = match opened {
            Ok(body) => {
                self.read(index, lease, body, deadline, splice, &mut down)
                    .await
            }
            Err(f) => (false, End::StartFailed(f)),
        };
        if let Some(old) = self.hub.lock().session.take() {
            // Stop the finished session in the background: the next one must not
            // wait (tracked, so shutdown still waits for the stop).
            self.tasks
                .spawn(self.stopper().stop(old.engine, old.session));
        }
        result
    }

    /// Reads an opened link into the hub until it fails.
    async fn read(
        &self,
        index: usize,
        lease: Option<&Lease>,
        mut body: Pieces,
        deadline: tokio::time::Instant,
        splice: bool,
        down: &mut Option<tokio::sync::watch::Receiver<u64>>,
    ) -> (bool, End) {
        let link = &self.hub.links[index];
        let mut packets = Packetizer::new();
        let mut splicer = splice.then(Splicer::new);
        let mut got_bytes = false;
        loop {
            // Until this session's first byte the start deadline applies (the engine
            // pre-buffers, even on a re-open); after it, the stall timeout.
            let wait = if got_bytes {
                tokio::time::Instant::now() + self.settings.stall_timeout
            } else {
                deadline
            };
            let engine_down = async {
                match down.as_mut() {
                    Some(rx) => {
                        let _ = rx.changed().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let next = tokio::select! {
                next = tokio::time::timeout_at(wait, body.next()) => next,
                _ = engine_down => return (got_bytes, End::EngineDown),
            };
            let piece = match next {
                Ok(Some(Ok(piece))) => piece,
                Ok(Some(Err(e))) if got_bytes => return (true, End::Dropped(e)),
                Ok(None) if got_bytes => {
                    return (true, End::Dropped("engine closed the playback".into()));
                }
                // A connection that breaks before the first byte may be a dying
                // engine: let the pool check it.
                Ok(Some(Err(e))) => {
                    return (false, failed_start(StartError::Engine(e), lease.is_some()));
                }
                Ok(None) => {
                    let e = StartError::Engine("closed before the first byte".into());
                    return (false, failed_start(e, lease.is_some()));
                }
                Err(_) if got_bytes => return (true, End::Stalled),
                Err(_) => return (false, failed_start(StartError::Timeout, false)),
            };
            let Some(mut chunk) = packets.push(&piece) else {
                continue;
            };
            if let Some(s) = splicer.as_mut() {
                match s.apply(chunk) {
                    Some(c) => chunk = c,
                    None => continue,
                }
                if s.done() {
                    splicer = None;
                }
            }
            if !got_bytes {
                got_bytes = true;
                self.hub.set_current(CurrentLink {
                    index,
                    kind: kind_of(link),
                    value: value_of(link),
                    engine: lease.map(|l| l.member().url().to_string()),
                    since: jiff::Timestamp::now().to_string(),
                });
                self.event(LinkEvent::Worked(link.clone()));
                tracing::info!(stream = %self.hub.label(), link = %Shown(link), "link playing");
            }
            self.hub.push(chunk);
        }
    }

    /// Polls the engine's statistics for the status pages; never returns.
    async fn poll_stats(&self) {
        loop {
            tokio::time::sleep(self.settings.stat_interval).await;
            let active = self.hub.lock().session.clone();
            if let Some(a) = active
                && let Ok(Ok(stat)) = timeout(
                    a.engine.request_timeout(),
                    a.engine.stat(&a.session.stat_url),
                )
                .await
            {
                self.hub.lock().stat = Some(stat);
            }
        }
    }
}

fn failed_start(error: StartError, engine_suspect: bool) -> End {
    End::StartFailed(StartFailure {
        error,
        engine_unreachable: engine_suspect,
    })
}

/// Keeps viewers' sockets busy with null packets while a running channel has no
/// source (between a failure and the next link's first PAT); never returns.
async fn fill_gaps(hub: &Hub) {
    loop {
        tokio::time::sleep(FILLER_EVERY).await;
        if let Some(silent) = hub.silent_for()
            && silent >= FILLER_AFTER
            && silent < FILLER_CAP
        {
            hub.push_filler(null_packets(FILLER_PACKETS));
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
