//! [`TsChecker`]: fed arbitrary slices of a received body, it proves (or disproves)
//! that a client got a contiguous run of the simulator's stream — or, for a body
//! that switched source (a proxy's failover), contiguous runs joined by valid
//! splices.
//!
//! A splice is where a new run begins: a data packet with another content's tag,
//! or the first data packet after a `discontinuity_indicator` on the video PID
//! (the same content re-opened). At a splice the sequence and continuity counters
//! may jump; that is legal, and not counted as a gap, when the packet carries the
//! flag. A splice is valid when the video PID was flagged before or at the new
//! run's first data packet, and a PAT came between the old run's last data packet
//! and the new run's first (the new source starts at its PAT). Null packets
//! (PID 0x1FFF, a proxy's keep-alive) are counted and otherwise ignored.

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
    /// Packets (any PID) whose adaptation field sets `discontinuity_indicator`.
    pub discontinuities: u64,
    /// The content tags seen, one entry per run of equal tags, in order.
    pub tags: Vec<u32>,
    /// New runs begun (see the module doc).
    pub splices: u64,
    /// Splices whose new run began after a PAT.
    pub splices_at_pat: u64,
    /// Splices whose video PID carried the discontinuity flag.
    pub splices_flagged: u64,
    /// Null packets (PID 0x1FFF).
    pub null_packets: u64,
    /// Data packets of the current run.
    run_data_packets: u64,
    /// A PAT came since the last data packet.
    pat_since_data: bool,
    /// The video PID was flagged since the last data packet.
    video_flag_pending: bool,
    partial: Vec<u8>,
    last_cc: HashMap<u16, u8>,
}

/// The null PID.
const NULL_PID: u16 = 0x1FFF;

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

    /// Whether everything seen is contiguous runs joined by valid splices: each
    /// run without gaps or duplicates, no sync errors, every splice flagged and
    /// begun at a PAT.
    pub fn is_valid_spliced(&self) -> bool {
        self.is_contiguous()
            && self.splices_at_pat == self.splices
            && self.splices_flagged == self.splices
    }

    /// Data packets since the last splice (or the start).
    pub fn data_packets_since_splice(&self) -> u64 {
        self.run_data_packets
    }

    /// Bytes of an incomplete trailing packet, waiting for the rest.
    pub fn partial_bytes(&self) -> usize {
        self.partial.len()
    }

    fn packet(&mut self, pkt: &[u8]) {
        self.packets += 1;
        let pid = (u16::from(pkt[1] & 0x1F) << 8) | u16::from(pkt[2]);
        self.first_pid.get_or_insert(pid);
        if pid == NULL_PID {
            self.null_packets += 1;
            return;
        }
        let afc = (pkt[3] >> 4) & 0x3;
        let has_payload = afc & 0x1 != 0;
        let flagged = afc & 0x2 != 0 && pkt[4] > 0 && pkt[5] & 0x80 != 0;
        if flagged {
            self.discontinuities += 1;
            // The counter may jump here: start its expectation afresh.
            self.last_cc.insert(pid, pkt[3] & 0x0F);
            if pid == VIDEO_PID {
                self.video_flag_pending = true;
            }
        } else if has_payload {
            self.check_cc(pid, pkt[3] & 0x0F);
        }
        if pid == PAT_PID {
            self.pats += 1;
            self.pat_since_data = true;
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
        match pkt.get(at..at + MAGIC.len() + 12) {
            Some(p) if &p[..MAGIC.len()] == MAGIC => {
                let mut seq = [0u8; 8];
                seq.copy_from_slice(&p[MAGIC.len()..MAGIC.len() + 8]);
                let mut tag = [0u8; 4];
                tag.copy_from_slice(&p[MAGIC.len() + 8..]);
                self.splice_check(u32::from_be_bytes(tag));
                self.data(u64::from_be_bytes(seq));
            }
            _ => self.foreign_payloads += 1,
        }
    }

    /// Before a data packet of content `tag`: does a new run begin here?
    fn splice_check(&mut self, tag: u32) {
        let new_tag = self.tags.last() != Some(&tag);
        let reopened = !new_tag && self.video_flag_pending;
        if self.tags.is_empty() {
            self.tags.push(tag);
        } else if new_tag || reopened {
            if new_tag {
                self.tags.push(tag);
            }
            self.splices += 1;
            self.splices_at_pat += u64::from(self.pat_since_data);
            self.splices_flagged += u64::from(self.video_flag_pending);
            if self.video_flag_pending {
                // A legal jump: the new run's sequence starts afresh.
                self.last_seq = None;
            }
            self.run_data_packets = 0;
        }
        self.pat_since_data = false;
        self.video_flag_pending = false;
        self.run_data_packets += 1;
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
        write_packets(&mut b, from, to, 0);
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

    fn tagged(from: u64, to: u64, tag: u32) -> BytesMut {
        let mut b = BytesMut::new();
        write_packets(&mut b, from, to, tag);
        b
    }

    /// Sets the discontinuity flag in packet `i` of `b` (it must have an
    /// adaptation field: the keyframe packet, third of a cycle).
    fn flag(b: &mut BytesMut, i: usize) {
        b[i * PACKET_SIZE + 5] |= 0x80;
    }

    /// An adaptation-field-only packet on `pid` flagging a discontinuity.
    fn flag_packet(pid: u16, cc: u8) -> [u8; PACKET_SIZE] {
        let mut p = [0xFF; PACKET_SIZE];
        p[0] = SYNC_BYTE;
        p[1] = (pid >> 8) as u8;
        p[2] = pid as u8;
        p[3] = 0x20 | (cc & 0x0F);
        p[4] = 183;
        p[5] = 0x80;
        p
    }

    #[test]
    fn a_flagged_switch_at_a_pat_is_a_valid_splice_and_its_jump_no_gap() {
        let mut c = TsChecker::new();
        c.feed(&tagged(0, 100, 0xAAAA_0001));
        // The second source starts at its own PAT (position 4000, another
        // sequence), its keyframe flagged; PAT and PMT flagged by inserted packets.
        let mut second = tagged(4000, 4100, 0xBBBB_0002);
        flag(&mut second, 2);
        c.feed(&flag_packet(PAT_PID, 0));
        c.feed(&second);
        assert_eq!(c.tags, vec![0xAAAA_0001, 0xBBBB_0002]);
        assert_eq!((c.splices, c.splices_at_pat, c.splices_flagged), (1, 1, 1));
        assert_eq!(c.gaps, 0, "{c:?}");
        assert!(c.is_valid_spliced(), "{c:?}");
        assert!(c.discontinuities >= 2);
        assert_eq!(
            c.data_packets_since_splice(),
            94,
            "data packets of 4000..4100"
        );
    }

    #[test]
    fn a_switch_without_the_flag_or_not_at_a_pat_is_not_valid() {
        let mut c = TsChecker::new();
        c.feed(&tagged(0, 100, 1));
        c.feed(&tagged(4000, 4100, 2));
        assert_eq!(c.splices, 1);
        assert!(!c.is_valid_spliced(), "no discontinuity flag: {c:?}");

        let mut c = TsChecker::new();
        c.feed(&tagged(0, 45, 1)); // ends just after a PAT+PMT+3 data packets
        let mid = tagged(4010, 4100, 2); // starts mid-cycle: no PAT first
        c.feed(&flag_packet(VIDEO_PID, 0));
        c.feed(&mid);
        assert_eq!(c.splices, 1);
        assert_eq!(c.splices_at_pat, 0, "{c:?}");
        assert!(!c.is_valid_spliced());
    }

    #[test]
    fn the_same_content_reopened_with_the_flag_is_a_splice_and_nulls_are_ignored() {
        let mut c = TsChecker::new();
        c.feed(&tagged(0, 80, 7));
        let mut nulls = BytesMut::new();
        for _ in 0..3 {
            nulls.extend_from_slice(&flag_packet(NULL_PID, 0));
        }
        c.feed(&nulls);
        // Re-opened 1 s back in the stream: a repeat, legal with the flag.
        let mut again = tagged(40, 200, 7);
        flag(&mut again, 2);
        c.feed(&again);
        assert_eq!(c.tags, vec![7]);
        assert_eq!(c.splices, 1);
        assert_eq!(c.null_packets, 3);
        assert_eq!(c.duplicates_or_reorders, 0, "{c:?}");
        assert!(c.is_valid_spliced(), "{c:?}");
    }

    #[test]
    fn a_body_starting_mid_packet_is_a_sync_error() {
        let s = stream(0, 10);
        let mut c = TsChecker::new();
        c.feed(&s[100..]);
        assert!(c.sync_errors > 0);
    }
}
