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

/// Why a channel left a link (or an engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchReason {
    /// The link's start failed with an error (engine or source).
    Error,
    /// The link produced no first byte within `mux.link_start_timeout`.
    Timeout,
    /// The running link went silent for `mux.stall_timeout`.
    Stall,
    /// The running link's connection dropped and re-opens did not cure it.
    Disconnect,
    /// The engine went down: the same link moved to another engine.
    EngineDown,
}

impl SwitchReason {
    /// Every reason, in the order `/metrics` lists them.
    pub const ALL: [SwitchReason; 5] = [
        SwitchReason::Error,
        SwitchReason::Timeout,
        SwitchReason::Stall,
        SwitchReason::Disconnect,
        SwitchReason::EngineDown,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SwitchReason::Error => "error",
            SwitchReason::Timeout => "timeout",
            SwitchReason::Stall => "stall",
            SwitchReason::Disconnect => "disconnect",
            SwitchReason::EngineDown => "engine_down",
        }
    }
}

/// Every counter of the multiplexer.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Link (or engine) switches, by [`SwitchReason::ALL`] position.
    pub link_switches: [Counter; 5],
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
    /// Link switches by reason.
    pub link_switches: std::collections::BTreeMap<&'static str, u64>,
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
            link_switches: SwitchReason::ALL
                .iter()
                .zip(&self.link_switches)
                .map(|(r, c)| (r.as_str(), c.get()))
                .collect(),
        }
    }

    /// Counts a switch.
    pub fn switched(&self, reason: SwitchReason) {
        if let Some(i) = SwitchReason::ALL.iter().position(|r| *r == reason) {
            self.link_switches[i].inc();
        }
    }
}
