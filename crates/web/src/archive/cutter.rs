//! Cuts a channel's live MPEG-TS into archive segments: each segment starts at a
//! PAT, and is closed — at least `min` of wall time after its start — at the last
//! PAT before a random-access point (a keyframe flagged `random_access_indicator`),
//! so every segment plays from its first byte. A stream that flags no keyframes is
//! cut at a PAT after 3 × `min`. A packet flagged `discontinuity_indicator` (the
//! multiplexer's splice at a link switch) ends the segment at the last PAT and
//! marks the next one as a discontinuity.
//!
//! Segment times are wall-clock arrival times: catch-up asks "what was on at
//! 20:00", and live viewers got these bytes at these times.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use jiff::Timestamp;

/// A TS packet.
pub const PACKET: usize = 188;
const SYNC: u8 = 0x47;
/// A segment that grows past this without a PAT to cut at is cut anyway.
const MAX_SEGMENT_BYTES: usize = 64 << 20;

/// A finished segment.
#[derive(Debug, Clone)]
pub struct Cut {
    pub start: Timestamp,
    pub duration: Duration,
    pub discontinuity: bool,
    pub parts: Vec<Bytes>,
    pub len: usize,
}

#[derive(Debug, Default)]
struct Open {
    start: Option<Timestamp>,
    parts: Vec<Bytes>,
    len: usize,
    /// Offset and arrival time of the newest PAT after the segment's first byte.
    last_pat: Option<(usize, Timestamp)>,
    discontinuity: bool,
}

/// The segmenter of one recording.
#[derive(Debug)]
pub struct Cutter {
    min: Duration,
    carry: BytesMut,
    open: Open,
    /// The next segment starts after a gap or a splice.
    next_discontinuity: bool,
    last_arrival: Option<Timestamp>,
}

/// What one packet's header says.
struct PacketInfo {
    pat: bool,
    random_access: bool,
    discontinuity: bool,
}

fn inspect(p: &[u8]) -> Option<PacketInfo> {
    let (&b1, &b2, &b3) = (p.get(1)?, p.get(2)?, p.get(3)?);
    let pid = (u16::from(b1 & 0x1f) << 8) | u16::from(b2);
    let unit_start = b1 & 0x40 != 0;
    let has_adaptation = b3 & 0x20 != 0;
    let flags = match (has_adaptation, p.get(4)) {
        (true, Some(&len)) if len > 0 => p.get(5).copied().unwrap_or(0),
        _ => 0,
    };
    Some(PacketInfo {
        pat: pid == 0 && unit_start,
        random_access: flags & 0x40 != 0,
        discontinuity: flags & 0x80 != 0 && pid != 0x1fff,
    })
}

/// Splits `parts` (whole packets) at byte `at`.
fn split(parts: Vec<Bytes>, at: usize) -> (Vec<Bytes>, Vec<Bytes>) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let mut offset = 0;
    for part in parts {
        let end = offset + part.len();
        if end <= at {
            before.push(part);
        } else if offset >= at {
            after.push(part);
        } else {
            before.push(part.slice(..at - offset));
            after.push(part.slice(at - offset..));
        }
        offset = end;
    }
    (before, after)
}

impl Cutter {
    /// A cutter of segments at least `min` long, waiting for a PAT.
    pub fn new(min: Duration) -> Self {
        Self {
            min,
            carry: BytesMut::new(),
            open: Open::default(),
            next_discontinuity: false,
            last_arrival: None,
        }
    }

    /// Takes bytes as they came off the wire, arrived at `now`; returns the
    /// segments this completed.
    pub fn push(&mut self, data: &[u8], now: Timestamp) -> Vec<Cut> {
        self.carry.extend_from_slice(data);
        // Resynchronise on a sync byte (the multiplexer sends aligned packets;
        // this only guards against a bad start).
        while !self.carry.is_empty() && self.carry.first() != Some(&SYNC) {
            let skip = self
                .carry
                .iter()
                .position(|b| *b == SYNC)
                .unwrap_or(self.carry.len());
            let _ = self.carry.split_to(skip);
        }
        let whole = self.carry.len() - self.carry.len() % PACKET;
        if whole == 0 {
            return Vec::new();
        }
        let chunk = self.carry.split_to(whole).freeze();
        self.last_arrival = Some(now);
        let mut done = Vec::new();
        let mut from = 0;
        for at in (0..chunk.len()).step_by(PACKET) {
            let Some(info) = chunk.get(at..at + PACKET).and_then(inspect) else {
                continue;
            };
            if self.open.start.is_none() {
                if info.pat {
                    from = at;
                    self.open = Open {
                        start: Some(now),
                        discontinuity: std::mem::take(&mut self.next_discontinuity),
                        ..Open::default()
                    };
                }
                continue;
            }
            let offset = self.open.len + (at - from);
            let elapsed = self.elapsed(now);
            if info.discontinuity {
                self.next_discontinuity = true;
            }
            let cut_at = if info.discontinuity || (info.random_access && elapsed >= self.min) {
                self.open.last_pat.filter(|(o, _)| *o > 0)
            } else if info.pat
                && (elapsed >= self.min * 3 || offset >= MAX_SEGMENT_BYTES)
                && offset > 0
            {
                Some((offset, now))
            } else {
                None
            };
            if info.pat && offset > 0 {
                self.open.last_pat = Some((offset, now));
            }
            if let Some((cut_offset, cut_time)) = cut_at {
                // Everything of this chunk before `at` joins the open segment first.
                self.take(chunk.slice(from..at));
                from = at;
                done.push(self.cut(cut_offset, cut_time));
            }
        }
        if self.open.start.is_some() {
            self.take(chunk.slice(from..));
        }
        done
    }

    fn elapsed(&self, now: Timestamp) -> Duration {
        self.open
            .start
            .and_then(|s| Duration::try_from(now.duration_since(s)).ok())
            .unwrap_or_default()
    }

    fn take(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.open.len += bytes.len();
            self.open.parts.push(bytes);
        }
    }

    /// Closes the open segment at `offset`; what follows starts the next one at `at`.
    fn cut(&mut self, offset: usize, at: Timestamp) -> Cut {
        let open = std::mem::take(&mut self.open);
        let (before, after) = split(open.parts, offset);
        let start = open.start.unwrap_or(at);
        let next_len = open.len - offset.min(open.len);
        self.open = Open {
            start: Some(at),
            parts: after,
            len: next_len,
            last_pat: open
                .last_pat
                .filter(|(o, _)| *o > offset)
                .map(|(o, t)| (o - offset, t)),
            discontinuity: std::mem::take(&mut self.next_discontinuity),
        };
        Cut {
            start,
            duration: Duration::try_from(at.duration_since(start)).unwrap_or_default(),
            discontinuity: open.discontinuity,
            len: offset.min(open.len),
            parts: before,
        }
    }

    /// The stream stopped (engine down, the recording ends): the open segment is
    /// complete up to the last bytes received, and the next starts a new run.
    pub fn finish(&mut self) -> Option<Cut> {
        self.carry.clear();
        self.next_discontinuity = true;
        let open = std::mem::take(&mut self.open);
        let start = open.start?;
        let end = self.last_arrival.unwrap_or(start);
        (open.len > 0).then(|| Cut {
            start,
            duration: Duration::try_from(end.duration_since(start)).unwrap_or_default(),
            discontinuity: open.discontinuity,
            len: open.len,
            parts: open.parts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet on `pid`, with a PUSI and adaptation flags as asked; the payload
    /// byte says which packet it is.
    fn packet(pid: u16, unit_start: bool, flags: u8, n: u8) -> Vec<u8> {
        let mut p = vec![0xffu8; PACKET];
        p[0] = SYNC;
        p[1] = ((pid >> 8) as u8 & 0x1f) | if unit_start { 0x40 } else { 0 };
        p[2] = pid as u8;
        if flags != 0 {
            p[3] = 0x30;
            p[4] = 1;
            p[5] = flags;
            p[6] = n;
        } else {
            p[3] = 0x10;
            p[4] = n;
        }
        p
    }

    fn pat(n: u8) -> Vec<u8> {
        packet(0, true, 0, n)
    }
    fn keyframe(n: u8) -> Vec<u8> {
        packet(0x100, true, 0x40, n)
    }
    fn data(n: u8) -> Vec<u8> {
        packet(0x100, false, 0, n)
    }
    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }
    fn bytes(cut: &Cut) -> Vec<u8> {
        cut.parts.iter().flat_map(|p| p.iter().copied()).collect()
    }

    #[test]
    fn waits_for_a_pat_and_cuts_at_the_pat_before_a_keyframe() {
        let mut c = Cutter::new(Duration::from_secs(6));
        // Bytes before the first PAT are not recorded.
        assert!(c.push(&data(0), at(0)).is_empty());
        let mut first = pat(1);
        first.extend(keyframe(2));
        first.extend(data(3));
        assert!(c.push(&first, at(0)).is_empty());
        // A PAT + keyframe 3 s in: too early to cut.
        let mut early = pat(4);
        early.extend(keyframe(5));
        assert!(c.push(&early, at(3)).is_empty());
        // 7 s in: a PAT, some data, then the keyframe: cut at that PAT.
        let mut late = pat(6);
        late.extend(data(7));
        late.extend(keyframe(8));
        let cuts = c.push(&late, at(7));
        assert_eq!(cuts.len(), 1);
        let cut = &cuts[0];
        assert_eq!(cut.start, at(0));
        assert_eq!(cut.duration, Duration::from_secs(7));
        assert_eq!(cut.len, 5 * PACKET);
        let b = bytes(cut);
        assert_eq!(b.len(), cut.len);
        assert_eq!(&b[..PACKET], &pat(1)[..], "starts at its PAT");
        // The rest (PAT 6 onwards) is the next segment, flushed at the end.
        let rest = c.finish().unwrap();
        assert_eq!(rest.start, at(7));
        assert_eq!(&bytes(&rest)[..PACKET], &pat(6)[..]);
        assert_eq!(rest.len, 3 * PACKET);
    }

    #[test]
    fn split_packets_across_reads_are_put_back_together() {
        let mut c = Cutter::new(Duration::from_secs(1));
        let mut stream = pat(1);
        stream.extend(keyframe(2));
        stream.extend(pat(3));
        stream.extend(keyframe(4));
        let (a, b) = stream.split_at(100);
        assert!(c.push(a, at(0)).is_empty());
        assert!(c.push(b, at(0)).is_empty());
        let mut more = pat(5);
        more.extend(keyframe(6));
        let cuts = c.push(&more, at(2));
        assert_eq!(cuts.len(), 1);
        assert_eq!(bytes(&cuts[0]), stream);
    }

    #[test]
    fn a_stream_without_keyframe_flags_is_cut_at_a_pat_after_three_times_min() {
        let mut c = Cutter::new(Duration::from_secs(2));
        let mut s = pat(1);
        s.extend(data(2));
        c.push(&s, at(0));
        assert!(c.push(&[pat(3), data(4)].concat(), at(5)).is_empty());
        let cuts = c.push(&[pat(5), data(6)].concat(), at(6));
        assert_eq!(cuts.len(), 1);
        assert_eq!(cuts[0].len, 4 * PACKET);
    }

    #[test]
    fn a_splice_ends_the_segment_and_marks_the_next_one() {
        let mut c = Cutter::new(Duration::from_secs(6));
        c.push(&[pat(1), keyframe(2), data(3)].concat(), at(0));
        // The new source: its PAT, then a flagged packet (1 s in, before `min`).
        let cuts = c.push(&[pat(4), packet(0x100, true, 0xc0, 5)].concat(), at(1));
        assert_eq!(cuts.len(), 1);
        assert!(!cuts[0].discontinuity);
        assert_eq!(cuts[0].len, 3 * PACKET);
        let next = c.finish().unwrap();
        assert!(next.discontinuity);
        assert_eq!(&bytes(&next)[..PACKET], &pat(4)[..]);
        // After finish (a gap), the next run is a discontinuity too.
        c.push(&[pat(6), keyframe(7)].concat(), at(10));
        assert!(c.finish().unwrap().discontinuity);
    }

    #[test]
    fn garbage_never_panics_and_is_not_recorded() {
        let mut c = Cutter::new(Duration::from_secs(1));
        for n in 0..50u8 {
            let junk: Vec<u8> = (0..(n as usize * 37))
                .map(|i| (i * 31 + n as usize) as u8)
                .collect();
            c.push(&junk, at(i64::from(n)));
        }
        c.finish();
    }
}
