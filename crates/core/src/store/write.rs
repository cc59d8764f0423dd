//! Write transactions: every transaction that writes begins as a writer
//! (`BEGIN IMMEDIATE`) and takes its turn in a first-come, first-served queue.
//!
//! Why `IMMEDIATE`: a deferred transaction that reads first holds a read snapshot;
//! when it then writes while another connection holds the write lock, SQLite
//! refuses the upgrade at once with "database is locked" — the busy timeout is not
//! consulted, because waiting could deadlock two such upgraders. `BEGIN IMMEDIATE`
//! takes the write lock before anything is read, and waiting for it does honour
//! the busy timeout.
//!
//! Why a queue: SQLite's busy handler polls (sleeps of up to 100 ms between tries)
//! and is not fair. A guide import writing batch after batch could win the lock
//! again and again while an admin's edit sleeps, until the edit's busy timeout
//! runs out. Inside one process, writers therefore queue here first, in arrival
//! order: an edit waits for at most the batch being written. Writers of other
//! processes (a CLI command beside the daemon) still meet on SQLite's lock, with
//! the busy timeout. The queue is process-wide, not per database file: a process
//! has one database in production, and a shared queue among tests' databases only
//! orders their writes.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::BUSY_TIMEOUT;

/// A write transaction holding its turn; derefs to the [`Transaction`]. Dropped
/// without [`WriteTx::commit`], it rolls back. Either way the turn passes on only
/// after the transaction has ended (the fields drop in order).
pub struct WriteTx<'c> {
    tx: Transaction<'c>,
    _turn: Turn,
}

impl WriteTx<'_> {
    /// Commits, then passes the turn on.
    pub fn commit(self) -> rusqlite::Result<()> {
        self.tx.commit()
    }
}

impl<'c> Deref for WriteTx<'c> {
    type Target = Transaction<'c>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// Begins a write transaction on `c`: waits for this process's earlier writers
/// (at most [`BUSY_TIMEOUT`]), then `BEGIN IMMEDIATE` (which waits for other
/// processes' writers, the same bound). Every transaction that writes uses this.
pub fn immediate(c: &mut Connection) -> rusqlite::Result<WriteTx<'_>> {
    let turn = QUEUE.wait_turn(BUSY_TIMEOUT)?;
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    Ok(WriteTx { tx, _turn: turn })
}

/// The process's writers, in arrival order.
static QUEUE: Queue = Queue {
    state: Mutex::new(QueueState {
        writing: false,
        waiting: VecDeque::new(),
        next_ticket: 0,
    }),
    turn_over: Condvar::new(),
};

struct Queue {
    state: Mutex<QueueState>,
    turn_over: Condvar,
}

struct QueueState {
    /// A writer holds its turn.
    writing: bool,
    /// Tickets of the writers waiting, first come first.
    waiting: VecDeque<u64>,
    next_ticket: u64,
}

/// One writer's turn; passes the turn on when dropped.
struct Turn(&'static Queue);

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.lock().writing = false;
        self.0.turn_over.notify_all();
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // The state is two fields updated together under the lock: a panic
        // elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until no writer holds a turn and every earlier waiter has had its
    /// own, at most `bound`; then "database is locked", as SQLite would say.
    fn wait_turn(&'static self, bound: Duration) -> rusqlite::Result<Turn> {
        let deadline = Instant::now() + bound;
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket = state.next_ticket.wrapping_add(1);
        state.waiting.push_back(ticket);
        loop {
            if !state.writing && state.waiting.front() == Some(&ticket) {
                state.waiting.pop_front();
                state.writing = true;
                return Ok(Turn(self));
            }
            let now = Instant::now();
            if now >= deadline {
                state.waiting.retain(|t| *t != ticket);
                drop(state);
                // The next waiter may be first now.
                self.turn_over.notify_all();
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some("database is locked (waited for this process's other writers)".into()),
                ));
            }
            state = self
                .turn_over
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> &'static Queue {
        Box::leak(Box::new(Queue {
            state: Mutex::new(QueueState {
                writing: false,
                waiting: VecDeque::new(),
                next_ticket: 0,
            }),
            turn_over: Condvar::new(),
        }))
    }

    #[test]
    fn writers_take_turns_in_arrival_order() {
        let q = queue();
        let first = q.wait_turn(BUSY_TIMEOUT).unwrap();
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for who in 1..=3 {
            let order = order.clone();
            waiters.push(std::thread::spawn(move || {
                let _turn = q.wait_turn(BUSY_TIMEOUT).unwrap();
                order.lock().unwrap().push(who);
            }));
            // Until this one is queued, the next does not start.
            while q.lock().waiting.len() < who {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        order.lock().unwrap().push(0);
        drop(first);
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_writer_that_waits_too_long_gives_up_and_leaves_the_queue() {
        let q = queue();
        let first = q.wait_turn(BUSY_TIMEOUT).unwrap();
        let err = q.wait_turn(Duration::from_millis(20)).err().unwrap();
        assert_eq!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy)
        );
        assert!(q.lock().waiting.is_empty());
        drop(first);
        // The queue still works for the next writer.
        drop(q.wait_turn(BUSY_TIMEOUT).unwrap());
    }

    #[test]
    fn a_writer_waits_for_a_reader_turned_writer_instead_of_failing() {
        // The failure of the issue: a deferred transaction reads, another
        // connection takes the write lock, the first one's write is refused at
        // once. With `immediate` the second writer waits for the first instead.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let store = crate::Store::open(&path).unwrap();
        store
            .run_blocking(|c| Ok(c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (0)")?))
            .unwrap();
        let mut a = Connection::open(&path).unwrap();
        a.busy_timeout(Duration::from_secs(10)).unwrap();
        let mut b = Connection::open(&path).unwrap();
        b.busy_timeout(Duration::from_secs(10)).unwrap();

        // Deferred: b reads, a writes, b's write fails at once despite the timeout.
        let deferred = b.transaction().unwrap();
        let _: i64 = deferred
            .query_row("SELECT x FROM t", [], |r| r.get(0))
            .unwrap();
        let writer = a
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        writer.execute("UPDATE t SET x = x + 1", []).unwrap();
        let err = deferred.execute("UPDATE t SET x = x + 10", []).unwrap_err();
        assert_eq!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy)
        );
        drop(deferred);
        writer.commit().unwrap();

        // Immediate: b waits for a's transaction and then succeeds.
        let writer = immediate(&mut a).unwrap();
        writer.execute("UPDATE t SET x = x + 1", []).unwrap();
        let second = std::thread::spawn(move || {
            let tx = immediate(&mut b)?;
            let x: i64 = tx.query_row("SELECT x FROM t", [], |r| r.get(0))?;
            tx.execute("UPDATE t SET x = ?1", [x + 10])?;
            tx.commit()
        });
        while QUEUE.lock().waiting.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        writer.commit().unwrap();
        second.join().unwrap().unwrap();
        let x: i64 = a.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(x, 12);
    }
}
