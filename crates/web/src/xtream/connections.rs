//! Open streams per account: enforces `max_connections` and gives `active_cons`.
//!
//! The count rises when a stream starts and falls the moment its body is dropped
//! (the player hung up). At the limit, a new stream from an IP that already has one
//! of the account's streams replaces that older stream (a player zapping between
//! channels often opens the next before the previous socket is closed); from any
//! other IP it is refused with 403.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
struct Slot {
    id: u64,
    ip: String,
    stop: CancellationToken,
}

/// The registry of open streams (one per process, shared by every worker).
#[derive(Debug, Default)]
pub struct Connections {
    /// Held only to count, insert or remove: never across an await.
    slots: Mutex<HashMap<String, Vec<Slot>>>,
    next: AtomicU64,
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

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Slot>>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for `user` (limit 0 = unlimited), or says why not.
    pub fn acquire(
        self: &Arc<Self>,
        user: &str,
        limit: u32,
        ip: &str,
    ) -> Result<Guard, LimitReached> {
        let mut slots = self.lock();
        let list = slots.entry(user.to_owned()).or_default();
        if limit > 0 && list.len() >= limit as usize {
            match list.iter().position(|s| s.ip == ip) {
                Some(i) => {
                    let old = list.remove(i);
                    old.stop.cancel();
                    tracing::info!(
                        user,
                        ip,
                        "stream replaced by a newer one from the same address"
                    );
                }
                None => return Err(LimitReached { limit }),
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let stop = CancellationToken::new();
        list.push(Slot {
            id,
            ip: ip.to_owned(),
            stop: stop.clone(),
        });
        Ok(Guard {
            registry: self.clone(),
            user: user.to_owned(),
            id,
            stop,
        })
    }

    /// Ends every open stream of `user` (account disabled, deleted or re-keyed);
    /// the slots free themselves as the bodies end.
    pub fn kick(&self, user: &str) -> usize {
        let slots = self.lock();
        let list = slots.get(user).map(Vec::as_slice).unwrap_or_default();
        for slot in list {
            slot.stop.cancel();
        }
        list.len()
    }

    /// Streams `user` has open now.
    pub fn active(&self, user: &str) -> usize {
        self.lock().get(user).map_or(0, Vec::len)
    }

    /// Open streams of every account.
    pub fn all(&self) -> HashMap<String, usize> {
        self.lock()
            .iter()
            .map(|(u, l)| (u.clone(), l.len()))
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
        let a = c.acquire("u", 2, "1.1.1.1").unwrap();
        let _b = c.acquire("u", 2, "2.2.2.2").unwrap();
        assert_eq!(c.active("u"), 2);
        assert_eq!(
            c.acquire("u", 2, "3.3.3.3").unwrap_err(),
            LimitReached { limit: 2 }
        );
        drop(a);
        assert_eq!(c.active("u"), 1);
        assert!(c.acquire("u", 2, "3.3.3.3").is_ok());
        assert!(c.acquire("other", 0, "9.9.9.9").is_ok(), "0 is unlimited");
    }

    #[test]
    fn kicking_a_user_stops_its_streams() {
        let c = Arc::new(Connections::default());
        let a = c.acquire("u", 0, "1.1.1.1").unwrap();
        let b = c.acquire("u", 0, "2.2.2.2").unwrap();
        let other = c.acquire("v", 0, "3.3.3.3").unwrap();
        assert_eq!(c.kick("u"), 2);
        assert!(a.stop.is_cancelled() && b.stop.is_cancelled());
        assert!(!other.stop.is_cancelled());
    }

    #[test]
    fn the_same_address_replaces_its_older_stream_at_the_limit() {
        let c = Arc::new(Connections::default());
        let old = c.acquire("u", 1, "1.1.1.1").unwrap();
        let new = c.acquire("u", 1, "1.1.1.1").unwrap();
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
}
