//! The stream hop to the multiplexer: one plain TCP connection per viewer, an
//! HTTP/1.0 request, and the response body read straight off the socket.
//!
//! Why not an HTTP client: a viewer holds its connection to the multiplexer for as
//! long as it watches, so whatever a connection costs is paid a thousand times
//! over. A pooled hyper client connection costs a task of its own, a channel
//! between that task and the body (one more wake-up per chunk), a fixed read buffer
//! and an 8 KiB header buffer, held all along. Here a viewer holds only its
//! socket: a read buffer exists while bytes are in flight (allocated when the
//! socket is readable, freed once actix has copied it into the player's write
//! buffer), and the body is polled by the player's own connection task.
//!
//! HTTP/1.0 makes the multiplexer (hyper) send the stream close-delimited, with no
//! chunked framing to undo: the body is every byte until the connection closes.
//! The multiplexer is in this process and trusted; the head is still parsed with
//! bounds (`httparse`), so a broken one is an error, never a panic.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most bytes one read takes off the socket: the engine's chunk size, which is
/// what the multiplexer writes at once.
const READ_SIZE: usize = 32 * 1024;
/// Largest response head accepted from the multiplexer.
const MAX_HEAD: usize = 16 * 1024;
/// Most bytes handed to actix at once. actix copies each piece into the player
/// connection's write buffer and keeps that buffer's capacity for the
/// connection's life; it asks for another piece while the buffer holds less than
/// [`WRITE_BUFFER`]. A whole 32 KiB chunk would grow every viewer's buffer to
/// 32 KiB+; with pieces of this size the fullest it gets is just under the
/// [`WRITE_BUFFER`] limit plus one piece and its chunk framing (`FF8\r\n` …
/// `\r\n`, 7 bytes): 4095 + 4088 + 7 = 8190 bytes, inside the 8 KiB actix
/// allocates up front, so it never reallocates. Costs more, smaller copies and
/// writes (one write per ~8 KiB instead of per chunk); BENCHMARKS.md shows both
/// figures.
pub const PIECE: usize = 4088;
/// actix's `h1_write_buffer_size` on the public listener (see [`PIECE`]).
pub const WRITE_BUFFER: usize = 4096;
/// How long connecting to the multiplexer (on loopback) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The multiplexer's answer: its status and the body to come.
pub struct Response {
    pub status: u16,
    pub body: Body,
}

/// A response body: the bytes after the head, then each read of the socket until it
/// closes, whole. A player's connection takes it through [`in_pieces`].
pub struct Body {
    stream: Option<TcpStream>,
    first: Bytes,
}

/// Sends `method url` (the multiplexer's address, path and query) with `headers`
/// and reads the response head. Header values must already be safe to send (no
/// control characters); names are fixed by the callers.
pub async fn request(
    url: &url::Url,
    method: &str,
    headers: &[(&str, &str)],
) -> io::Result<Response> {
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port_or_known_default().unwrap_or(80);
    let addr = format!("{host}:{port}");
    let path_and_query = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    let mut head = format!("{method} {path_and_query} HTTP/1.0\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        if value.bytes().any(|b| b.is_ascii_control()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("header {name} holds a control character"),
            ));
        }
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;

    let mut buf = BytesMut::with_capacity(4096);
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the multiplexer closed before its response head",
            ));
        }
        let mut parsed = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut parsed);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let status = response.code.unwrap_or(502);
                buf.advance(len);
                return Ok(Response {
                    status,
                    body: Body {
                        stream: Some(stream),
                        first: buf.freeze(),
                    },
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {
                buf.reserve(4096);
            }
            Ok(httparse::Status::Partial) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the multiplexer's response head is too long",
                ));
            }
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the multiplexer's response head is malformed: {e}"),
                ));
            }
        }
    }
}

impl Body {
    /// At most `limit` bytes of the body (an error's one-line reason).
    pub async fn collect_limited(mut self, limit: usize) -> Bytes {
        let mut out = BytesMut::new();
        while out.len() < limit {
            match futures_util::StreamExt::next(&mut self).await {
                Some(Ok(bytes)) => {
                    out.extend_from_slice(&bytes[..bytes.len().min(limit - out.len())])
                }
                _ => break,
            }
        }
        out.freeze()
    }
}

impl Stream for Body {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if !this.first.is_empty() {
            return Poll::Ready(Some(Ok(std::mem::take(&mut this.first))));
        }
        let Some(stream) = &this.stream else {
            return Poll::Ready(None);
        };
        loop {
            if let Err(e) = ready!(stream.poll_read_ready(cx)) {
                this.stream = None;
                return Poll::Ready(Some(Err(e)));
            }
            // A fresh buffer per read: between reads a viewer holds none.
            let mut buf = BytesMut::with_capacity(READ_SIZE);
            match stream.try_read_buf(&mut buf) {
                Ok(0) => {
                    this.stream = None;
                    return Poll::Ready(None);
                }
                Ok(_) => return Poll::Ready(Some(Ok(buf.freeze()))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => {
                    this.stream = None;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

/// Any body a player's connection holds for long (a live stream's [`Body`], an
/// HLS segment, a catch-up stream) split into pieces of at most [`PIECE`] bytes,
/// without copying, so the connection's write buffer stays at 8 KiB.
pub fn in_pieces<S, E>(stream: S) -> Pieces<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    Pieces {
        inner: stream,
        pending: Bytes::new(),
    }
}

/// The stream of [`in_pieces`].
pub struct Pieces<S> {
    inner: S,
    pending: Bytes,
}

impl<S, E> Stream for Pieces<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(PIECE);
                return Poll::Ready(Some(Ok(this.pending.split_to(n))));
            }
            match ready!(Pin::new(&mut this.inner).poll_next(cx)) {
                Some(Ok(bytes)) => this.pending = bytes,
                other => return Poll::Ready(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::net::SocketAddr;
    use tokio::net::TcpListener;

    fn url(addr: SocketAddr, path: &str) -> url::Url {
        url::Url::parse(&format!("http://{addr}{path}")).unwrap()
    }

    /// A one-shot server answering `answer` to the first request, then closing.
    async fn server(answer: &'static [u8]) -> (SocketAddr, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = vec![0; 4096];
            let n = s.read(&mut req).await.unwrap();
            req.truncate(n);
            s.write_all(answer).await.unwrap();
            req
        });
        (addr, task)
    }

    #[tokio::test]
    async fn reads_status_and_the_close_delimited_body_in_pieces() {
        let mut answer = b"HTTP/1.0 200 OK\r\ncontent-type: video/mp2t\r\n\r\n".to_vec();
        answer.extend(std::iter::repeat_n(0x47u8, 3 * PIECE + 5));
        let answer: &'static [u8] = answer.leak();
        let (addr, task) = server(answer).await;
        let resp = request(
            &url(addr, "/ace/getstream?id=x"),
            "GET",
            &[("x-acextream-user", "bob")],
        )
        .await
        .unwrap();
        assert_eq!(resp.status, 200);
        let mut total = 0;
        let mut body = in_pieces(resp.body);
        while let Some(piece) = body.next().await {
            let piece = piece.unwrap();
            assert!(piece.len() <= PIECE, "a piece of {} bytes", piece.len());
            assert!(piece.iter().all(|&b| b == 0x47));
            total += piece.len();
        }
        assert_eq!(total, 3 * PIECE + 5);
        let req = String::from_utf8(task.await.unwrap()).unwrap();
        assert!(
            req.starts_with("GET /ace/getstream?id=x HTTP/1.0\r\n"),
            "{req}"
        );
        assert!(req.contains("\r\nx-acextream-user: bob\r\n"), "{req}");
    }

    #[tokio::test]
    async fn in_pieces_splits_without_losing_or_reordering_a_byte() {
        let items: Vec<Result<Bytes, ()>> = vec![
            Ok(Bytes::from(vec![1u8; PIECE * 2 + 1])),
            Ok(Bytes::new()),
            Ok(Bytes::from_static(b"tail")),
            Err(()),
        ];
        let out: Vec<_> = in_pieces(futures_util::stream::iter(items)).collect().await;
        let lens: Vec<_> = out.iter().map(|r| r.as_ref().map(|b| b.len())).collect();
        assert_eq!(lens, vec![Ok(PIECE), Ok(PIECE), Ok(1), Ok(4), Err(&())]);
    }

    #[tokio::test]
    async fn an_error_status_and_its_reason() {
        let (addr, _task) =
            server(b"HTTP/1.0 502 Bad Gateway\r\ncontent-length: 11\r\n\r\nengine down").await;
        let resp = request(&url(addr, "/ace/getstream"), "GET", &[])
            .await
            .unwrap();
        assert_eq!(resp.status, 502);
        assert_eq!(&resp.body.collect_limited(4).await[..], b"engi");
    }

    #[tokio::test]
    async fn a_malformed_or_missing_head_is_an_error_not_a_panic() {
        let (addr, _task) = server(b"garbage\r\n\r\n").await;
        let err = request(&url(addr, "/"), "GET", &[]).await.err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let (addr, _task) = server(b"").await;
        let err = request(&url(addr, "/"), "GET", &[]).await.err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn a_header_with_a_line_break_is_refused_before_sending() {
        let (addr, _task) = server(b"HTTP/1.0 200 OK\r\n\r\n").await;
        let err = request(&url(addr, "/"), "GET", &[("user-agent", "a\r\nx: y")])
            .await
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
