//! Catch-up: recording archived channels to the ring on disk and serving any span
//! of it back (Xtream timeshift, M3U catch-up, HLS).
//!
//! A recorder is a viewer of the channel's shared hub like any player (it asks
//! the multiplexer on loopback for `/ace/getstream`), so recording adds no second
//! engine session, and an archived channel keeps its session open with no one
//! watching — that costs the engine's bandwidth, which the dashboard says. The
//! ring itself ([`acextream_core::archive`]) is one file per segment, named by its
//! wall-clock start and duration: the directory listing is the index, so a crash
//! or `kill -9` loses at most the segment being written.

pub mod cutter;
pub mod dvr;
pub mod recorder;
pub mod serve;
pub mod supervisor;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use acextream_core::archive::Archive;
use serde::Serialize;

/// What the overview, `/api/archive` and `/metrics` show of one recording.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecorderStatus {
    /// The depth asked for, in days.
    pub days: u32,
    /// Receiving and writing now.
    pub recording: bool,
    /// Why not, when it is not (engine down, disk full, …); cleared by the next
    /// segment written.
    pub error: Option<String>,
    /// The error is the disk's (cleared by the next segment written).
    pub disk_error: bool,
    /// Segments written since start-up.
    pub segments_written: u64,
    /// Bytes written since start-up.
    pub bytes_written: u64,
}

/// The recordings of this process and the ring they write to.
#[derive(Default)]
pub struct Recording {
    archive: Mutex<Option<Arc<Archive>>>,
    /// Why the ring cannot be written at all (directory unusable, disk full).
    problem: Mutex<Option<String>>,
    recorders: Mutex<HashMap<i64, RecorderStatus>>,
    /// Signalled when an admin changes a mark, so the supervisor acts at once.
    pub changed: tokio::sync::Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Recording {
    /// The ring, once it could be opened.
    pub fn archive(&self) -> Option<Arc<Archive>> {
        lock(&self.archive).clone()
    }

    /// Sets the ring (the daemon opens an existing one before it serves, so
    /// recordings play from the first request after a restart).
    pub fn set_archive(&self, archive: Arc<Archive>) {
        *lock(&self.archive) = Some(archive);
    }

    /// Why nothing can be recorded now, if so.
    pub fn problem(&self) -> Option<String> {
        lock(&self.problem).clone()
    }

    pub(crate) fn set_problem(&self, problem: Option<String>) {
        *lock(&self.problem) = problem;
    }

    /// Every recording, by channel id.
    pub fn recorders(&self) -> HashMap<i64, RecorderStatus> {
        lock(&self.recorders).clone()
    }

    pub(crate) fn update(&self, channel: i64, f: impl FnOnce(&mut RecorderStatus)) {
        f(lock(&self.recorders).entry(channel).or_default());
    }

    pub(crate) fn forget(&self, channel: i64) {
        lock(&self.recorders).remove(&channel);
    }

    /// Channels whose recording stopped on an error.
    pub fn failing(&self) -> usize {
        lock(&self.recorders)
            .values()
            .filter(|r| r.error.is_some())
            .count()
    }
}
