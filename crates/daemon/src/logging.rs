//! Logging: tracing-subscriber with the level from `RUST_LOG` or the settings, text
//! or JSON lines, and a writer that masks credentials in every line it writes.

use std::io::{self, Write};
use std::sync::Arc;

use acextream_core::logbuf::LogBuffer;
use acextream_core::redact::redact_text;
use acextream_core::settings::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber and returns the buffer of recent lines the
/// dashboard shows. Logs go to standard error (systemd's journal keeps them);
/// standard output stays for command results. Both outputs are redacted.
pub fn init(settings: &LogSettings) -> Arc<LogBuffer> {
    let buffer = Arc::new(LogBuffer::default());
    let wanted = std::env::var("RUST_LOG").unwrap_or_else(|_| settings.level.clone());
    let mut filter = EnvFilter::try_new(&wanted).unwrap_or_else(|_| EnvFilter::new("info"));
    // actix's HTTP/1 dispatcher logs every malformed request a client sends ("stream
    // error: request parse error") at ERROR: anyone could flood the log at the level
    // admins watch. Those requests already get their 400; silence the dispatcher
    // unless the configured filter names actix_http itself.
    if !wanted.contains("actix_http")
        && let Ok(quiet) = "actix_http::h1::dispatcher=off".parse()
    {
        filter = filter.add_directive(quiet);
    }
    // Colour only for a person at a terminal; journald and files get plain text.
    let ansi = io::IsTerminal::is_terminal(&io::stderr());
    let to_buffer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(BufferMakeWriter(buffer.clone()));
    let registry = tracing_subscriber::registry().with(filter).with(to_buffer);
    let stderr = RedactingMakeWriter(io::stderr);
    // A second init (tests) keeps the first subscriber: that is fine.
    let _ = match settings.format {
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().with_writer(stderr))
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(ansi)
                    .with_writer(stderr),
            )
            .try_init(),
    };
    buffer
}

/// Writes redacted lines into the dashboard's [`LogBuffer`].
#[derive(Clone)]
struct BufferMakeWriter(Arc<LogBuffer>);

impl<'a> MakeWriter<'a> for BufferMakeWriter {
    type Writer = BufferWriter;
    fn make_writer(&'a self) -> Self::Writer {
        BufferWriter(self.0.clone())
    }
}

struct BufferWriter(Arc<LogBuffer>);

impl Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.push(&redact_text(&text));
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Wraps a `MakeWriter` so each formatted event is redacted before it is written.
#[derive(Clone)]
pub struct RedactingMakeWriter<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// tracing-subscriber formats a whole event into one buffer and writes it with a
/// single `write_all`, so each `write` here sees whole lines.
pub struct RedactingWriter<W>(pub W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact_text(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn no_password_reaches_a_log_line_through_the_real_subscriber() {
        let capture = Capture::default();
        let sink = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(RedactingMakeWriter(move || sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(uri = "/live/bob/hunter2/17.ts", "request");
            tracing::info!("GET /player_api.php?username=bob&password=hunter2");
            tracing::warn!(
                error = "error for url (http://bob:hunter2@example.org/x.m3u)",
                "fetch failed"
            );
            tracing::info!(path = "/bob/hunter2/17", "legacy");
        });
        let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 4, "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("/live/bob/***/17.ts"), "{out}");
    }

    #[test]
    fn json_lines_are_redacted_too() {
        let capture = Capture::default();
        let sink = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(RedactingMakeWriter(move || sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(password = "hunter2", uri = "/x?password=hunter2", "oops");
        });
        let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert!(!out.contains("hunter2"), "{out}");
    }
}
