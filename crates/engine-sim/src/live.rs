//! A catalogue entry while the simulator runs: its current fault (changeable at
//! runtime) and its live position, the clock every reader of it shares.
//!
//! The stream is a function of the packet position (every reader of a content
//! sees the same bytes at the same position) and each position has a stream time,
//! counted from the moment the content went live: the synthetic stream's packets
//! come evenly at the bitrate, a real video's as its file's PCRs say.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use bytes::BytesMut;

use crate::content::{Content, Fault};
use crate::ts::{PACKET_SIZE, VideoLoop, cycle_ceil, cycle_floor, test_card, write_packets};

/// Locks a std mutex, ignoring poisoning: every critical section in this crate is
/// a few field updates that leave the data consistent even if a panic interrupts.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a content's packets are made of.
#[derive(Debug)]
enum Stream {
    /// The sequence-numbered stream of `ts`, at this many packets per second.
    Synthetic { packets_per_sec: f64 },
    /// An embedded file, looped.
    Video(&'static VideoLoop),
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
    stream: Stream,
    /// The content's tag, written into every synthetic data packet.
    tag: u32,
}

impl LiveContent {
    pub fn new(content: Content) -> Self {
        let synthetic = Stream::Synthetic {
            packets_per_sec: content.bitrate_bps as f64 / (8 * PACKET_SIZE) as f64,
        };
        let stream = match test_card(content.video) {
            Ok(Some(card)) => Stream::Video(card),
            Ok(None) => synthetic,
            Err(e) => {
                tracing::error!(content = %content.name, "{e}; playing the synthetic stream");
                synthetic
            }
        };
        Self {
            stream,
            tag: content.tag(),
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

    /// Packets whose stream time is before `secs`: where a reader paced to that
    /// stream time has got to.
    pub fn pos_at(&self, secs: f64) -> u64 {
        match &self.stream {
            Stream::Synthetic { packets_per_sec } => (secs.max(0.0) * packets_per_sec) as u64,
            Stream::Video(card) => card.pos_at(secs),
        }
    }

    /// Stream time of packet `p`, in seconds.
    pub fn secs_at(&self, p: u64) -> f64 {
        match &self.stream {
            Stream::Synthetic { packets_per_sec } => p as f64 / packets_per_sec,
            Stream::Video(card) => card.secs_at(p),
        }
    }

    /// The last place a reader may start at, at or before `p`: a PAT (before a
    /// keyframe, for real video).
    pub fn join_floor(&self, p: u64) -> u64 {
        match &self.stream {
            Stream::Synthetic { .. } => cycle_floor(p),
            Stream::Video(card) => card.join_floor(p),
        }
    }

    /// The first place a reader may start at, at or after `p`.
    pub fn join_ceil(&self, p: u64) -> u64 {
        match &self.stream {
            Stream::Synthetic { .. } => cycle_ceil(p),
            Stream::Video(card) => card.join_ceil(p),
        }
    }

    /// Appends packets `from..to` of the live stream to `out`.
    pub fn write_packets(&self, out: &mut BytesMut, from: u64, to: u64) {
        match &self.stream {
            Stream::Synthetic { .. } => write_packets(out, from, to, self.tag),
            Stream::Video(card) => card.write_packets(out, from, to),
        }
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
