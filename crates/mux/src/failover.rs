//! Which link a channel tries next: the failover order.
//!
//! Links are tried in the order the web side gave (healthy ones in the admin's
//! order, then those in cool-down). After a failure the next link is the next one
//! after the current, wrapping around, skipping links already tried since the
//! channel last delivered bytes, and skipping links in cool-down (failed within
//! `mux.link_cooldown`) while any other is left. A working link is never left
//! for a "better" one: only a failure moves the channel.

use std::time::{Duration, Instant};

/// The failover state of one channel.
#[derive(Debug)]
pub(crate) struct LinkBook {
    /// When each link last failed in this channel (or was given as cooling).
    failed_at: Vec<Option<Instant>>,
    /// Tried since the channel last delivered bytes.
    tried: Vec<bool>,
    cooldown: Duration,
}

impl LinkBook {
    /// A book for `n` links, the last `cooling` of them in cool-down already.
    pub fn new(n: usize, cooling: usize, cooldown: Duration) -> Self {
        let now = Instant::now();
        Self {
            failed_at: (0..n).map(|i| (i + cooling >= n).then_some(now)).collect(),
            tried: vec![false; n],
            cooldown,
        }
    }

    /// How many links there are.
    pub fn len(&self) -> usize {
        self.tried.len()
    }

    /// The link to start with: the first not in cool-down, else the first.
    pub fn first(&self) -> usize {
        (0..self.len()).find(|&i| !self.cooling(i)).unwrap_or(0)
    }

    fn cooling(&self, i: usize) -> bool {
        self.failed_at[i].is_some_and(|t| t.elapsed() < self.cooldown)
    }

    /// Link `i` failed.
    pub fn fail(&mut self, i: usize) {
        self.failed_at[i] = Some(Instant::now());
        self.tried[i] = true;
    }

    /// The channel delivered bytes: every link may be tried again after a failure.
    pub fn delivered(&mut self) {
        self.tried.fill(false);
    }

    /// Starts a new round: every link may be tried once more.
    pub fn new_round(&mut self) {
        self.tried.fill(false);
    }

    /// The next link after `current` to try, or `None` when every link has been
    /// tried since the last delivered byte.
    pub fn next(&self, current: usize) -> Option<usize> {
        let n = self.len();
        let order = (1..=n).map(|k| (current + k) % n);
        let untried: Vec<usize> = order.filter(|&i| !self.tried[i]).collect();
        untried
            .iter()
            .copied()
            .find(|&i| !self.cooling(i))
            .or_else(|| untried.first().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(600);

    #[test]
    fn failures_move_on_wrapping_around_and_stop_after_a_round() {
        let mut book = LinkBook::new(3, 0, COOL);
        assert_eq!(book.first(), 0);
        book.fail(0);
        assert_eq!(book.next(0), Some(1));
        book.fail(1);
        assert_eq!(book.next(1), Some(2));
        book.fail(2);
        assert_eq!(book.next(2), None, "every link tried");
        book.new_round();
        assert_eq!(book.next(2), Some(0), "wraps around, even to cooling links");
    }

    #[test]
    fn links_in_cool_down_are_skipped_while_others_are_left() {
        // [A, B, C] with C given as cooling: start on A; A fails → B; B fails → C.
        let mut book = LinkBook::new(3, 1, COOL);
        assert_eq!(book.first(), 0);
        book.fail(0);
        assert_eq!(book.next(0), Some(1));
        // Running on B, which delivered: A is cooling now, C too; B fails → C is
        // next after B in order, A is after it — both cooling, so order decides.
        book.delivered();
        book.fail(1);
        assert_eq!(book.next(1), Some(2));
        let all_cooling = LinkBook::new(2, 2, COOL);
        assert_eq!(all_cooling.first(), 0, "none healthy: the first");
    }

    #[test]
    fn a_cooling_link_comes_after_a_healthy_one_further_on() {
        let mut book = LinkBook::new(3, 0, COOL);
        book.fail(1); // B failed earlier (cooling), then the channel delivered
        book.delivered();
        book.fail(0);
        assert_eq!(book.next(0), Some(2), "B is in cool-down, C is not");
    }
}
