//! A catalogue entry while the simulator runs: its current fault (changeable at
//! runtime) and its live position, the clock every reader of it shares.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::content::{Content, Fault};
use crate::ts::PACKET_SIZE;

/// Locks a std mutex, ignoring poisoning: every critical section in this crate is
/// a few field updates that leave the data consistent even if a panic interrupts.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One content of the running catalogue.
#[derive(Debug)]
pub(crate) struct LiveContent {
    /// The content as configured; its `fault` is the initial one, see [`Self::fault`].
    pub content: Content,
    /// The current fault. A std mutex: held only to clone or replace the value.
    fault: Mutex<Fault>,
    /// Bumped on every fault change, so readers notice one with an atomic load
    /// instead of locking per chunk.
    fault_version: AtomicU64,
    /// When the content "went live": packet 0 of its stream.
    live_since: Instant,
    /// Sessions created for it so far (the first one is number 0).
    sessions: AtomicU64,
}

impl LiveContent {
    pub fn new(content: Content) -> Self {
        Self {
            fault: Mutex::new(content.fault.clone()),
            content,
            fault_version: AtomicU64::new(0),
            live_since: Instant::now(),
            sessions: AtomicU64::new(0),
        }
    }

    /// Numbers a new session of this content: 0 for the first.
    pub fn next_session_ordinal(&self) -> u64 {
        self.sessions.fetch_add(1, Ordering::AcqRel)
    }

    /// The fault in force now.
    pub fn fault(&self) -> Fault {
        lock(&self.fault).clone()
    }

    /// Version of the fault in force; changes whenever [`Self::set_fault`] is called.
    pub fn fault_version(&self) -> u64 {
        self.fault_version.load(Ordering::Acquire)
    }

    pub fn set_fault(&self, fault: Fault) {
        *lock(&self.fault) = fault;
        self.fault_version.fetch_add(1, Ordering::AcqRel);
    }

    /// Stream packets per second at the content's bitrate.
    pub fn packets_per_sec(&self) -> f64 {
        self.content.bitrate_bps as f64 / (8 * PACKET_SIZE) as f64
    }

    /// Index of the packet being "broadcast" at `now`.
    pub fn live_pos(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.live_since).as_secs_f64() * self.packets_per_sec())
            as u64
    }

    /// Seconds since the content went live.
    pub fn live_secs(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.live_since).as_secs_f64()
    }

    /// Whether `key` is this content's id or infohash.
    pub fn matches(&self, key: &str) -> bool {
        self.content.content_id.eq_ignore_ascii_case(key)
            || self.content.infohash.eq_ignore_ascii_case(key)
    }
}
