//! An engine playback session: who opened it, its readers, and the signals that
//! end them (stop, and the kick of the "second reader kicks the first" policy).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::introspect::SessionInfo;
use crate::live::LiveContent;

/// One playback session.
#[derive(Debug)]
pub(crate) struct Session {
    /// `playback_session_id`, 32 hex.
    pub id: String,
    pub pid: String,
    pub content: Arc<LiveContent>,
    pub created: Instant,
    /// 0 for the content's first session, then 1, 2…
    pub ordinal: u64,
    started_at_ms: u64,
    readers: AtomicUsize,
    bytes_sent: AtomicU64,
    /// Stop commands received for this session (see `SessionInfo::stop_calls`).
    stop_calls: AtomicU64,
    /// `true` once stopped; a watch so every reader wakes at once.
    stopped: watch::Sender<bool>,
    /// Reader generation: bumping it ends every reader opened before.
    kick: watch::Sender<u64>,
}

impl Session {
    pub fn new(pid: String, content: Arc<LiveContent>) -> Self {
        let started_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            pid,
            ordinal: content.next_session_ordinal(),
            content,
            created: Instant::now(),
            started_at_ms,
            readers: AtomicUsize::new(0),
            bytes_sent: AtomicU64::new(0),
            stop_calls: AtomicU64::new(0),
            stopped: watch::Sender::new(false),
            kick: watch::Sender::new(0),
        }
    }

    pub fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Stops the session; `false` if it already was.
    pub fn stop(&self) -> bool {
        let was = self.stopped.send_replace(true);
        if !was {
            tracing::info!(session = %self.id, pid = %self.pid, content = %self.content.content.name, "session stopped");
        }
        !was
    }

    /// Counts a stop command addressed to this session (whatever its state).
    pub fn count_stop_call(&self) {
        self.stop_calls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stopped.subscribe()
    }

    /// Resolves once the session is stopped.
    pub async fn stopped(&self) {
        let mut rx = self.stopped.subscribe();
        // wait_for only fails if the sender is gone, and we hold it.
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Ends every current reader; returns the new generation for the next one.
    pub fn kick_readers(&self) -> u64 {
        self.kick.send_modify(|g| *g += 1);
        *self.kick.borrow()
    }

    /// The current reader generation and a receiver to notice the next kick.
    pub fn kick_signal(&self) -> (u64, watch::Receiver<u64>) {
        let rx = self.kick.subscribe();
        let generation = *rx.borrow();
        (generation, rx)
    }

    pub fn readers(&self) -> usize {
        self.readers.load(Ordering::Acquire)
    }

    pub fn add_bytes(&self, n: usize) {
        self.bytes_sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            session_id: self.id.clone(),
            pid: self.pid.clone(),
            content_id: self.content.content.content_id.clone(),
            infohash: self.content.content.infohash.clone(),
            readers: self.readers(),
            bytes_sent: self.bytes_sent(),
            stopped: self.is_stopped(),
            stop_calls: self.stop_calls.load(Ordering::Relaxed),
            started_at_ms: self.started_at_ms,
        }
    }
}

/// A reader's place in a session's count; dropping it (body finished or the
/// client gone) frees the place.
#[derive(Debug)]
pub(crate) struct ReaderSlot {
    pub session: Arc<Session>,
}

impl ReaderSlot {
    /// Takes a place; with `exclusive`, only if nobody else reads (checked and
    /// taken in one atomic step, so two racing opens cannot both get in).
    pub fn acquire(session: &Arc<Session>, exclusive: bool) -> Option<Self> {
        let ok = session
            .readers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (!exclusive || n == 0).then_some(n + 1)
            })
            .is_ok();
        ok.then(|| {
            tracing::debug!(session = %session.id, "reader joined");
            ReaderSlot {
                session: session.clone(),
            }
        })
    }
}

impl Drop for ReaderSlot {
    fn drop(&mut self) {
        self.session.readers.fetch_sub(1, Ordering::AcqRel);
        tracing::debug!(session = %self.session.id, bytes = self.session.bytes_sent(), "reader left");
    }
}
