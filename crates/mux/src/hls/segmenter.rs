//! Cuts the hub's live MPEG-TS into HLS segments (RFC 8216 §3.2, §6.2; CLIENTS.md
//! §2.2, §2.8). Pure: the caller pushes the packet-aligned chunks it shares with
//! the viewers, with the wall time they arrived, and serves what comes out.
//!
//! Every segment starts with a PAT, then the PMT, then the packet that *begins*
//! the random-access PES of the video, so a player can start on any of them. A
//! segment is made of zero-copy slices of the pushed chunks; null packets are
//! left out by slicing around them. Durations come from the video's DTS (else
//! PTS), never from arrival times.
//!
//! EXT-X-TARGETDURATION is fixed when the first segment closes, from the GOP, and
//! later GOPs longer than it are cut at a non-key frame so that no EXTINF rounds
//! above it; a segment begun between keyframes then ends early at the next
//! keyframe if the one after would come too late, so cuts return to keyframes.
//! A source switch (the hub splices a new source in at a PAT, flagging
//! `discontinuity_indicator` on the first packet of every PID) or a jump of the
//! clock closes the segment at that PAT, and the next one is marked
//! DISCONTINUITY.

use std::collections::VecDeque;
use std::mem;
use std::time::Duration;

use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};

use super::playlist;
use super::psi::{self, CLOCK, Program, SectionReader, ts_diff};
use crate::splice::NULL_PID;
use crate::ts::{PACKET, SYNC};

/// A clock step of the video larger than this (or any step back) is a new source.
const MAX_CLOCK_STEP: i64 = 10 * CLOCK as i64;
/// Packets after a source switch during which the first flagged packet of each
/// PID still belongs to that switch (the splicer's own marking window).
const SPLICE_WINDOW: u32 = 8192;
/// PIDs remembered during a switch (more is garbage, not a program).
const SPLICE_PIDS: usize = 256;
/// PSI packets between a PAT and a keyframe that still count as "right before".
const LEAD_PACKETS: usize = 32;
/// A PSI section of more packets than this is not one we follow.
const SECTION_PACKETS: usize = 8;
/// The first segment is cut anyway this long after its start (the target
/// duration is not known yet; a stream with keyframes this rare is broken).
const FIRST_SEGMENT_MAX: u64 = 30 * CLOCK;
/// A segment that grows past this (a source without video timestamps) is dropped.
const MAX_SEGMENT_BYTES: usize = 64 << 20;
/// Frame interval assumed until two video frames have been seen (25 fps).
const DEFAULT_FRAME: u64 = CLOCK / 25;

/// How to cut and how much to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmenterConfig {
    /// The shortest segment: a segment ends at the first keyframe this long after
    /// its start (rounded up to a whole number of GOPs). At least 1 s.
    pub segment_duration: Duration,
    /// Segments listed in the playlist (more if needed to cover 3 × target).
    pub window: usize,
    /// The first segment's sequence number.
    pub first_seq: u64,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        Self {
            segment_duration: Duration::from_secs(4),
            window: 8,
            first_seq: 0,
        }
    }
}

/// A completed segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Media sequence number.
    pub seq: u64,
    /// Seconds, from the video's timestamps.
    pub duration: f64,
    /// The first segment of a new source (or after lost data).
    pub discontinuity: bool,
    /// Wall time of its first frame.
    pub program_date_time: Timestamp,
    /// Its bytes, in order: slices of the pushed chunks (whole packets).
    pub parts: Vec<Bytes>,
    /// Total bytes of `parts`.
    pub len: usize,
}

#[derive(Debug)]
struct Completed {
    segment: Segment,
    /// Discontinuities in the segments before this one.
    discontinuities_before: u64,
}

/// Where to cut when the source changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceCut {
    /// Before this packet (a PAT of the new source).
    Here,
    /// At the most recent PAT (the new source started there).
    AtLastPat,
}

/// The segment being gathered or, while waiting for a keyframe (`active` false),
/// only the PSI packets since the last PAT, which may begin the first segment.
#[derive(Debug, Default)]
struct Open {
    parts: Vec<Bytes>,
    len: usize,
    /// Origin of the last part, (chunk number, start, end), so the next packet of
    /// the same chunk extends it instead of adding a part.
    tail: Option<(u64, usize, usize)>,
    active: bool,
    discontinuity: bool,
    program_date_time: Option<Timestamp>,
    /// Decode time of its first and latest video PES.
    start: Option<u64>,
    last: Option<u64>,
    /// Position of the most recent PAT, and the latest video decode time before it.
    last_pat: Option<(usize, Option<u64>)>,
    /// Position of the most recent PAT while only PSI packets followed it.
    lead: Option<usize>,
    /// A PMT started after that PAT; and it is complete.
    lead_pmt_started: bool,
    lead_pmt: bool,
}

impl Open {
    fn starting(parts: Vec<Bytes>) -> Self {
        let len = parts.iter().map(Bytes::len).sum();
        Self {
            parts,
            len,
            active: true,
            last_pat: Some((0, None)),
            ..Self::default()
        }
    }

    fn append(&mut self, chunk_no: u64, chunk: &Bytes, at: usize) {
        let end = at + PACKET;
        match (self.tail, self.parts.last_mut()) {
            (Some((no, start, last_end)), Some(last)) if no == chunk_no && last_end == at => {
                *last = chunk.slice(start..end);
                self.tail = Some((no, start, end));
            }
            _ => {
                self.parts.push(chunk.slice(at..end));
                self.tail = Some((chunk_no, at, end));
            }
        }
        self.len += PACKET;
    }

    fn clear(&mut self) {
        self.parts.clear();
        self.len = 0;
        self.tail = None;
    }

    /// Keeps the first `at` bytes; returns the rest.
    fn split_off(&mut self, at: usize) -> Vec<Bytes> {
        let mut before = 0;
        let mut idx = self.parts.len();
        for (i, p) in self.parts.iter().enumerate() {
            if before + p.len() > at {
                idx = i;
                break;
            }
            before += p.len();
        }
        let mut rest = self.parts.split_off(idx);
        if let Some(first) = rest.first_mut()
            && at > before
        {
            self.parts.push(first.split_to(at - before));
        }
        self.len = self.len.min(at);
        self.tail = None;
        rest
    }

    /// Video ticks from its start to `end`, if both are known and it is positive.
    fn ticks_to(&self, end: Option<u64>) -> Option<u64> {
        let d = ts_diff(end?, self.start?);
        u64::try_from(d).ok().filter(|&d| d > 0)
    }
}

/// PIDs seen since the last source switch: the first flagged packet of each is
/// part of that switch, not a new one.
#[derive(Debug)]
struct Splice {
    pids: Vec<u16>,
    packets: u32,
}

/// The live segmenter of one channel.
#[derive(Debug)]
pub struct Segmenter {
    segment_ticks: u64,
    window: usize,
    chunk_no: u64,

    pat_reader: SectionReader,
    pat_packets: Vec<Bytes>,
    last_pat: Vec<Bytes>,
    pat_section: Vec<u8>,
    pmt_pid: Option<u16>,
    pmt_reader: SectionReader,
    pmt_packets: Vec<Bytes>,
    last_pmt: Vec<Bytes>,
    pmt_section: Vec<u8>,
    program: Option<Program>,
    video_codec: Option<String>,
    audio_codecs: Vec<(u16, String)>,

    open: Open,
    /// The previous video decode time, and the last step between two.
    prev_dts: Option<u64>,
    frame: u64,
    /// A video packet set random_access_indicator before its PES started.
    rai_pending: bool,
    /// A flagged packet on PID 0 announced a new source at the next PAT.
    disc_pending: bool,
    splice: Option<Splice>,
    /// The next segment started is marked DISCONTINUITY.
    next_discontinuity: bool,

    /// Ticks between the first two keyframes, while the first segment is open.
    first_gop: Option<u64>,
    /// Decode time of the last keyframe, and the last GOP's length.
    last_rap: Option<u64>,
    gop: Option<i64>,
    target: Option<u64>,
    completed: VecDeque<Completed>,
    next_seq: u64,
    /// The first segment's sequence number (no discontinuity before it).
    first_seq: u64,
    discontinuities: u64,
    peak_bandwidth: Option<u64>,
}

impl Segmenter {
    /// A segmenter waiting for the first keyframe.
    pub fn new(cfg: SegmenterConfig) -> Self {
        let segment = cfg.segment_duration.max(Duration::from_secs(1));
        Self {
            segment_ticks: u64::try_from(segment.as_micros() * u128::from(CLOCK) / 1_000_000)
                .unwrap_or(u64::MAX),
            window: cfg.window.max(1),
            chunk_no: 0,
            pat_reader: SectionReader::default(),
            pat_packets: Vec::new(),
            last_pat: Vec::new(),
            pat_section: Vec::new(),
            pmt_pid: None,
            pmt_reader: SectionReader::default(),
            pmt_packets: Vec::new(),
            last_pmt: Vec::new(),
            pmt_section: Vec::new(),
            program: None,
            video_codec: None,
            audio_codecs: Vec::new(),
            open: Open::default(),
            prev_dts: None,
            frame: DEFAULT_FRAME,
            rai_pending: false,
            disc_pending: false,
            splice: None,
            next_discontinuity: false,
            first_gop: None,
            last_rap: None,
            gop: None,
            target: None,
            completed: VecDeque::new(),
            next_seq: cfg.first_seq,
            first_seq: cfg.first_seq,
            discontinuities: 0,
            peak_bandwidth: None,
        }
    }

    /// The program, once its PAT and PMT have been read.
    pub fn program(&self) -> Option<&Program> {
        self.program.as_ref()
    }

    /// The CODECS attribute ("avc1.64001f,mp4a.40.2"), once the H.264 SPS has been
    /// seen. Audio tracks follow in PMT order, each codec once.
    pub fn codecs(&self) -> Option<String> {
        let program = self.program.as_ref()?;
        let mut codecs = vec![self.video_codec.clone()?];
        for &(pid, stream_type) in &program.streams {
            if Some((pid, stream_type)) == program.video {
                continue;
            }
            let known = self
                .audio_codecs
                .iter()
                .find(|(p, _)| *p == pid)
                .map(|(_, c)| c.as_str());
            if let Some(c) = psi::audio_codec(stream_type, known)
                && !codecs.contains(&c)
            {
                codecs.push(c);
            }
        }
        Some(codecs.join(","))
    }

    /// Peak bits per second over the completed segments (those of at least half
    /// the segment duration: a short one cut by a switch says little).
    pub fn bandwidth(&self) -> Option<u64> {
        self.peak_bandwidth
    }

    /// EXT-X-TARGETDURATION, fixed once the first segment is complete.
    pub fn target_duration(&self) -> Option<u64> {
        self.target
    }

    /// A completed segment still held (one window beyond the playlist).
    pub fn segment(&self, seq: u64) -> Option<Segment> {
        let first = self.completed.front()?.segment.seq;
        let idx = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.completed.get(idx).map(|c| c.segment.clone())
    }

    /// The newest completed segment's sequence number.
    pub fn latest_seq(&self) -> Option<u64> {
        self.completed.back().map(|c| c.segment.seq)
    }

    /// Segments listed in the playlist: the configured window, or more so that
    /// it covers at least three target durations (RFC 8216 §6.2.2).
    fn listed(&self) -> usize {
        let Some(target) = self.target else {
            return self.window;
        };
        let cover = target
            .saturating_mul(3 * CLOCK)
            .div_ceil(self.segment_ticks);
        self.window
            .max(usize::try_from(cover).unwrap_or(usize::MAX))
    }

    /// The live media playlist, once the first segment is complete.
    pub fn playlist(&self, segment_uri: impl Fn(u64) -> String) -> Option<String> {
        let target = self.target?;
        let skip = self.completed.len().saturating_sub(self.listed());
        let first = self.completed.get(skip)?;
        Some(playlist::media_playlist(
            target,
            first.discontinuities_before,
            self.completed.iter().skip(skip).map(|c| &c.segment),
            segment_uri,
        ))
    }

    /// The caller lost part of the stream: the open segment ends where the data
    /// stopped, and the next one starts at a keyframe with a DISCONTINUITY.
    pub fn mark_discontinuity(&mut self) {
        let open = mem::take(&mut self.open);
        if open.active {
            let end = open.last.map(|l| l.wrapping_add(self.frame));
            let ticks = open.ticks_to(end);
            self.close(open, ticks);
        }
        self.next_discontinuity = true;
        self.prev_dts = None;
        self.last_rap = None;
        self.rai_pending = false;
        self.pat_reader = SectionReader::default();
        self.pat_packets.clear();
        self.pmt_reader = SectionReader::default();
        self.pmt_packets.clear();
    }

    /// Takes the next packet-aligned chunk, arrived at `now`.
    pub fn push(&mut self, chunk: &Bytes, now: Timestamp) {
        self.chunk_no += 1;
        for (i, packet) in chunk.chunks_exact(PACKET).enumerate() {
            if packet.first() != Some(&SYNC) {
                continue;
            }
            match psi::pid(packet) {
                Some(NULL_PID) | None => {}
                Some(pid) => self.packet(chunk, i * PACKET, pid, now),
            }
        }
    }

    fn packet(&mut self, chunk: &Bytes, at: usize, pid: u16, now: Timestamp) {
        let Some(packet) = chunk.get(at..at + PACKET) else {
            return;
        };
        let start = psi::payload_unit_start(packet);
        let is_pat = pid == 0 && start;
        let is_pmt = Some(pid) == self.pmt_pid;
        let psi = pid < 0x20 || is_pmt;
        let mut pmt_done = false;
        if pid == 0 {
            self.read_pat(chunk, at);
        } else if is_pmt {
            pmt_done = self.read_pmt(chunk, at);
        }
        let video = self.program.as_ref().and_then(|p| p.video);
        let video_type = video.filter(|v| v.0 == pid).map(|v| v.1);
        let decode = match video_type {
            Some(_) if start => psi::pes_times(packet).and_then(|t| t.decode_time()),
            _ => None,
        };

        // Did the source change before this packet?
        let fresh_pid = self.splice_saw(pid);
        let mut cut = None;
        if psi::discontinuity(packet) && !fresh_pid {
            if pid != 0 {
                cut = Some(SourceCut::AtLastPat);
            } else if is_pat {
                cut = Some(SourceCut::Here);
            } else {
                // The splicer's flag packet in front of the new source's PAT.
                self.disc_pending = true;
            }
        }
        if cut.is_none() && is_pat && self.disc_pending {
            cut = Some(SourceCut::Here);
        }
        if cut.is_none()
            && let (Some(d), Some(prev)) = (decode, self.prev_dts)
        {
            let step = ts_diff(d, prev);
            if !(0..=MAX_CLOCK_STEP).contains(&step) {
                cut = Some(SourceCut::AtLastPat);
            }
        }
        if let Some(cut) = cut {
            self.source_changed(cut, pid, now);
        }

        // A keyframe (or a GOP running past the target) ends the segment.
        if let (Some(stream_type), Some(d)) = (video_type, decode) {
            let flagged_before = mem::take(&mut self.rai_pending);
            let rap = flagged_before || psi::random_access(packet, stream_type);
            if rap && stream_type == psi::STREAM_H264 && self.video_codec.is_none() {
                self.video_codec = psi::avc_codec(packet);
            }
            // The GOP before this keyframe, to foresee the next one.
            let gop = if rap {
                let gop = self
                    .last_rap
                    .map(|r| ts_diff(d, r))
                    .filter(|&g| g > 0 && g <= MAX_CLOCK_STEP);
                self.last_rap = Some(d);
                gop
            } else {
                None
            };
            if let Some(g) = gop {
                self.gop = Some(g);
            }
            if !self.open.active {
                if rap {
                    self.activate(d, now);
                }
            } else if let Some(s) = self.open.start {
                let elapsed = ts_diff(d, s);
                if rap && self.target.is_none() && self.first_gop.is_none() && elapsed > 0 {
                    self.first_gop = Some(elapsed.unsigned_abs());
                }
                let limit = self.target.map_or(FIRST_SEGMENT_MAX, |t| t * CLOCK);
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let due = i64::try_from(self.segment_ticks).unwrap_or(i64::MAX);
                // A segment that began between keyframes (a forced cut, a switch)
                // ends at a keyframe early rather than be forced again: that
                // brings the cuts back onto the keyframes.
                let next_forced = self.target.is_some()
                    && self.gop.is_some_and(|g| elapsed.saturating_add(g) > limit);
                if (rap && elapsed > 0 && (elapsed >= due || next_forced)) || elapsed >= limit {
                    self.cut(d, now);
                }
            } else {
                // A segment begun at a switch's PAT: its clock starts here.
                self.open.start = Some(d);
            }
        } else if video_type.is_some() && psi::random_access_indicator(packet) {
            self.rai_pending = true;
        }
        if start
            && let Some(program) = &self.program
            && program
                .streams
                .iter()
                .any(|&(p, t)| p == pid && t == psi::STREAM_AAC_ADTS)
            && !self.audio_codecs.iter().any(|(p, _)| *p == pid)
            && let Some(codec) = psi::aac_codec(packet)
        {
            self.audio_codecs.push((pid, codec));
        }

        // Keep the packet.
        let open = &mut self.open;
        if is_pat {
            if !open.active {
                open.clear();
            }
            open.last_pat = Some((open.len, open.last));
            open.lead = Some(open.len);
            open.lead_pmt_started = false;
            open.lead_pmt = false;
        }
        if is_pmt && start && open.lead.is_some() {
            open.lead_pmt_started = true;
        }
        if open.active || (psi && open.lead.is_some()) {
            open.append(self.chunk_no, chunk, at);
        }
        if !psi {
            open.lead = None;
        } else if pmt_done && open.lead_pmt_started {
            open.lead_pmt = true;
        }
        if open
            .lead
            .is_some_and(|l| open.len - l > LEAD_PACKETS * PACKET)
        {
            open.lead = None;
        }
        if !open.active && open.lead.is_none() {
            open.clear();
        }
        if let Some(d) = decode {
            if open.active {
                open.last = Some(d);
            }
            if let Some(prev) = self.prev_dts {
                let step = ts_diff(d, prev);
                if step > 0 && step < CLOCK as i64 {
                    self.frame = step.unsigned_abs();
                }
            }
            self.prev_dts = Some(d);
        }
        if open.len > MAX_SEGMENT_BYTES {
            self.open = Open::default();
            self.next_discontinuity = true;
        }
    }

    /// Notes `pid` in the current switch; whether it is its first packet there.
    fn splice_saw(&mut self, pid: u16) -> bool {
        let Some(s) = &mut self.splice else {
            return false;
        };
        if s.packets >= SPLICE_WINDOW {
            self.splice = None;
            return false;
        }
        s.packets += 1;
        if s.pids.contains(&pid) {
            false
        } else {
            if s.pids.len() < SPLICE_PIDS {
                s.pids.push(pid);
            }
            true
        }
    }

    fn read_pat(&mut self, chunk: &Bytes, at: usize) {
        let Some(packet) = chunk.get(at..at + PACKET) else {
            return;
        };
        if psi::payload_unit_start(packet) {
            self.pat_packets.clear();
        }
        if self.pat_packets.len() < SECTION_PACKETS {
            self.pat_packets.push(chunk.slice(at..at + PACKET));
        }
        let Some(section) = self.pat_reader.push(packet) else {
            return;
        };
        self.last_pat = mem::take(&mut self.pat_packets);
        if section == self.pat_section {
            return;
        }
        if let Some(pmt_pid) = psi::parse_pat(&section)
            && self.pmt_pid != Some(pmt_pid)
        {
            self.pmt_pid = Some(pmt_pid);
            self.pmt_reader = SectionReader::default();
            self.pmt_packets.clear();
        }
        self.pat_section = section;
    }

    /// Whether a PMT section completed with this packet.
    fn read_pmt(&mut self, chunk: &Bytes, at: usize) -> bool {
        let Some(packet) = chunk.get(at..at + PACKET) else {
            return false;
        };
        if psi::payload_unit_start(packet) {
            self.pmt_packets.clear();
        }
        if self.pmt_packets.len() < SECTION_PACKETS {
            self.pmt_packets.push(chunk.slice(at..at + PACKET));
        }
        let Some(section) = self.pmt_reader.push(packet) else {
            return false;
        };
        self.last_pmt = mem::take(&mut self.pmt_packets);
        if section != self.pmt_section {
            if let Some(program) = psi::parse_pmt(&section)
                && self.program.as_ref() != Some(&program)
            {
                self.video_codec = None;
                self.audio_codecs.clear();
                self.rai_pending = false;
                self.program = Some(program);
            }
            self.pmt_section = section;
        }
        true
    }

    /// The last PAT and PMT, to put in front of a segment.
    fn prefix(&self) -> Vec<Bytes> {
        self.last_pat
            .iter()
            .chain(&self.last_pmt)
            .cloned()
            .collect()
    }

    /// The stream's own PAT and PMT right before the cut if they are there,
    /// else a copy of the last ones.
    fn take_lead_or_prefix(&mut self, open: &mut Open) -> Vec<Bytes> {
        match open.lead {
            Some(at) if open.lead_pmt => open.split_off(at),
            _ => self.prefix(),
        }
    }

    /// The first keyframe (after the start or lost data) opens a segment.
    fn activate(&mut self, decode: u64, now: Timestamp) {
        let mut scratch = mem::take(&mut self.open);
        let parts = self.take_lead_or_prefix(&mut scratch);
        let mut open = Open::starting(parts);
        open.start = Some(decode);
        open.program_date_time = Some(now);
        open.discontinuity =
            mem::take(&mut self.next_discontinuity) && self.next_seq > self.first_seq;
        self.open = open;
    }

    /// A keyframe (or the target duration) at `decode` ends the open segment.
    fn cut(&mut self, decode: u64, now: Timestamp) {
        let mut head = mem::take(&mut self.open);
        let parts = self.take_lead_or_prefix(&mut head);
        let ticks = head.ticks_to(Some(decode));
        let pdt = head
            .program_date_time
            .map(|t| advance(t, ticks.unwrap_or(0)));
        self.close(head, ticks);
        let mut open = Open::starting(parts);
        open.start = Some(decode);
        open.program_date_time = Some(pdt.unwrap_or(now));
        open.discontinuity =
            mem::take(&mut self.next_discontinuity) && self.next_seq > self.first_seq;
        self.open = open;
    }

    /// A new source begins at the packet of `pid` or at the last PAT before it.
    fn source_changed(&mut self, cut: SourceCut, pid: u16, now: Timestamp) {
        self.disc_pending = false;
        self.splice = Some(Splice {
            pids: vec![0, pid],
            packets: 0,
        });
        self.prev_dts = None;
        self.last_rap = None;
        self.rai_pending = false;
        if !self.open.active {
            self.next_discontinuity = true;
            return;
        }
        let mut head = mem::take(&mut self.open);
        let mut open = match (cut, head.last_pat) {
            (SourceCut::AtLastPat, Some((at, before))) if at > 0 => {
                let lead = head.lead == Some(at);
                let (started, pmt) = (head.lead_pmt_started, head.lead_pmt);
                let rest = head.split_off(at);
                let ticks = head.ticks_to(before.map(|b| b.wrapping_add(self.frame)));
                self.close(head, ticks);
                let mut open = Open::starting(rest);
                if lead {
                    open.lead = Some(0);
                    open.lead_pmt_started = started;
                    open.lead_pmt = pmt;
                }
                open
            }
            _ => {
                let ticks = head.ticks_to(head.last.map(|l| l.wrapping_add(self.frame)));
                self.close(head, ticks);
                match cut {
                    // This packet is the new PAT: it starts the segment.
                    SourceCut::Here => Open {
                        active: true,
                        ..Open::default()
                    },
                    SourceCut::AtLastPat => Open::starting(self.prefix()),
                }
            }
        };
        open.program_date_time = Some(now);
        open.discontinuity = self.next_seq > self.first_seq;
        self.next_discontinuity = false;
        self.open = open;
    }

    /// Completes `open`, `ticks` long; one without a duration is dropped (its
    /// discontinuity passes to the next).
    fn close(&mut self, open: Open, ticks: Option<u64>) {
        let Some(ticks) = ticks.filter(|_| open.len > 0) else {
            self.next_discontinuity |= open.discontinuity;
            return;
        };
        if self.target.is_none() {
            let gop = self.first_gop.filter(|&g| g > 0);
            let from_gop = gop.map_or(self.segment_ticks, |g| {
                g.saturating_mul(self.segment_ticks.div_ceil(g))
            });
            let rounded = (ticks + CLOCK / 2) / CLOCK;
            self.target = Some(
                from_gop
                    .div_ceil(CLOCK)
                    .max(self.segment_ticks.div_ceil(CLOCK))
                    .max(rounded)
                    .max(1),
            );
        }
        if ticks >= self.segment_ticks / 2 {
            let bps = (open.len as u128 * 8 * u128::from(CLOCK) / u128::from(ticks)) as u64;
            self.peak_bandwidth = Some(self.peak_bandwidth.map_or(bps, |p| p.max(bps)));
        }
        let segment = Segment {
            seq: self.next_seq,
            duration: ticks as f64 / CLOCK as f64,
            discontinuity: open.discontinuity,
            program_date_time: open.program_date_time.unwrap_or(Timestamp::UNIX_EPOCH),
            parts: open.parts,
            len: open.len,
        };
        self.next_seq += 1;
        self.completed.push_back(Completed {
            segment,
            discontinuities_before: self.discontinuities,
        });
        if open.discontinuity {
            self.discontinuities += 1;
        }
        let keep = self.listed().saturating_mul(2);
        while self.completed.len() > keep {
            self.completed.pop_front();
        }
    }
}

/// `t` plus `ticks` of the 90 kHz clock.
fn advance(t: Timestamp, ticks: u64) -> Timestamp {
    let nanos = i64::try_from(u128::from(ticks) * 100_000 / 9).unwrap_or(i64::MAX);
    t.checked_add(SignedDuration::from_nanos(nanos))
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hls::testing::*;
    use crate::splice::{Splicer, null_packets};

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_796_276_000 + second).unwrap()
    }

    /// Pushes `data` in chunks of `packets` packets; returns the chunks.
    fn feed(s: &mut Segmenter, data: &[u8], packets: usize, now: Timestamp) -> Vec<Bytes> {
        let chunks: Vec<Bytes> = data
            .chunks(packets * PACKET)
            .map(Bytes::copy_from_slice)
            .collect();
        for c in &chunks {
            s.push(c, now);
        }
        chunks
    }

    fn bytes_of(seg: &Segment) -> Vec<u8> {
        seg.parts.iter().flat_map(|p| p.iter().copied()).collect()
    }

    fn pid_of(p: &[u8]) -> u16 {
        psi::pid(p).unwrap()
    }

    fn all(s: &Segmenter) -> Vec<Segment> {
        let Some(last) = s.latest_seq() else {
            return Vec::new();
        };
        // Only the held segments can answer (at most 2 × window of them).
        (last.saturating_sub(4096)..=last)
            .filter_map(|q| s.segment(q))
            .collect()
    }

    /// What holds for every segment: whole packets, no null packets, a PAT first
    /// and a PMT before any media.
    fn check_framing(seg: &Segment) {
        let data = bytes_of(seg);
        assert_eq!(data.len(), seg.len);
        assert_eq!(seg.len % PACKET, 0);
        assert!(seg.len > 0);
        let packets: Vec<&[u8]> = data.chunks(PACKET).collect();
        assert!(packets.iter().all(|p| p[0] == SYNC));
        assert!(packets.iter().all(|p| pid_of(p) != NULL_PID));
        assert_eq!(
            pid_of(packets[0]),
            0,
            "segment {} starts with a PAT",
            seg.seq
        );
        assert!(psi::payload_unit_start(packets[0]));
        let media = packets
            .iter()
            .position(|p| ![0, PMT_PID].contains(&pid_of(p)))
            .unwrap();
        assert!(packets[..media].iter().any(|p| pid_of(p) == PMT_PID));
    }

    /// A segment cut at a keyframe: exactly PAT, PMT, the packet starting the
    /// keyframe's PES.
    fn check_keyframe_start(seg: &Segment) {
        check_framing(seg);
        let data = bytes_of(seg);
        let p: Vec<&[u8]> = data.chunks(PACKET).take(3).collect();
        assert_eq!(pid_of(p[0]), 0);
        assert_eq!(pid_of(p[1]), PMT_PID);
        assert_eq!(pid_of(p[2]), VIDEO);
        assert!(psi::payload_unit_start(p[2]) && psi::random_access_indicator(p[2]));
    }

    /// Every part is a slice of a pushed chunk, not a copy.
    fn check_zero_copy(seg: &Segment, chunks: &[Bytes]) {
        for part in &seg.parts {
            let (a, b) = (part.as_ptr() as usize, part.as_ptr() as usize + part.len());
            assert!(
                chunks.iter().any(|c| {
                    let start = c.as_ptr() as usize;
                    a >= start && b <= start + c.len()
                }),
                "a part of segment {} is not a slice of a pushed chunk",
                seg.seq
            );
        }
    }

    fn without_nulls(data: &[u8]) -> Vec<u8> {
        data.chunks(PACKET)
            .filter(|p| pid_of(p) != NULL_PID)
            .flatten()
            .copied()
            .collect()
    }

    #[test]
    fn numbering_starts_at_first_seq_and_the_first_segment_is_no_discontinuity() {
        let mut src = Source::new(900_000, 50);
        let stream = src.frames(400);
        let mut s = Segmenter::new(SegmenterConfig {
            first_seq: 1_796_000_000,
            ..SegmenterConfig::default()
        });
        feed(&mut s, &stream, 64, at(0));
        let segs = all(&s);
        assert!(segs.len() >= 2);
        assert_eq!(segs[0].seq, 1_796_000_000);
        assert_eq!(segs[1].seq, 1_796_000_001);
        assert!(segs.iter().all(|g| !g.discontinuity));
        let playlist = s.playlist(|n| format!("{n}.ts")).unwrap();
        assert!(
            playlist.contains("#EXT-X-MEDIA-SEQUENCE:1796000000\n"),
            "{playlist}"
        );
    }

    #[test]
    fn segments_start_pat_pmt_keyframe_and_slice_the_stream_without_copy() {
        let mut src = Source::new(900_000, 50); // 2 s GOP
        let mut stream = Vec::new();
        for i in 0..750 {
            stream.extend(src.next_frame());
            if i % 3 == 0 {
                stream.extend(null_packet());
            }
        }
        let mut s = Segmenter::new(SegmenterConfig::default());
        let mut chunks = Vec::new();
        for (i, piece) in stream.chunks(PACKET * 200).enumerate() {
            // Uneven chunk sizes, so cuts fall inside chunks and across them.
            chunks.extend(feed(&mut s, piece, [5, 13, 64][i % 3], at(i as i64)));
        }
        let segs = all(&s);
        assert_eq!(segs.len(), 7, "30 s of 4 s segments, the last still open");
        assert_eq!(s.target_duration(), Some(4));
        for (i, seg) in segs.iter().enumerate() {
            assert_eq!(seg.seq, i as u64);
            check_keyframe_start(seg);
            check_zero_copy(seg, &chunks);
            assert!((seg.duration - 4.0).abs() < 1e-9, "{}", seg.duration);
            assert!(!seg.discontinuity);
            assert!(
                seg.parts.len() < seg.len / PACKET,
                "contiguous packets share a slice"
            );
        }
        // The stream's own PAT/PMT right before each keyframe begin the segments:
        // nothing is duplicated or lost.
        let joined: Vec<u8> = segs.iter().flat_map(bytes_of).collect();
        let clean = without_nulls(&stream);
        assert!(
            clean[..joined.len()] == joined[..],
            "the stream, nothing lost or added"
        );
        // Dates follow the durations from the first arrival.
        assert_eq!(segs[0].program_date_time, at(0));
        assert_eq!(segs[3].program_date_time, at(12));
    }

    #[test]
    fn nothing_is_kept_before_the_first_keyframe() {
        let mut src = Source::new(0, 50);
        let mut lead_in = src.frames(60);
        // Start mid-GOP: the first 20 frames never reach a segment.
        let skip = Source::new(0, 50).frames(20).len();
        lead_in.drain(..skip);
        lead_in.extend(src.frames(400));
        let mut s = Segmenter::new(SegmenterConfig::default());
        feed(&mut s, &lead_in, 7, at(0));
        let first = s.segment(0).unwrap();
        check_keyframe_start(&first);
        let kf = bytes_of(&first)[2 * PACKET..3 * PACKET].to_vec();
        let times = psi::pes_times(&kf).unwrap();
        assert_eq!(
            times.dts,
            Some(50 * Source::FRAME),
            "the first keyframe is frame 50"
        );
    }

    #[test]
    fn a_copy_of_pat_and_pmt_leads_when_the_stream_has_none_before_the_keyframe() {
        let mut src = Source::new(0, 50);
        src.psi_before_keyframe = false;
        src.psi_every = 7;
        let stream = src.frames(800);
        let mut s = Segmenter::new(SegmenterConfig::default());
        let chunks = feed(&mut s, &stream, 11, at(0));
        let segs = all(&s);
        assert!(segs.len() >= 6);
        let mut rest = Vec::new();
        for seg in &segs {
            check_keyframe_start(seg);
            check_zero_copy(seg, &chunks);
            // One slice per chunk, plus the two prefix packets and a cut.
            assert!(
                seg.parts.len() <= seg.len / PACKET / 11 + 4,
                "{}",
                seg.parts.len()
            );
            // Without the two prefix packets, segments are the stream itself.
            rest.extend_from_slice(&bytes_of(seg)[2 * PACKET..]);
        }
        // Frame 0 has its PAT/PMT right before it; later keyframes do not.
        let first_kf = 2 * PACKET;
        assert!(
            stream[first_kf..first_kf + rest.len()] == rest[..],
            "the stream itself"
        );
    }

    #[test]
    fn target_duration_rounds_up_to_whole_gops() {
        // 48-frame GOP = 1.92 s: three GOPs (5.76 s) per 4 s segment.
        let mut s = Segmenter::new(SegmenterConfig::default());
        feed(&mut s, &Source::new(0, 48).frames(1000), 9, at(0));
        assert_eq!(s.target_duration(), Some(6));
        for seg in all(&s) {
            check_keyframe_start(&seg);
            assert!((seg.duration - 5.76).abs() < 1e-9, "{}", seg.duration);
        }
        // A 10 s GOP: one GOP per segment.
        let mut s = Segmenter::new(SegmenterConfig::default());
        feed(&mut s, &Source::new(0, 250).frames(1500), 9, at(0));
        assert_eq!(s.target_duration(), Some(10));
        assert!(all(&s).iter().all(|seg| seg.duration == 10.0));
    }

    #[test]
    fn a_gop_longer_than_the_target_is_cut_so_no_extinf_exceeds_it() {
        let mut src = Source::new(0, 50);
        let mut stream = src.frames(500); // 20 s of 2 s GOPs: target 4
        src.gop = 275; // then 11 s GOPs
        src.frame = 0;
        stream.extend(src.frames(2000));
        let mut s = Segmenter::new(SegmenterConfig::default());
        let mut targets = Vec::new();
        for piece in stream.chunks(PACKET * 500) {
            feed(&mut s, piece, 17, at(0));
            targets.extend(s.target_duration());
            if let Some(p) = s.playlist(|q| format!("{q}.ts")) {
                assert!(p.contains("#EXT-X-TARGETDURATION:4\n"));
            }
        }
        assert!(targets.iter().all(|&t| t == 4));
        let segs = all(&s);
        let forced: Vec<&Segment> = segs
            .iter()
            .filter(|seg| {
                let data = bytes_of(seg);
                !psi::random_access_indicator(&data[2 * PACKET..3 * PACKET])
            })
            .collect();
        assert!(forced.len() >= 3, "long GOPs are cut between keyframes");
        for seg in &segs {
            assert!(
                seg.duration.round() as u64 <= 4,
                "{} > target",
                seg.duration
            );
            check_framing(seg);
            let data = bytes_of(seg);
            // Even a forced cut starts PAT, PMT, then a video PES start.
            assert_eq!(pid_of(&data[2 * PACKET..]), VIDEO);
            assert!(psi::payload_unit_start(&data[2 * PACKET..]));
        }
        let seqs: Vec<u64> = segs.iter().map(|s| s.seq).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
        // After a forced cut the next keyframe starts a segment again (early),
        // so every long-GOP keyframe begins one.
        let starts: Vec<u64> = segs
            .iter()
            .map(|seg| {
                psi::pes_times(&bytes_of(seg)[2 * PACKET..])
                    .unwrap()
                    .dts
                    .unwrap()
            })
            .collect();
        let held = (0..1925)
            .step_by(275)
            .map(|k| (500 + k) * Source::FRAME)
            .filter(|&dts| dts >= starts[0]);
        assert_eq!(held.clone().count(), 5);
        for dts in held {
            assert!(
                starts.contains(&dts),
                "the keyframe at {dts} starts a segment"
            );
        }
    }

    /// Source A for 20 s, a gap of null packets, then source B (other clock, joined
    /// mid-GOP) spliced in the way the hub does.
    fn splice_stream() -> (Vec<u8>, Vec<u8>) {
        let a = Source::new(1_000_000, 50).frames(500);
        let mut b = Source::new(5_000_000_000, 50);
        b.frames(25); // the engine resumes mid-GOP
        let b_raw = b.frames(600);
        let mut b_out = null_packets(40).to_vec();
        let mut splicer = Splicer::new();
        for piece in b_raw.chunks(PACKET * 30) {
            if let Some(out) = splicer.apply(Bytes::copy_from_slice(piece)) {
                b_out.extend_from_slice(&out);
            }
        }
        (a, b_out)
    }

    #[test]
    fn a_splice_closes_the_segment_and_starts_a_discontinuity_at_the_new_pat() {
        let (a, b) = splice_stream();
        let mut s = Segmenter::new(SegmenterConfig::default());
        feed(&mut s, &a, 10, at(0));
        let before = s.latest_seq().unwrap();
        feed(&mut s, &b, 10, at(3600));
        let segs = all(&s);
        let disc: Vec<&Segment> = segs.iter().filter(|g| g.discontinuity).collect();
        assert_eq!(disc.len(), 1);
        let d = disc[0];
        assert_eq!(
            d.seq,
            before + 2,
            "A's last open segment closed at the splice"
        );
        check_framing(d);
        // From B's frame 30 to its keyframe at frame 100: cut early at that
        // keyframe (the next one would come after the target).
        assert!((d.duration - 2.8).abs() < 1e-9, "{}", d.duration);
        assert_eq!(
            d.program_date_time,
            at(3600),
            "re-anchored to the wall clock"
        );
        // The segment before the splice holds A up to its end and nothing of B.
        let last_a = s.segment(d.seq - 1).unwrap();
        check_keyframe_start(&last_a);
        assert!((last_a.duration - 4.0).abs() < 1e-9, "{}", last_a.duration);
        // B's segment starts at B's first PAT (frame 30: mid-GOP, no keyframe yet);
        // the splicer's flag packet in front of that PAT ends A's last segment.
        let b_clean = without_nulls(&b);
        let flag = &b_clean[..PACKET];
        assert!(pid_of(flag) == 0 && psi::discontinuity(flag) && !psi::payload_unit_start(flag));
        assert!(bytes_of(&last_a).ends_with(flag));
        assert!(
            bytes_of(d) == b_clean[PACKET..PACKET + d.len],
            "B from its PAT on"
        );
        // Target unchanged, later segments keyframe-aligned again.
        assert_eq!(s.target_duration(), Some(4));
        for g in segs.iter().filter(|g| g.seq > d.seq) {
            check_keyframe_start(g);
            assert!(!g.discontinuity);
        }
        let p = s.playlist(|q| format!("{q}.ts")).unwrap();
        assert_eq!(p.matches("#EXT-X-DISCONTINUITY\n").count(), 1);
        assert!(p.contains("#EXT-X-DISCONTINUITY-SEQUENCE:0\n"));
    }

    #[test]
    fn discontinuity_sequence_counts_the_discontinuities_that_left_the_playlist() {
        let (a, b) = splice_stream();
        let mut s = Segmenter::new(SegmenterConfig {
            window: 3,
            ..SegmenterConfig::default()
        });
        feed(&mut s, &a, 10, at(0));
        feed(&mut s, &b, 10, at(100));
        // A second splice: C after B.
        let mut splicer = Splicer::new();
        let c = Source::new(77_000_000, 50).frames(1000);
        let c = splicer.apply(Bytes::from(c)).unwrap();
        feed(&mut s, &c, 10, at(200));
        let p = s.playlist(|q| format!("{q}.ts")).unwrap();
        assert!(p.contains("#EXT-X-DISCONTINUITY-SEQUENCE:2\n"), "{p}");
        assert_eq!(p.matches("#EXT-X-DISCONTINUITY\n").count(), 0);
        let discs: Vec<u64> = all(&s)
            .iter()
            .filter(|g| g.discontinuity)
            .map(|g| g.seq)
            .collect();
        assert!(discs.len() <= 2);
    }

    #[test]
    fn a_clock_jump_without_flags_is_a_discontinuity_at_the_last_pat() {
        let mut stream = Source::new(0, 50).frames(300);
        // A new source whose clock is 1000 s later, no splice flags.
        let c = Source::new(90_000_000, 50).frames(300);
        stream.extend(&c);
        let mut s = Segmenter::new(SegmenterConfig::default());
        feed(&mut s, &stream, 10, at(0));
        let segs = all(&s);
        let disc: Vec<&Segment> = segs.iter().filter(|g| g.discontinuity).collect();
        assert_eq!(disc.len(), 1);
        // C starts with its PAT, PMT, keyframe: so does the segment.
        check_keyframe_start(disc[0]);
        assert!(
            bytes_of(disc[0]) == c[..disc[0].len],
            "C from its first PAT on"
        );
        let before = s.segment(disc[0].seq - 1).unwrap();
        assert!((before.duration - 4.0).abs() < 1e-9, "{}", before.duration);
        // A step backwards is one too.
        let mut s = Segmenter::new(SegmenterConfig::default());
        let mut stream = Source::new(90_000_000, 50).frames(300);
        stream.extend(Source::new(0, 50).frames(300));
        feed(&mut s, &stream, 10, at(0));
        assert_eq!(all(&s).iter().filter(|g| g.discontinuity).count(), 1);
    }

    #[test]
    fn the_33_bit_clock_wrap_is_not_a_discontinuity() {
        let start = (1u64 << 33) - 5 * CLOCK;
        let mut s = Segmenter::new(SegmenterConfig::default());
        feed(&mut s, &Source::new(start, 50).frames(750), 10, at(0));
        let segs = all(&s);
        assert_eq!(segs.len(), 7);
        for seg in &segs {
            assert!(!seg.discontinuity);
            assert!((seg.duration - 4.0).abs() < 1e-9, "{}", seg.duration);
        }
    }

    #[test]
    fn window_lists_the_newest_and_keeps_one_more_window_fetchable() {
        let mut s = Segmenter::new(SegmenterConfig {
            segment_duration: Duration::from_secs(4),
            window: 5,
            first_seq: 0,
        });
        feed(&mut s, &Source::new(0, 50).frames(25 * 80), 10, at(0));
        let last = s.latest_seq().unwrap();
        assert_eq!(last, 18);
        let p = s.playlist(|q| format!("/hls/{q}.ts")).unwrap();
        assert_eq!(p.matches("#EXTINF:4.000,\n").count(), 5);
        assert!(p.contains(&format!("#EXT-X-MEDIA-SEQUENCE:{}\n", last - 4)));
        assert!(p.ends_with(&format!("/hls/{last}.ts\n")));
        assert_eq!(p.matches("#EXT-X-PROGRAM-DATE-TIME:").count(), 5);
        // Out of the playlist but still served for one window.
        assert!(s.segment(last - 9).is_some());
        assert!(s.segment(last - 10).is_none());
        assert!(s.segment(last + 1).is_none());
    }

    #[test]
    fn window_covers_three_target_durations() {
        let mut s = Segmenter::new(SegmenterConfig {
            segment_duration: Duration::from_secs(4),
            window: 1,
            first_seq: 0,
        });
        // 48-frame GOPs: target 6 s, so 3 × 6 s needs ceil(18 / 4) = 5 segments.
        feed(&mut s, &Source::new(0, 48).frames(25 * 80), 10, at(0));
        let p = s.playlist(|q| format!("{q}.ts")).unwrap();
        assert_eq!(p.matches("#EXTINF:").count(), 5);
    }

    #[test]
    fn lost_data_ends_the_segment_and_restarts_at_a_keyframe_with_a_discontinuity() {
        let mut src = Source::new(0, 50);
        let mut s = Segmenter::new(SegmenterConfig::default());
        feed(&mut s, &src.frames(250), 10, at(0)); // 10 s: two segments + 2 s open
        s.mark_discontinuity();
        assert_eq!(s.latest_seq(), Some(2));
        let cut = s.segment(2).unwrap();
        assert!((cut.duration - 2.0).abs() < 1e-9, "{}", cut.duration);
        src.frames(30); // lost
        feed(&mut s, &src.frames(250), 10, at(20));
        let next = s.segment(3).unwrap();
        assert!(next.discontinuity);
        check_keyframe_start(&next);
        assert_eq!(next.program_date_time, at(20));
        assert_eq!(s.target_duration(), Some(4));
    }

    #[test]
    fn program_codecs_and_bandwidth_are_known_after_the_first_segment() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        assert_eq!(s.codecs(), None);
        assert_eq!(s.playlist(|q| q.to_string()), None);
        let stream = Source::new(0, 50).frames(300);
        feed(&mut s, &stream, 10, at(0));
        assert_eq!(s.codecs().as_deref(), Some("avc1.64001f,mp4a.40.2"));
        let program = s.program().unwrap();
        assert_eq!(program.video, Some((VIDEO, 0x1B)));
        assert_eq!(psi::hls_support(program), Ok(()));
        let seg = s.segment(0).unwrap();
        assert_eq!(s.bandwidth(), Some(seg.len as u64 * 8 / 4));
        // MPEG-2 video is recognised and refused.
        let mut src = Source::new(0, 50);
        src.video_type = 0x02;
        let mut s = Segmenter::new(SegmenterConfig::default());
        feed(&mut s, &src.frames(50), 10, at(0));
        assert!(psi::hls_support(s.program().unwrap()).is_err());
        assert_eq!(s.codecs(), None);
    }

    /// The invariants that hold whatever the input.
    fn check_any(s: &Segmenter, target: &mut Option<u64>) {
        if let Some(t) = *target {
            assert_eq!(s.target_duration(), Some(t), "target changed");
        }
        *target = s.target_duration();
        let segs = all(s);
        for w in segs.windows(2) {
            assert_eq!(w[1].seq, w[0].seq + 1);
        }
        for seg in &segs {
            let data = bytes_of(seg);
            assert_eq!(data.len(), seg.len);
            assert_eq!(seg.len % PACKET, 0);
            assert!(seg.duration > 0.0);
            assert_eq!(data[0], SYNC);
            assert_eq!(pid_of(&data), 0);
        }
        let _ = s.playlist(|q| q.to_string());
        let _ = s.codecs();
        let _ = s.bandwidth();
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut s = Segmenter::new(SegmenterConfig::default());
        let mut target = None;
        for round in 0..1000u32 {
            let len = (rng.next() % 4000) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            // Mostly packet-shaped garbage: sync bytes, few PIDs, any flags.
            if round % 4 != 0 {
                for p in data.chunks_mut(PACKET) {
                    p[0] = SYNC;
                    if p.len() > 2 {
                        p[1] &= 0x40 | 0x01;
                        p[2] = [0x00, 0x00, 0x10, 0x00, 0x01][(rng.next() % 5) as usize];
                    }
                }
            }
            s.push(&Bytes::from(data), at(i64::from(round)));
            if round % 97 == 0 {
                s.mark_discontinuity();
            }
            check_any(&s, &mut target);
        }
    }

    #[test]
    fn a_corrupted_stream_never_panics_and_stays_framed() {
        let mut rng = XorShift(42);
        let mut src = Source::new(0, 50);
        let mut s = Segmenter::new(SegmenterConfig::default());
        let mut target = None;
        for round in 0..200 {
            let mut data = src.frames(25);
            for _ in 0..(rng.next() % 20) {
                let i = (rng.next() as usize) % data.len();
                data[i] = rng.byte();
            }
            s.push(&Bytes::from(data), at(round));
            check_any(&s, &mut target);
        }
        assert!(s.latest_seq().is_some());
    }

    /// A real capture, when one is given: `ACEXTREAM_HLS_SAMPLE=path.ts`.
    #[test]
    fn a_real_h264_capture_when_given() {
        let Ok(path) = std::env::var("ACEXTREAM_HLS_SAMPLE") else {
            eprintln!("ACEXTREAM_HLS_SAMPLE not set: skipped");
            return;
        };
        let raw = std::fs::read(&path).unwrap();
        let mut packetizer = crate::ts::Packetizer::new();
        let mut s = Segmenter::new(SegmenterConfig::default());
        let mut chunks = Vec::new();
        for piece in raw.chunks(64 * 1024) {
            if let Some(chunk) = packetizer.push(piece) {
                s.push(&chunk, at(0));
                chunks.push(chunk);
            }
        }
        let program = s.program().expect("a PAT and PMT").clone();
        eprintln!("program {program:?}, codecs {:?}", s.codecs());
        assert_eq!(psi::hls_support(&program), Ok(()));
        assert!(s.codecs().is_some_and(|c| c.starts_with("avc1.")));
        let target = s.target_duration().expect("a complete segment");
        let segs = all(&s);
        for seg in &segs {
            check_zero_copy(seg, &chunks);
            let data = bytes_of(seg);
            assert_eq!(seg.len % PACKET, 0);
            assert_eq!(pid_of(&data), 0);
            assert!(seg.duration.round() as u64 <= target);
            eprintln!(
                "segment {} {:.3} s {} bytes",
                seg.seq, seg.duration, seg.len
            );
        }
        let playlist = s.playlist(|q| format!("{q}.ts")).unwrap();
        eprintln!("{playlist}");
        // To check the output with real players: ACEXTREAM_HLS_DUMP=dir.
        if let Ok(dir) = std::env::var("ACEXTREAM_HLS_DUMP") {
            let dir = std::path::Path::new(&dir);
            std::fs::write(dir.join("live.m3u8"), &playlist).unwrap();
            for seg in &segs {
                std::fs::write(dir.join(format!("{}.ts", seg.seq)), bytes_of(seg)).unwrap();
            }
        }
    }
}
