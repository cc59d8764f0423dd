//! MPEG-TS framing: re-cuts the engine's unaligned byte pieces into whole 188-byte
//! packets, and finds the places a new viewer can start decoding (PAT, keyframe).
//!
//! The engine writes pieces of any size, split mid-packet. Viewers must only ever
//! see whole packets, so every chunk the hub shares starts and ends on a packet
//! boundary; the carry-over between pieces is at most one packet.

use bytes::{Buf, Bytes, BytesMut};

/// Size of a transport stream packet.
pub const PACKET: usize = 188;
/// First byte of every packet.
pub const SYNC: u8 = 0x47;

/// Packet id of a packet (13 bits after the sync byte).
pub fn pid(packet: &[u8]) -> u16 {
    (u16::from(packet[1] & 0x1f) << 8) | u16::from(packet[2])
}

/// Whether the packet starts a PSI section or PES packet.
pub fn payload_unit_start(packet: &[u8]) -> bool {
    packet[1] & 0x40 != 0
}

/// Whether the packet's adaptation field sets random_access_indicator (a keyframe).
pub fn random_access(packet: &[u8]) -> bool {
    let has_adaptation = packet[3] & 0x20 != 0;
    has_adaptation && packet[4] > 0 && packet[5] & 0x40 != 0
}

/// Whether `packet` begins a Program Association Table.
pub fn is_pat_start(packet: &[u8]) -> bool {
    pid(packet) == 0 && payload_unit_start(packet)
}

/// Turns arbitrary byte pieces into packet-aligned chunks, resynchronising on the
/// sync byte when the input is garbled.
#[derive(Debug, Default)]
pub struct Packetizer {
    pending: BytesMut,
    /// Bytes thrown away while looking for sync.
    pub discarded: u64,
}

impl Packetizer {
    /// A fresh packetizer (one per engine session: a reopened session starts clean).
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a piece; returns the whole packets now available (possibly empty).
    /// Every packet handed out starts with the sync byte: a byte lost or added
    /// inside a piece shifts every later packet of it, so those are resynchronised
    /// too, not just the start of each piece.
    pub fn push(&mut self, piece: &[u8]) -> Option<Bytes> {
        self.pending.extend_from_slice(piece);
        // Copy the packets out into an allocation of exactly their size: a slice
        // of `pending` (or of the HTTP client's read buffer) would keep a larger,
        // growing allocation alive for as long as the ring holds the chunk. One
        // copy per byte received, shared by every viewer.
        let mut out: Vec<u8> = Vec::new();
        loop {
            self.resync();
            let aligned = self
                .pending
                .chunks_exact(PACKET)
                .take_while(|p| p[0] == SYNC)
                .count()
                * PACKET;
            if aligned == 0 {
                break;
            }
            out.reserve_exact(aligned);
            out.extend_from_slice(&self.pending[..aligned]);
            self.pending.advance(aligned);
            // What is left is a partial packet, or one out of sync: resync it.
            if self.pending.len() < PACKET {
                break;
            }
        }
        (!out.is_empty()).then(|| Bytes::from(out))
    }

    /// Drops bytes until the buffer starts at a plausible packet: a sync byte with
    /// another sync byte one packet later (or the end of the buffer).
    fn resync(&mut self) {
        loop {
            let buf = &self.pending[..];
            if buf.is_empty() {
                return;
            }
            let plausible = buf[0] == SYNC && (buf.len() <= PACKET || buf[PACKET] == SYNC);
            if plausible {
                return;
            }
            let skip = buf[1..]
                .iter()
                .position(|&b| b == SYNC)
                .map_or(buf.len(), |p| p + 1);
            self.discarded += skip as u64;
            self.pending.advance(skip);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn packet(pid: u16, start: bool, keyframe: bool, fill: u8) -> Vec<u8> {
        let mut p = vec![fill; PACKET];
        p[0] = SYNC;
        p[1] = ((pid >> 8) as u8 & 0x1f) | if start { 0x40 } else { 0 };
        p[2] = pid as u8;
        if keyframe {
            p[3] = 0x30;
            p[4] = 7;
            p[5] = 0x40;
        } else {
            p[3] = 0x10;
        }
        p
    }

    #[test]
    fn unaligned_pieces_come_out_as_whole_packets_in_order() {
        let stream: Vec<u8> = (0..50u8)
            .flat_map(|i| packet(0x100, false, false, i))
            .collect();
        let mut p = Packetizer::new();
        let mut out = Vec::new();
        for piece in stream.chunks(61) {
            if let Some(chunk) = p.push(piece) {
                assert_eq!(chunk.len() % PACKET, 0);
                assert_eq!(chunk[0], SYNC);
                out.extend_from_slice(&chunk);
            }
        }
        assert_eq!(out, stream);
        assert_eq!(p.discarded, 0);
    }

    #[test]
    fn a_packet_out_of_sync_inside_a_piece_is_not_handed_out() {
        // One piece: two packets, the third missing its first byte, then two more.
        let mut input = packet(0x100, false, false, 1);
        input.extend(packet(0x100, false, false, 2));
        input.extend(&packet(0x100, false, false, 3)[1..]);
        input.extend(packet(0x100, false, false, 4));
        input.extend(packet(0x100, false, false, 5));
        let mut p = Packetizer::new();
        let out = p.push(&input).expect("packets");
        assert!(
            out.chunks(PACKET)
                .all(|c| c.len() == PACKET && c[0] == SYNC)
        );
        let fills: Vec<u8> = out.chunks(PACKET).map(|c| c[4]).collect();
        assert_eq!(fills, [1, 2, 4, 5]);
        assert_eq!(p.discarded, PACKET as u64 - 1);
    }

    #[test]
    fn garbage_before_and_between_packets_is_skipped() {
        let mut input = vec![1, 2, 3, SYNC, 9];
        input.extend(packet(0x100, false, false, 1));
        input.extend(packet(0x100, false, false, 2));
        let mut p = Packetizer::new();
        let out = p.push(&input).expect("two packets");
        assert_eq!(out.len(), 2 * PACKET);
        assert_eq!(out[4], 1);
        assert_eq!(p.discarded, 5);
    }
}
