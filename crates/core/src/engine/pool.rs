//! A pool of AceStream engines: which are up, how many channel sessions each
//! carries, and where the next session goes.
//!
//! Placement: a new channel session goes to the healthy engine with the fewest
//! sessions that has room (`engine.max_sessions`, 0 = unlimited); the count is
//! taken under the pool's lock, so two channels starting at once never both take
//! an engine's last slot. A [`Lease`] holds the slot and gives it back when dropped.
//!
//! Health: every `engine.health_interval` each engine is asked `get_version`; two
//! failures in a row mark it down. A session whose engine connection drops asks
//! for a [`EnginePool::probe`] at once: one more failure then is enough, since the
//! drop was the first. Marking an engine down bumps its `down` signal, which every
//! channel on it listens to, so they all move to other engines at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{EngineClient, EngineError};
use crate::settings::EngineSettings;

/// Failed health checks in a row after which an engine is down.
const DOWN_AFTER: u32 = 2;

/// Why no engine could take a new session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Every engine is down.
    #[error("no engine is up ({0})")]
    AllDown(String),
    /// Every engine that is up carries `engine.max_sessions` already.
    #[error("every engine is full ({0} sessions each)")]
    AllFull(u32),
}

/// One engine of the pool.
#[derive(Debug)]
pub struct Member {
    /// Position in `engine.urls` (stable for the process's life).
    pub index: usize,
    /// Its client.
    pub client: EngineClient,
    state: Mutex<MemberState>,
    /// Bumped every time the engine is marked down.
    down: watch::Sender<u64>,
}

#[derive(Debug, Clone, Default)]
struct MemberState {
    /// `None` until the first health check answered either way.
    up: Option<bool>,
    version: Option<String>,
    sessions: u32,
    failures: u32,
    last_error: Option<String>,
    checked_at: Option<jiff::Timestamp>,
}

impl Member {
    fn lock(&self) -> MutexGuard<'_, MemberState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Up, or not checked yet (an engine is trusted until it fails).
    pub fn is_usable(&self) -> bool {
        self.lock().up != Some(false)
    }

    /// A receiver that changes whenever this engine is marked down.
    pub fn down_signal(&self) -> watch::Receiver<u64> {
        self.down.subscribe()
    }

    /// The engine's base URL.
    pub fn url(&self) -> &Url {
        self.client.base()
    }
}

/// What the status pages show of one engine.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EngineStatus {
    /// Position in the pool.
    pub index: usize,
    /// Base URL.
    pub url: String,
    /// `up`, `down`, or `unknown` before the first check.
    pub state: &'static str,
    /// Whether new sessions may go there.
    pub up: bool,
    /// The engine's version, from its last good health check.
    pub version: Option<String>,
    /// Channel sessions it carries now.
    pub sessions: u32,
    /// Its capacity (0 = unlimited).
    pub max_sessions: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was last checked.
    pub checked_at: Option<String>,
}

/// A channel session's place on one engine; dropping it frees the slot.
#[derive(Debug)]
pub struct Lease {
    member: Arc<Member>,
}

impl Lease {
    /// The engine this lease is on.
    pub fn member(&self) -> &Arc<Member> {
        &self.member
    }

    /// Its client.
    pub fn client(&self) -> &EngineClient {
        &self.member.client
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut st = self.member.lock();
        st.sessions = st.sessions.saturating_sub(1);
    }
}

/// The engines acextream uses.
#[derive(Debug)]
pub struct EnginePool {
    members: Vec<Arc<Member>>,
    max_sessions: u32,
    health_interval: Duration,
    /// Placement and capacity decisions happen under this lock, so a slot is
    /// never given twice.
    place: Mutex<()>,
    /// Round-robin cursor of [`EnginePool::for_calls`].
    next_call: AtomicUsize,
}

impl EnginePool {
    /// A pool of the engines in `settings` (`engine.urls`, else `engine.url`).
    pub fn new(settings: &EngineSettings) -> Result<Arc<Self>, EngineError> {
        let members = settings
            .pool_urls()
            .into_iter()
            .enumerate()
            .map(|(index, url)| {
                let one = EngineSettings {
                    url,
                    urls: Vec::new(),
                    ..settings.clone()
                };
                Ok(Arc::new(Member {
                    index,
                    client: EngineClient::new(&one)?,
                    state: Mutex::new(MemberState::default()),
                    down: watch::Sender::new(0),
                }))
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok(Arc::new(Self {
            members,
            max_sessions: settings.max_sessions,
            health_interval: settings.health_interval,
            place: Mutex::new(()),
            next_call: AtomicUsize::new(0),
        }))
    }

    /// Every engine, in configuration order.
    pub fn members(&self) -> &[Arc<Member>] {
        &self.members
    }

    /// The first engine's client (commands that need one engine, e.g. `migrate
    /// --ask-engine`).
    pub fn first(&self) -> &EngineClient {
        &self.members[0].client
    }

    /// A slot on the usable engine with the fewest sessions that has room,
    /// preferring `prefer` when it is usable and has room (a re-open stays where
    /// its session was).
    pub fn acquire(&self, prefer: Option<usize>) -> Result<Lease, PoolError> {
        let _placing = self.place.lock().unwrap_or_else(|p| p.into_inner());
        let has_room = |st: &MemberState| self.max_sessions == 0 || st.sessions < self.max_sessions;
        let mut best: Option<(&Arc<Member>, u32)> = None;
        let mut any_usable = false;
        for m in &self.members {
            let st = m.lock();
            if st.up == Some(false) {
                continue;
            }
            any_usable = true;
            if !has_room(&st) {
                continue;
            }
            if Some(m.index) == prefer {
                best = Some((m, 0));
                break;
            }
            if best.is_none_or(|(_, n)| st.sessions < n) {
                best = Some((m, st.sessions));
            }
        }
        match best {
            Some((m, _)) => {
                m.lock().sessions += 1;
                Ok(Lease { member: m.clone() })
            }
            None if any_usable => Err(PoolError::AllFull(self.max_sessions)),
            None => Err(PoolError::AllDown(self.last_errors())),
        }
    }

    fn last_errors(&self) -> String {
        let errors: Vec<String> = self
            .members
            .iter()
            .map(|m| {
                let err = m.lock().last_error.clone();
                format!("{}: {}", m.url(), err.as_deref().unwrap_or("down"))
            })
            .collect();
        errors.join("; ")
    }

    /// A usable engine for short calls (availability checks, search), taking
    /// turns so the calls spread over the pool; the first engine when none is up
    /// (its error then says why).
    pub fn for_calls(&self) -> EngineClient {
        let n = self.members.len();
        let start = self.next_call.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &self.members[(start + i) % n])
            .find(|m| m.is_usable())
            .unwrap_or(&self.members[0])
            .client
            .clone()
    }

    /// Records a health check's result; returns whether the engine just went down.
    fn record(&self, member: &Member, result: Result<String, String>, strikes: u32) -> bool {
        let mut st = member.lock();
        st.checked_at = Some(jiff::Timestamp::now());
        match result {
            Ok(version) => {
                if st.up == Some(false) {
                    tracing::info!(engine = %member.url(), "engine is up again");
                }
                st.up = Some(true);
                st.version = Some(version);
                st.failures = 0;
                false
            }
            Err(e) => {
                st.failures += 1;
                st.last_error = Some(e.clone());
                let was_up = st.up != Some(false);
                if st.failures >= strikes {
                    st.up = Some(false);
                }
                let went_down = was_up && st.up == Some(false);
                drop(st);
                if went_down {
                    tracing::warn!(engine = %member.url(), error = %e, "engine is down; its channels move");
                    member.down.send_modify(|v| *v += 1);
                }
                went_down
            }
        }
    }

    async fn check(&self, member: &Member, strikes: u32) -> bool {
        let bound = member.client.request_timeout();
        let result = match tokio::time::timeout(bound, member.client.version()).await {
            Ok(Ok(v)) => Ok(v.version),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("engine did not answer in time".to_owned()),
        };
        self.record(member, result, strikes)
    }

    /// Checks every engine now, all at once.
    pub async fn check_all(&self) {
        futures_util::future::join_all(self.members.iter().map(|m| self.check(m, DOWN_AFTER)))
            .await;
    }

    /// Checks engine `index` at once because one of its connections dropped: a
    /// failure now marks it down (the drop counted as the first strike). Returns
    /// whether the engine is usable.
    pub async fn probe(&self, index: usize) -> bool {
        let Some(member) = self.members.get(index) else {
            return false;
        };
        if !member.is_usable() {
            return false;
        }
        self.check(member, 1).await;
        member.is_usable()
    }

    /// Checks every engine every `engine.health_interval` until `cancel`.
    pub async fn run_health_checks(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            self.check_all().await;
            tokio::select! {
                _ = tokio::time::sleep(self.health_interval) => {}
                _ = cancel.cancelled() => return,
            }
        }
    }

    /// Every engine's state, for `/health` and the dashboard.
    pub fn status(&self) -> Vec<EngineStatus> {
        self.members
            .iter()
            .map(|m| {
                let st = m.lock().clone();
                EngineStatus {
                    index: m.index,
                    url: m.url().to_string(),
                    state: match st.up {
                        None => "unknown",
                        Some(true) => "up",
                        Some(false) => "down",
                    },
                    up: st.up != Some(false),
                    version: st.version,
                    sessions: st.sessions,
                    max_sessions: self.max_sessions,
                    last_error: st.last_error,
                    checked_at: st.checked_at.map(|t| t.to_string()),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(urls: &[&str], max: u32) -> Arc<EnginePool> {
        EnginePool::new(&EngineSettings {
            urls: urls.iter().map(|u| Url::parse(u).unwrap()).collect(),
            max_sessions: max,
            ..EngineSettings::default()
        })
        .unwrap()
    }

    #[test]
    fn sessions_go_to_the_least_loaded_engine_with_room() {
        let p = pool(&["http://127.0.0.1:1", "http://127.0.0.1:2"], 2);
        let a = p.acquire(None).unwrap();
        let b = p.acquire(None).unwrap();
        assert_ne!(a.member().index, b.member().index, "spread over both");
        let c = p.acquire(None).unwrap();
        let _d = p.acquire(None).unwrap();
        assert_eq!(p.acquire(None).unwrap_err(), PoolError::AllFull(2));
        drop(c);
        assert!(p.acquire(None).is_ok(), "a freed slot is used again");
    }

    #[test]
    fn a_down_engine_gets_nothing_and_its_channels_hear_of_it() {
        let p = pool(&["http://127.0.0.1:1", "http://127.0.0.1:2"], 0);
        let signal = p.members()[0].down_signal();
        assert!(
            !p.record(&p.members()[0], Err("refused".into()), 2),
            "one strike"
        );
        assert!(
            p.record(&p.members()[0], Err("refused".into()), 2),
            "two strikes"
        );
        assert!(signal.has_changed().unwrap());
        for _ in 0..4 {
            assert_eq!(p.acquire(Some(0)).unwrap().member().index, 1);
        }
        assert!(
            p.record(&p.members()[1], Err("refused".into()), 1),
            "a probe strike"
        );
        let err = p.acquire(None).unwrap_err();
        assert!(
            matches!(err, PoolError::AllDown(ref why) if why.contains("refused")),
            "{err}"
        );
        p.record(&p.members()[0], Ok("3.2.15".into()), 2);
        assert_eq!(
            p.acquire(None).unwrap().member().index,
            0,
            "used again once healthy"
        );
    }
}
