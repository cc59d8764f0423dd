//! Fuzzing harness of the packet code: engine pieces of any size and content
//! through the [`Packetizer`] into the [`Ring`], read by a few viewers that join,
//! read and fall behind in whatever order the input says. The same function runs
//! under `cargo fuzz` (fuzz/) and over the saved inputs under `cargo test`. Not
//! part of the API: hidden from the docs.
//!
//! The input is a little program, one opcode byte at a time:
//! - `0x00..=0x3f`: a raw piece of the next `(op + 1) * 8` bytes (garbage, split
//!   packets, several packets in one piece);
//! - `0x40..=0x7f`: a well-formed packet (bit 0: PAT start, bit 1: keyframe, bit 2:
//!   split in two pieces at the next byte), payload filled with the next byte;
//! - `0x80..=0xbf`: viewer `op & 3` reads until it has to wait (at most 64 reads);
//! - `0xc0..=0xff`: viewer `op & 3` (re)joins where a new viewer starts.
//!
//! The first two bytes size the ring: the lag limit and the instant-start budget,
//! in packets.

use bytes::Bytes;

use crate::ring::{Cursor, Read, Ring};
use crate::ts::{self, PACKET, Packetizer, SYNC};

/// Runs one program (see the module doc).
pub fn ts(data: &[u8]) {
    let [lag, instant, program @ ..] = data else {
        return;
    };
    let max_lag = (u64::from(*lag % 32) + 1) * PACKET as u64;
    let instant_start = u64::from(*instant % 32) * PACKET as u64;
    let mut h = Harness {
        packetizer: Packetizer::new(),
        ring: Ring::new(max_lag, instant_start),
        max_lag,
        instant_start,
        stream: Vec::new(),
        fed: 0,
        clean: true,
        viewers: [None; 4],
    };
    let mut rest = program;
    while let [op, tail @ ..] = rest {
        rest = tail;
        match op {
            0x00..=0x3f => {
                let n = ((usize::from(*op) + 1) * 8).min(rest.len());
                let (piece, tail) = rest.split_at(n);
                rest = tail;
                h.clean = false;
                h.feed(piece);
            }
            0x40..=0x7f => {
                let [fill, tail @ ..] = rest else { return };
                rest = tail;
                let p = packet(op & 1 != 0, op & 2 != 0, *fill);
                if op & 4 != 0 {
                    let at = usize::from(*fill) % PACKET;
                    h.feed(&p[..at]);
                    h.feed(&p[at..]);
                } else {
                    h.feed(&p);
                }
            }
            0x80..=0xbf => h.read(usize::from(op & 3)),
            _ => h.join(usize::from(op & 3)),
        }
    }
}

/// A packet with the given flags (PAT: pid 0 with payload_unit_start).
fn packet(pat: bool, keyframe: bool, fill: u8) -> [u8; PACKET] {
    let mut p = [fill; PACKET];
    p[0] = SYNC;
    let pid: u16 = if pat { 0 } else { 0x100 };
    p[1] = (pid >> 8) as u8 | if pat || keyframe { 0x40 } else { 0 };
    p[2] = pid as u8;
    if keyframe {
        p[3] = 0x30;
        p[4] = 7;
        p[5] = 0x40;
    } else {
        p[3] = 0x10;
    }
    p
}

struct Harness {
    packetizer: Packetizer,
    ring: Ring,
    max_lag: u64,
    instant_start: u64,
    /// Every byte the ring received, in order: what viewers must read.
    stream: Vec<u8>,
    /// Bytes fed to the packetizer.
    fed: u64,
    /// Whether only well-formed packets were fed (then nothing may be discarded).
    clean: bool,
    viewers: [Option<Cursor>; 4],
}

impl Harness {
    fn feed(&mut self, piece: &[u8]) {
        self.fed += piece.len() as u64;
        if let Some(chunk) = self.packetizer.push(piece) {
            assert!(!chunk.is_empty() && chunk.len().is_multiple_of(PACKET));
            assert!(
                chunk.chunks(PACKET).all(|p| p[0] == SYNC),
                "every packet handed out starts with the sync byte"
            );
            self.stream.extend_from_slice(&chunk);
            let oldest = self
                .viewers
                .iter()
                .flatten()
                .map(|c| self.ring.position(*c))
                .min();
            self.ring.push(chunk, oldest);
        }
        let out = self.stream.len() as u64 + self.packetizer.discarded;
        // Whatever is neither out nor discarded waits for the rest of its packet.
        assert!(out <= self.fed && self.fed - out < PACKET as u64);
        if self.clean {
            assert_eq!(self.packetizer.discarded, 0);
        }
        assert_eq!(self.ring.head(), self.stream.len() as u64);
    }

    fn join(&mut self, v: usize) {
        let c = self.ring.start_cursor();
        let at = self.ring.position(c);
        assert!(at <= self.ring.head());
        if c != self.ring.live_edge() {
            assert!(self.ring.head() - at <= self.instant_start);
            let first = &self.stream[at as usize..][..PACKET];
            assert!(ts::is_pat_start(first), "a new viewer starts at a PAT");
        }
        self.viewers[v] = Some(c);
    }

    fn read(&mut self, v: usize) {
        let Some(mut c) = self.viewers[v] else {
            return;
        };
        let mut lagged = false;
        for _ in 0..64 {
            let before = self.ring.position(c);
            match self.ring.read(&mut c) {
                Read::Data(d) => {
                    check_data(&d, &self.stream, before);
                    if lagged {
                        assert!(ts::is_pat_start(&d[..PACKET]), "a skip resumes at a PAT");
                    }
                    lagged = false;
                }
                Read::Lagged { .. } => {
                    assert!(!lagged, "a skip lands where the viewer can read");
                    lagged = true;
                    let at = self.ring.position(c);
                    assert!(self.ring.head() - at <= self.max_lag);
                }
                Read::Wait => break,
            }
        }
        self.viewers[v] = Some(c);
    }
}

/// A read hands out whole packets, exactly the stream's bytes at the cursor.
fn check_data(d: &Bytes, stream: &[u8], at: u64) {
    assert!(!d.is_empty() && d.len().is_multiple_of(PACKET) && at.is_multiple_of(PACKET as u64));
    let at = at as usize;
    assert_eq!(&d[..], &stream[at..at + d.len()], "bytes at offset {at}");
}

/// The HLS segmenter over any bytes: the input, cut into packet-aligned chunks of
/// sizes the input's first byte chooses (what the hub would share), each byte
/// sequence where a sync byte is expected forced to one (the ring only ever holds
/// synced packets). After every chunk the playlist is rendered and every listed
/// segment read back: none may panic, and every segment must be whole packets
/// starting with a PAT.
pub fn hls(data: &[u8]) {
    use crate::hls::segmenter::{Segmenter, SegmenterConfig};
    let [size, rest @ ..] = data else {
        return;
    };
    let per_chunk = (usize::from(*size % 16) + 1) * PACKET;
    let mut seg = Segmenter::new(SegmenterConfig {
        segment_duration: std::time::Duration::from_secs(1 + u64::from(*size >> 6)),
        window: 3,
        first_seq: u64::from(*size),
    });
    let mut now = jiff::Timestamp::UNIX_EPOCH;
    for piece in rest.chunks(per_chunk) {
        let whole = piece.len() / PACKET * PACKET;
        if whole == 0 {
            break;
        }
        let mut chunk = piece[..whole].to_vec();
        for p in chunk.chunks_exact_mut(PACKET) {
            p[0] = SYNC;
        }
        seg.push(&Bytes::from(chunk), now);
        now += jiff::SignedDuration::from_millis(40);
        let _ = seg.playlist(|n| format!("{n}.ts"));
        let _ = (seg.codecs(), seg.bandwidth(), seg.program());
        if let Some(last) = seg.latest_seq() {
            for n in last.saturating_sub(6)..=last {
                if let Some(s) = seg.segment(n) {
                    let bytes: Vec<u8> = s.parts.iter().flat_map(|b| b.iter().copied()).collect();
                    assert_eq!(bytes.len(), s.len, "segment length");
                    assert_eq!(bytes.len() % PACKET, 0, "whole packets");
                    assert!(ts::is_pat_start(&bytes[..PACKET]), "starts with a PAT");
                }
            }
        }
    }
}
