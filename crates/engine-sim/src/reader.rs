//! One reader of a playback body: it walks the content's live stream from a
//! place to join (a PAT), hands it out in random, packet-unaligned chunks, paced
//! at the stream's rate after an initial burst, and plays the content's faults.
//!
//! Pacing: the reader may have sent every packet whose stream time is before
//! `target(now) = base_secs + (now - base_time) * factor` (see
//! [`LiveContent::pos_at`](crate::live::LiveContent::pos_at)); it starts `burst`
//! behind the live position, so the first `burst` of stream is available at
//! once. A reader whose client reads slowly falls behind and catches up later: it
//! never skips.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;

use crate::content::Fault;
use crate::session::{ReaderSlot, Session};
use crate::ts::PACKET_SIZE;

/// Largest chunk handed out: 32 KiB, what a real engine's writes look like.
const MAX_CHUNK: usize = 32 * 1024;
/// Longest sleep between checks, so a stop, kick or fault change is noticed well
/// within a second even while waiting for stream.
const MAX_NAP: Duration = Duration::from_millis(100);
/// How often a silent reader looks again whether the fault was lifted.
const SILENT_NAP: Duration = Duration::from_millis(200);

pub(crate) struct Reader {
    slot: ReaderSlot,
    stop_rx: watch::Receiver<bool>,
    kick_rx: watch::Receiver<u64>,
    generation: u64,
    unpaced: bool,
    /// Next packet to generate.
    pos: u64,
    /// Generated, not yet handed out; always ends at a packet boundary.
    buf: BytesMut,
    next_chunk: usize,
    max_chunk: usize,
    /// Stream time the pacing counts from, at `base_time`.
    base_secs: f64,
    base_time: Instant,
    factor: f64,
    fault: Fault,
    fault_version: u64,
    /// Where Stall/Disconnect times count from: the reader's start, or the moment
    /// a runtime fault change reached it.
    fault_t0: Instant,
    stall_done: bool,
    rng: StdRng,
}

impl Reader {
    /// A reader joining the live stream now; `generation` is its place in the
    /// session's kick order.
    pub fn new(slot: ReaderSlot, generation: u64, unpaced: bool, burst: Duration) -> Self {
        let session: &Arc<Session> = &slot.session;
        let content = &session.content;
        let now = Instant::now();
        let live_secs = content.live_secs(now);
        // Aim for about ten chunks a second at low bitrates, so a slow channel
        // still arrives in pieces rather than one write every few seconds.
        let per_tenth = (content.content.bitrate_bps / 80) as usize;
        let max_chunk = if unpaced {
            MAX_CHUNK
        } else {
            per_tenth.clamp(2 * PACKET_SIZE, MAX_CHUNK)
        };
        let mut rng = StdRng::from_entropy();
        let next_chunk = rng.gen_range(1..=max_chunk);
        let mut r = Self {
            stop_rx: session.stop_signal(),
            kick_rx: session.kick_signal().1,
            generation,
            unpaced,
            // A real engine starts a reader at a random access point: a PAT.
            pos: content.join_floor(content.pos_at(live_secs - burst.as_secs_f64())),
            buf: BytesMut::new(),
            next_chunk,
            max_chunk,
            base_secs: live_secs,
            base_time: now,
            factor: 1.0,
            fault: Fault::None,
            fault_version: content.fault_version(),
            fault_t0: now,
            stall_done: false,
            rng,
            slot,
        };
        r.apply_fault(r.slot.session.content.fault(), now);
        r
    }

    /// The next chunk of the body, or `None` when the body ends.
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if self.ended() {
                return None;
            }
            let now = Instant::now();
            let content = &self.slot.session.content;
            let version = content.fault_version();
            if version != self.fault_version {
                self.fault_version = version;
                let fault = content.fault();
                self.apply_fault(fault, now);
            }
            let since = now.saturating_duration_since(self.fault_t0).as_secs_f64();
            match self.fault {
                Fault::Disconnect { at_secs, .. } if since >= at_secs => {
                    tracing::info!(session = %self.slot.session.id, "fault: disconnecting reader");
                    return None;
                }
                Fault::SilentAfter { at_secs, .. } if since >= at_secs => {
                    // Hand out the packet in flight, then nothing, ever.
                    if !self.buf.is_empty() {
                        return Some(self.hand_out(self.buf.len()));
                    }
                    self.nap(SILENT_NAP).await;
                    continue;
                }
                // Offline reaching a running reader: the stream dries up like Silent.
                Fault::Silent | Fault::Offline => {
                    self.nap(SILENT_NAP).await;
                    continue;
                }
                Fault::Stall { at_secs, for_secs } if !self.stall_done && since >= at_secs => {
                    // Finish the packet in flight first, so the jump after the
                    // stall lands on a packet boundary.
                    if !self.buf.is_empty() {
                        return Some(self.hand_out(self.buf.len()));
                    }
                    self.stall(for_secs).await;
                    continue;
                }
                _ => {}
            }
            if self.buf.len() >= self.next_chunk {
                return Some(self.hand_out(self.next_chunk));
            }
            let need = (self.next_chunk - self.buf.len()).div_ceil(PACKET_SIZE) as u64;
            let avail = if self.unpaced {
                need
            } else {
                self.available(now)
            };
            if avail > 0 {
                let n = avail.min(need);
                let content = &self.slot.session.content;
                content.write_packets(&mut self.buf, self.pos, self.pos + n);
                self.pos += n;
                continue;
            }
            // Sleep until the whole chunk is due (fewer wake-ups), but not so
            // long that a stop or fault goes unnoticed.
            let due = self.slot.session.content.secs_at(self.pos + need - 1);
            let missing = due - self.target(now);
            let wait =
                Duration::try_from_secs_f64((missing / self.factor).max(0.001)).unwrap_or(MAX_NAP);
            self.nap(wait.min(MAX_NAP)).await;
        }
    }

    fn hand_out(&mut self, n: usize) -> Bytes {
        let chunk = self.buf.split_to(n).freeze();
        self.next_chunk = self.rng.gen_range(1..=self.max_chunk);
        self.slot.session.add_bytes(chunk.len());
        chunk
    }

    /// The stream time the pacing has reached at `now`.
    fn target(&self, now: Instant) -> f64 {
        self.base_secs + now.saturating_duration_since(self.base_time).as_secs_f64() * self.factor
    }

    /// Whole packets the pacing allows now.
    fn available(&self, now: Instant) -> u64 {
        let content = &self.slot.session.content;
        content.pos_at(self.target(now)).saturating_sub(self.pos)
    }

    /// A new fault: restart the pacing clock where the reader is, so a change of
    /// pace neither bursts nor skips (after silence, the reader resumes where it
    /// stopped rather than bursting what it missed).
    fn apply_fault(&mut self, fault: Fault, now: Instant) {
        // A fault meant for the content's first session spares the later ones.
        let fault = if fault.spares_later_sessions() && self.slot.session.ordinal > 0 {
            Fault::None
        } else {
            fault
        };
        let was_silent = matches!(self.fault, Fault::Silent | Fault::Offline);
        self.base_secs = if was_silent {
            self.slot.session.content.secs_at(self.pos)
        } else {
            self.target(now)
        };
        self.base_time = now;
        self.factor = match fault {
            Fault::Slow { factor } if factor.is_finite() && factor > 0.0 => factor.max(0.001),
            _ => 1.0,
        };
        self.fault = fault;
        self.fault_t0 = now;
        self.stall_done = false;
    }

    /// No bytes for `for_secs`, then jump to where the live stream is by now.
    async fn stall(&mut self, for_secs: f64) {
        tracing::info!(session = %self.slot.session.id, for_secs, "fault: stalling reader");
        self.stall_done = true;
        let d = Duration::from_secs_f64(for_secs.max(0.0));
        let until = Instant::now() + d;
        while Instant::now() < until && !self.ended() {
            self.nap(until.saturating_duration_since(Instant::now()).min(MAX_NAP))
                .await;
        }
        let content = &self.slot.session.content;
        let resume = content.secs_at(self.pos) + for_secs.max(0.0) * self.factor;
        self.pos = content.join_ceil(content.pos_at(resume).max(self.pos + 1));
        // Paced from where the live stream is now: the join comes when it is due.
        self.base_secs = resume;
        self.base_time = Instant::now();
    }

    fn ended(&self) -> bool {
        *self.stop_rx.borrow() || *self.kick_rx.borrow() != self.generation
    }

    /// Sleeps for `d`, waking early on a stop or kick.
    async fn nap(&mut self, d: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.stop_rx.changed() => {}
            _ = self.kick_rx.changed() => {}
        }
    }
}
