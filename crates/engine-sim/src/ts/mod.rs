//! The simulator's MPEG-TS stream: its packet layout, a cheap generator and a checker
//! that tests and the bench use to prove a client got a contiguous run; and, for
//! real-video contents, the looped test cards and a checker of real streams.
//!
//! Layout of a synthetic content's live stream, by packet index `p` counted from
//! the moment the content went live: packets come in cycles of [`CYCLE`] packets, a
//! PAT, a PMT, then [`DATA_PER_CYCLE`] data packets on [`VIDEO_PID`]. The first data packet of a
//! cycle carries the random-access indicator (a keyframe), so every cycle start is a
//! place a reader may join. Everything in a packet (sequence number, continuity
//! counter) is a pure function of `p`, so every reader sees identical bytes for the
//! same position and a jump in position shows as a gap.

mod checker;
mod crc;
mod fields;
mod generator;
mod looped;
mod media;

pub use checker::TsChecker;
pub use generator::{packet, write_packets};
pub(crate) use looped::{VideoLoop, test_card};
pub use media::MediaChecker;

/// Size of one transport stream packet.
pub const PACKET_SIZE: usize = 188;
/// The sync byte every packet starts with.
pub const SYNC_BYTE: u8 = 0x47;
/// PID of the program association table.
pub const PAT_PID: u16 = 0x0000;
/// PID of the program map table of the single program.
pub const PMT_PID: u16 = 0x1000;
/// PID of the (simulated) video elementary stream carrying the sequence numbers.
pub const VIDEO_PID: u16 = 0x0100;
/// Packets per PAT/PMT cycle: tables every 40 packets, about 15 ms at 4 Mbit/s,
/// close to what real muxers do (tables several times a second).
pub const CYCLE: u64 = 40;
/// Data packets in one cycle (all but the PAT and the PMT).
pub const DATA_PER_CYCLE: u64 = CYCLE - 2;
/// The magic at the start of every data packet's payload, before the big-endian
/// u64 sequence number.
pub const MAGIC: &[u8; 4] = b"ACXS";

/// What packet `p` of a live stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// The program association table (a cycle start).
    Pat,
    /// The program map table.
    Pmt,
    /// A data packet with this sequence number.
    Data(u64),
}

/// The kind of packet at position `p`.
pub fn kind_of(p: u64) -> PacketKind {
    match p % CYCLE {
        0 => PacketKind::Pat,
        1 => PacketKind::Pmt,
        k => PacketKind::Data((p / CYCLE) * DATA_PER_CYCLE + (k - 2)),
    }
}

/// The first cycle start (PAT) at or before `p`.
pub fn cycle_floor(p: u64) -> u64 {
    p - p % CYCLE
}

/// The first cycle start (PAT) at or after `p`.
pub fn cycle_ceil(p: u64) -> u64 {
    cycle_floor(p.saturating_add(CYCLE - 1))
}

/// Packet position of data sequence number `seq` (inverse of [`kind_of`]).
pub fn position_of_seq(seq: u64) -> u64 {
    (seq / DATA_PER_CYCLE) * CYCLE + 2 + seq % DATA_PER_CYCLE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_sequence_numbers_are_inverse() {
        for p in 0..500 {
            if let PacketKind::Data(seq) = kind_of(p) {
                assert_eq!(position_of_seq(seq), p);
            }
        }
        assert_eq!(kind_of(2), PacketKind::Data(0));
        assert_eq!(kind_of(CYCLE + 2), PacketKind::Data(DATA_PER_CYCLE));
    }

    #[test]
    fn cycle_rounding() {
        assert_eq!(cycle_floor(0), 0);
        assert_eq!(cycle_floor(41), 40);
        assert_eq!(cycle_ceil(41), 80);
        assert_eq!(cycle_ceil(40), 40);
    }
}
