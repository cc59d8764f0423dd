//! Counters of the multiplexer's life, for `/ace/status` and `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Every counter of the multiplexer.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Engine sessions opened (including re-opens).
    pub sessions_opened: Counter,
    /// Engine stop commands sent.
    pub sessions_stopped: Counter,
    /// Channels that failed to start.
    pub sessions_failed: Counter,
    /// Re-opens after a stall or drop.
    pub reopens: Counter,
    /// Viewer connections accepted.
    pub viewers_total: Counter,
    /// Bytes sent to viewers.
    pub bytes_out: Arc<AtomicU64>,
}

/// A snapshot, as JSON.
#[derive(Debug, Serialize)]
pub struct MetricsSnapshot {
    /// Engine sessions opened.
    pub sessions_opened: u64,
    /// Engine stops sent.
    pub sessions_stopped: u64,
    /// Channels that failed to start.
    pub sessions_failed: u64,
    /// Re-opens.
    pub reopens: u64,
    /// Viewer connections accepted.
    pub viewers_total: u64,
    /// Bytes sent to viewers.
    pub bytes_out: u64,
}

impl Metrics {
    /// The current values.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            sessions_opened: self.sessions_opened.get(),
            sessions_stopped: self.sessions_stopped.get(),
            sessions_failed: self.sessions_failed.get(),
            reopens: self.reopens.get(),
            viewers_total: self.viewers_total.get(),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
        }
    }
}
