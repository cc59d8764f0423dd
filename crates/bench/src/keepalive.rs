//! One viewer's HTTP/1.1 keep-alive connection, as a player's HLS client has: its
//! GETs go in turn over one socket, and a new one is opened when the server closed
//! the previous one (or the next request goes to another address). Reusing the
//! socket keeps the daemon's per-request cost what a player causes, not a TCP
//! handshake per segment.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::http::{Framing, MAX_HEAD, head_end, parse_head, request};
use crate::target::Target;

/// Read buffer of one connection: segments are hundreds of KiB, so reads are large.
const READ_BUF: usize = 64 * 1024;

/// A complete answer.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body bytes received.
    pub bytes: u64,
    /// The first bytes of the body, up to the `keep` asked for.
    pub body: Vec<u8>,
    /// TCP connect time when this request needed a new connection, ms.
    pub connect_ms: Option<f64>,
}

/// Why an exchange failed, and whether it is worth retrying on a new connection.
enum Failure {
    /// Nothing of an answer came: on a reused connection, the server most likely
    /// closed it while idle, so one retry on a fresh connection is what clients do.
    BeforeAnswer(anyhow::Error),
    /// The answer started and broke: a real error.
    During(anyhow::Error),
}

/// A connection that is reused while the server allows it.
#[derive(Debug, Default)]
pub struct KeepAlive {
    idle: Option<(SocketAddr, TcpStream)>,
    buf: Vec<u8>,
}

impl KeepAlive {
    /// No connection yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// GETs `target` and reads the whole answer. Every body byte goes to `sink` as
    /// it arrives; the first `keep` are also returned. If the future is dropped (a
    /// timeout), the connection is dropped with it: it is only kept for reuse once
    /// an answer was read to its end.
    pub async fn get<F: FnMut(&[u8])>(
        &mut self,
        target: &Target,
        keep: usize,
        sink: &mut F,
    ) -> anyhow::Result<Answer> {
        if self.buf.len() != READ_BUF {
            self.buf = vec![0u8; READ_BUF];
        }
        if let Some((addr, stream)) = self.idle.take()
            && addr == target.addr
        {
            match exchange(stream, target, keep, sink, &mut self.buf).await {
                Ok((answer, reusable)) => {
                    self.idle = reusable.map(|s| (target.addr, s));
                    return Ok(answer);
                }
                Err(Failure::During(e)) => return Err(e),
                Err(Failure::BeforeAnswer(_)) => {}
            }
        }
        let t = Instant::now();
        let stream = TcpStream::connect(target.addr)
            .await
            .with_context(|| format!("connecting to {}", target.addr))?;
        let connect_ms = ms(t.elapsed());
        stream.set_nodelay(true).ok();
        match exchange(stream, target, keep, sink, &mut self.buf).await {
            Ok((mut answer, reusable)) => {
                self.idle = reusable.map(|s| (target.addr, s));
                answer.connect_ms = Some(connect_ms);
                Ok(answer)
            }
            Err(Failure::BeforeAnswer(e) | Failure::During(e)) => Err(e),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One request and its answer on `stream`; gives the stream back when the server
/// allows another request on it.
async fn exchange<F: FnMut(&[u8])>(
    mut stream: TcpStream,
    target: &Target,
    keep: usize,
    sink: &mut F,
    buf: &mut [u8],
) -> Result<(Answer, Option<TcpStream>), Failure> {
    stream
        .write_all(request(target, true).as_bytes())
        .await
        .context("sending the request")
        .map_err(Failure::BeforeAnswer)?;

    let mut head_buf: Vec<u8> = Vec::new();
    let head_len = loop {
        if let Some(end) = head_end(&head_buf) {
            break end;
        }
        if head_buf.len() > MAX_HEAD {
            return Err(Failure::During(anyhow::anyhow!(
                "response head larger than {MAX_HEAD} bytes"
            )));
        }
        let n = match stream.read(buf).await {
            Ok(n) => n,
            Err(e) if head_buf.is_empty() => {
                return Err(Failure::BeforeAnswer(
                    anyhow::Error::new(e).context("reading the response head"),
                ));
            }
            Err(e) => {
                return Err(Failure::During(
                    anyhow::Error::new(e).context("reading the response head"),
                ));
            }
        };
        if n == 0 {
            let e = anyhow::anyhow!("connection closed before the response head");
            return Err(if head_buf.is_empty() {
                Failure::BeforeAnswer(e)
            } else {
                Failure::During(e)
            });
        }
        head_buf.extend_from_slice(buf.get(..n).unwrap_or_default());
    };
    let head = parse_head(head_buf.get(..head_len).unwrap_or_default()).map_err(Failure::During)?;
    let mut answer = Answer {
        status: head.status,
        ..Answer::default()
    };
    // 1xx, 204 and 304 answers have no body whatever their headers say.
    let mut framing = if head.status < 200 || head.status == 204 || head.status == 304 {
        Framing::Length(0)
    } else {
        Framing::of(&head)
    };
    let until_close = matches!(framing, Framing::UntilClose);
    let mut take = |data: &[u8], answer: &mut Answer| {
        let room = keep.saturating_sub(answer.body.len());
        answer
            .body
            .extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
        answer.bytes += data.len() as u64;
        sink(data);
    };
    let leftover = head_buf.get(head_len..).unwrap_or_default();
    framing
        .feed(leftover, |s| take(s, &mut answer))
        .map_err(Failure::During)?;
    while !framing.is_done() {
        let n = stream
            .read(buf)
            .await
            .context("reading the body")
            .map_err(Failure::During)?;
        if n == 0 {
            if until_close {
                return Ok((answer, None));
            }
            return Err(Failure::During(anyhow::anyhow!(
                "connection closed before the end of the body ({} bytes read)",
                answer.bytes
            )));
        }
        framing
            .feed(buf.get(..n).unwrap_or_default(), |s| take(s, &mut answer))
            .map_err(Failure::During)?;
    }
    Ok((answer, head.keep_alive.then_some(stream)))
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;
    use crate::target::parse_loopback_url;

    /// A server on loopback that answers every request on a connection with the
    /// next of `answers` (closing after the ones marked so); returns its address and
    /// how many connections it accepted.
    async fn server(
        answers: Vec<(&'static str, bool)>,
    ) -> (SocketAddr, tokio::task::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut answers = answers.into_iter();
            let mut accepted = 0;
            'conns: while let Ok((mut s, _)) = listener.accept().await {
                accepted += 1;
                loop {
                    let mut req = Vec::new();
                    let mut b = [0u8; 1024];
                    while head_end(&req).is_none() {
                        match s.read(&mut b).await {
                            Ok(0) | Err(_) => continue 'conns,
                            Ok(n) => req.extend_from_slice(&b[..n]),
                        }
                    }
                    let Some((answer, close)) = answers.next() else {
                        break 'conns;
                    };
                    s.write_all(answer.as_bytes()).await.unwrap();
                    if close && answers.len() == 0 {
                        break 'conns;
                    }
                    if close {
                        continue 'conns;
                    }
                }
            }
            accepted
        });
        (addr, task)
    }

    #[tokio::test]
    async fn a_connection_is_reused_until_the_server_closes_it() {
        let (addr, task) = server(vec![
            ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                false,
            ),
            (
                "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno stream",
                true,
            ),
            ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true),
        ])
        .await;
        let t = parse_loopback_url(&format!("http://{addr}/x")).unwrap();
        let mut c = KeepAlive::new();
        let mut seen = Vec::new();
        let a = c
            .get(&t, 3, &mut |d: &[u8]| seen.extend_from_slice(d))
            .await
            .unwrap();
        assert_eq!(
            (a.status, a.bytes, a.body.as_slice()),
            (200, 5, &b"hel"[..])
        );
        assert!(a.connect_ms.is_some());
        let a = c
            .get(&t, 100, &mut |d: &[u8]| seen.extend_from_slice(d))
            .await
            .unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"abc"[..]));
        assert!(
            a.connect_ms.is_none(),
            "the second request reuses the socket"
        );
        let a = c.get(&t, 100, &mut |_: &[u8]| {}).await.unwrap();
        assert_eq!((a.status, a.body.as_slice()), (404, &b"no stream"[..]));
        let a = c.get(&t, 100, &mut |_: &[u8]| {}).await.unwrap();
        assert_eq!(a.status, 200);
        assert!(
            a.connect_ms.is_some(),
            "Connection: close forces a new socket"
        );
        assert_eq!(seen, b"helloabc");
        drop(c);
        assert_eq!(task.await.unwrap(), 2);
    }

    #[tokio::test]
    async fn an_idle_connection_closed_by_the_server_is_retried_once() {
        // The server answers, then closes without saying so: the next request
        // meets a closed socket and goes again on a new one.
        let (addr, task) = server(vec![
            ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", true),
            ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", true),
        ])
        .await;
        let t = parse_loopback_url(&format!("http://{addr}/x")).unwrap();
        let mut c = KeepAlive::new();
        assert_eq!(c.get(&t, 8, &mut |_: &[u8]| {}).await.unwrap().body, b"a");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let a = c.get(&t, 8, &mut |_: &[u8]| {}).await.unwrap();
        assert_eq!(a.body, b"b");
        drop(c);
        assert_eq!(task.await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_body_cut_short_is_an_error() {
        let (addr, _task) = server(vec![(
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            true,
        )])
        .await;
        let t = parse_loopback_url(&format!("http://{addr}/x")).unwrap();
        let err = KeepAlive::new()
            .get(&t, 8, &mut |_: &[u8]| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("before the end of the body"), "{err}");
    }
}
