//! Undoes the compression of a downloaded guide, recognised by its magic bytes:
//! guide URLs are often `…/guide.xml.gz` served as `application/octet-stream`, or
//! `…/epg.php` answering gzip, so neither the name nor the content type can be
//! trusted.

use std::io::{BufRead, BufReader, Chain, Cursor, ErrorKind, Read};

use flate2::read::MultiGzDecoder;
use liblzma::read::XzDecoder;

/// The gzip magic (RFC 1952).
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// The xz magic (the xz file format, section 2.1.1.1).
const XZ_MAGIC: &[u8] = &[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/// Buffer between the decoder and the XML reader: large enough that the parser
/// rarely refills (a feed is tens of megabytes), small enough to not matter.
const BUF_SIZE: usize = 64 * 1024;

/// What the first bytes said the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain XML (or anything else: the XML reader judges).
    Plain,
    /// gzip, possibly several concatenated members.
    Gzip,
    /// xz, possibly several concatenated streams.
    Xz,
}

/// Recognises gzip and xz by their magic bytes.
pub fn sniff(prefix: &[u8]) -> Compression {
    if prefix.starts_with(XZ_MAGIC) {
        Compression::Xz
    } else if prefix.starts_with(GZIP_MAGIC) {
        Compression::Gzip
    } else {
        Compression::Plain
    }
}

/// Wraps `reader` so that it yields the plain XML, decompressing gzip or xz on the
/// fly. Nothing is buffered beyond the first six bytes and the decoder's own
/// window, so a feed of any size streams through.
pub fn decoded(reader: impl Read + Send + 'static) -> std::io::Result<Box<dyn BufRead + Send>> {
    let (kind, stream) = peeked(reader)?;
    Ok(match kind {
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUF_SIZE,
            MultiGzDecoder::new(stream),
        )),
        Compression::Xz => Box::new(BufReader::with_capacity(
            BUF_SIZE,
            XzDecoder::new_multi_decoder(stream),
        )),
        Compression::Plain => Box::new(BufReader::with_capacity(BUF_SIZE, stream)),
    })
}

/// The peeked bytes put back in front of the rest of the stream.
type Replayed<R> = Chain<Cursor<Vec<u8>>, R>;

/// Reads up to the length of the longest magic and puts it back in front of the
/// rest. A network reader may hand out one byte at a time, so one `read` is not
/// enough to see a magic.
fn peeked<R: Read>(mut reader: R) -> std::io::Result<(Compression, Replayed<R>)> {
    let mut prefix = [0u8; XZ_MAGIC.len()];
    let mut filled = 0;
    while filled < prefix.len() {
        match reader.read(&mut prefix[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let prefix = prefix[..filled].to_vec();
    let kind = sniff(&prefix);
    Ok((kind, Cursor::new(prefix).chain(reader)))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A reader that hands out one byte per call, like a slow socket.
    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.get(self.1), buf.first_mut()) {
                (Some(b), Some(slot)) => {
                    *slot = *b;
                    self.1 += 1;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn read_all(mut r: Box<dyn BufRead + Send>) -> Vec<u8> {
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        out
    }

    const XML: &[u8] = b"<tv><channel id=\"a\"/></tv>";

    #[test]
    fn plain_passes_through_unchanged() {
        assert_eq!(read_all(decoded(Cursor::new(XML.to_vec())).unwrap()), XML);
    }

    #[test]
    fn gzip_is_recognised_even_one_byte_at_a_time() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(XML).unwrap();
        let bytes = gz.finish().unwrap();
        assert_eq!(sniff(&bytes), Compression::Gzip);
        assert_eq!(read_all(decoded(Trickle(bytes, 0)).unwrap()), XML);
    }

    #[test]
    fn xz_is_recognised() {
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(XML).unwrap();
        let bytes = xz.finish().unwrap();
        assert_eq!(sniff(&bytes), Compression::Xz);
        assert_eq!(read_all(decoded(Trickle(bytes, 0)).unwrap()), XML);
    }

    #[test]
    fn short_and_empty_inputs_are_plain() {
        assert_eq!(read_all(decoded(Cursor::new(vec![0x1f])).unwrap()), [0x1f]);
        assert!(read_all(decoded(std::io::empty()).unwrap()).is_empty());
    }

    #[test]
    fn a_truncated_gzip_is_an_error_not_a_short_guide() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&XML.repeat(100)).unwrap();
        let mut bytes = gz.finish().unwrap();
        bytes.truncate(bytes.len() / 2);
        let mut out = Vec::new();
        assert!(
            decoded(Cursor::new(bytes))
                .unwrap()
                .read_to_end(&mut out)
                .is_err()
        );
    }
}
