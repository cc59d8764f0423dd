//! Cheap generation of the live stream: four pre-built packet templates, copied and
//! patched (continuity counter, sequence number) per packet, because the bench pushes
//! gigabits through this.

use std::sync::LazyLock;

use bytes::BytesMut;

use super::crc::crc32_mpeg2;
use super::{CYCLE, MAGIC, PACKET_SIZE, PMT_PID, PacketKind, SYNC_BYTE, VIDEO_PID, kind_of};

type Packet = [u8; PACKET_SIZE];

/// Byte offset of the sequence number in a plain data packet (4-byte header + magic).
const SEQ_AT: usize = 4 + MAGIC.len();
/// Byte offset of the sequence number in a keyframe data packet, whose 2-byte
/// adaptation field (length, flags) comes before the payload.
const SEQ_AT_RAI: usize = SEQ_AT + 2;

struct Templates {
    pat: Packet,
    pmt: Packet,
    data: Packet,
    data_rai: Packet,
}

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| Templates {
    pat: table_packet(0, &pat_section()),
    pmt: table_packet(PMT_PID, &pmt_section()),
    data: data_packet(false),
    data_rai: data_packet(true),
});

/// A section-carrying packet: header with payload_unit_start, pointer field 0, the
/// section, then 0xFF stuffing as the standard requires.
fn table_packet(pid: u16, section: &[u8]) -> Packet {
    let mut p = [0xFF; PACKET_SIZE];
    p[0] = SYNC_BYTE;
    p[1] = 0x40 | (pid >> 8) as u8;
    p[2] = (pid & 0xFF) as u8;
    p[3] = 0x10; // payload only, continuity counter patched per packet
    p[4] = 0x00; // pointer field
    p[5..5 + section.len()].copy_from_slice(section);
    p
}

/// Appends the CRC to a section whose bytes are complete otherwise.
fn with_crc(mut section: Vec<u8>) -> Vec<u8> {
    let crc = crc32_mpeg2(&section);
    section.extend_from_slice(&crc.to_be_bytes());
    section
}

/// PAT: transport stream 1 has one program, number 1, whose PMT is on [`PMT_PID`].
fn pat_section() -> Vec<u8> {
    let pmt_hi = 0xE0 | (PMT_PID >> 8) as u8;
    let pmt_lo = (PMT_PID & 0xFF) as u8;
    // section_length 13 = 5 header bytes after the length + 4 program entry + 4 CRC.
    with_crc(vec![
        0x00, 0xB0, 13, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, pmt_hi, pmt_lo,
    ])
}

/// PMT: program 1, PCR and one H.264 stream (type 0x1B) on [`VIDEO_PID`].
fn pmt_section() -> Vec<u8> {
    let vid_hi = 0xE0 | (VIDEO_PID >> 8) as u8;
    let vid_lo = (VIDEO_PID & 0xFF) as u8;
    // section_length 18 = 9 fixed bytes after the length + 5 stream entry + 4 CRC.
    with_crc(vec![
        0x02, 0xB0, 18, 0x00, 0x01, 0xC1, 0x00, 0x00, vid_hi, vid_lo, 0xF0, 0x00, 0x1B, vid_hi,
        vid_lo, 0xF0, 0x00,
    ])
}

/// A data packet; `rai` adds an adaptation field with random_access_indicator.
fn data_packet(rai: bool) -> Packet {
    let mut p = [0u8; PACKET_SIZE];
    p[0] = SYNC_BYTE;
    p[1] = (VIDEO_PID >> 8) as u8;
    p[2] = (VIDEO_PID & 0xFF) as u8;
    let mut at = 4;
    if rai {
        p[3] = 0x30; // adaptation field and payload
        p[4] = 1; // adaptation_field_length: just the flags byte
        p[5] = 0x40; // random_access_indicator
        at = 6;
    } else {
        p[3] = 0x10;
    }
    p[at..at + MAGIC.len()].copy_from_slice(MAGIC);
    // A recognisable filler pattern makes a hex dump of a capture easy to read.
    for (i, b) in p[at + MAGIC.len() + 8..].iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    p
}

/// Appends packets `from..to` of the live stream of the content tagged `tag` to
/// `out` (the tag follows each data packet's sequence number).
pub fn write_packets(out: &mut BytesMut, from: u64, to: u64, tag: u32) {
    let t = &*TEMPLATES;
    out.reserve((to.saturating_sub(from) as usize) * PACKET_SIZE);
    for p in from..to {
        let start = out.len();
        let cc = match kind_of(p) {
            PacketKind::Pat => {
                out.extend_from_slice(&t.pat);
                p / CYCLE
            }
            PacketKind::Pmt => {
                out.extend_from_slice(&t.pmt);
                p / CYCLE
            }
            PacketKind::Data(seq) => {
                let (template, seq_at) = if p % CYCLE == 2 {
                    (&t.data_rai, SEQ_AT_RAI)
                } else {
                    (&t.data, SEQ_AT)
                };
                out.extend_from_slice(template);
                out[start + seq_at..start + seq_at + 8].copy_from_slice(&seq.to_be_bytes());
                out[start + seq_at + 8..start + seq_at + 12].copy_from_slice(&tag.to_be_bytes());
                seq
            }
        };
        out[start + 3] = (out[start + 3] & 0xF0) | (cc % 16) as u8;
    }
}

/// Packet `p` of the live stream, as bytes.
pub fn packet(p: u64) -> Packet {
    let mut buf = BytesMut::with_capacity(PACKET_SIZE);
    write_packets(&mut buf, p, p + 1, 0);
    let mut out = [0u8; PACKET_SIZE];
    out.copy_from_slice(&buf);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ts::TsChecker;

    #[test]
    fn generated_stream_checks_contiguous() {
        let mut buf = BytesMut::new();
        write_packets(&mut buf, 0, 1000, 0);
        let mut c = TsChecker::new();
        c.feed(&buf);
        assert!(c.is_contiguous(), "{c:?}");
        assert_eq!(c.packets, 1000);
        assert_eq!(c.first_pid, Some(0));
        assert_eq!(c.first_seq, Some(0));
        assert_eq!(c.pats, 25);
        assert_eq!(c.cc_errors, 0);
        assert_eq!(c.random_access_points, 25);
    }

    #[test]
    fn pat_and_pmt_carry_valid_crcs() {
        for section in [pat_section(), pmt_section()] {
            // The CRC over a section including its own CRC is zero.
            assert_eq!(crc32_mpeg2(&section), 0);
            let len = (usize::from(section[1] & 0x0F) << 8) | usize::from(section[2]);
            assert_eq!(len + 3, section.len());
        }
    }

    #[test]
    fn single_packet_matches_the_stream() {
        let mut buf = BytesMut::new();
        write_packets(&mut buf, 0, 100, 0);
        assert_eq!(&packet(42)[..], &buf[42 * PACKET_SIZE..43 * PACKET_SIZE]);
    }
}
