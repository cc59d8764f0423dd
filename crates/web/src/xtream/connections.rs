//! Open streams per account: enforces `max_connections` and gives `active_cons`.
//!
//! Two kinds of connection hold a slot. A TS stream holds one from the moment it
//! starts until its body is dropped (the player hung up). An HLS viewer has no
//! connection that stays open: it holds a *lease*, renewed by every playlist or
//! segment fetch of its session and gone `hls.viewer_timeout` after the last one.
//!
//! What counts: every TS stream, and every HLS lease whose address and channel no
//! other slot of the account has — the same player switching between TS and HLS
//! of one channel (or a browser reloading the page) is one connection.
//!
//! At the limit, a new stream or viewer from an address that already holds one of
//! the account's slots replaces that older one (a player zapping between channels
//! often opens the next before the previous socket is closed); from any other
//! address it is refused with 403.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
struct Slot {
    id: u64,
    ip: String,
    /// The channel (`channel:7`, or the bare link), for the TS↔HLS rule.
    channel: String,
    stop: CancellationToken,
    /// For an HLS lease: its session id and last fetch.
    hls: Option<(String, Instant)>,
}

impl Slot {
    fn alive(&self, now: Instant, timeout: Duration) -> bool {
        self.hls
            .as_ref()
            .is_none_or(|(_, last)| now.duration_since(*last) < timeout)
    }
}

/// The registry of open streams (one per process, shared by every worker).
#[derive(Debug)]
pub struct Connections {
    /// Held only to count, insert or remove: never across an await.
    slots: Mutex<HashMap<String, Vec<Slot>>>,
    next: AtomicU64,
    /// How long an HLS lease lives without a fetch.
    hls_timeout: Duration,
}

impl Default for Connections {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

/// Why a stream was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connection limit reached: {limit} of {limit} streams already open for this account")]
pub struct LimitReached {
    /// The account's limit.
    pub limit: u32,
}

/// One open stream; dropping it frees the slot.
#[derive(Debug)]
pub struct Guard {
    registry: Arc<Connections>,
    user: String,
    id: u64,
    stop: CancellationToken,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut slots = self.registry.lock();
        if let Some(list) = slots.get_mut(&self.user) {
            list.retain(|s| s.id != self.id);
            if list.is_empty() {
                slots.remove(&self.user);
            }
        }
    }
}

/// Slots that count towards the limit: TS streams, and leases whose address and
/// channel no earlier slot has.
fn counted(list: &[Slot]) -> usize {
    list.iter()
        .enumerate()
        .filter(|(i, s)| {
            s.hls.is_none()
                || !list.iter().enumerate().any(|(j, o)| {
                    (o.hls.is_none() || j < *i) && j != *i && o.ip == s.ip && o.channel == s.channel
                })
        })
        .count()
}

impl Connections {
    /// A registry whose HLS leases end `hls_timeout` after their last fetch.
    pub fn new(hls_timeout: Duration) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            hls_timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Slot>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let (now, timeout) = (Instant::now(), self.hls_timeout);
        slots.retain(|_, list| {
            list.retain(|s| s.alive(now, timeout));
            !list.is_empty()
        });
        slots
    }

    /// Makes room for `candidate` in `list` under `limit`: nothing to do when it
    /// does not raise the count; else the oldest other slot from the same address
    /// is replaced; else the limit is reached.
    fn make_room(
        list: &mut Vec<Slot>,
        candidate: Slot,
        limit: u32,
        user: &str,
        replace: bool,
    ) -> Result<(), LimitReached> {
        list.push(candidate);
        if limit == 0 || counted(list) <= limit as usize {
            return Ok(());
        }
        if !replace {
            list.pop();
            return Err(LimitReached { limit });
        }
        let Some(new) = list.pop() else {
            return Err(LimitReached { limit });
        };
        match list.iter().position(|s| s.ip == new.ip) {
            Some(i) => {
                let old = list.remove(i);
                old.stop.cancel();
                tracing::info!(
                    user,
                    ip = %new.ip,
                    "stream replaced by a newer one from the same address"
                );
                list.push(new);
                Ok(())
            }
            None => Err(LimitReached { limit }),
        }
    }

    /// Takes a TS slot for `user` watching `channel` (limit 0 = unlimited), or
    /// says why not.
    pub fn acquire(
        self: &Arc<Self>,
        user: &str,
        limit: u32,
        ip: &str,
        channel: &str,
    ) -> Result<Guard, LimitReached> {
        self.take(user, limit, ip, channel, true)
    }

    /// [`Connections::acquire`] for an HDHomeRun tune: at the limit it is refused
    /// even from an address that holds a slot. A media server tunes every
    /// recording from the same address; replacing its older stream would end a
    /// recording, where a real tuner answers "all tuners in use".
    pub fn acquire_tuner(
        self: &Arc<Self>,
        user: &str,
        limit: u32,
        ip: &str,
        channel: &str,
    ) -> Result<Guard, LimitReached> {
        self.take(user, limit, ip, channel, false)
    }

    fn take(
        self: &Arc<Self>,
        user: &str,
        limit: u32,
        ip: &str,
        channel: &str,
        replace: bool,
    ) -> Result<Guard, LimitReached> {
        let mut slots = self.lock();
        let list = slots.entry(user.to_owned()).or_default();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let stop = CancellationToken::new();
        let slot = Slot {
            id,
            ip: ip.to_owned(),
            channel: channel.to_owned(),
            stop: stop.clone(),
            hls: None,
        };
        let result = Self::make_room(list, slot, limit, user, replace);
        if list.is_empty() {
            slots.remove(user);
        }
        result?;
        Ok(Guard {
            registry: self.clone(),
            user: user.to_owned(),
            id,
            stop,
        })
    }

    /// Renews (or takes) the HLS lease of session `session` of `user` watching
    /// `channel` from `ip`. `Ok(true)` when the lease is new.
    pub fn renew_hls(
        &self,
        user: &str,
        limit: u32,
        ip: &str,
        channel: &str,
        session: &str,
    ) -> Result<bool, LimitReached> {
        let mut slots = self.lock();
        let now = Instant::now();
        if let Some(lease) = slots.get_mut(user).and_then(|l| {
            l.iter_mut()
                .find(|s| s.hls.as_ref().is_some_and(|(id, _)| id == session))
        }) {
            lease.hls = Some((session.to_owned(), now));
            return Ok(false);
        }
        let list = slots.entry(user.to_owned()).or_default();
        // A new session from the address and channel of an older one supersedes
        // it (a reloaded page, a player re-opening the URL): one lease per address
        // and channel, so a client re-fetching the `.m3u8` cannot pile them up.
        list.retain(|s| !(s.hls.is_some() && s.ip == ip && s.channel == channel));
        let slot = Slot {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            ip: ip.to_owned(),
            channel: channel.to_owned(),
            stop: CancellationToken::new(),
            hls: Some((session.to_owned(), now)),
        };
        let result = Self::make_room(list, slot, limit, user, true);
        if list.is_empty() {
            slots.remove(user);
        }
        result.map(|()| true)
    }

    /// Renews the lease of HLS session `session` of `user` if it is still held;
    /// `false` when it is not (expired or kicked: the caller takes a new one).
    pub fn touch_hls(&self, user: &str, session: &str) -> bool {
        let mut slots = self.lock();
        let lease = slots.get_mut(user).and_then(|l| {
            l.iter_mut()
                .find(|s| s.hls.as_ref().is_some_and(|(id, _)| id == session))
        });
        match lease {
            Some(lease) => {
                lease.hls = Some((session.to_owned(), Instant::now()));
                true
            }
            None => false,
        }
    }

    /// Gives back the lease of HLS session `session` of `user` (its first playlist
    /// failed).
    pub fn end_hls(&self, user: &str, session: &str) {
        let mut slots = self.lock();
        if let Some(list) = slots.get_mut(user) {
            list.retain(|s| s.hls.as_ref().is_none_or(|(id, _)| id != session));
            if list.is_empty() {
                slots.remove(user);
            }
        }
    }

    /// Ends every open stream and HLS lease of `user` (account disabled, deleted or
    /// re-keyed); TS slots free themselves as the bodies end.
    pub fn kick(&self, user: &str) -> usize {
        let mut slots = self.lock();
        let Some(list) = slots.get_mut(user) else {
            return 0;
        };
        let n = list.len();
        for slot in list.iter() {
            slot.stop.cancel();
        }
        list.retain(|s| s.hls.is_none());
        if list.is_empty() {
            slots.remove(user);
        }
        n
    }

    /// Connections `user` has open now (as counted against the limit).
    pub fn active(&self, user: &str) -> usize {
        self.lock().get(user).map_or(0, |l| counted(l))
    }

    /// Open connections of every account.
    pub fn all(&self) -> HashMap<String, usize> {
        self.lock()
            .iter()
            .map(|(u, l)| (u.clone(), counted(l)))
            .collect()
    }
}

/// Ties a stream body to its slot: the slot is freed when the body is dropped, and
/// the body ends when the slot is taken over by a newer stream.
pub fn guarded<S, E>(stream: S, guard: Guard) -> impl Stream<Item = Result<Bytes, E>> + 'static
where
    S: Stream<Item = Result<Bytes, E>> + 'static,
{
    let stop = guard.stop.clone().cancelled_owned();
    stream.take_until(stop).map(move |item| {
        let _ = &guard;
        item
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_enforced_and_freed_on_drop() {
        let c = Arc::new(Connections::default());
        let a = c.acquire("u", 2, "1.1.1.1", "a").unwrap();
        let _b = c.acquire("u", 2, "2.2.2.2", "a").unwrap();
        assert_eq!(c.active("u"), 2);
        assert_eq!(
            c.acquire("u", 2, "3.3.3.3", "a").unwrap_err(),
            LimitReached { limit: 2 }
        );
        drop(a);
        assert_eq!(c.active("u"), 1);
        assert!(c.acquire("u", 2, "3.3.3.3", "a").is_ok());
        assert!(
            c.acquire("other", 0, "9.9.9.9", "a").is_ok(),
            "0 is unlimited"
        );
    }

    #[test]
    fn a_tuner_at_its_limit_refuses_rather_than_replaces() {
        let c = Arc::new(Connections::default());
        let recording = c.acquire_tuner("u", 1, "1.1.1.1", "channel:1").unwrap();
        assert_eq!(
            c.acquire_tuner("u", 1, "1.1.1.1", "channel:2").unwrap_err(),
            LimitReached { limit: 1 }
        );
        assert!(!recording.stop.is_cancelled(), "the recording goes on");
        assert_eq!(c.active("u"), 1);
        drop(recording);
        assert!(c.acquire_tuner("u", 1, "1.1.1.1", "channel:2").is_ok());
    }

    #[test]
    fn kicking_a_user_stops_its_streams() {
        let c = Arc::new(Connections::default());
        let a = c.acquire("u", 0, "1.1.1.1", "a").unwrap();
        let b = c.acquire("u", 0, "2.2.2.2", "a").unwrap();
        let other = c.acquire("v", 0, "3.3.3.3", "a").unwrap();
        assert_eq!(c.kick("u"), 2);
        assert!(a.stop.is_cancelled() && b.stop.is_cancelled());
        assert!(!other.stop.is_cancelled());
    }

    #[test]
    fn the_same_address_replaces_its_older_stream_at_the_limit() {
        let c = Arc::new(Connections::default());
        let old = c.acquire("u", 1, "1.1.1.1", "a").unwrap();
        let new = c.acquire("u", 1, "1.1.1.1", "a").unwrap();
        assert!(old.stop.is_cancelled());
        assert!(!new.stop.is_cancelled());
        assert_eq!(c.active("u"), 1);
        drop(old);
        assert_eq!(
            c.active("u"),
            1,
            "dropping the replaced stream frees nothing twice"
        );
    }

    #[test]
    fn hls_and_ts_of_one_channel_from_one_address_are_one_connection() {
        let c = Arc::new(Connections::new(Duration::from_secs(30)));
        assert_eq!(c.renew_hls("u", 1, "1.1.1.1", "ch7", "s1"), Ok(true));
        assert_eq!(c.renew_hls("u", 1, "1.1.1.1", "ch7", "s1"), Ok(false));
        let ts = c.acquire("u", 1, "1.1.1.1", "ch7").unwrap();
        assert!(!ts.stop.is_cancelled());
        assert_eq!(c.active("u"), 1);
        assert_eq!(
            c.renew_hls("u", 1, "2.2.2.2", "ch7", "s2"),
            Err(LimitReached { limit: 1 }),
            "another address is another connection"
        );
        assert_eq!(c.renew_hls("u", 1, "1.1.1.1", "ch7", "s3"), Ok(true));
        assert_eq!(c.active("u"), 1);
    }

    #[test]
    fn an_hls_lease_ends_after_the_viewer_timeout() {
        let c = Arc::new(Connections::new(Duration::from_millis(50)));
        assert_eq!(c.renew_hls("u", 1, "1.1.1.1", "ch7", "s1"), Ok(true));
        assert_eq!(c.active("u"), 1);
        assert!(c.acquire("u", 1, "2.2.2.2", "ch8").is_err());
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(c.active("u"), 0);
        assert!(c.acquire("u", 1, "2.2.2.2", "ch8").is_ok());
    }

    #[test]
    fn re_opening_the_url_from_one_address_keeps_one_lease() {
        let c = Arc::new(Connections::new(Duration::from_secs(30)));
        for n in 0..1000 {
            assert_eq!(
                c.renew_hls("u", 0, "1.1.1.1", "ch7", &format!("s{n}")),
                Ok(true)
            );
        }
        assert_eq!(c.lock().get("u").map(Vec::len), Some(1));
        assert!(!c.touch_hls("u", "s0"), "superseded");
        assert!(c.touch_hls("u", "s999"));
    }

    #[test]
    fn kicking_ends_hls_leases() {
        let c = Arc::new(Connections::new(Duration::from_secs(30)));
        assert_eq!(c.renew_hls("u", 0, "1.1.1.1", "ch7", "s1"), Ok(true));
        assert_eq!(c.kick("u"), 1);
        assert_eq!(c.active("u"), 0);
        assert_eq!(
            c.renew_hls("u", 0, "1.1.1.1", "ch7", "s1"),
            Ok(true),
            "a new lease"
        );
    }
}
