//! Reading and rewriting the fields of one 188-byte packet that a looped real
//! video needs: header bits, the adaptation field's PCR and flags, a PES header's
//! PTS/DTS, and the PAT/PMT entries. Every reader is bounds-checked (`None` on a
//! short or malformed packet), since the [`MediaChecker`](super::MediaChecker) is
//! fed bytes from the network.

/// Ticks of the 90 kHz system clock base in a PTS, DTS or PCR base: 33 bits.
pub(crate) const TS_WRAP: u64 = 1 << 33;

/// PID of a packet.
pub(crate) fn pid(pkt: &[u8]) -> Option<u16> {
    Some((u16::from(*pkt.get(1)? & 0x1F) << 8) | u16::from(*pkt.get(2)?))
}

/// Whether payload_unit_start_indicator is set.
pub(crate) fn unit_start(pkt: &[u8]) -> bool {
    pkt.get(1).is_some_and(|b| b & 0x40 != 0)
}

/// Whether the packet carries a payload (adaptation_field_control 01 or 11).
pub(crate) fn has_payload(pkt: &[u8]) -> bool {
    pkt.get(3).is_some_and(|b| b & 0x10 != 0)
}

/// The adaptation field's flags byte, if the packet has a non-empty one.
fn af_flags(pkt: &[u8]) -> Option<u8> {
    let afc = (pkt.get(3)? >> 4) & 0x3;
    if afc & 0x2 == 0 || *pkt.get(4)? == 0 {
        return None;
    }
    pkt.get(5).copied()
}

/// Whether the adaptation field sets random_access_indicator (a keyframe starts).
pub(crate) fn random_access(pkt: &[u8]) -> bool {
    af_flags(pkt).is_some_and(|f| f & 0x40 != 0)
}

/// Whether the adaptation field sets discontinuity_indicator.
pub(crate) fn discontinuity(pkt: &[u8]) -> bool {
    af_flags(pkt).is_some_and(|f| f & 0x80 != 0)
}

/// Offset of the payload, after the header and any adaptation field.
pub(crate) fn payload_at(pkt: &[u8]) -> Option<usize> {
    if !has_payload(pkt) {
        return None;
    }
    let at = if pkt.get(3)? & 0x20 != 0 {
        5 + usize::from(*pkt.get(4)?)
    } else {
        4
    };
    (at < pkt.len()).then_some(at)
}

/// Offset of the PCR (6 bytes) in the adaptation field, if the packet carries one.
pub(crate) fn pcr_at(pkt: &[u8]) -> Option<usize> {
    let flags = af_flags(pkt)?;
    (flags & 0x10 != 0 && *pkt.get(4)? >= 7 && pkt.len() >= 12).then_some(6)
}

/// The PCR in 27 MHz ticks (base × 300 + extension).
pub(crate) fn pcr(pkt: &[u8]) -> Option<u64> {
    let b = pkt.get(pcr_at(pkt)?..)?.get(..6)?;
    let ext = (u64::from(b[4] & 0x01) << 8) | u64::from(b[5]);
    Some(read_pcr_base(b) * 300 + ext)
}

/// Writes a PCR base (33 bits, modulo [`TS_WRAP`]) into the 6 PCR bytes `b`,
/// keeping the reserved bits and the extension.
pub(crate) fn write_pcr_base(b: &mut [u8], base: u64) {
    let base = base % TS_WRAP;
    if let Some(b) = b.get_mut(..5) {
        b[0] = (base >> 25) as u8;
        b[1] = (base >> 17) as u8;
        b[2] = (base >> 9) as u8;
        b[3] = (base >> 1) as u8;
        b[4] = (b[4] & 0x7F) | (((base & 1) as u8) << 7);
    }
}

/// The PCR base (90 kHz) of the 6 PCR bytes `b`.
pub(crate) fn read_pcr_base(b: &[u8]) -> u64 {
    match b.get(..5) {
        Some(b) => {
            (u64::from(b[0]) << 25)
                | (u64::from(b[1]) << 17)
                | (u64::from(b[2]) << 9)
                | (u64::from(b[3]) << 1)
                | (u64::from(b[4]) >> 7)
        }
        None => 0,
    }
}

/// Offsets of the PTS and DTS (5 bytes each) of the PES header starting in this
/// packet; `(None, None)` if none starts here or it has no timestamps.
pub(crate) fn pes_timestamps_at(pkt: &[u8]) -> (Option<usize>, Option<usize>) {
    let Some(at) = payload_at(pkt).filter(|_| unit_start(pkt)) else {
        return (None, None);
    };
    let Some(h) = pkt.get(at..at + 19) else {
        return (None, None);
    };
    // Stream ids whose PES header has no optional fields (padding, private 2, …).
    let no_header = [0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF];
    if h[..3] != [0, 0, 1] || no_header.contains(&h[3]) {
        return (None, None);
    }
    match h[7] >> 6 {
        0b10 => (Some(at + 9), None),
        0b11 => (Some(at + 9), Some(at + 14)),
        _ => (None, None),
    }
}

/// A 33-bit PTS or DTS from its 5 bytes.
pub(crate) fn read_timestamp(b: &[u8]) -> u64 {
    match b.get(..5) {
        Some(b) => {
            (u64::from((b[0] >> 1) & 0x07) << 30)
                | (u64::from(b[1]) << 22)
                | (u64::from(b[2] >> 1) << 15)
                | (u64::from(b[3]) << 7)
                | (u64::from(b[4]) >> 1)
        }
        None => 0,
    }
}

/// Writes a PTS or DTS (modulo [`TS_WRAP`]) into its 5 bytes, keeping the 4-bit
/// prefix and setting the marker bits.
pub(crate) fn write_timestamp(b: &mut [u8], v: u64) {
    let v = v % TS_WRAP;
    if let Some(b) = b.get_mut(..5) {
        b[0] = (b[0] & 0xF0) | (((v >> 29) as u8) & 0x0E) | 0x01;
        b[1] = (v >> 22) as u8;
        b[2] = (((v >> 14) as u8) & 0xFE) | 0x01;
        b[3] = (v >> 7) as u8;
        b[4] = (((v << 1) as u8) & 0xFE) | 0x01;
    }
}

/// The section a PSI packet starts (after the pointer field), if it starts one.
pub(crate) fn section(pkt: &[u8]) -> Option<&[u8]> {
    let at = payload_at(pkt).filter(|_| unit_start(pkt))?;
    let pointer = usize::from(*pkt.get(at)?);
    let sec = pkt.get(at + 1 + pointer..)?;
    let len = (usize::from(*sec.get(1)? & 0x0F) << 8) | usize::from(*sec.get(2)?);
    sec.get(..3 + len)
}

/// The PMT PID of the first program of a PAT section.
pub(crate) fn pat_first_pmt(sec: &[u8]) -> Option<u16> {
    if *sec.first()? != 0x00 {
        return None;
    }
    // Program entries of 4 bytes between the 8-byte header and the 4-byte CRC.
    let entries = sec.get(8..sec.len().checked_sub(4)?)?;
    entries.chunks_exact(4).find_map(|e| {
        let program = u16::from_be_bytes([e[0], e[1]]);
        (program != 0).then(|| (u16::from(e[2] & 0x1F) << 8) | u16::from(e[3]))
    })
}

/// What a PMT section says: the PCR PID and each elementary stream's (PID, type).
pub(crate) fn pmt_streams(sec: &[u8]) -> Option<(u16, Vec<(u16, u8)>)> {
    if *sec.first()? != 0x02 {
        return None;
    }
    let pcr_pid = (u16::from(*sec.get(8)? & 0x1F) << 8) | u16::from(*sec.get(9)?);
    let info_len = (usize::from(*sec.get(10)? & 0x0F) << 8) | usize::from(*sec.get(11)?);
    let end = sec.len().checked_sub(4)?;
    let mut at = 12 + info_len;
    let mut streams = Vec::new();
    while at + 5 <= end {
        let e = sec.get(at..at + 5)?;
        let pid = (u16::from(e[1] & 0x1F) << 8) | u16::from(e[2]);
        let es_info = (usize::from(e[3] & 0x0F) << 8) | usize::from(e[4]);
        streams.push((pid, e[0]));
        at += 5 + es_info;
    }
    Some((pcr_pid, streams))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_with_markers() {
        for v in [0, 1, 90_000, TS_WRAP - 1, 0x1_2345_6789] {
            let mut b = [0x31, 0, 0, 0, 0];
            write_timestamp(&mut b, v);
            assert_eq!(read_timestamp(&b), v);
            assert_eq!(b[0] & 0xF1, 0x31, "prefix and marker kept");
            assert_eq!(b[2] & 1, 1);
            assert_eq!(b[4] & 1, 1);
        }
        let mut b = [0x21, 0, 0, 0, 0];
        write_timestamp(&mut b, TS_WRAP + 5);
        assert_eq!(read_timestamp(&b), 5, "wraps at 33 bits");
    }

    #[test]
    fn pcr_base_round_trips_and_keeps_the_extension() {
        let mut pkt = [0u8; 188];
        pkt[0] = 0x47;
        pkt[3] = 0x30;
        pkt[4] = 7;
        pkt[5] = 0x10;
        pkt[10] = 0x7E | 0x01; // reserved bits set, extension's top bit set
        pkt[11] = 0x2B;
        write_pcr_base(&mut pkt[6..12], 0x1_8765_4321);
        assert_eq!(read_pcr_base(&pkt[6..12]), 0x1_8765_4321);
        assert_eq!(pcr(&pkt), Some(0x1_8765_4321 * 300 + 0x12B));
    }
}
