//! Background jobs: channel sources and guide sources refreshed on their intervals
//! and on demand, and the scheduled availability check. Each kind runs in its own
//! task, one refresh at a time, so a slow source delays only its own kind and never
//! a request.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::catalogue::Catalogue;
use crate::catalogue::check::Checker;
use crate::store::now_epoch;

/// How often the schedulers look for due work.
const TICK: Duration = Duration::from_secs(30);

/// What to refresh on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Every enabled source.
    All,
    /// One source by id.
    One(i64),
}

/// Handle on the background jobs; cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    sources: mpsc::UnboundedSender<Target>,
    guides: mpsc::UnboundedSender<Target>,
    checker: Checker,
    tasks: Arc<Vec<AbortHandle>>,
}

impl Jobs {
    /// Starts the schedulers (first pass right away: sources due since the last run
    /// are refreshed at start-up, in the background).
    pub fn start(catalogue: Catalogue, checker: Checker) -> Jobs {
        let (sources_tx, sources_rx) = mpsc::unbounded_channel();
        let (guides_tx, guides_rx) = mpsc::unbounded_channel();
        let check_every = catalogue.settings.sources.check_interval;
        let tasks = vec![
            tokio::spawn(source_loop(catalogue.clone(), sources_rx)).abort_handle(),
            tokio::spawn(guide_loop(catalogue.clone(), guides_rx)).abort_handle(),
            tokio::spawn(check_loop(catalogue, checker.clone(), check_every)).abort_handle(),
        ];
        Jobs {
            sources: sources_tx,
            guides: guides_tx,
            checker,
            tasks: Arc::new(tasks),
        }
    }

    /// Queues a refresh of channel sources.
    pub fn refresh_sources(&self, target: Target) {
        let _ = self.sources.send(target);
    }

    /// Queues a refresh of guide sources.
    pub fn refresh_guides(&self, target: Target) {
        let _ = self.guides.send(target);
    }

    /// The availability checker.
    pub fn checker(&self) -> &Checker {
        &self.checker
    }

    /// Stops every background task (at shutdown; SQLite transactions are atomic,
    /// so an interrupted refresh leaves the previous catalogue intact).
    pub fn stop(&self) {
        for t in self.tasks.iter() {
            t.abort();
        }
    }
}

async fn source_loop(catalogue: Catalogue, mut rx: mpsc::UnboundedReceiver<Target>) {
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            Some(target) = rx.recv() => match target {
                Target::All => catalogue.refresh_all_sources().await,
                Target::One(id) => { let _ = catalogue.refresh_source(id).await; }
            },
            _ = tick.tick() => catalogue.refresh_due_sources().await,
        }
    }
}

async fn guide_loop(catalogue: Catalogue, mut rx: mpsc::UnboundedReceiver<Target>) {
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            Some(target) = rx.recv() => match target {
                Target::All => catalogue.refresh_all_guides().await,
                Target::One(id) => { let _ = catalogue.refresh_guide(id).await; }
            },
            _ = tick.tick() => catalogue.refresh_due_guides().await,
        }
    }
}

/// Runs the availability check every `every` (0: never), remembering the last run in
/// the database so a restart does not check again at once.
async fn check_loop(catalogue: Catalogue, checker: Checker, every: Duration) {
    if every.is_zero() {
        return;
    }
    let mut tick = tokio::time::interval(TICK);
    loop {
        tick.tick().await;
        let last: i64 = catalogue
            .store
            .run(|c| {
                Ok(c.query_row(
                    "SELECT value FROM settings WHERE key = 'last_check_at'",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0))
            })
            .await
            .unwrap_or(0);
        if now_epoch() - last < every.as_secs() as i64 {
            continue;
        }
        let now = now_epoch();
        let _ = catalogue
            .store
            .run(move |c| {
                c.execute(
                    "INSERT INTO settings (key, value, updated_at) VALUES ('last_check_at', ?1, ?1) \
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    [now],
                )?;
                Ok(())
            })
            .await;
        checker.run_now().await;
    }
}
