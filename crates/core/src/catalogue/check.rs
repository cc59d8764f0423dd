//! The availability check: asks the engine whether each AceStream link of an
//! active channel can be loaded (`get_media_files`, which starts no playback), one
//! link at a time with a pause between them, and records online/offline and when
//! on the link; a channel is online when any of its links is.
//!
//! One at a time because engines have crashed under parallel checks. A check that
//! cannot reach the engine marks nothing offline: it stops and says why.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::engine::ContentKey;
use crate::engine::pool::EnginePool;
use crate::store::links;
use crate::store::{Store, now_epoch};

/// Consecutive engine failures after which a check gives up.
const MAX_ENGINE_FAILURES: usize = 3;

/// Progress of the current or last check, for the dashboard.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CheckProgress {
    /// A check is under way.
    pub running: bool,
    /// Links to check.
    pub total: usize,
    /// Links checked so far.
    pub done: usize,
    /// Found online.
    pub online: usize,
    /// Found offline.
    pub offline: usize,
    /// When the check started (epoch seconds).
    pub started_at: Option<i64>,
    /// When it ended.
    pub finished_at: Option<i64>,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

/// Runs availability checks, one at a time.
#[derive(Clone)]
pub struct Checker {
    store: Store,
    /// The engines; each check goes to the next healthy one, spreading the load.
    engines: Arc<EnginePool>,
    spacing: Duration,
    progress: Arc<Mutex<CheckProgress>>,
}

impl Checker {
    /// A checker pausing `spacing` between two links.
    pub fn new(store: Store, engines: Arc<EnginePool>, spacing: Duration) -> Self {
        Self {
            store,
            engines,
            spacing,
            progress: Arc::default(),
        }
    }

    /// The current or last check's progress.
    pub fn progress(&self) -> CheckProgress {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CheckProgress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a check in the background; `false` when one is already running.
    pub fn start(&self) -> bool {
        {
            let mut p = self.lock();
            if p.running {
                return false;
            }
            *p = CheckProgress {
                running: true,
                started_at: Some(now_epoch()),
                ..CheckProgress::default()
            };
        }
        let this = self.clone();
        tokio::spawn(async move {
            let error = this.run().await.err();
            let mut p = this.lock();
            p.running = false;
            p.finished_at = Some(now_epoch());
            p.error = error;
            tracing::info!(total = p.total, online = p.online, offline = p.offline, error = ?p.error, "availability check finished");
        });
        true
    }

    /// Runs a check to its end (the scheduler awaits this directly).
    pub async fn run_now(&self) -> CheckProgress {
        if self.start() {
            while self.lock().running {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        self.progress()
    }

    async fn run(&self) -> Result<(), String> {
        let targets: Vec<(i64, ContentKey)> = self
            .store
            .run(|c| {
                let mut st = c.prepare(
                    "SELECT l.id, l.content_id, l.infohash FROM channel_links l \
                     JOIN channels c ON c.id = l.channel_id WHERE c.active = 1 \
                     AND (l.content_id IS NOT NULL OR l.infohash IS NOT NULL) \
                     ORDER BY l.channel_id, l.position, l.id",
                )?;
                let rows = st.query_map([], |r| {
                    let id: i64 = r.get(0)?;
                    let cid: Option<String> = r.get(1)?;
                    let ih: Option<String> = r.get(2)?;
                    Ok((
                        id,
                        cid.map(ContentKey::ContentId)
                            .or(ih.map(ContentKey::Infohash)),
                    ))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    if let (id, Some(key)) = row? {
                        out.push((id, key));
                    }
                }
                Ok(out)
            })
            .await
            .map_err(|e| e.to_string())?;
        self.lock().total = targets.len();
        let mut failures = 0;
        for (i, (id, key)) in targets.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(self.spacing).await;
            }
            match self.engines.for_calls().media_files(&key).await {
                Ok(online) => {
                    failures = 0;
                    self.store
                        .run(move |c| links::set_online(c, id, online))
                        .await
                        .map_err(|e| e.to_string())?;
                    let mut p = self.lock();
                    p.done += 1;
                    if online {
                        p.online += 1;
                    } else {
                        p.offline += 1;
                    }
                }
                Err(e) => {
                    failures += 1;
                    self.lock().done += 1;
                    if failures >= MAX_ENGINE_FAILURES {
                        return Err(format!("stopped: {e}"));
                    }
                }
            }
        }
        Ok(())
    }
}
