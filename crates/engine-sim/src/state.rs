//! The simulator's shared state: the running catalogue, the session registry with
//! the pid policies, and the call log that introspection reports.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::{Policies, SamePid, SecondPid, SimConfig};
use crate::content::{Content, Fault};
use crate::introspect::{GetstreamCall, Introspection};
use crate::live::{LiveContent, lock};
use crate::session::Session;

/// The error a second pid gets under [`SecondPid::Refuse`].
pub(crate) const ERR_OTHER_PID: &str = "content is being played by another player";

/// How a getstream call named its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyParam {
    ContentId,
    Infohash,
}

/// Shared by every connection. All locks are std mutexes: each is held for a few
/// field updates and never across an `.await`, so a blocking lock is cheaper
/// than an async one.
#[derive(Debug)]
pub(crate) struct State {
    pub policies: Policies,
    pub unpaced: bool,
    pub burst: Duration,
    catalogue: Mutex<Vec<Arc<LiveContent>>>,
    sessions: Mutex<Registry>,
    calls: Mutex<Vec<GetstreamCall>>,
    stop_calls: AtomicU64,
    playback_opens: AtomicU64,
}

#[derive(Debug, Default)]
struct Registry {
    /// Every session, creation order (introspection reports stopped ones too).
    all: Vec<Arc<Session>>,
    by_id: HashMap<String, Arc<Session>>,
}

impl State {
    pub fn new(config: &SimConfig) -> Self {
        Self {
            policies: config.policies,
            unpaced: config.unpaced,
            burst: config.burst,
            catalogue: Mutex::new(
                config
                    .catalogue
                    .iter()
                    .cloned()
                    .map(LiveContent::new)
                    .map(Arc::new)
                    .collect(),
            ),
            sessions: Mutex::new(Registry::default()),
            calls: Mutex::new(Vec::new()),
            stop_calls: AtomicU64::new(0),
            playback_opens: AtomicU64::new(0),
        }
    }

    /// Looks content up the way getstream does: `id=` only by content id,
    /// `infohash=` only by infohash.
    pub fn lookup(&self, param: KeyParam, value: &str) -> Option<Arc<LiveContent>> {
        lock(&self.catalogue)
            .iter()
            .find(|c| match param {
                KeyParam::ContentId => c.content.content_id.eq_ignore_ascii_case(value),
                KeyParam::Infohash => c.content.infohash.eq_ignore_ascii_case(value),
            })
            .cloned()
    }

    /// Content by content id or infohash.
    pub fn find(&self, key: &str) -> Option<Arc<LiveContent>> {
        lock(&self.catalogue)
            .iter()
            .find(|c| c.matches(key))
            .cloned()
    }

    /// The running catalogue.
    pub fn contents(&self) -> Vec<Arc<LiveContent>> {
        lock(&self.catalogue).clone()
    }

    /// Adds content, going live now; an entry with the same content id is replaced
    /// (its open sessions keep playing the old one).
    pub fn add_content(&self, c: Content) {
        tracing::info!(name = %c.name, content_id = %c.content_id, infohash = %c.infohash, "content added");
        let mut cat = lock(&self.catalogue);
        cat.retain(|old| old.content.content_id != c.content_id);
        cat.push(Arc::new(LiveContent::new(c)));
    }

    /// Sets the fault of the content with this id or infohash; `false` if unknown.
    pub fn set_fault(&self, key: &str, fault: Fault) -> bool {
        match self.find(key) {
            Some(c) => {
                tracing::info!(content = %c.content.name, ?fault, "fault set");
                c.set_fault(fault);
                true
            }
            None => {
                tracing::warn!(key, "fault for unknown content ignored");
                false
            }
        }
    }

    pub fn record_call(&self, call: GetstreamCall) {
        lock(&self.calls).push(call);
    }

    /// A session by id, stopped or not.
    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).by_id.get(id).cloned()
    }

    /// The session getstream hands `pid` for `content`, under the pid policies;
    /// `Err` is the engine's error text.
    pub fn open_session(
        &self,
        pid: &str,
        content: &Arc<LiveContent>,
    ) -> Result<Arc<Session>, &'static str> {
        let mut reg = lock(&self.sessions);
        let id = &content.content.content_id;
        let live: Vec<Arc<Session>> = reg
            .all
            .iter()
            .filter(|s| !s.is_stopped() && &s.content.content.content_id == id)
            .cloned()
            .collect();
        if let Some(same) = live.iter().find(|s| s.pid == pid) {
            match self.policies.same_pid {
                SamePid::Reuse => return Ok(same.clone()),
                SamePid::Replace => {
                    same.stop();
                }
            }
        }
        let others: Vec<&Arc<Session>> = live.iter().filter(|s| s.pid != pid).collect();
        if !others.is_empty() {
            match self.policies.second_pid {
                SecondPid::Allow => {}
                SecondPid::Refuse => return Err(ERR_OTHER_PID),
                SecondPid::KickFirst => others.iter().for_each(|s| {
                    s.stop();
                }),
            }
        }
        let session = Arc::new(Session::new(pid.to_owned(), content.clone()));
        tracing::info!(session = %session.id, pid, content = %content.content.name, "session opened");
        reg.all.push(session.clone());
        reg.by_id.insert(session.id.clone(), session.clone());
        Ok(session)
    }

    /// Stops every session (a restart or shutdown).
    pub fn stop_all(&self) {
        for s in &lock(&self.sessions).all {
            s.stop();
        }
    }

    pub fn count_stop_call(&self) {
        self.stop_calls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_playback_open(&self) {
        self.playback_opens.fetch_add(1, Ordering::Relaxed);
    }

    pub fn introspect(&self) -> Introspection {
        Introspection {
            sessions: lock(&self.sessions).all.iter().map(|s| s.info()).collect(),
            getstream_calls: lock(&self.calls).clone(),
            stop_calls: self.stop_calls.load(Ordering::Relaxed),
            playback_opens: self.playback_opens.load(Ordering::Relaxed),
        }
    }
}
