//! Placeholder until the discovery module lands: the DeviceID check digit only.

/// Check-digit table of HDHomeRun device ids.
const LOOKUP: [u32; 16] = [
    0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0,
];

/// `id` with its low nibble replaced so that it validates.
pub fn with_check_digit(id: u32) -> u32 {
    let n = |i: u32| (id >> (4 * i)) & 0xF;
    let check = LOOKUP[n(7) as usize]
        ^ n(6)
        ^ LOOKUP[n(5) as usize]
        ^ n(4)
        ^ LOOKUP[n(3) as usize]
        ^ n(2)
        ^ LOOKUP[n(1) as usize];
    (id & !0xF) | check
}
