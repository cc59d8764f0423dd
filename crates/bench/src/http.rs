//! A minimal HTTP/1.1 client over a raw `TcpStream`: one GET, its response head, and
//! the body's framing. Hand-written rather than a full client so that 1000
//! concurrent streams cost little besides the socket, and so the first-body-byte
//! time is the time of the read that carried it.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::chunked::ChunkedDecoder;
use crate::target::Target;

/// Largest response head accepted; real heads are a few hundred bytes.
pub const MAX_HEAD: usize = 16 * 1024;

/// The request line and headers of a GET of `target` on a connection used once.
pub fn get_request(target: &Target) -> String {
    request(target, false)
}

/// The request line and headers of a GET of `target`; `keep_alive` asks the server
/// to keep the connection open for the next request (as a player's HLS client does).
pub fn request(target: &Target, keep_alive: bool) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: acextream-bench/{}\r\nAccept: */*\r\n\
         Connection: {}\r\n\r\n",
        target.path_and_query,
        target.host_header,
        env!("CARGO_PKG_VERSION"),
        if keep_alive { "keep-alive" } else { "close" }
    )
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Whether the body is chunked.
    pub chunked: bool,
    /// `Content-Length`, when given (and not chunked).
    pub content_length: Option<u64>,
    /// `Content-Type`, when given.
    pub content_type: Option<String>,
    /// Whether the server lets the connection carry another request: HTTP/1.1
    /// without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`.
    pub keep_alive: bool,
}

/// Finds the end of the head in `buf`: the index just past `\r\n\r\n`.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Parses a response head (status line and header fields, up to the blank line).
pub fn parse_head(raw: &[u8]) -> anyhow::Result<Head> {
    let text = std::str::from_utf8(raw).context("response head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().context("empty response")?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x response: {status_line:?}");
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let mut head = Head {
        status,
        chunked: false,
        content_length: None,
        content_type: None,
        keep_alive: version == "HTTP/1.1",
    };
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            bail!("bad header line {line:?}");
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("content-length") {
            head.content_length = Some(value.parse().context("bad Content-Length")?);
        } else if name.eq_ignore_ascii_case("content-type") {
            head.content_type = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    head.keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") && version == "HTTP/1.0" {
                    head.keep_alive = true;
                }
            }
        }
    }
    if head.chunked {
        head.content_length = None;
    }
    Ok(head)
}

/// How the body after a head is delimited.
#[derive(Debug, Clone)]
pub enum Framing {
    /// Chunked transfer coding.
    Chunked(ChunkedDecoder),
    /// This many bytes still to come.
    Length(u64),
    /// Until the connection closes.
    UntilClose,
}

impl Framing {
    /// The framing a head announces.
    pub fn of(head: &Head) -> Self {
        if head.chunked {
            Framing::Chunked(ChunkedDecoder::new())
        } else if let Some(n) = head.content_length {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        }
    }

    /// Decodes raw bytes into body bytes handed to `sink`; returns the number of
    /// body bytes.
    pub fn feed<'a>(
        &mut self,
        input: &'a [u8],
        mut sink: impl FnMut(&'a [u8]),
    ) -> anyhow::Result<usize> {
        match self {
            Framing::Chunked(d) => Ok(d.feed(input, sink)?),
            Framing::Length(left) => {
                let take = usize::try_from(*left).map_or(input.len(), |l| l.min(input.len()));
                if take > 0 {
                    sink(&input[..take]);
                }
                *left -= take as u64;
                Ok(take)
            }
            Framing::UntilClose => {
                if !input.is_empty() {
                    sink(input);
                }
                Ok(input.len())
            }
        }
    }

    /// Whether the whole body was received.
    pub fn is_done(&self) -> bool {
        match self {
            Framing::Chunked(d) => d.is_done(),
            Framing::Length(left) => *left == 0,
            Framing::UntilClose => false,
        }
    }
}

/// Reads from `stream` until a whole head is in `buf`; returns the head and the
/// number of bytes of `buf` it used (the rest is the start of the body).
pub async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<(Head, usize)> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = head_end(buf) {
            return Ok((parse_head(&buf[..end])?, end));
        }
        if buf.len() > MAX_HEAD {
            bail!("response head larger than {MAX_HEAD} bytes");
        }
        let n = stream
            .read(&mut chunk)
            .await
            .context("reading the response head")?;
        if n == 0 {
            bail!("connection closed before the response head");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// GETs a whole (small, finite) response: its status and body. Bounded by `timeout`.
pub async fn get_all(target: &Target, timeout: Duration) -> anyhow::Result<(u16, Vec<u8>)> {
    tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(target.addr)
            .await
            .with_context(|| format!("connecting to {}", target.addr))?;
        stream.write_all(get_request(target).as_bytes()).await?;
        let mut buf = Vec::new();
        let (head, used) = read_head(&mut stream, &mut buf).await?;
        let mut framing = Framing::of(&head);
        let mut body = Vec::new();
        framing.feed(&buf[used..], |s| body.extend_from_slice(s))?;
        let mut chunk = vec![0u8; 64 * 1024];
        while !framing.is_done() {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                if matches!(framing, Framing::UntilClose) {
                    break;
                }
                bail!("connection closed before the end of the body");
            }
            framing.feed(&chunk[..n], |s| body.extend_from_slice(s))?;
        }
        Ok((head.status, body))
    })
    .await
    .context("request timed out")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_and_host_are_written() {
        let t = crate::target::parse_loopback_url("http://127.0.0.1:80/a?b=c").unwrap();
        let r = get_request(&t);
        assert!(r.starts_with("GET /a?b=c HTTP/1.1\r\nHost: 127.0.0.1:80\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
        assert!(r.contains("Connection: close\r\n"));
        assert!(request(&t, true).contains("Connection: keep-alive\r\n"));
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_header() {
        let h = |raw: &[u8]| parse_head(raw).unwrap().keep_alive;
        assert!(h(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(!h(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"));
        assert!(!h(b"HTTP/1.1 200 OK\r\nconnection: Upgrade, Close\r\n\r\n"));
        assert!(!h(b"HTTP/1.0 200 OK\r\n\r\n"));
        assert!(h(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n"));
    }

    #[test]
    fn chunked_head_parses() {
        let raw =
            b"HTTP/1.1 200 OK\r\ncontent-type: video/mp2t\r\ntransfer-encoding: chunked\r\n\r\n";
        assert_eq!(head_end(raw), Some(raw.len()));
        let h = parse_head(raw).unwrap();
        assert_eq!(h.status, 200);
        assert!(h.chunked);
        assert_eq!(h.content_type.as_deref(), Some("video/mp2t"));
    }

    #[test]
    fn length_head_parses_and_frames() {
        let h = parse_head(b"HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\n").unwrap();
        assert_eq!(h.status, 404);
        assert_eq!(h.content_length, Some(3));
        let mut f = Framing::of(&h);
        let mut out = Vec::new();
        assert_eq!(f.feed(b"abcdef", |s| out.extend_from_slice(s)).unwrap(), 3);
        assert_eq!(out, b"abc");
        assert!(f.is_done());
    }

    #[test]
    fn bad_heads_are_errors() {
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 abc OK\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n").is_err());
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n"), None);
    }
}
