//! `xmltv.php`: the XMLTV guide of the account's channels, streamed.
//!
//! A blocking task walks the stored programmes (`epg::for_each_programme_of_mapped_
//! channels`) and writes the document (`xmltv_writer`), gzipped when the player
//! accepts it, into a bounded channel of chunks that the response streams: a guide
//! of any size goes out in constant memory, and a player that hangs up stops the walk
//! at the next chunk.

use std::io::{self, Write};
use std::time::Duration;

use acextream_core::epg::{self, EpgError, Window};
use acextream_core::store::{channels, now_epoch};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Semaphore, mpsc};

use super::creds::{MAX_FORM_BYTES, XtreamParams};
use super::xmltv_writer::{GuidePlan, Visit, write_guide};
use crate::error::ApiError;
use crate::state::AppState;
use jiff::tz::TimeZone;

/// Bytes per chunk sent to the response: large enough that the channel's per-item
/// cost is noise, small enough that the first bytes leave quickly.
const CHUNK: usize = 32 * 1024;
/// Chunks waiting for a slow player: at most `CHUNK * CHUNKS_IN_FLIGHT` (512 KiB) of
/// guide is buffered per download.
const CHUNKS_IN_FLIGHT: usize = 16;
/// A player that reads nothing for this long is dropped: the walk holds one of the
/// store's few pooled connections, which must not be pinned by a stalled socket.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Guides written at once. Each holds a pooled SQLite connection (the pool has 8)
/// for the whole download; players fetch the guide a few times a day, so the others
/// wait their turn rather than starve logins and streams of connections. A static
/// because it limits this handler alone.
static WALKS: Semaphore = Semaphore::const_new(3);
/// How long a request waits for a free slot before it is told to retry.
const SLOT_WAIT: Duration = Duration::from_secs(30);

/// `GET|POST /xmltv.php?username&password`.
pub async fn xmltv_php(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = XtreamParams::from_request(&req, &body[..body.len().min(MAX_FORM_BYTES)]);
    super::authorize(&state, &params).await?;
    let encoding = if accepts_gzip(&req) {
        Encoding::Gzip
    } else {
        Encoding::Identity
    };
    let plan = state
        .store
        .run(|c| Ok(GuidePlan::new(&channels::playable_with_guide(c)?)))
        .await?;
    serve_guide(&state, encoding, move |out, tz, walk| {
        write_guide(plan, tz, out, walk).map(drop)
    })
    .await
}

/// How a guide goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Plain XML.
    Identity,
    /// XML with `Content-Encoding: gzip` (the HTTP client unpacks it).
    Gzip,
    /// A gzip file as the body (`application/gzip`), for a URL ending in `.gz`:
    /// clients such as Jellyfin unpack a body by the URL's extension.
    GzipFile,
}

/// The walk over the stored programmes of mapped channels (by channel, then
/// start) that a guide writer is handed.
pub type Walk<'a> = dyn FnMut(&mut Visit<'_>) -> Result<(), EpgError> + 'a;

/// Streams the guide `write` produces (given the output, the time zone and the
/// [`Walk`]) (see the module doc): at most a few at once,
/// in constant memory, aborted rather than cut short when generation fails.
pub async fn serve_guide(
    state: &AppState,
    encoding: Encoding,
    write: impl FnOnce(&mut dyn Write, TimeZone, &mut Walk<'_>) -> Result<(), EpgError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let permit = match tokio::time::timeout(SLOT_WAIT, WALKS.acquire()).await {
        Ok(Ok(permit)) => permit,
        _ => {
            return Err(ApiError::Unavailable(
                "too many guide downloads at once; try again in a minute".into(),
            ));
        }
    };
    let e = &state.settings.epg;
    let window = Window::around(now_epoch(), e.days_back, e.days_ahead);
    let tz = state.settings.time_zone();
    let store = state.store.clone();
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    let mut sink = ChunkSink {
        tx: tx.clone(),
        buf: Vec::with_capacity(CHUNK),
    };
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        // The walk runs on a pooled connection taken here, on this blocking thread.
        let mut walk = |visit: &mut Visit<'_>| {
            store
                .run_blocking(|c| {
                    Ok(epg::for_each_programme_of_mapped_channels(
                        c,
                        window.from,
                        window.to,
                        visit,
                    ))
                })
                .map_err(EpgError::Store)?
        };
        let written = if encoding == Encoding::Identity {
            write(&mut sink, tz, &mut walk)
        } else {
            // Level 1: the guide still shrinks several times over, and a morning of
            // players refreshing must not cost a core.
            let mut gz = GzEncoder::new(&mut sink, Compression::fast());
            write(&mut gz, tz, &mut walk).and_then(|()| Ok(gz.finish().map(drop)?))
        };
        match written.and_then(|()| Ok(sink.close()?)) {
            Ok(()) => {}
            Err(EpgError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
                tracing::debug!("guide download ended by the player");
            }
            Err(EpgError::Io(e)) if e.kind() == io::ErrorKind::TimedOut => {
                tracing::info!("guide download dropped: the player stopped reading");
            }
            Err(e) => {
                tracing::error!(error = %e, "guide generation failed mid-way");
                // An error item aborts the response, so the player sees a broken
                // transfer rather than a short guide that looks complete. Never
                // waits: with the channel full, the document already lacks its
                // `</tv>` when the stream ends.
                let _ = tx.try_send(Err(io::Error::other("guide generation failed")));
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut resp = HttpResponse::Ok();
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    match encoding {
        Encoding::GzipFile => {
            resp.content_type("application/gzip");
        }
        Encoding::Identity | Encoding::Gzip => {
            resp.content_type("application/xml; charset=utf-8")
                .insert_header((header::VARY, "Accept-Encoding"));
        }
    }
    if encoding == Encoding::Gzip {
        resp.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    Ok(resp.streaming(body))
}

/// Whether `Accept-Encoding` names gzip (or x-gzip) with a non-zero quality. A bare
/// `*` does not count: a guide is only compressed for players that ask.
pub fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip")) && !refused
        })
}

/// An `io::Write` that cuts what it is given into [`CHUNK`]-sized `Bytes` and sends
/// them to the response, blocking while the channel is full. Fails with
/// `BrokenPipe` when the response is gone, `TimedOut` when it stopped reading.
struct ChunkSink {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChunkSink {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        // Most chunks find room at once; only a full channel waits.
        let chunk = match self.tx.try_send(Ok(chunk)) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Closed(_)) => return Err(io::ErrorKind::BrokenPipe.into()),
            Err(TrySendError::Full(chunk)) => chunk,
        };
        // Wait for room by polling, not by entering the request's runtime: that
        // runtime may be shutting down (server stop), and entering a dying runtime
        // panics. A full channel means a slow reader; 5 ms steps cost nothing.
        let deadline = std::time::Instant::now() + SEND_TIMEOUT;
        let mut chunk = chunk;
        loop {
            std::thread::sleep(std::time::Duration::from_millis(5));
            match self.tx.try_send(chunk) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(_)) => return Err(io::ErrorKind::BrokenPipe.into()),
                Err(TrySendError::Full(back)) if std::time::Instant::now() < deadline => {
                    chunk = back
                }
                Err(TrySendError::Full(_)) => return Err(io::ErrorKind::TimedOut.into()),
            }
        }
    }

    /// Sends what is left; the response ends when the last sender is dropped.
    fn close(mut self) -> io::Result<()> {
        self.send()
    }
}

impl Write for ChunkSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Flushing would only make small chunks: the document goes out as it fills.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn sink(capacity: usize) -> (ChunkSink, mpsc::Receiver<io::Result<Bytes>>, ()) {
        let (tx, rx) = mpsc::channel(capacity);
        (
            ChunkSink {
                tx,
                buf: Vec::new(),
            },
            rx,
            (),
        )
    }

    #[test]
    fn the_sink_waits_for_room_and_delivers_everything_in_order() {
        let (mut sink, mut rx, _rt) = sink(1);
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            while let Some(chunk) = rx.blocking_recv() {
                all.extend_from_slice(&chunk.unwrap());
            }
            all
        });
        let data: Vec<u8> = (0..10 * CHUNK + 7).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(1000) {
            sink.write_all(piece).unwrap();
        }
        sink.close().unwrap();
        assert_eq!(reader.join().unwrap(), data);
    }

    #[test]
    fn the_sink_fails_once_the_response_is_gone() {
        let (mut sink, rx, _rt) = sink(1);
        sink.write_all(&[b'x'; CHUNK]).unwrap();
        drop(rx);
        let err = sink.write_all(&[b'x'; CHUNK]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn gzip_only_when_asked_with_a_positive_quality() {
        let with = |v: &str| {
            accepts_gzip(
                &TestRequest::default()
                    .insert_header((header::ACCEPT_ENCODING, v))
                    .to_http_request(),
            )
        };
        assert!(with("gzip"));
        assert!(with("deflate, GZIP;q=0.5"));
        assert!(with("br, x-gzip"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
        assert!(!with("*"));
        assert!(!accepts_gzip(&TestRequest::default().to_http_request()));
    }
}
