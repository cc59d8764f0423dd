//! Joins a new source onto a running stream so players resync instead of glitching
//! (ISO/IEC 13818-1 §2.4.3.5; CLIENTS.md §3.5).
//!
//! When a channel switches link (or re-opens its engine session, which resumes at
//! another position), the new source's bytes are cut in at its first PAT, so a
//! player meets the new PAT and PMT before any of its media; and the first packet
//! of every PID after the cut carries `discontinuity_indicator`, which makes the
//! jump in continuity counters and PCR legal. A packet that has an adaptation
//! field gets the flag set in place; one without gets an adaptation-field-only
//! packet in front of it (no payload, so it does not advance the counter: its CC
//! is the next packet's minus one).
//!
//! During the gap before the new source's first PAT, [`null_packets`] keep the
//! viewers' sockets busy (PID 0x1FFF, which decoders discard).

use bytes::Bytes;

use crate::ts::{PACKET, SYNC, is_pat_start, pid};

/// The null PID: stuffing that every demuxer drops.
pub const NULL_PID: u16 = 0x1FFF;

/// Packets after the cut during which PIDs seen for the first time are still
/// flagged (a second or more of any real stream: every PID has shown up by then).
const MARK_WINDOW: u32 = 8192;

/// The splice state of one new source.
#[derive(Debug, Default)]
pub struct Splicer {
    /// Seen the new source's first PAT.
    cut: bool,
    /// PIDs already flagged.
    marked: Vec<u16>,
    /// Packets passed since the cut.
    since_cut: u32,
    /// Packets dropped before the first PAT.
    pub dropped: u64,
}

impl Splicer {
    /// A splicer waiting for the new source's first PAT.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the splice is complete (everything after passes untouched).
    pub fn done(&self) -> bool {
        self.cut && self.since_cut >= MARK_WINDOW
    }

    /// Takes a packet-aligned chunk of the new source; returns what the viewers
    /// get of it (nothing until the first PAT).
    pub fn apply(&mut self, chunk: Bytes) -> Option<Bytes> {
        if self.done() {
            return Some(chunk);
        }
        let mut out: Vec<u8> = Vec::with_capacity(chunk.len() + 2 * PACKET);
        for packet in chunk.chunks_exact(PACKET) {
            if !self.cut {
                if !is_pat_start(packet) {
                    self.dropped += 1;
                    continue;
                }
                self.cut = true;
            }
            self.since_cut = self.since_cut.saturating_add(1);
            let p = pid(packet);
            if p == NULL_PID || self.marked.contains(&p) || self.since_cut > MARK_WINDOW {
                out.extend_from_slice(packet);
                continue;
            }
            self.marked.push(p);
            let control = (packet[3] >> 4) & 0b11;
            let has_adaptation = control & 0b10 != 0;
            if has_adaptation && packet[4] > 0 {
                let at = out.len();
                out.extend_from_slice(packet);
                out[at + 5] |= 0x80;
            } else {
                out.extend_from_slice(&discontinuity_packet(p, packet[3] & 0x0F));
                out.extend_from_slice(packet);
            }
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }
}

/// An adaptation-field-only packet on `pid` flagging a discontinuity, placed in
/// front of a packet whose continuity counter is `next_cc`.
fn discontinuity_packet(pid: u16, next_cc: u8) -> [u8; PACKET] {
    let mut p = [0xFF; PACKET];
    p[0] = SYNC;
    p[1] = ((pid >> 8) as u8) & 0x1F;
    p[2] = pid as u8;
    // Adaptation field only (no payload), so the counter does not advance here.
    p[3] = 0x20 | (next_cc.wrapping_sub(1) & 0x0F);
    p[4] = (PACKET - 5) as u8;
    p[5] = 0x80;
    p
}

/// `n` null packets, to keep sockets alive while a channel has no source.
pub fn null_packets(n: usize) -> Bytes {
    let mut packet = [0xFF; PACKET];
    packet[0] = SYNC;
    packet[1] = (NULL_PID >> 8) as u8;
    packet[2] = NULL_PID as u8;
    packet[3] = 0x10;
    let mut out = Vec::with_capacity(n * PACKET);
    for _ in 0..n {
        out.extend_from_slice(&packet);
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ts::tests::packet;

    fn with_cc(mut p: Vec<u8>, cc: u8) -> Vec<u8> {
        p[3] = (p[3] & 0xF0) | cc;
        p
    }

    #[test]
    fn the_cut_is_at_the_first_pat_and_every_pid_is_flagged_once() {
        let mut input = Vec::new();
        input.extend(packet(0x100, false, false, 1)); // before the PAT: dropped
        input.extend(with_cc(packet(0, true, false, 2), 5)); // PAT, no AF
        input.extend(with_cc(packet(0x100, true, true, 3), 9)); // keyframe, has AF
        input.extend(packet(0x100, false, false, 4)); // same PID: untouched
        input.extend(null_packets(1));
        let out = Splicer::new().apply(Bytes::from(input)).unwrap();
        let packets: Vec<&[u8]> = out.chunks(PACKET).collect();
        assert_eq!(
            packets.len(),
            5,
            "flag packet + PAT + keyframe + data + null"
        );
        // The PAT got an adaptation-only discontinuity packet in front, CC - 1.
        assert_eq!(pid(packets[0]), 0);
        assert_eq!(packets[0][3], 0x20 | 4);
        assert_eq!(packets[0][5], 0x80);
        assert!(is_pat_start(packets[1]));
        // The keyframe's own adaptation field carries the flag, its RAI kept.
        assert_eq!(packets[2][5], 0x80 | 0x40);
        assert_eq!(
            packets[3][3] & 0x20,
            0,
            "a second packet of a PID is untouched"
        );
        assert_eq!(pid(packets[4]), NULL_PID);
    }

    #[test]
    fn nothing_passes_until_a_pat() {
        let mut s = Splicer::new();
        assert!(
            s.apply(Bytes::from(packet(0x100, false, false, 0)))
                .is_none()
        );
        assert_eq!(s.dropped, 1);
        assert!(!s.done());
    }
}
