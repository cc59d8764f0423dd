//! A brake on password guessing that nobody can turn against the real owner.
//!
//! Guesses are counted **per client address** and **per (address, account)**: an
//! address that keeps failing is refused for a while (429 with `Retry-After`)
//! without even checking the password (argon2 is deliberately slow, so unbraked
//! guessing would also burn the CPU the streams need). An address that has not
//! failed is never refused, whatever other addresses did — so five wrong `admin`
//! passwords from a stranger cannot lock the owner out of the dashboard.
//!
//! Guessing one account from many addresses is met with a **delay**, never a
//! refusal: once an account has collected failures from anywhere, every attempt on
//! it waits a short, growing time (100 ms doubling per failure, at most
//! [`MAX_DELAY`]) before the password is checked. An address that logged in to that
//! account successfully within [`KNOWN_GOOD`] skips the delay: the owner's own
//! browser or player is not slowed by a stranger's guessing.

use std::time::{Duration, Instant};

/// How long failures are remembered after the last one, and so how long a brake
/// holds once engaged.
pub const WINDOW: Duration = Duration::from_secs(300);

/// The longest an account-wide delay makes any attempt wait.
pub const MAX_DELAY: Duration = Duration::from_secs(2);

/// How long a successful login from an address exempts it from the account-wide
/// delay: a day covers the dashboard tab left open and the player at home.
pub const KNOWN_GOOD: Duration = Duration::from_secs(24 * 3600);

/// How many failures each counter tolerates within [`WINDOW`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures from one address, whatever account names it tried.
    pub per_address: u32,
    /// Failures from one address for one account.
    pub per_address_account: u32,
    /// Failures for one account from anywhere before attempts on it are delayed.
    pub delay_after: u32,
}

/// The admin brake (dashboard form, Basic on `/api/*` and `/metrics`): five wrong
/// passwords for one account, or twenty across names, from one address.
pub const ADMIN: Limits = Limits {
    per_address: 20,
    per_address_account: 5,
    delay_after: 5,
};

/// The player brake (Xtream logins, stream URLs, `/ace/getstream`): players retry
/// a mistyped password often and a household shares one address, so this is far
/// looser; it only stops guessing at argon2's cost.
pub const PLAYER: Limits = Limits {
    per_address: 30,
    per_address_account: 30,
    delay_after: 30,
};

/// What may happen with a login attempt now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password, after waiting `delay` (zero almost always).
    Go {
        /// The account-wide slow-down; zero for known-good addresses.
        delay: Duration,
    },
    /// Refuse without checking; the client may retry after this long.
    Braked {
        /// Time until the counter that braked expires (at least one second).
        retry_after: Duration,
    },
}

/// One failure counter: how many, and when the last one was.
#[derive(Debug, Clone, Copy)]
struct Count {
    n: u32,
    last: Instant,
}

/// Failure counters by key, forgotten [`WINDOW`] after their last failure.
#[derive(Clone)]
pub struct LoginBrake {
    failures: moka::sync::Cache<String, Count>,
    known_good: moka::sync::Cache<String, ()>,
    limits: Limits,
}

impl LoginBrake {
    /// A brake with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            // Bounded so a flood of made-up account names cannot grow memory without
            // end; eviction only ever forgets failures (errs towards letting people in).
            failures: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(WINDOW)
                .build(),
            known_good: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(KNOWN_GOOD)
                .build(),
            limits,
        }
    }

    /// Whether an attempt from `ip` on `user` may check its password now, and after
    /// what delay.
    pub fn check(&self, ip: &str, user: &str) -> Verdict {
        let now = Instant::now();
        let over = |key: String, max: u32| {
            self.failures
                .get(&key)
                .filter(|c| c.n >= max)
                .map(|c| WINDOW.saturating_sub(now.duration_since(c.last)))
        };
        let braked = over(address_key(ip), self.limits.per_address)
            .into_iter()
            .chain(over(pair_key(ip, user), self.limits.per_address_account))
            .max();
        if let Some(left) = braked {
            return Verdict::Braked {
                retry_after: left.max(Duration::from_secs(1)),
            };
        }
        if self.known_good.contains_key(&pair_key(ip, user)) {
            return Verdict::Go {
                delay: Duration::ZERO,
            };
        }
        let account = self.failures.get(&account_key(user)).map_or(0, |c| c.n);
        Verdict::Go {
            delay: account_delay(account, self.limits.delay_after),
        }
    }

    /// Records a wrong password from `ip` for `user`.
    pub fn failed(&self, ip: &str, user: &str) {
        let now = Instant::now();
        for key in [address_key(ip), pair_key(ip, user), account_key(user)] {
            let n = self.failures.get(&key).map_or(0, |c| c.n);
            self.failures.insert(
                key,
                Count {
                    n: n.saturating_add(1),
                    last: now,
                },
            );
        }
    }

    /// Records a right password: that address's counter for the account is cleared
    /// and the address is known-good for it. The address's own counter stays (a
    /// guesser who also knows one password gains nothing), and so does the
    /// account-wide one (guessing from elsewhere is still being slowed).
    pub fn succeeded(&self, ip: &str, user: &str) {
        self.failures.invalidate(&pair_key(ip, user));
        self.known_good.insert(pair_key(ip, user), ());
    }
}

/// The account-wide delay after `failures` failures: nothing below `after`, then
/// 100 ms doubling per further failure, capped at [`MAX_DELAY`].
fn account_delay(failures: u32, after: u32) -> Duration {
    if failures < after {
        return Duration::ZERO;
    }
    let doublings = (failures - after).min(16);
    Duration::from_millis(100u64 << doublings).min(MAX_DELAY)
}

// Keys are prefixed so an account called like an address cannot share a counter; a
// NUL separates the pair's parts because neither an IP nor a user name contains one.
fn address_key(ip: &str) -> String {
    format!("ip:{ip}")
}

fn pair_key(ip: &str, user: &str) -> String {
    format!("pair:{ip}\0{user}")
}

fn account_key(user: &str) -> String {
    format!("user:{user}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn braked(v: Verdict) -> bool {
        matches!(v, Verdict::Braked { .. })
    }

    #[test]
    fn an_address_that_keeps_failing_is_braked_and_others_are_not() {
        let b = LoginBrake::new(ADMIN);
        for _ in 0..ADMIN.per_address_account {
            assert!(!braked(b.check("1.1.1.1", "admin")));
            b.failed("1.1.1.1", "admin");
        }
        assert!(braked(b.check("1.1.1.1", "admin")), "the guessing pair");
        assert!(
            !braked(b.check("1.1.1.1", "other")),
            "other accounts from that address, until its own limit"
        );
        assert!(
            !braked(b.check("2.2.2.2", "admin")),
            "the owner elsewhere is never refused"
        );
    }

    #[test]
    fn one_address_trying_many_names_is_braked() {
        let b = LoginBrake::new(ADMIN);
        for i in 0..ADMIN.per_address {
            b.failed("1.1.1.1", &format!("user{i}"));
        }
        assert!(braked(b.check("1.1.1.1", "fresh-name")));
        assert!(!braked(b.check("1.1.1.2", "fresh-name")));
    }

    #[test]
    fn account_wide_guessing_only_delays_and_not_for_known_good_addresses() {
        let b = LoginBrake::new(ADMIN);
        b.succeeded("10.0.0.1", "admin");
        for i in 0..50 {
            b.failed(&format!("9.9.9.{i}"), "admin");
        }
        assert_eq!(
            b.check("10.0.0.2", "admin"),
            Verdict::Go { delay: MAX_DELAY }
        );
        assert_eq!(
            b.check("10.0.0.1", "admin"),
            Verdict::Go {
                delay: Duration::ZERO
            }
        );
    }

    #[test]
    fn the_delay_grows_and_is_capped() {
        assert_eq!(account_delay(4, 5), Duration::ZERO);
        assert_eq!(account_delay(5, 5), Duration::from_millis(100));
        assert_eq!(account_delay(6, 5), Duration::from_millis(200));
        assert_eq!(account_delay(9, 5), Duration::from_millis(1600));
        assert_eq!(account_delay(10, 5), MAX_DELAY);
        assert_eq!(account_delay(u32::MAX, 5), MAX_DELAY);
    }

    #[test]
    fn a_braked_answer_says_when_to_retry() {
        let b = LoginBrake::new(ADMIN);
        for _ in 0..ADMIN.per_address_account {
            b.failed("1.1.1.1", "admin");
        }
        let Verdict::Braked { retry_after } = b.check("1.1.1.1", "admin") else {
            panic!("not braked");
        };
        assert!(retry_after <= WINDOW && retry_after >= Duration::from_secs(1));
    }

    #[test]
    fn a_success_clears_only_its_own_pair() {
        let b = LoginBrake::new(ADMIN);
        for _ in 0..ADMIN.per_address_account - 1 {
            b.failed("1.1.1.1", "admin");
        }
        b.succeeded("1.1.1.1", "admin");
        b.failed("1.1.1.1", "admin");
        assert!(!braked(b.check("1.1.1.1", "admin")));
    }
}
