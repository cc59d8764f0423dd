//! [`TsChecker`]: fed arbitrary slices of a received body, it proves (or disproves)
//! that a client got a contiguous run of the simulator's stream.

use std::collections::HashMap;

use super::{MAGIC, PACKET_SIZE, PAT_PID, SYNC_BYTE, VIDEO_PID};

/// Reassembles 188-byte packets across slice boundaries and records what it saw.
#[derive(Debug, Clone, Default)]
pub struct TsChecker {
    /// Complete packets seen.
    pub packets: u64,
    /// Bytes skipped because they were not a sync byte at a packet boundary.
    pub sync_errors: u64,
    /// PID of the first packet (0 = the body started at a PAT).
    pub first_pid: Option<u16>,
    /// Sequence number of the first data packet.
    pub first_seq: Option<u64>,
    /// Highest sequence number seen.
    pub last_seq: Option<u64>,
    /// Jumps forward in the data sequence (a seq that is not last + 1).
    pub gaps: u64,
    /// Data packets missing in those jumps.
    pub gap_packets: u64,
    /// Data packets whose seq was not above the last one.
    pub duplicates_or_reorders: u64,
    /// PAT packets seen.
    pub pats: u64,
    /// Data packets seen (those carrying a sequence number).
    pub data_packets: u64,
    /// Data packets with the random_access_indicator (keyframes).
    pub random_access_points: u64,
    /// Continuity-counter breaks on any PID. Not part of [`Self::is_contiguous`],
    /// since a gap in the sequence already implies one.
    pub cc_errors: u64,
    /// Packets on the video PID without the simulator's payload.
    pub foreign_payloads: u64,
    partial: Vec<u8>,
    last_cc: HashMap<u16, u8>,
}

impl TsChecker {
    /// An empty checker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the body, in any slicing.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            if !self.partial.is_empty() {
                let take = (PACKET_SIZE - self.partial.len()).min(rest.len());
                self.partial.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if self.partial.len() == PACKET_SIZE {
                    let mut pkt = [0u8; PACKET_SIZE];
                    pkt.copy_from_slice(&self.partial);
                    self.partial.clear();
                    self.packet(&pkt);
                }
            } else if rest[0] != SYNC_BYTE {
                self.sync_errors += 1;
                rest = &rest[1..];
            } else if rest.len() >= PACKET_SIZE {
                // Fast path: whole packets straight from the slice, no copy.
                let (pkt, tail) = rest.split_at(PACKET_SIZE);
                self.packet(pkt);
                rest = tail;
            } else {
                self.partial.extend_from_slice(rest);
                rest = &[];
            }
        }
    }

    /// Whether everything seen so far is one contiguous run: no gaps, no
    /// duplicates or reorders, no sync errors.
    pub fn is_contiguous(&self) -> bool {
        self.gaps == 0 && self.duplicates_or_reorders == 0 && self.sync_errors == 0
    }

    /// Bytes of an incomplete trailing packet, waiting for the rest.
    pub fn partial_bytes(&self) -> usize {
        self.partial.len()
    }

    fn packet(&mut self, pkt: &[u8]) {
        self.packets += 1;
        let pid = (u16::from(pkt[1] & 0x1F) << 8) | u16::from(pkt[2]);
        self.first_pid.get_or_insert(pid);
        let afc = (pkt[3] >> 4) & 0x3;
        let has_payload = afc & 0x1 != 0;
        if has_payload {
            self.check_cc(pid, pkt[3] & 0x0F);
        }
        if pid == PAT_PID {
            self.pats += 1;
        }
        if pid != VIDEO_PID || !has_payload {
            return;
        }
        let mut at = 4;
        if afc & 0x2 != 0 {
            let af_len = usize::from(pkt[4]);
            if af_len > 0 && pkt[5] & 0x40 != 0 {
                self.random_access_points += 1;
            }
            at = 5 + af_len;
        }
        match pkt.get(at..at + MAGIC.len() + 8) {
            Some(p) if &p[..MAGIC.len()] == MAGIC => {
                let mut seq = [0u8; 8];
                seq.copy_from_slice(&p[MAGIC.len()..]);
                self.data(u64::from_be_bytes(seq));
            }
            _ => self.foreign_payloads += 1,
        }
    }

    fn check_cc(&mut self, pid: u16, cc: u8) {
        if let Some(last) = self.last_cc.insert(pid, cc) {
            // An equal counter is a legal duplicate packet; anything else but +1 is a break.
            if cc != (last + 1) % 16 && cc != last {
                self.cc_errors += 1;
            }
        }
    }

    fn data(&mut self, seq: u64) {
        self.data_packets += 1;
        self.first_seq.get_or_insert(seq);
        match self.last_seq {
            None => self.last_seq = Some(seq),
            Some(last) if seq == last + 1 => self.last_seq = Some(seq),
            Some(last) if seq > last => {
                self.gaps += 1;
                self.gap_packets += seq - last - 1;
                self.last_seq = Some(seq);
            }
            Some(_) => self.duplicates_or_reorders += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::ts::{position_of_seq, write_packets};

    fn stream(from: u64, to: u64) -> BytesMut {
        let mut b = BytesMut::new();
        write_packets(&mut b, from, to);
        b
    }

    #[test]
    fn packets_split_across_feeds_reassemble() {
        let s = stream(0, 200);
        let mut c = TsChecker::new();
        // Odd slice sizes cut packets anywhere, including one byte at a time.
        let mut rest = &s[..];
        let mut n = 1;
        while !rest.is_empty() {
            let k = n.min(rest.len());
            c.feed(&rest[..k]);
            rest = &rest[k..];
            n = (n * 7 + 3) % 501 + 1;
        }
        assert!(c.is_contiguous(), "{c:?}");
        assert_eq!(c.packets, 200);
        assert_eq!(c.partial_bytes(), 0);
        assert_eq!(c.cc_errors, 0);
    }

    #[test]
    fn trailing_partial_packet_is_reported() {
        let s = stream(0, 3);
        let mut c = TsChecker::new();
        c.feed(&s[..PACKET_SIZE * 2 + 10]);
        assert_eq!(c.packets, 2);
        assert_eq!(c.partial_bytes(), 10);
    }

    #[test]
    fn a_gap_is_counted_with_its_missing_packets() {
        let mut c = TsChecker::new();
        c.feed(&stream(0, 40));
        // Skip one whole cycle: 38 data packets missing.
        c.feed(&stream(80, 120));
        assert_eq!(c.gaps, 1);
        assert_eq!(c.gap_packets, 38);
        assert!(!c.is_contiguous());
        assert_eq!(c.first_seq, Some(0));
        assert_eq!(c.last_seq, Some(38 * 3 - 1));
    }

    #[test]
    fn a_duplicate_is_counted() {
        let mut c = TsChecker::new();
        let p = position_of_seq(10);
        c.feed(&stream(0, p + 1));
        c.feed(&stream(p, p + 1));
        assert_eq!(c.duplicates_or_reorders, 1);
        assert_eq!(c.gaps, 0);
        assert!(!c.is_contiguous());
    }

    #[test]
    fn garbage_between_packets_is_a_sync_error() {
        let mut c = TsChecker::new();
        c.feed(&stream(0, 5));
        c.feed(&[0x00, 0x12, 0x34]);
        c.feed(&stream(5, 10));
        assert_eq!(c.sync_errors, 3);
        assert_eq!(c.packets, 10);
        assert!(!c.is_contiguous());
    }

    #[test]
    fn a_body_starting_mid_packet_is_a_sync_error() {
        let s = stream(0, 10);
        let mut c = TsChecker::new();
        c.feed(&s[100..]);
        assert!(c.sync_errors > 0);
    }
}
