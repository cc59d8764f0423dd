//! What the segmenter needs to read from the transport stream (ISO/IEC 13818-1):
//! the PAT and PMT, PES timestamps, where a viewer can start decoding, and the
//! codec strings a playlist announces. Every reader takes bytes from the network:
//! all of them return `None`/`false` on anything malformed, never panic.

use std::fmt;

/// Clock of PTS/DTS: 90 kHz.
pub const CLOCK: u64 = 90_000;
/// PTS and DTS are 33-bit counters.
const TS_MASK: u64 = (1 << 33) - 1;
/// Largest PSI section (section_length is at most 1021, plus the 3-byte header).
const MAX_SECTION: usize = 1024;

/// H.264 video.
pub const STREAM_H264: u8 = 0x1B;
/// ADTS AAC audio.
pub const STREAM_AAC_ADTS: u8 = 0x0F;
/// E-AC-3 audio (ATSC).
pub const STREAM_EAC3: u8 = 0x87;

/// The one program the segmenter follows (the PAT's first), as its PMT lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Program {
    /// The first video stream: `(pid, stream_type)`.
    pub video: Option<(u16, u8)>,
    /// Every elementary stream in PMT order (video included): `(pid, stream_type)`.
    pub streams: Vec<(u16, u8)>,
}

/// Whether hls.js and Safari can play `program` from MPEG-TS segments, or why not
/// (a sentence for the viewer, naming what to use instead).
pub fn hls_support(program: &Program) -> Result<(), String> {
    match program.video {
        Some((_, STREAM_H264)) => {}
        Some((_, other)) => {
            return Err(format!(
                "HLS needs H.264 video; this channel's video is {} (stream type {:#04x}): play the .ts URL",
                StreamType(other),
                other
            ));
        }
        None => {
            return Err(
                "HLS needs H.264 video; this channel has no video stream: play the .ts URL".into(),
            );
        }
    }
    if program.streams.iter().any(|&(_, t)| t == STREAM_EAC3) {
        return Err(format!(
            "HLS cannot carry this channel's E-AC-3 audio (stream type {STREAM_EAC3:#04x}; hls.js fails to parse it): play the .ts URL"
        ));
    }
    Ok(())
}

/// A stream type's common name, for messages.
struct StreamType(u8);

impl fmt::Display for StreamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0x01 => "MPEG-1",
            0x02 => "MPEG-2",
            0x10 => "MPEG-4 Part 2",
            STREAM_H264 => "H.264",
            0x24 => "HEVC",
            0x42 => "AVS",
            0xEA => "VC-1",
            _ => "an unknown codec",
        };
        f.write_str(name)
    }
}

/// Whether `stream_type` is a video codec.
pub fn is_video(stream_type: u8) -> bool {
    matches!(
        stream_type,
        0x01 | 0x02 | 0x10 | STREAM_H264 | 0x1F | 0x20 | 0x24 | 0x42 | 0xEA
    )
}

// ---- packet fields (any slice length; a short one reads as "absent") ----------

/// Packet id.
pub fn pid(packet: &[u8]) -> Option<u16> {
    let hi = *packet.get(1)?;
    let lo = *packet.get(2)?;
    Some((u16::from(hi & 0x1F) << 8) | u16::from(lo))
}

/// Whether the packet starts a PES packet or PSI section.
pub fn payload_unit_start(packet: &[u8]) -> bool {
    packet.get(1).is_some_and(|b| b & 0x40 != 0)
}

/// The adaptation field's flags byte, if the packet has a non-empty one.
fn adaptation_flags(packet: &[u8]) -> Option<u8> {
    let control = packet.get(3)? >> 4;
    if control & 0b10 == 0 || *packet.get(4)? == 0 {
        return None;
    }
    packet.get(5).copied()
}

/// Whether the adaptation field sets discontinuity_indicator.
pub fn discontinuity(packet: &[u8]) -> bool {
    adaptation_flags(packet).is_some_and(|f| f & 0x80 != 0)
}

/// Whether the adaptation field sets random_access_indicator.
pub fn random_access_indicator(packet: &[u8]) -> bool {
    adaptation_flags(packet).is_some_and(|f| f & 0x40 != 0)
}

/// The packet's payload (after the adaptation field), if it has one.
pub fn payload(packet: &[u8]) -> Option<&[u8]> {
    let control = packet.get(3)? >> 4;
    match control & 0b11 {
        0b01 => packet.get(4..),
        0b11 => {
            let len = usize::from(*packet.get(4)?);
            packet.get(5 + len..)
        }
        _ => None,
    }
}

// ---- PSI sections -------------------------------------------------------------

/// CRC-32/MPEG-2 (polynomial 0x04C11DB7, initial all ones, no reflection, no
/// final xor): the checksum ending every PSI section.
pub fn crc32_mpeg2(data: &[u8]) -> u32 {
    const MPEG2: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_MPEG_2);
    MPEG2.checksum(data)
}

/// Gathers one PSI section from the packets of a PID (a PMT with many streams can
/// span packets). Only the first section starting in a packet is read.
#[derive(Debug, Default)]
pub struct SectionReader {
    buf: Vec<u8>,
    /// Gathering a section that started in an earlier packet.
    open: bool,
}

impl SectionReader {
    /// Feeds the next packet of the PID; returns a complete section whose CRC
    /// matches. A packet that does not start a section continues the open one.
    pub fn push(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        let payload = payload(packet)?;
        if payload_unit_start(packet) {
            let pointer = usize::from(*payload.first()?);
            self.buf.clear();
            self.buf.extend_from_slice(payload.get(1 + pointer..)?);
            self.open = true;
        } else if self.open {
            self.buf.extend_from_slice(payload);
        } else {
            return None;
        }
        let total = match self.buf.get(1..3) {
            Some(&[hi, lo]) => 3 + ((usize::from(hi & 0x0F) << 8) | usize::from(lo)),
            _ => return None,
        };
        if self.buf.first() == Some(&0xFF) || !(3 + 4..=MAX_SECTION).contains(&total) {
            // Stuffing, or not a section we can read.
            self.open = false;
            return None;
        }
        if self.buf.len() < total {
            return None;
        }
        self.open = false;
        let section = self.buf.get(..total)?;
        let (body, crc) = section.split_at(total - 4);
        let crc = u32::from_be_bytes([*crc.first()?, *crc.get(1)?, *crc.get(2)?, *crc.get(3)?]);
        (crc32_mpeg2(body) == crc).then(|| section.to_vec())
    }
}

/// The loop of a long-form section (after the 8-byte header, before the CRC),
/// if it is a current table with id `table_id`.
fn section_body(section: &[u8], table_id: u8) -> Option<&[u8]> {
    if *section.first()? != table_id {
        return None;
    }
    // section_syntax_indicator set, current_next_indicator set.
    if section.get(1)? & 0x80 == 0 || section.get(5)? & 0x01 == 0 {
        return None;
    }
    section.get(8..section.len().checked_sub(4)?)
}

/// The program_map_PID of the PAT's first program (program number 0 is the NIT).
pub fn parse_pat(section: &[u8]) -> Option<u16> {
    section_body(section, 0x00)?
        .chunks_exact(4)
        .find(|e| {
            e.first()
                .zip(e.get(1))
                .is_some_and(|(a, b)| *a != 0 || *b != 0)
        })
        .and_then(|e| Some((u16::from(e.get(2)? & 0x1F) << 8) | u16::from(*e.get(3)?)))
}

/// The elementary streams of a PMT section.
pub fn parse_pmt(section: &[u8]) -> Option<Program> {
    let body = section_body(section, 0x02)?;
    // PCR_PID (2), program_info_length (2), descriptors.
    let info_len = (usize::from(body.get(2)? & 0x0F) << 8) | usize::from(*body.get(3)?);
    let mut es = body.get(4 + info_len..)?;
    let mut program = Program::default();
    while es.len() >= 5 {
        let stream_type = *es.first()?;
        let pid = (u16::from(es.get(1)? & 0x1F) << 8) | u16::from(*es.get(2)?);
        let es_info_len = (usize::from(es.get(3)? & 0x0F) << 8) | usize::from(*es.get(4)?);
        program.streams.push((pid, stream_type));
        if program.video.is_none() && is_video(stream_type) {
            program.video = Some((pid, stream_type));
        }
        es = es.get(5 + es_info_len..)?;
    }
    Some(program)
}

// ---- PES ----------------------------------------------------------------------

/// Timestamps of a PES header (90 kHz, 33 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PesTimes {
    /// Presentation timestamp.
    pub pts: Option<u64>,
    /// Decoding timestamp (absent when equal to the PTS).
    pub dts: Option<u64>,
}

impl PesTimes {
    /// The decoding time: the DTS, else the PTS.
    pub fn decode_time(&self) -> Option<u64> {
        self.dts.or(self.pts)
    }
}

/// Whether a PES stream_id has the optional header (ISO/IEC 13818-1 Table 2-21).
fn has_optional_header(stream_id: u8) -> bool {
    !matches!(
        stream_id,
        0xBC | 0xBE | 0xBF | 0xF0 | 0xF1 | 0xF2 | 0xF8 | 0xFF
    )
}

/// The PES packet starting in `packet`: its optional header and where its
/// elementary stream bytes begin (in the packet payload).
fn pes_start(packet: &[u8]) -> Option<(&[u8], usize)> {
    if !payload_unit_start(packet) {
        return None;
    }
    let p = payload(packet)?;
    if p.get(..3)? != [0, 0, 1] || !has_optional_header(*p.get(3)?) {
        return None;
    }
    // '10' marker bits of the optional header.
    if p.get(6)? & 0xC0 != 0x80 {
        return None;
    }
    let header_len = usize::from(*p.get(8)?);
    Some((p, 9 + header_len))
}

fn read_timestamp(b: &[u8]) -> Option<u64> {
    let b0 = u64::from(*b.first()?);
    let b1 = u64::from(*b.get(1)?);
    let b2 = u64::from(*b.get(2)?);
    let b3 = u64::from(*b.get(3)?);
    let b4 = u64::from(*b.get(4)?);
    Some(((b0 >> 1) & 0x07) << 30 | b1 << 22 | (b2 >> 1) << 15 | b3 << 7 | b4 >> 1)
}

/// The PTS/DTS of the PES packet starting in `packet` (`None` if none starts).
pub fn pes_times(packet: &[u8]) -> Option<PesTimes> {
    let (p, es_at) = pes_start(packet)?;
    let flags = p.get(7)? >> 6;
    // The timestamps must lie inside the header the packet declares.
    let fits = |end: usize| end <= es_at;
    let pts = if flags & 0b10 != 0 && fits(14) {
        read_timestamp(p.get(9..14)?)
    } else {
        None
    };
    let dts = if flags == 0b11 && fits(19) {
        read_timestamp(p.get(14..19)?)
    } else {
        None
    };
    Some(PesTimes { pts, dts })
}

/// The elementary stream bytes in the packet that starts a PES packet.
pub fn pes_payload(packet: &[u8]) -> Option<&[u8]> {
    let (p, es_at) = pes_start(packet)?;
    p.get(es_at..)
}

/// `later - earlier` in 90 kHz ticks, across the 33-bit wrap: the shorter way
/// round, so a small step back is negative and a wrap forward is small.
pub fn ts_diff(later: u64, earlier: u64) -> i64 {
    let d = later.wrapping_sub(earlier) & TS_MASK;
    if d >= 1 << 32 {
        d as i64 - (1 << 33)
    } else {
        d as i64
    }
}

/// The H.264 NAL units starting in `es`: (type, bytes after the NAL header).
fn nal_units(es: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut i = 0;
    std::iter::from_fn(move || {
        while let Some(w) = es.get(i..i + 4) {
            i += 1;
            if w[..3] == [0, 0, 1] && w[3] & 0x80 == 0 {
                let rest = es.get(i + 3..).unwrap_or_default();
                return Some((w[3] & 0x1F, rest));
            }
        }
        None
    })
}

/// Whether `packet` begins a PES packet a decoder can start from: the adaptation
/// field's random_access_indicator, or for H.264 an IDR slice or SPS in it.
pub fn random_access(packet: &[u8], stream_type: u8) -> bool {
    if random_access_indicator(packet) {
        return true;
    }
    stream_type == STREAM_H264
        && pes_payload(packet).is_some_and(|es| nal_units(es).any(|(t, _)| t == 5 || t == 7))
}

/// `avc1.PPCCLL` from an SPS in the PES packet starting in `packet`.
pub fn avc_codec(packet: &[u8]) -> Option<String> {
    let es = pes_payload(packet)?;
    let (_, sps) = nal_units(es).find(|(t, _)| *t == 7)?;
    let [profile, constraints, level] = *sps.get(..3)? else {
        return None;
    };
    Some(format!("avc1.{profile:02x}{constraints:02x}{level:02x}"))
}

/// `mp4a.40.<object type>` from an ADTS header at the start of the PES payload.
pub fn aac_codec(packet: &[u8]) -> Option<String> {
    let es = pes_payload(packet)?;
    let (&b0, &b1, &b2) = (es.first()?, es.get(1)?, es.get(2)?);
    if b0 != 0xFF || b1 & 0xF6 != 0xF0 {
        return None;
    }
    let profile = b2 >> 6;
    Some(format!("mp4a.40.{}", profile + 1))
}

/// The CODECS entry of an audio stream, `known` being what its first packet said.
pub fn audio_codec(stream_type: u8, known: Option<&str>) -> Option<String> {
    match stream_type {
        STREAM_AAC_ADTS => Some(known.unwrap_or("mp4a.40.2").to_string()),
        0x03 | 0x04 => Some("mp4a.40.34".into()),
        0x81 => Some("ac-3".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hls::testing::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_E6E7);
    }

    #[test]
    fn pat_and_pmt_are_read() {
        let mut r = SectionReader::default();
        let pat = r.push(&pat_packet(0x1000, 0)).unwrap();
        assert_eq!(parse_pat(&pat), Some(0x1000));
        let pmt = r
            .push(&pmt_packet(0x1000, &[(0x101, 0x0F), (0x100, 0x1B)], 0))
            .unwrap();
        let program = parse_pmt(&pmt).unwrap();
        assert_eq!(program.video, Some((0x100, 0x1B)));
        assert_eq!(program.streams, vec![(0x101, 0x0F), (0x100, 0x1B)]);
    }

    #[test]
    fn a_section_with_a_bad_crc_is_refused() {
        let mut p = pat_packet(0x1000, 0);
        p[10] ^= 1;
        assert_eq!(SectionReader::default().push(&p), None);
    }

    #[test]
    fn a_pmt_spanning_two_packets_is_gathered() {
        let streams: Vec<(u16, u8)> = (0..40).map(|i| (0x100 + i, 0x06)).collect();
        let packets = pmt_packets(0x1000, &streams, 0);
        assert_eq!(packets.len(), 2);
        let mut r = SectionReader::default();
        assert_eq!(r.push(&packets[0]), None);
        let program = parse_pmt(&r.push(&packets[1]).unwrap()).unwrap();
        assert_eq!(program.streams.len(), 40);
    }

    #[test]
    fn pes_timestamps_are_read() {
        let p = &pes_packets(
            0x100,
            0xE0,
            8_589_934_000,
            Some(8_589_930_000),
            false,
            &[],
            1,
        )[0];
        let t = pes_times(p).unwrap();
        assert_eq!(t.pts, Some(8_589_934_000));
        assert_eq!(t.dts, Some(8_589_930_000));
        assert_eq!(t.decode_time(), Some(8_589_930_000));
        let p = &pes_packets(0x101, 0xC0, 1234, None, false, &[], 1)[0];
        assert_eq!(pes_times(p).unwrap().decode_time(), Some(1234));
    }

    #[test]
    fn timestamp_differences_cross_the_wrap() {
        let max = (1u64 << 33) - 1;
        assert_eq!(ts_diff(10, max - 9), 20);
        assert_eq!(ts_diff(max - 9, 10), -20);
        assert_eq!(ts_diff(90_000, 0), 90_000);
        assert_eq!(ts_diff(0, 90_000), -90_000);
    }

    #[test]
    fn random_access_from_the_flag_or_an_idr_or_sps_nal() {
        let flagged = &pes_packets(0x100, 0xE0, 0, None, true, &[0, 0, 0, 1, 0x41], 1)[0];
        assert!(random_access(flagged, 0x1B));
        let idr = &pes_packets(
            0x100,
            0xE0,
            0,
            None,
            false,
            &[0, 0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x65],
            1,
        )[0];
        assert!(random_access(idr, 0x1B));
        assert!(!random_access(idr, 0x02), "NAL types are H.264's only");
        let p_slice = &pes_packets(
            0x100,
            0xE0,
            0,
            None,
            false,
            &[0, 0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x41],
            1,
        )[0];
        assert!(!random_access(p_slice, 0x1B));
    }

    #[test]
    fn codecs_from_a_real_sps_and_adts_header() {
        let idr = &pes_packets(0x100, 0xE0, 0, None, true, &keyframe_es(), 1)[0];
        assert_eq!(avc_codec(idr).as_deref(), Some("avc1.64001f"));
        let aac = &pes_packets(0x101, 0xC0, 0, None, false, &adts_frame(1), 1)[0];
        assert_eq!(aac_codec(aac).as_deref(), Some("mp4a.40.2"));
        let main = &pes_packets(0x101, 0xC0, 0, None, false, &adts_frame(0), 1)[0];
        assert_eq!(aac_codec(main).as_deref(), Some("mp4a.40.1"));
        assert_eq!(audio_codec(0x0F, None).as_deref(), Some("mp4a.40.2"));
        assert_eq!(audio_codec(0x03, None).as_deref(), Some("mp4a.40.34"));
        assert_eq!(audio_codec(0x81, None).as_deref(), Some("ac-3"));
        assert_eq!(audio_codec(0x06, None), None);
    }

    #[test]
    fn hls_support_needs_h264_and_no_eac3() {
        let with = |video: u8, audio: u8| Program {
            video: Some((0x100, video)),
            streams: vec![(0x100, video), (0x101, audio)],
        };
        assert_eq!(hls_support(&with(0x1B, 0x0F)), Ok(()));
        let mpeg2 = hls_support(&with(0x02, 0x0F)).unwrap_err();
        assert_eq!(
            mpeg2,
            "HLS needs H.264 video; this channel's video is MPEG-2 (stream type 0x02): play the .ts URL"
        );
        assert!(
            hls_support(&with(0x01, 0x0F))
                .unwrap_err()
                .contains("MPEG-1")
        );
        assert!(
            hls_support(&with(0x24, 0x0F))
                .unwrap_err()
                .contains("HEVC (stream type 0x24)")
        );
        let eac3 = hls_support(&with(0x1B, 0x87)).unwrap_err();
        assert!(eac3.contains("E-AC-3") && eac3.contains("0x87"), "{eac3}");
        let radio = Program {
            video: None,
            streams: vec![(0x101, 0x0F)],
        };
        assert!(hls_support(&radio).unwrap_err().contains("no video"));
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = XorShift(0x1234_5678_9abc_def0);
        let mut r = SectionReader::default();
        for len in (0..400).chain([188; 2000]) {
            let mut p: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            if let Some(b) = p.get_mut(1) {
                // Often a section start, so the section paths run too.
                *b |= rng.byte() & 0x40;
            }
            let _ = pid(&p);
            let _ = discontinuity(&p);
            let _ = random_access(&p, 0x1B);
            let _ = pes_times(&p);
            let _ = avc_codec(&p);
            let _ = aac_codec(&p);
            if let Some(s) = r.push(&p) {
                let _ = parse_pat(&s);
                let _ = parse_pmt(&s);
            }
            let _ = parse_pat(&p);
            let _ = parse_pmt(&p);
        }
    }
}
