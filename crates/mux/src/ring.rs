//! The hub's shared window of recent stream: packet-aligned chunks as `Bytes`, so
//! every viewer reads the same memory (a clone is a reference count), plus the
//! positions a new viewer can start decoding from.
//!
//! Each viewer is only a [`Cursor`] into this window. A viewer that falls more
//! than `max_lag` bytes behind the live edge is moved forward to the most recent
//! PAT: it skips, nobody else waits for it.
//!
//! The window holds what someone may still read, no more: from the oldest
//! viewer's position or where a new viewer would start (the PAT before a
//! keyframe), whichever is older, and never more than the lag limit or the
//! instant-start budget allow. With every viewer at the live edge that is a
//! chunk or two, not `max_lag` bytes: 200 channels do not hold 200 × 4 MiB.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::ts::{self, PACKET};

/// A position in the stream: chunk sequence number and byte offset inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Sequence number of the chunk.
    pub seq: u64,
    /// Byte offset in that chunk (a multiple of 188).
    pub offset: usize,
}

#[derive(Debug)]
struct Chunk {
    /// Stream offset of the chunk's first byte.
    start: u64,
    data: Bytes,
}

/// What a viewer gets when it asks for more.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// The next bytes; the cursor moved past them.
    Data(Bytes),
    /// The viewer fell too far behind and was moved to `skipped_to`; read again.
    Lagged {
        /// Bytes skipped.
        skipped: u64,
    },
    /// Nothing new yet: wait for the next chunk.
    Wait,
}

/// The window of recent chunks.
#[derive(Debug)]
pub struct Ring {
    chunks: VecDeque<Chunk>,
    first_seq: u64,
    next_seq: u64,
    /// Bytes held.
    held: usize,
    /// Bytes the window keeps at least (beyond the newest chunk).
    capacity: usize,
    /// How far behind a viewer may fall.
    max_lag: u64,
    /// How far back a new viewer may start.
    instant_start: u64,
    /// Total bytes pushed (the live edge's stream offset).
    head: u64,
    /// The most recent PAT.
    last_pat: Option<Cursor>,
    /// The most recent PAT that was followed by a keyframe.
    keyframe_pat: Option<Cursor>,
    /// Whether a keyframe was already seen since `last_pat`.
    keyframe_since_pat: bool,
}

impl Ring {
    /// A window keeping enough for both the lag limit and instant start.
    pub fn new(max_lag: u64, instant_start: u64) -> Self {
        Self {
            chunks: VecDeque::new(),
            first_seq: 0,
            next_seq: 0,
            held: 0,
            capacity: max_lag.max(instant_start) as usize,
            max_lag,
            instant_start,
            head: 0,
            last_pat: None,
            keyframe_pat: None,
            keyframe_since_pat: false,
        }
    }

    /// Appends a packet-aligned chunk and evicts what no viewer may still need,
    /// `oldest_reader` being the stream offset of the viewer furthest behind
    /// (`None`: no viewer).
    pub fn push(&mut self, data: Bytes, oldest_reader: Option<u64>) {
        debug_assert_eq!(data.len() % PACKET, 0);
        let seq = self.next_seq;
        for (i, packet) in data.chunks_exact(PACKET).enumerate() {
            if ts::is_pat_start(packet) {
                self.last_pat = Some(Cursor {
                    seq,
                    offset: i * PACKET,
                });
                self.keyframe_since_pat = false;
            } else if !self.keyframe_since_pat && ts::random_access(packet) {
                self.keyframe_pat = self.last_pat;
                self.keyframe_since_pat = true;
            }
        }
        self.held += data.len();
        self.chunks.push_back(Chunk {
            start: self.head,
            data: data.clone(),
        });
        self.head += data.len() as u64;
        self.next_seq += 1;
        while let Some(front) = self.chunks.front() {
            if self.held - front.data.len() < self.capacity {
                break;
            }
            self.held -= front.data.len();
            self.chunks.pop_front();
            self.first_seq += 1;
        }
        // Then what nobody can read any more: chunks wholly before both the oldest
        // viewer and the place a new viewer would start. The newest chunk stays.
        let start = self.position(self.start_cursor());
        let keep_from = oldest_reader.map_or(start, |at| at.min(start));
        while self.chunks.len() > 1 {
            let front = &self.chunks[0];
            if front.start + front.data.len() as u64 > keep_from {
                break;
            }
            self.held -= front.data.len();
            self.chunks.pop_front();
            self.first_seq += 1;
        }
    }

    /// Bytes the window holds now.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Total bytes received (stream offset of the live edge).
    pub fn head(&self) -> u64 {
        self.head
    }

    fn offset_of(&self, c: Cursor) -> Option<u64> {
        let idx = c.seq.checked_sub(self.first_seq)? as usize;
        self.chunks.get(idx).map(|ch| ch.start + c.offset as u64)
    }

    /// Stream offset of a cursor (the live edge when it is at or past the head).
    pub fn position(&self, c: Cursor) -> u64 {
        if c.seq >= self.next_seq {
            return self.head;
        }
        self.offset_of(c).unwrap_or(0)
    }

    /// The live edge: the next chunk to arrive.
    pub fn live_edge(&self) -> Cursor {
        Cursor {
            seq: self.next_seq,
            offset: 0,
        }
    }

    /// Whether `c` is still held and at most `budget` bytes behind the live edge.
    fn within(&self, c: Cursor, budget: u64) -> bool {
        self.offset_of(c).is_some_and(|at| self.head - at <= budget)
    }

    /// Where a new viewer starts: the last PAT before a keyframe, else the last PAT,
    /// if within the instant-start budget (and the lag limit, or its first read
    /// would skip); else the live edge.
    pub fn start_cursor(&self) -> Cursor {
        let budget = self.instant_start.min(self.max_lag);
        [self.keyframe_pat, self.last_pat]
            .into_iter()
            .flatten()
            .find(|c| self.within(*c, budget))
            .unwrap_or_else(|| self.live_edge())
    }

    /// Where a lagging viewer resumes: the most recent PAT (a packet boundary a
    /// decoder can restart from) if it is within the lag limit, else the live edge.
    /// The window holds more than the limit (the instant-start budget, the oldest
    /// chunk), so an older PAT may still be held: resuming there would skip again
    /// on the next read, for ever.
    fn resume_cursor(&self) -> Cursor {
        self.last_pat
            .filter(|c| self.within(*c, self.max_lag))
            .unwrap_or_else(|| self.live_edge())
    }

    /// Reads from `cursor` and advances it.
    pub fn read(&self, cursor: &mut Cursor) -> Read {
        if cursor.seq >= self.next_seq {
            return Read::Wait;
        }
        let behind = match self.offset_of(*cursor) {
            Some(at) => self.head - at,
            None => u64::MAX,
        };
        if behind > self.max_lag {
            let from = self.position(*cursor).min(self.head);
            *cursor = self.resume_cursor();
            let skipped = self.position(*cursor).saturating_sub(from);
            return Read::Lagged { skipped };
        }
        let idx = (cursor.seq - self.first_seq) as usize;
        let Some(chunk) = self.chunks.get(idx) else {
            return Read::Wait;
        };
        let data = chunk.data.slice(cursor.offset.min(chunk.data.len())..);
        *cursor = Cursor {
            seq: cursor.seq + 1,
            offset: 0,
        };
        if data.is_empty() {
            self.read(cursor)
        } else {
            Read::Data(data)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ts::tests::packet;

    fn chunk(packets: &[(u16, bool, bool)]) -> Bytes {
        packets
            .iter()
            .flat_map(|&(pid, start, key)| packet(pid, start, key, 0))
            .collect::<Vec<u8>>()
            .into()
    }

    const DATA: (u16, bool, bool) = (0x100, false, false);
    const PAT: (u16, bool, bool) = (0, true, false);
    const KEY: (u16, bool, bool) = (0x100, true, true);

    #[test]
    fn a_new_viewer_starts_at_the_pat_before_the_last_keyframe() {
        let mut r = Ring::new(1 << 20, 1 << 20);
        r.push(chunk(&[DATA, PAT, DATA, KEY, DATA]), None);
        r.push(chunk(&[DATA, PAT, DATA]), None);
        let c = r.start_cursor();
        assert_eq!(
            c,
            Cursor {
                seq: 0,
                offset: PACKET
            }
        );
        let mut cur = c;
        let Read::Data(d) = r.read(&mut cur) else {
            panic!()
        };
        assert!(ts::is_pat_start(&d[..PACKET]));
        assert_eq!(d.len(), 4 * PACKET);
    }

    #[test]
    fn without_entry_points_a_new_viewer_starts_at_the_live_edge() {
        let mut r = Ring::new(1 << 20, 1 << 20);
        r.push(chunk(&[DATA, DATA]), None);
        let mut c = r.start_cursor();
        assert_eq!(r.read(&mut c), Read::Wait);
        r.push(chunk(&[DATA]), None);
        assert!(matches!(r.read(&mut c), Read::Data(d) if d.len() == PACKET));
    }

    #[test]
    fn a_lagging_viewer_jumps_to_the_last_pat_and_others_are_unaffected() {
        let lag = 4 * PACKET as u64;
        let mut r = Ring::new(lag, lag);
        r.push(chunk(&[PAT, DATA]), None);
        let mut slow = r.start_cursor();
        let mut fast = r.start_cursor();
        assert!(matches!(r.read(&mut fast), Read::Data(_)));
        for _ in 0..3 {
            r.push(chunk(&[DATA, PAT, DATA]), None);
            assert!(matches!(r.read(&mut fast), Read::Data(_)));
        }
        assert!(matches!(r.read(&mut slow), Read::Lagged { skipped } if skipped > 0));
        let Read::Data(d) = r.read(&mut slow) else {
            panic!()
        };
        assert!(ts::is_pat_start(&d[..PACKET]), "resumes at a PAT");
        assert_eq!(r.read(&mut fast), Read::Wait);
    }

    #[test]
    fn a_skip_never_lands_beyond_the_lag_limit() {
        // PATs sparser than the lag limit, and a window (instant start) larger than it.
        let lag = 2 * PACKET as u64;
        let mut r = Ring::new(lag, 8 * PACKET as u64);
        r.push(chunk(&[PAT]), None);
        let mut slow = Cursor { seq: 0, offset: 0 };
        for _ in 0..5 {
            r.push(chunk(&[DATA]), None);
        }
        assert!(matches!(r.read(&mut slow), Read::Lagged { .. }));
        assert_eq!(
            slow,
            r.live_edge(),
            "the old PAT is too far behind to resume at"
        );
        assert_eq!(r.read(&mut slow), Read::Wait);
        assert_eq!(r.start_cursor(), r.live_edge(), "nor to start at");
    }

    #[test]
    fn the_window_holds_only_what_a_viewer_may_still_read() {
        let mut r = Ring::new(100 * PACKET as u64, 100 * PACKET as u64);
        // Viewers at the live edge, no entry point: one chunk, not the capacity.
        for _ in 0..50 {
            r.push(chunk(&[DATA, DATA]), Some(r.head()));
        }
        assert_eq!(r.held(), 2 * PACKET);
        // A slow viewer keeps what it has not read yet, and reads it whole.
        let mut slow = r.live_edge();
        let at = r.head();
        for _ in 0..10 {
            r.push(chunk(&[DATA, DATA]), Some(at));
        }
        assert_eq!(r.held(), 20 * PACKET);
        let mut read = 0;
        while let Read::Data(d) = r.read(&mut slow) {
            read += d.len();
        }
        assert_eq!(read, 20 * PACKET);
        // A new viewer's entry point (a PAT) is kept even with nobody watching.
        r.push(chunk(&[PAT, DATA]), None);
        r.push(chunk(&[DATA]), None);
        let start = r.start_cursor();
        assert_ne!(start, r.live_edge());
        assert_eq!(r.held(), 3 * PACKET);
    }

    #[test]
    fn memory_is_bounded_by_the_capacity() {
        let mut r = Ring::new(10 * PACKET as u64, 0);
        for _ in 0..1000 {
            r.push(chunk(&[DATA, DATA, DATA]), None);
        }
        assert!(r.held <= 10 * PACKET + 3 * PACKET);
        assert_eq!(r.head(), 3000 * PACKET as u64);
    }
}
