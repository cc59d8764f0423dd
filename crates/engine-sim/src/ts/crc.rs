//! CRC-32/MPEG-2, the checksum that ends every PSI section (PAT, PMT).

/// CRC-32/MPEG-2 of `data`: polynomial 0x04C11DB7, initial value all ones, no
/// reflection, no final xor. Only used to build the table templates once.
pub fn crc32_mpeg2(data: &[u8]) -> u32 {
    const MPEG2: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_MPEG_2);
    MPEG2.checksum(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_check_value() {
        // The catalogued check value of CRC-32/MPEG-2 for "123456789".
        assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_E6E7);
    }
}
