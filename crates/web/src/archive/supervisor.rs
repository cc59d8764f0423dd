//! Keeps one recorder running per archived channel: reads the marks every few
//! seconds (and at once when an admin changes one), starts and stops recorders to
//! match, expires segments older than each channel's depth, and restarts a
//! recorder the disk stopped after [`DISK_RETRY`] (space may have been freed).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use acextream_core::archive::Archive;
use acextream_core::store::archive as marks;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Recording;
use super::recorder::{self, Stopped};
use crate::state::AppState;

/// How often the marks are read when nothing tells us they changed.
const TICK: Duration = Duration::from_secs(10);
/// How long a recorder the disk stopped stays stopped.
const DISK_RETRY: Duration = Duration::from_secs(60);

struct Running {
    stop: CancellationToken,
    task: JoinHandle<Stopped>,
}

/// Runs until `shutdown`; recorders end with it.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let recording = state.recording.clone();
    let mut running: HashMap<i64, Running> = HashMap::new();
    let mut disk_stopped: HashMap<i64, Instant> = HashMap::new();
    loop {
        match state.store.run(|c| marks::archived(c)).await {
            Ok(wanted) => {
                // The ring is opened (and its directory made) only once something
                // is archived, or was: an installation without catch-up has no
                // archive directory.
                let needed = !wanted.is_empty() || state.settings.archive.dir.is_dir();
                if needed && let Some(archive) = open(&state, &recording).await {
                    tick(
                        &state,
                        &recording,
                        &archive,
                        wanted,
                        &mut running,
                        &mut disk_stopped,
                    )
                    .await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "archive marks unreadable"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = recording.changed.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
    for (_, r) in running.drain() {
        r.stop.cancel();
        let _ = r.task.await;
    }
}

/// The ring, opening it on first use; `None` (with the reason shown) while the
/// directory cannot be used.
async fn open(state: &AppState, recording: &Arc<Recording>) -> Option<Arc<Archive>> {
    if let Some(a) = recording.archive() {
        return Some(a);
    }
    let settings = state.settings.archive.clone();
    let opened = tokio::task::spawn_blocking(move || {
        Archive::open(&settings.dir, settings.limits())
            .map_err(|e| format!("{}: {e}", settings.dir.display()))
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    match opened {
        Ok(archive) => {
            let archive = Arc::new(archive);
            recording.set_archive(archive.clone());
            Some(archive)
        }
        Err(reason) => {
            if recording.problem().as_deref() != Some(reason.as_str()) {
                tracing::warn!(error = %reason, "archive directory unusable: nothing is recorded");
            }
            recording.set_problem(Some(reason));
            None
        }
    }
}

async fn tick(
    state: &AppState,
    recording: &Arc<Recording>,
    archive: &Arc<Archive>,
    wanted: HashMap<i64, u32>,
    running: &mut HashMap<i64, Running>,
    disk_stopped: &mut HashMap<i64, Instant>,
) {
    // Recorders that ended on their own (the disk refused a write).
    let ended: Vec<i64> = running
        .iter()
        .filter(|(_, r)| r.task.is_finished())
        .map(|(id, _)| *id)
        .collect();
    for id in ended {
        if let Some(r) = running.remove(&id)
            && let Ok(Stopped::Disk(reason)) = r.task.await
        {
            disk_stopped.insert(id, Instant::now());
            recording.set_problem(Some(reason));
        }
    }
    running.retain(|id, r| {
        let keep = wanted.contains_key(id);
        if !keep {
            r.stop.cancel();
            recording.forget(*id);
            tracing::info!(channel = id, "recording ended: no longer archived");
        }
        keep
    });
    disk_stopped.retain(|_, at| at.elapsed() < DISK_RETRY);
    // The warning stays until a recorder the disk stopped has written again.
    if disk_stopped.is_empty() && !recording.recorders().values().any(|r| r.disk_error) {
        recording.set_problem(None);
    }
    let now = jiff::Timestamp::now();
    // Recordings of channels no longer archived stay playable for archive.days.
    let a = archive.clone();
    let leftover: Vec<i64> = a
        .channels()
        .into_iter()
        .map(|c| c.id)
        .filter(|id| !wanted.contains_key(id))
        .collect();
    let horizon =
        now - jiff::SignedDuration::from_hours(24 * i64::from(state.settings.archive.days));
    let _ = tokio::task::spawn_blocking(move || {
        for id in leftover {
            a.expire(id, horizon);
        }
    })
    .await;
    for (&id, &days) in &wanted {
        recording.update(id, |s| s.days = days);
        let horizon = now - jiff::SignedDuration::from_hours(24 * i64::from(days));
        let a = archive.clone();
        let _ = tokio::task::spawn_blocking(move || a.expire(id, horizon)).await;
        if running.contains_key(&id) || disk_stopped.contains_key(&id) {
            continue;
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(recorder::run(
            state.clone(),
            recording.clone(),
            archive.clone(),
            id,
            state.settings.archive.segment,
            stop.clone(),
        ));
        running.insert(id, Running { stop, task });
    }
}
