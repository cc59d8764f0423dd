//! An incremental decoder of HTTP/1.1 chunked transfer coding (RFC 9112 §7.1).
//!
//! actix-web sends streaming bodies chunked. The decoder is fed the raw socket bytes
//! in whatever slicing the kernel gives and hands out borrowed slices of the payload,
//! so the hot path never copies a body byte.

use std::fmt;

/// Where the decoder is inside the chunked framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex chunk size.
    Size,
    /// Skipping a chunk extension (or whitespace) up to the CR.
    Ext,
    /// Expecting the LF that ends the size line.
    SizeLf,
    /// Inside chunk data.
    Data,
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or of the final CRLF).
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// Expecting the LF of the final CRLF.
    FinalLf,
    /// The last chunk and the trailer were read.
    Done,
}

/// A framing error in a chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkError(String);

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad chunked encoding: {}", self.0)
    }
}

impl std::error::Error for ChunkError {}

/// Decodes a chunked body fed in arbitrary slices.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// Size of the chunk being read, then the bytes of it still to come.
    remaining: u64,
    /// Hex digits seen on the current size line (a size line needs at least one).
    digits: u32,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self {
            state: State::Size,
            remaining: 0,
            digits: 0,
        }
    }

    /// Whether the terminating zero-size chunk (and trailer) was read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Feeds raw bytes; calls `sink` with each run of payload bytes (borrowed from
    /// `input`) and returns how many payload bytes this call produced. Bytes after
    /// the end of the body are ignored.
    pub fn feed<'a>(
        &mut self,
        input: &'a [u8],
        mut sink: impl FnMut(&'a [u8]),
    ) -> Result<usize, ChunkError> {
        let mut produced = 0;
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Data => {
                    let avail = input.len() - i;
                    let take = usize::try_from(self.remaining).map_or(avail, |r| r.min(avail));
                    sink(&input[i..i + take]);
                    produced += take;
                    i += take;
                    self.remaining -= take as u64;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    continue;
                }
                State::Size => match hex_value(b) {
                    Some(d) => {
                        self.remaining = self
                            .remaining
                            .checked_mul(16)
                            .and_then(|v| v.checked_add(u64::from(d)))
                            .ok_or_else(|| ChunkError("chunk size overflows".into()))?;
                        self.digits += 1;
                    }
                    None if self.digits == 0 => {
                        return Err(ChunkError(format!("expected a hex digit, got {b:#04x}")));
                    }
                    None => match b {
                        b'\r' => self.state = State::SizeLf,
                        b'\n' => self.end_size_line(),
                        b';' | b' ' | b'\t' => self.state = State::Ext,
                        _ => {
                            return Err(ChunkError(format!("unexpected {b:#04x} in chunk size")));
                        }
                    },
                },
                State::Ext => match b {
                    b'\r' => self.state = State::SizeLf,
                    b'\n' => self.end_size_line(),
                    _ => {}
                },
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(ChunkError("expected LF after chunk size".into()));
                    }
                    self.end_size_line();
                }
                State::DataCr => match b {
                    b'\r' => self.state = State::DataLf,
                    // Tolerate a bare LF, as most clients do.
                    b'\n' => self.start_size_line(),
                    _ => return Err(ChunkError("expected CRLF after chunk data".into())),
                },
                State::DataLf => {
                    if b != b'\n' {
                        return Err(ChunkError("expected LF after chunk data".into()));
                    }
                    self.start_size_line();
                }
                State::TrailerStart => match b {
                    b'\r' => self.state = State::FinalLf,
                    b'\n' => self.state = State::Done,
                    _ => self.state = State::TrailerLine,
                },
                State::TrailerLine => {
                    if b == b'\n' {
                        self.state = State::TrailerStart;
                    }
                }
                State::FinalLf => {
                    if b != b'\n' {
                        return Err(ChunkError("expected LF ending the body".into()));
                    }
                    self.state = State::Done;
                }
                State::Done => return Ok(produced),
            }
            i += 1;
        }
        Ok(produced)
    }

    fn end_size_line(&mut self) {
        self.state = if self.remaining == 0 {
            State::TrailerStart
        } else {
            State::Data
        };
    }

    fn start_size_line(&mut self) {
        self.state = State::Size;
        self.remaining = 0;
        self.digits = 0;
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_slices(wire: &[u8], slice: usize) -> Result<(Vec<u8>, bool), ChunkError> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        for part in wire.chunks(slice) {
            d.feed(part, |s| out.extend_from_slice(s))?;
        }
        Ok((out, d.is_done()))
    }

    #[test]
    fn a_body_decodes_whatever_the_slicing() {
        let wire = b"5\r\nhello\r\n1A;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n";
        for slice in 1..wire.len() + 1 {
            let (out, done) = decode_in_slices(wire, slice).unwrap();
            assert_eq!(out, b"helloabcdefghijklmnopqrstuvwxyz", "slice {slice}");
            assert!(done, "slice {slice}");
        }
    }

    #[test]
    fn an_endless_body_is_never_done() {
        let (out, done) = decode_in_slices(b"3\r\nabc\r\n4\r\ndefg\r\n", 2).unwrap();
        assert_eq!(out, b"abcdefg");
        assert!(!done);
    }

    #[test]
    fn trailer_fields_are_skipped() {
        let (out, done) =
            decode_in_slices(b"2\r\nok\r\n0\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\n", 3).unwrap();
        assert_eq!(out, b"ok");
        assert!(done);
    }

    #[test]
    fn bytes_after_the_end_are_ignored() {
        let (out, done) = decode_in_slices(b"1\r\na\r\n0\r\n\r\nGARBAGE", 64).unwrap();
        assert_eq!(out, b"a");
        assert!(done);
    }

    #[test]
    fn feed_reports_payload_bytes_and_borrows_the_input() {
        let mut d = ChunkedDecoder::new();
        let wire = b"4\r\nwxyz\r\n";
        let mut slices: Vec<&[u8]> = Vec::new();
        let n = d.feed(wire, |s| slices.push(s)).unwrap();
        assert_eq!(n, 4);
        assert_eq!(slices, vec![&b"wxyz"[..]]);
    }

    #[test]
    fn uppercase_hex_and_large_sizes_parse() {
        let body = vec![b'x'; 0x1F4];
        let mut wire = b"1F4\r\n".to_vec();
        wire.extend_from_slice(&body);
        wire.extend_from_slice(b"\r\n");
        let (out, _) = decode_in_slices(&wire, 100).unwrap();
        assert_eq!(out.len(), 500);
    }

    #[test]
    fn malformed_framing_is_an_error() {
        assert!(decode_in_slices(b"zz\r\n", 8).is_err());
        assert!(decode_in_slices(b"3\r\nabcX\r\n", 8).is_err());
        assert!(decode_in_slices(b"3\rXabc", 8).is_err());
        assert!(decode_in_slices(b"FFFFFFFFFFFFFFFFFF\r\n", 8).is_err());
    }
}
