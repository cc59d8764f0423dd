//! A bound on how much of a feed the XML reader may hold at once.
//!
//! quick-xml accumulates one event (a tag, or the text up to the next `<`) in its
//! buffer, so a hostile or broken feed with a gigabyte of text and no markup would
//! be held whole in memory. This adapter fails the read instead once a run of bytes
//! without `<` or `>` grows past the limit.

use std::io::{BufRead, Error, ErrorKind, Read};

/// Longest run of bytes without markup accepted: far above any real description
/// (fields are capped at a few KiB anyway), far below a memory problem.
pub(crate) const MAX_RUN: usize = 1024 * 1024;

pub(crate) struct MarkupGuard<R> {
    inner: R,
    /// Bytes consumed since the last `<` or `>`.
    run: usize,
    limit: usize,
}

impl<R: BufRead> MarkupGuard<R> {
    pub(crate) fn new(inner: R, limit: usize) -> Self {
        Self {
            inner,
            run: 0,
            limit,
        }
    }
}

impl<R: BufRead> BufRead for MarkupGuard<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.run > self.limit {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("more than {} bytes without any markup", self.limit),
            ));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // The bytes being consumed are still in the inner buffer (they were handed
        // out by the last fill_buf), so this fill_buf does no I/O.
        if let Ok(buf) = self.inner.fill_buf() {
            let consumed = &buf[..amt.min(buf.len())];
            self.run = match consumed.iter().rposition(|&b| b == b'<' || b == b'>') {
                Some(at) => consumed.len() - at - 1,
                None => self.run.saturating_add(consumed.len()),
            };
        }
        self.inner.consume(amt);
    }
}

impl<R: BufRead> Read for MarkupGuard<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn text_with_markup_passes_and_a_long_run_fails() {
        let ok = b"<a>0123456789</a><b>0123456789</b>".to_vec();
        let mut out = Vec::new();
        MarkupGuard::new(&ok[..], 12).read_to_end(&mut out).unwrap();
        assert_eq!(out, ok);

        let bad = [b"<a>".to_vec(), vec![b'x'; 100]].concat();
        let guarded = MarkupGuard::new(std::io::BufReader::with_capacity(8, &bad[..]), 20);
        let mut out = Vec::new();
        let err = guarded.take(1000).read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }
}
