//! Live HLS cut from the hub's MPEG-TS, without ffmpeg: a pure segmenter (no I/O,
//! no clock of its own) that keeps zero-copy slices of the shared chunks and
//! renders RFC 8216 media playlists (CLIENTS.md §2).
//!
//! - [`psi`]: the PAT/PMT, PES timestamps, random access points, codec strings,
//!   and whether a program can be played as HLS at all ([`psi::hls_support`]).
//! - [`segmenter`]: cuts segments that start PAT, PMT, keyframe, with a target
//!   duration fixed for the playlist's life, and a discontinuity at every source
//!   switch.
//! - [`playlist`]: the media and master playlist text.

pub mod playlist;
pub mod psi;
pub mod segmenter;

pub use playlist::master_playlist;
pub use psi::{Program, hls_support};
pub use segmenter::{Segment, Segmenter, SegmenterConfig};

/// Synthetic transport streams for the tests of this module.
#[cfg(test)]
pub(crate) mod testing {
    use super::psi::crc32_mpeg2;
    use crate::ts::{PACKET, SYNC};

    /// A packet header: PID, payload_unit_start, continuity counter; payload only.
    fn header(pid: u16, start: bool, cc: u8) -> Vec<u8> {
        let mut p = Vec::with_capacity(PACKET);
        p.push(SYNC);
        p.push(((pid >> 8) as u8 & 0x1F) | if start { 0x40 } else { 0 });
        p.push(pid as u8);
        p.push(0x10 | (cc & 0x0F));
        p
    }

    /// Cuts a PSI section into packets of `pid` (pointer field 0, 0xFF stuffing).
    fn section_packets(pid: u16, section: &[u8], cc: u8) -> Vec<Vec<u8>> {
        let mut data = vec![0u8];
        data.extend_from_slice(section);
        data.chunks(PACKET - 4)
            .enumerate()
            .map(|(i, piece)| {
                let mut p = header(pid, i == 0, cc.wrapping_add(i as u8));
                p.extend_from_slice(piece);
                p.resize(PACKET, 0xFF);
                p
            })
            .collect()
    }

    /// Appends section_length and the CRC to a section of `table_id` with `body`
    /// after the 5 bytes following section_length.
    fn section(table_id: u8, id: u16, body: &[u8]) -> Vec<u8> {
        let len = 5 + body.len() + 4;
        let mut s = vec![
            table_id,
            0xB0 | ((len >> 8) as u8 & 0x0F),
            len as u8,
            (id >> 8) as u8,
            id as u8,
            0xC1, // version 0, current
            0,
            0,
        ];
        s.extend_from_slice(body);
        let crc = crc32_mpeg2(&s);
        s.extend_from_slice(&crc.to_be_bytes());
        s
    }

    /// A PAT with program 1 at `pmt_pid`.
    pub fn pat_packet(pmt_pid: u16, cc: u8) -> Vec<u8> {
        let body = [0, 1, 0xE0 | (pmt_pid >> 8) as u8, pmt_pid as u8];
        section_packets(0, &section(0x00, 1, &body), cc).remove(0)
    }

    /// The packets of a PMT listing `streams` (pid, stream_type).
    pub fn pmt_packets(pmt_pid: u16, streams: &[(u16, u8)], cc: u8) -> Vec<Vec<u8>> {
        let pcr = streams.first().map_or(0x1FFF, |s| s.0);
        let mut body = vec![0xE0 | (pcr >> 8) as u8, pcr as u8, 0xF0, 0];
        for &(pid, stream_type) in streams {
            body.extend_from_slice(&[stream_type, 0xE0 | (pid >> 8) as u8, pid as u8, 0xF0, 0]);
        }
        section_packets(pmt_pid, &section(0x02, 1, &body), cc)
    }

    /// A PMT that fits one packet.
    pub fn pmt_packet(pmt_pid: u16, streams: &[(u16, u8)], cc: u8) -> Vec<u8> {
        let mut packets = pmt_packets(pmt_pid, streams, cc);
        assert_eq!(packets.len(), 1);
        packets.remove(0)
    }

    fn write_timestamp(out: &mut Vec<u8>, marker: u8, ts: u64) {
        out.push((marker << 4) | (((ts >> 30) as u8 & 0x07) << 1) | 1);
        out.push((ts >> 22) as u8);
        out.push((((ts >> 15) as u8) << 1) | 1);
        out.push((ts >> 7) as u8);
        out.push(((ts as u8) << 1) | 1);
    }

    /// A PES packet of `n` TS packets: the first carries the header (PTS, DTS if
    /// given, random_access_indicator if `rai`) and `es`, the rest filler.
    pub fn pes_packets(
        pid: u16,
        stream_id: u8,
        pts: u64,
        dts: Option<u64>,
        rai: bool,
        es: &[u8],
        n: usize,
    ) -> Vec<Vec<u8>> {
        let mut first = header(pid, true, 0);
        if rai {
            first[3] = 0x30;
            first.extend_from_slice(&[1, 0x40]);
        }
        first.extend_from_slice(&[0, 0, 1, stream_id, 0, 0, 0x80]);
        match dts {
            Some(dts) => {
                first.extend_from_slice(&[0xC0, 10]);
                write_timestamp(&mut first, 0b0011, pts);
                write_timestamp(&mut first, 0b0001, dts);
            }
            None => {
                first.extend_from_slice(&[0x80, 5]);
                write_timestamp(&mut first, 0b0010, pts);
            }
        }
        first.extend_from_slice(es);
        assert!(first.len() <= PACKET);
        first.resize(PACKET, 0xAB);
        let mut out = vec![first];
        for i in 1..n {
            let mut p = header(pid, false, i as u8);
            p.resize(PACKET, 0xAB);
            out.push(p);
        }
        out
    }

    /// A null packet.
    pub fn null_packet() -> Vec<u8> {
        let mut p = header(0x1FFF, false, 0);
        p.resize(PACKET, 0xFF);
        p
    }

    /// The start of a real H.264 keyframe: access unit delimiter, the SPS of a
    /// High@3.1 720p stream (x264), a PPS and the first bytes of an IDR slice.
    pub fn keyframe_es() -> Vec<u8> {
        let mut es = vec![0, 0, 0, 1, 0x09, 0xF0];
        es.extend_from_slice(&[
            0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1F, 0xAC, 0xD9, 0x40, 0x50, 0x05, 0xBB, 0x01, 0x10,
            0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xF1, 0x83, 0x19, 0x60,
        ]);
        es.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xEB, 0xE3, 0xCB, 0x22, 0xC0]);
        es.extend_from_slice(&[0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x33]);
        es
    }

    /// An inter frame's start: delimiter and a non-IDR slice.
    pub fn inter_es() -> Vec<u8> {
        vec![0, 0, 0, 1, 0x09, 0x30, 0, 0, 1, 0x41, 0x9A, 0x02]
    }

    /// An ADTS header (48 kHz stereo) of AAC `profile` (1 = LC) and a few bytes.
    pub fn adts_frame(profile: u8) -> Vec<u8> {
        vec![
            0xFF,
            0xF1,
            (profile << 6) | (3 << 2),
            0x80,
            0x2E,
            0x7F,
            0xFC,
            0x21,
            0x1A,
        ]
    }

    /// Deterministic pseudo-random bytes.
    pub struct XorShift(pub u64);

    impl XorShift {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        pub fn byte(&mut self) -> u8 {
            self.next() as u8
        }
    }

    pub const PMT_PID: u16 = 0x1000;
    pub const VIDEO: u16 = 0x100;
    pub const AUDIO: u16 = 0x101;

    /// A synthetic live channel: 25 fps H.264 + AAC, PAT/PMT every `psi_every`
    /// frames and (if `psi_before_keyframe`) right before each keyframe.
    pub struct Source {
        /// Decode time of the next frame (90 kHz, wraps at 33 bits).
        pub dts: u64,
        /// Frames between keyframes.
        pub gop: u64,
        pub psi_every: u64,
        pub psi_before_keyframe: bool,
        pub frame: u64,
        pub video_type: u8,
        pub audio_type: u8,
    }

    impl Source {
        pub const FRAME: u64 = 3600;

        pub fn new(dts: u64, gop: u64) -> Self {
            Self {
                dts,
                gop,
                psi_every: 10,
                psi_before_keyframe: true,
                frame: 0,
                video_type: 0x1B,
                audio_type: 0x0F,
            }
        }

        pub fn psi(&self) -> Vec<u8> {
            let mut out = pat_packet(PMT_PID, 0);
            out.extend(pmt_packet(
                PMT_PID,
                &[(VIDEO, self.video_type), (AUDIO, self.audio_type)],
                0,
            ));
            out
        }

        /// Whether the next frame is a keyframe.
        pub fn keyframe_next(&self) -> bool {
            self.frame.is_multiple_of(self.gop)
        }

        /// The packets of the next frame (and its audio).
        pub fn next_frame(&mut self) -> Vec<u8> {
            let key = self.keyframe_next();
            let mut out = Vec::new();
            if (key && self.psi_before_keyframe) || self.frame.is_multiple_of(self.psi_every) {
                out.extend(self.psi());
            }
            let dts = self.dts & ((1 << 33) - 1);
            let pts = (dts + 2 * Self::FRAME) & ((1 << 33) - 1);
            let es = if key { keyframe_es() } else { inter_es() };
            for p in pes_packets(
                VIDEO,
                0xE0,
                pts,
                Some(dts),
                key,
                &es,
                if key { 4 } else { 2 },
            ) {
                out.extend(p);
            }
            for p in pes_packets(AUDIO, 0xC0, pts, None, false, &adts_frame(1), 1) {
                out.extend(p);
            }
            self.frame += 1;
            self.dts += Self::FRAME;
            out
        }

        pub fn frames(&mut self, n: u64) -> Vec<u8> {
            (0..n).flat_map(|_| self.next_frame()).collect()
        }
    }
}
