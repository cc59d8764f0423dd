//! [`MediaChecker`]: fed arbitrary slices of a body carrying real audio and video
//! (the simulator's `video = "h264"` / `"mpeg2"` contents, or anything else), it
//! proves the stream is clean where a decoder cares: continuity counters, a PCR
//! that only moves forward, and timestamps that only move forward per stream, in
//! steps no longer than `max_timestamp_step` says.

use std::collections::HashMap;

use super::fields::{
    TS_WRAP, discontinuity, has_payload, pat_first_pmt, pcr, pes_timestamps_at, pid, pmt_streams,
    random_access, read_timestamp, section, unit_start,
};
use super::{PACKET_SIZE, PAT_PID, SYNC_BYTE};

/// Reassembles 188-byte packets across slice boundaries and records what it saw.
#[derive(Debug, Clone, Default)]
pub struct MediaChecker {
    /// Complete packets seen.
    pub packets: u64,
    /// Bytes skipped because they were not a sync byte at a packet boundary.
    pub sync_errors: u64,
    /// Continuity-counter breaks on any PID, strictly: a repeated counter counts
    /// too (legal for a duplicate packet, but no source here sends duplicates).
    pub cc_errors: u64,
    /// PCRs seen.
    pub pcrs: u64,
    /// PCRs not after the one before (33-bit base wrap allowed).
    pub pcr_regressions: u64,
    /// The longest step between two PCRs, in 27 MHz ticks.
    pub max_pcr_step: u64,
    /// The elementary streams of the first PMT: (PID, stream_type).
    pub streams: Vec<(u16, u8)>,
    /// PES headers with a timestamp.
    pub timestamps: u64,
    /// Decode timestamps (the DTS, else the PTS) not after the previous one of
    /// the same PID (33-bit wrap allowed).
    pub timestamp_regressions: u64,
    /// Per PID, the longest step between two decode timestamps, in 90 kHz ticks.
    pub max_timestamp_step: HashMap<u16, u64>,
    /// PES starts with the random_access_indicator (keyframes, and audio frames
    /// where the muxer flags them).
    pub random_access_points: u64,
    /// Packets whose adaptation field sets `discontinuity_indicator`; after one,
    /// the PID's counter, timestamps (and the PCR) may jump without counting.
    pub discontinuities: u64,
    partial: Vec<u8>,
    last_cc: HashMap<u16, u8>,
    last_pcr: Option<u64>,
    last_ts: HashMap<u16, u64>,
    pmt_pid: Option<u16>,
}

impl MediaChecker {
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
                let (head, tail) = rest.split_at(take);
                self.partial.extend_from_slice(head);
                rest = tail;
                if self.partial.len() == PACKET_SIZE {
                    let mut pkt = [0u8; PACKET_SIZE];
                    pkt.copy_from_slice(&self.partial);
                    self.partial.clear();
                    self.packet(&pkt);
                }
            } else if rest.first() != Some(&SYNC_BYTE) {
                self.sync_errors += 1;
                rest = rest.get(1..).unwrap_or_default();
            } else if rest.len() >= PACKET_SIZE {
                let (pkt, tail) = rest.split_at(PACKET_SIZE);
                self.packet(pkt);
                rest = tail;
            } else {
                self.partial.extend_from_slice(rest);
                rest = &[];
            }
        }
    }

    /// Whether everything seen is clean: no sync or continuity errors, no PCR or
    /// timestamp going backwards.
    pub fn is_clean(&self) -> bool {
        self.sync_errors == 0
            && self.cc_errors == 0
            && self.pcr_regressions == 0
            && self.timestamp_regressions == 0
    }

    fn packet(&mut self, pkt: &[u8]) {
        self.packets += 1;
        let Some(pid) = pid(pkt) else { return };
        if pid == 0x1FFF {
            return;
        }
        let flagged = discontinuity(pkt);
        if flagged {
            self.discontinuities += 1;
            self.last_cc.remove(&pid);
            self.last_ts.remove(&pid);
            self.last_pcr = None;
        }
        self.check_cc(pid, pkt);
        if let Some(v) = pcr(pkt) {
            self.pcrs += 1;
            if let Some(last) = self.last_pcr {
                let step = (v + TS_WRAP * 300 - last) % (TS_WRAP * 300);
                if step == 0 || step > TS_WRAP * 150 {
                    self.pcr_regressions += 1;
                } else {
                    self.max_pcr_step = self.max_pcr_step.max(step);
                }
            }
            self.last_pcr = Some(v);
        }
        if self.streams.is_empty() {
            self.tables(pid, pkt);
        }
        let (pts_at, dts_at) = pes_timestamps_at(pkt);
        if let Some(at) = dts_at.or(pts_at) {
            self.timestamps += 1;
            let v = pkt.get(at..).map(read_timestamp).unwrap_or(0);
            if let Some(last) = self.last_ts.insert(pid, v) {
                let step = (v + TS_WRAP - last) % TS_WRAP;
                if step == 0 || step > TS_WRAP / 2 {
                    self.timestamp_regressions += 1;
                } else {
                    let max = self.max_timestamp_step.entry(pid).or_default();
                    *max = (*max).max(step);
                }
            }
        }
        if unit_start(pkt) && random_access(pkt) {
            self.random_access_points += 1;
        }
    }

    fn check_cc(&mut self, pid: u16, pkt: &[u8]) {
        let Some(cc) = pkt.get(3).map(|b| b & 0x0F) else {
            return;
        };
        // A packet without payload keeps the counter; one with payload moves it.
        let moves = has_payload(pkt);
        if let Some(last) = self.last_cc.insert(pid, cc) {
            let expected = if moves { (last + 1) % 16 } else { last };
            if cc != expected {
                self.cc_errors += 1;
            }
        }
    }

    /// Learns the PMT PID from a PAT, then the streams from that PMT.
    fn tables(&mut self, pid: u16, pkt: &[u8]) {
        let Some(sec) = section(pkt) else { return };
        if pid == PAT_PID {
            self.pmt_pid = self.pmt_pid.or(pat_first_pmt(sec));
        } else if Some(pid) == self.pmt_pid
            && let Some((_, streams)) = pmt_streams(sec)
        {
            self.streams = streams;
        }
    }
}
