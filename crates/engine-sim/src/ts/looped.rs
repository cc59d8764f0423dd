//! A real MPEG-TS file played as an endless live channel ([`VideoLoop`]), and the
//! two test cards the simulator embeds ([`test_card`]).
//!
//! Packet `p` of the live stream is packet `p % n` of the file (`n` packets), in
//! iteration `k = p / n`, rewritten so the iterations join into one clean stream:
//! PCR, PTS and DTS move forward by `k` loop lengths (33-bit wrap, the PCR's
//! extension kept), and every PID's continuity counter goes on counting where the
//! previous iteration left it. The loop length is the video's: from its first
//! frame to one frame after its last. So the file must hold whole frames of every
//! stream within that length (`scripts/make_test_video.sh` cuts the audio so it
//! does); [`VideoLoop::parse`] refuses a file whose timestamps would overlap the
//! next iteration's.
//!
//! Pacing follows the file's own clock: a packet's stream time is interpolated
//! between the PCRs around it (across the loop seam too), so the bytes come at
//! the rate a broadcaster's muxer put them out, keyframe bursts included.

use std::collections::HashMap;
use std::sync::LazyLock;

use bytes::BytesMut;

use super::fields::{
    TS_WRAP, has_payload, pat_first_pmt, pcr, pcr_at, pes_timestamps_at, pid, pmt_streams,
    random_access, read_pcr_base, read_timestamp, section, unit_start, write_pcr_base,
    write_timestamp,
};
use super::{PACKET_SIZE, PAT_PID, SYNC_BYTE};
use crate::content::Video;

/// PMT stream types of video: MPEG-1, MPEG-2, MPEG-4 part 2, H.264, H.265.
const VIDEO_STREAM_TYPES: [u8; 5] = [0x01, 0x02, 0x10, 0x1B, 0x24];
/// 27 MHz PCR ticks per 90 kHz tick.
const PCR_PER_TICK: u64 = 300;

/// What [`VideoLoop::write_packets`] rewrites in one packet of the file.
#[derive(Clone, Copy, Debug)]
struct Patch {
    /// Payload-carrying packets of this PID before this one in the file.
    cc_index: u64,
    /// Payload-carrying packets of this PID in the whole file: how far its
    /// continuity counter moves per iteration.
    cc_per_loop: u64,
    has_payload: bool,
    /// The file's PCR base (90 kHz), if the packet carries a PCR.
    pcr_base: Option<u64>,
    /// Offset and value of the PES header's PTS, if one starts here.
    pts: Option<(usize, u64)>,
    /// Offset and value of its DTS.
    dts: Option<(usize, u64)>,
}

/// One file, ready to loop; see the module doc.
#[derive(Debug)]
pub(crate) struct VideoLoop {
    /// The file's packets.
    bytes: Vec<u8>,
    /// One entry per packet.
    patches: Vec<Patch>,
    /// Loop length in 90 kHz ticks: what every timestamp moves per iteration.
    duration_90k: u64,
    /// Stream time of each packet, in seconds from packet 0 (non-decreasing, all
    /// below the loop length).
    times: Vec<f64>,
    /// Packet indices a reader may start at: a PAT after which the video's next
    /// packet starts a keyframe. Sorted, never empty.
    joins: Vec<u64>,
}

static H264_AAC: LazyLock<Result<VideoLoop, String>> =
    LazyLock::new(|| VideoLoop::parse(include_bytes!("../../assets/h264_aac.ts")));
static MPEG2_MP2: LazyLock<Result<VideoLoop, String>> =
    LazyLock::new(|| VideoLoop::parse(include_bytes!("../../assets/mpeg2_mp2.ts")));

/// The embedded file a content of kind `video` loops; `None` for synthetic. An
/// error means the embedded file does not parse: a broken build.
pub(crate) fn test_card(video: Video) -> Result<Option<&'static VideoLoop>, String> {
    let card = match video {
        Video::Synthetic => return Ok(None),
        Video::H264 => &*H264_AAC,
        Video::Mpeg2 => &*MPEG2_MP2,
    };
    card.as_ref()
        .map(Some)
        .map_err(|e| format!("the embedded {video:?} test card: {e}"))
}

impl VideoLoop {
    /// Prepares `file` (whole 188-byte packets, one program with a video stream
    /// and PCRs) for looping.
    pub(crate) fn parse(file: &[u8]) -> Result<VideoLoop, String> {
        if file.is_empty() || !file.len().is_multiple_of(PACKET_SIZE) {
            return Err(format!("{} bytes is not whole packets", file.len()));
        }
        let packets: Vec<&[u8]> = file.chunks_exact(PACKET_SIZE).collect();
        if let Some(i) = packets.iter().position(|p| p[0] != SYNC_BYTE) {
            return Err(format!("packet {i} has no sync byte"));
        }
        let streams = first_pmt(&packets).ok_or("no PAT and PMT")?;
        let video_pid = streams
            .iter()
            .find(|(_, ty)| VIDEO_STREAM_TYPES.contains(ty))
            .map(|(pid, _)| *pid)
            .ok_or("no video stream in the PMT")?;

        let mut patches = Vec::with_capacity(packets.len());
        let mut cc_counts: HashMap<u16, u64> = HashMap::new();
        let mut pcrs: Vec<(usize, u64)> = Vec::new();
        // Per PID: the lowest and highest PTS.
        let mut pts_range: HashMap<u16, (u64, u64)> = HashMap::new();
        let mut video_pts: Vec<u64> = Vec::new();
        let mut joins = Vec::new();
        let mut pat_before_video: Option<usize> = None;
        for (i, pkt) in packets.iter().enumerate() {
            let pid = pid(pkt).unwrap_or_default();
            let count = cc_counts.entry(pid).or_default();
            let payload = has_payload(pkt);
            let cc_index = *count;
            *count += u64::from(payload);
            let (pts_at, dts_at) = pes_timestamps_at(pkt);
            let pts = pts_at.map(|at| (at, read_timestamp(&pkt[at..])));
            let dts = dts_at.map(|at| (at, read_timestamp(&pkt[at..])));
            let pcr_base = pcr_at(pkt).map(|at| read_pcr_base(&pkt[at..]));
            if let Some(v) = pcr(pkt) {
                pcrs.push((i, v));
            }
            if let Some((_, v)) = pts {
                let r = pts_range.entry(pid).or_insert((v, v));
                *r = (r.0.min(v), r.1.max(v));
                if pid == video_pid {
                    video_pts.push(v);
                }
            }
            if pid == PAT_PID {
                pat_before_video = Some(i);
            } else if pid == video_pid && unit_start(pkt) {
                if let Some(pat) = pat_before_video.filter(|_| random_access(pkt)) {
                    joins.push(pat as u64);
                }
                pat_before_video = None;
            }
            patches.push(Patch {
                cc_index,
                cc_per_loop: 0,
                has_payload: payload,
                pcr_base,
                pts,
                dts,
            });
        }
        for (patch, pkt) in patches.iter_mut().zip(&packets) {
            patch.cc_per_loop = cc_counts
                .get(&pid(pkt).unwrap_or_default())
                .copied()
                .unwrap_or(0);
        }
        if joins.is_empty() {
            return Err("no PAT before a video keyframe".into());
        }
        let duration_90k = video_length(&mut video_pts)?;
        for (pid, (lo, hi)) in &pts_range {
            if hi - lo >= duration_90k {
                return Err(format!(
                    "PID {pid:#x} spans {} ticks, not within the video's {duration_90k}",
                    hi - lo
                ));
            }
        }
        let times = packet_times(&pcrs, packets.len(), duration_90k)?;
        Ok(VideoLoop {
            bytes: file.to_vec(),
            patches,
            duration_90k,
            times,
            joins,
        })
    }

    /// Packets in one iteration.
    fn len(&self) -> u64 {
        self.patches.len() as u64
    }

    /// Loop length in seconds.
    pub(crate) fn duration_secs(&self) -> f64 {
        self.duration_90k as f64 / 90_000.0
    }

    /// Average bitrate of the file, TS overhead included.
    pub(crate) fn bitrate_bps(&self) -> u64 {
        (self.bytes.len() as f64 * 8.0 / self.duration_secs()) as u64
    }

    /// Packets of the live stream whose stream time is before `secs`.
    pub(crate) fn pos_at(&self, secs: f64) -> u64 {
        let d = self.duration_secs();
        let k = (secs.max(0.0) / d).floor();
        let into = secs.max(0.0) - k * d;
        k as u64 * self.len() + self.times.partition_point(|&t| t < into) as u64
    }

    /// Stream time of packet `p`, in seconds.
    pub(crate) fn secs_at(&self, p: u64) -> f64 {
        let (k, i) = (p / self.len(), (p % self.len()) as usize);
        k as f64 * self.duration_secs() + self.times.get(i).copied().unwrap_or(0.0)
    }

    /// The last place to join at or before `p` (the first one of the stream if
    /// `p` comes before it).
    pub(crate) fn join_floor(&self, p: u64) -> u64 {
        let (k, i) = (p / self.len(), p % self.len());
        let before = self.joins.partition_point(|&j| j <= i);
        match (before.checked_sub(1).and_then(|b| self.joins.get(b)), k) {
            (Some(j), _) => k * self.len() + j,
            (None, 0) => self.joins.first().copied().unwrap_or(0),
            (None, _) => (k - 1) * self.len() + self.joins.last().copied().unwrap_or(0),
        }
    }

    /// The first place to join at or after `p`.
    pub(crate) fn join_ceil(&self, p: u64) -> u64 {
        let (k, i) = (p / self.len(), p % self.len());
        let before = self.joins.partition_point(|&j| j < i);
        match self.joins.get(before) {
            Some(j) => k * self.len() + j,
            None => (k + 1) * self.len() + self.joins.first().copied().unwrap_or(0),
        }
    }

    /// Appends packets `from..to` of the live stream to `out`.
    pub(crate) fn write_packets(&self, out: &mut BytesMut, from: u64, to: u64) {
        out.reserve((to.saturating_sub(from) as usize) * PACKET_SIZE);
        for p in from..to {
            let (k, i) = (p / self.len(), (p % self.len()) as usize);
            let (Some(patch), Some(src)) = (
                self.patches.get(i),
                self.bytes.get(i * PACKET_SIZE..(i + 1) * PACKET_SIZE),
            ) else {
                continue;
            };
            let start = out.len();
            out.extend_from_slice(src);
            let pkt = &mut out[start..];
            // A packet without payload repeats the counter of the one before it.
            let cc = (k % 16) * (patch.cc_per_loop % 16)
                + patch.cc_index
                + if patch.has_payload { 0 } else { 15 };
            pkt[3] = (pkt[3] & 0xF0) | (cc % 16) as u8;
            if k == 0 {
                continue;
            }
            let shift =
                ((u128::from(k) * u128::from(self.duration_90k)) % u128::from(TS_WRAP)) as u64;
            if let Some(base) = patch.pcr_base {
                write_pcr_base(&mut pkt[6..12], base + shift);
            }
            for (at, v) in [patch.pts, patch.dts].into_iter().flatten() {
                write_timestamp(&mut pkt[at..at + 5], v + shift);
            }
        }
    }
}

/// The elementary streams of the file's first PMT.
fn first_pmt(packets: &[&[u8]]) -> Option<Vec<(u16, u8)>> {
    let pmt_pid = packets
        .iter()
        .filter(|p| pid(p) == Some(PAT_PID))
        .find_map(|p| section(p).and_then(pat_first_pmt))?;
    packets
        .iter()
        .filter(|p| pid(p) == Some(pmt_pid))
        .find_map(|p| section(p).and_then(pmt_streams))
        .map(|(_, streams)| streams)
}

/// The video's length in 90 kHz ticks, from its presentation timestamps: first
/// to last, plus one frame (the smallest step between two of them).
fn video_length(pts: &mut [u64]) -> Result<u64, String> {
    pts.sort_unstable();
    let frame = pts
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|&d| d > 0)
        .min()
        .ok_or("fewer than two video frames")?;
    let span = pts.last().copied().unwrap_or(0) - pts.first().copied().unwrap_or(0);
    if span > TS_WRAP / 2 {
        return Err("video timestamps wrap within the file".into());
    }
    Ok(span + frame)
}

/// Each packet's stream time in seconds from packet 0: linear between the PCRs
/// around it, where the PCRs of the next and the previous iteration (moved by one
/// loop length) close the seam.
fn packet_times(pcrs: &[(usize, u64)], n: usize, duration_90k: u64) -> Result<Vec<f64>, String> {
    let (Some(&(first_i, first)), Some(&(last_i, last))) = (pcrs.first(), pcrs.last()) else {
        return Err("no PCR".into());
    };
    let loop_pcr = duration_90k * PCR_PER_TICK;
    if pcrs.windows(2).any(|w| w[1].1 < w[0].1) || last >= first + loop_pcr {
        return Err("PCR goes backwards within the loop".into());
    }
    // Anchors as (packet index, 27 MHz time), indices relative to this iteration.
    let n = n as i64;
    let mut anchors: Vec<(i64, f64)> = Vec::with_capacity(pcrs.len() + 2);
    anchors.push((last_i as i64 - n, last as f64 - loop_pcr as f64));
    anchors.extend(pcrs.iter().map(|&(i, v)| (i as i64, v as f64)));
    anchors.push((first_i as i64 + n, (first + loop_pcr) as f64));
    let mut times = Vec::with_capacity(n as usize);
    let mut seg = 0;
    for i in 0..n {
        while seg + 2 < anchors.len() && anchors[seg + 1].0 <= i {
            seg += 1;
        }
        let ((i0, t0), (i1, t1)) = (anchors[seg], anchors[seg + 1]);
        let t = t0 + (t1 - t0) * (i - i0) as f64 / (i1 - i0).max(1) as f64;
        times.push(t);
    }
    let origin = times.first().copied().unwrap_or(0.0);
    Ok(times.iter().map(|t| (t - origin) / 27e6).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ts::MediaChecker;

    fn card(video: Video) -> &'static VideoLoop {
        test_card(video).unwrap().unwrap()
    }

    fn stream(card: &VideoLoop, from: u64, to: u64) -> BytesMut {
        let mut out = BytesMut::new();
        card.write_packets(&mut out, from, to);
        out
    }

    fn check(bytes: &[u8]) -> MediaChecker {
        let mut c = MediaChecker::new();
        c.feed(bytes);
        c
    }

    #[test]
    fn the_test_cards_load_with_whole_frame_loops() {
        let h264 = card(Video::H264);
        // 320 frames at 25 fps; 600 AAC frames of 1024 samples at 48 kHz.
        assert_eq!(h264.duration_90k, 12_800 * 90);
        // A keyframe every second: 13 places to join, the first right at the
        // start (after ffmpeg's leading SDT).
        assert_eq!(h264.joins.len(), 13);
        assert_eq!(h264.joins[0], 1);
        let mpeg2 = card(Video::Mpeg2);
        assert_eq!(mpeg2.duration_90k, 6_000 * 90);
        assert_eq!(mpeg2.joins.len(), 6);
        assert!(test_card(Video::Synthetic).unwrap().is_none());
    }

    #[test]
    fn h264_stream_stays_clean_across_the_loop() {
        let card = card(Video::H264);
        let one_loop = check(&stream(card, 0, card.len()));
        assert!(one_loop.is_clean(), "{one_loop:?}");
        // 15 s of stream: the seam at 12.8 s and part of the second iteration.
        let bytes = stream(card, 0, card.pos_at(15.0));
        assert!(bytes.len() > card.bytes.len());
        let c = check(&bytes);
        assert!(c.is_clean(), "{c:?}");
        assert_eq!(c.streams, vec![(0x100, 0x1B), (0x101, 0x0F)]);
        // Seamless, not just monotonic: the video's DTS moves one frame at a time
        // across the seam too, the audio and the PCR no more than within the file.
        assert_eq!(c.max_timestamp_step[&0x100], 3600);
        assert_eq!(c.max_timestamp_step, one_loop.max_timestamp_step);
        assert!(c.max_pcr_step <= one_loop.max_pcr_step, "{c:?}");
        assert!(c.pcrs > one_loop.pcrs);
    }

    #[test]
    fn mpeg2_stream_stays_clean_across_the_loop() {
        let card = card(Video::Mpeg2);
        let one_loop = check(&stream(card, 0, card.len()));
        let c = check(&stream(card, 0, card.pos_at(8.0)));
        assert!(c.is_clean(), "{c:?}");
        let types: Vec<u8> = c.streams.iter().map(|s| s.1).collect();
        assert_eq!(types[0], 0x02, "MPEG-2 video");
        assert!(matches!(types[1], 0x03 | 0x04), "MPEG audio: {types:?}");
        assert_eq!(c.max_timestamp_step, one_loop.max_timestamp_step);
        assert!(c.max_pcr_step <= one_loop.max_pcr_step);
    }

    #[test]
    fn later_iterations_move_every_clock_by_whole_loops() {
        let card = card(Video::H264);
        let n = card.len();
        let first = stream(card, 0, n);
        // Far into the stream, past a 33-bit wrap of the 90 kHz clock (26.5 h).
        for k in [1u64, 2, 7500] {
            let later = stream(card, k * n, (k + 1) * n);
            let shift = (k * card.duration_90k) % TS_WRAP;
            for (a, b) in first.chunks(PACKET_SIZE).zip(later.chunks(PACKET_SIZE)) {
                if let (Some(x), Some(y)) = (pcr(a), pcr(b)) {
                    assert_eq!(y / 300, (x / 300 + shift) % TS_WRAP);
                    assert_eq!(y % 300, x % 300, "PCR extension kept");
                }
                let (pts, dts) = pes_timestamps_at(a);
                for at in [pts, dts].into_iter().flatten() {
                    let (x, y) = (read_timestamp(&a[at..]), read_timestamp(&b[at..]));
                    assert_eq!(y, (x + shift) % TS_WRAP);
                }
                // Only the counter nibble and the clocks differ.
                assert_eq!(a[..3], b[..3]);
            }
        }
    }

    #[test]
    fn packets_are_a_pure_function_of_position() {
        let card = card(Video::H264);
        let n = card.len();
        let all = stream(card, 0, 2 * n + 10);
        for (from, to) in [(5, 17), (n - 3, n + 4), (2 * n - 1, 2 * n + 10)] {
            let part = stream(card, from, to);
            let at = from as usize * PACKET_SIZE;
            assert_eq!(&part[..], &all[at..at + part.len()]);
        }
    }

    #[test]
    fn pacing_follows_the_pcr() {
        let card = card(Video::H264);
        let n = card.len();
        let bytes = stream(card, 0, 2 * n);
        let pcrs: Vec<(u64, u64)> = bytes
            .chunks(PACKET_SIZE)
            .enumerate()
            .filter_map(|(i, p)| pcr(p).map(|v| (i as u64, v)))
            .collect();
        let (i0, v0) = pcrs[0];
        for &(i, v) in &pcrs {
            // Stream time between two PCR packets is their PCR difference.
            let by_pcr = (v - v0) as f64 / 27e6;
            let paced = card.secs_at(i) - card.secs_at(i0);
            assert!(
                (by_pcr - paced).abs() < 1e-6,
                "packet {i}: {by_pcr} vs {paced}"
            );
        }
        for p in [0, 1, 100, n - 1, n, n + 1, 5 * n + 77] {
            // A packet is sent once its time has come, not before.
            assert_eq!(card.pos_at(card.secs_at(p)), p);
            assert_eq!(card.pos_at(card.secs_at(p) + 1e-7), p + 1);
        }
        assert_eq!(card.pos_at(card.duration_secs() * 3.0), 3 * n);
        assert_eq!(card.pos_at(-1.0), 0);
    }

    #[test]
    fn joins_are_pats_before_keyframes_in_every_iteration() {
        let card = card(Video::H264);
        let n = card.len();
        // Before the stream's first join, the first join is the floor too.
        assert_eq!(card.join_floor(0), card.joins[0]);
        for p in [1, 2, 500, n - 1, n, n + 1, 3 * n + 1234] {
            let floor = card.join_floor(p);
            let ceil = card.join_ceil(p);
            assert!(floor <= p && p <= ceil, "{floor} {p} {ceil}");
            for j in [floor, ceil] {
                let bytes = stream(card, j, j + 40);
                let pkts: Vec<&[u8]> = bytes.chunks(PACKET_SIZE).collect();
                assert_eq!(pid(pkts[0]), Some(PAT_PID));
                let video = pkts
                    .iter()
                    .find(|p| pid(p) == Some(0x100) && unit_start(p))
                    .unwrap();
                assert!(random_access(video), "join {j} is followed by a keyframe");
            }
        }
        // Past the last join of an iteration, the next is the first of the next one.
        let last = *card.joins.last().unwrap();
        assert_eq!(card.join_ceil(last + 1), n + card.joins[0]);
        assert_eq!(card.join_floor(n + card.joins[0]), n + card.joins[0]);
        assert_eq!(card.join_floor(n), last);
    }

    #[test]
    fn files_that_do_not_loop_are_refused() {
        assert!(VideoLoop::parse(&[]).is_err());
        assert!(VideoLoop::parse(&[0x47; 100]).is_err());
        // The synthetic stream has no PCR and no PES timestamps.
        let mut synthetic = BytesMut::new();
        crate::ts::write_packets(&mut synthetic, 0, 400, 0);
        assert!(VideoLoop::parse(&synthetic).is_err());
    }
}
