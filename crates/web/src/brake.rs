//! A brake on repeated failed logins: after a few failures per IP or per account,
//! further attempts are refused for a while without even checking the password
//! (argon2 is deliberately slow: unbraked guessing would also burn CPU).

use std::time::Duration;

/// Failures allowed within [`WINDOW`] before the brake engages.
pub const MAX_FAILURES: u32 = 5;
/// How long failures are remembered, and how long the brake holds.
pub const WINDOW: Duration = Duration::from_secs(300);

/// Wrong player passwords (Xtream logins, stream URLs) allowed per address within
/// [`WINDOW`]: players retry a mistyped password often, so this is far looser than
/// the admin brake; it only stops guessing at argon2's cost.
pub const MAX_PLAYER_FAILURES: u32 = 30;

/// Failure counters by key (`ip:…` and `user:…`).
#[derive(Clone)]
pub struct LoginBrake {
    failures: moka::sync::Cache<String, u32>,
    max: u32,
}

impl Default for LoginBrake {
    fn default() -> Self {
        Self::with_limit(MAX_FAILURES)
    }
}

impl LoginBrake {
    /// A brake engaging after `max` failures within [`WINDOW`].
    pub fn with_limit(max: u32) -> Self {
        Self {
            failures: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(WINDOW)
                .build(),
            max,
        }
    }

    /// Whether a login from `ip` for `user` may be attempted now.
    pub fn allowed(&self, ip: &str, user: &str) -> bool {
        let over = |k: String| self.failures.get(&k).is_some_and(|n| n >= self.max);
        !over(format!("ip:{ip}")) && !over(format!("user:{user}"))
    }

    /// Whether an address may try a password now (address only: player brake).
    pub fn allowed_ip(&self, ip: &str) -> bool {
        self.failures
            .get(&format!("ip:{ip}"))
            .is_none_or(|n| n < self.max)
    }

    /// Records a failed attempt from an address (player brake).
    pub fn failed_ip(&self, ip: &str) {
        let key = format!("ip:{ip}");
        let n = self.failures.get(&key).unwrap_or(0);
        self.failures.insert(key, n.saturating_add(1));
    }

    /// Records a failed attempt.
    pub fn failed(&self, ip: &str, user: &str) {
        for key in [format!("ip:{ip}"), format!("user:{user}")] {
            let n = self.failures.get(&key).unwrap_or(0);
            self.failures.insert(key, n.saturating_add(1));
        }
    }

    /// Clears the account's counter after a successful login (the IP's stays: a
    /// guesser who also knows one password gains nothing).
    pub fn succeeded(&self, user: &str) {
        self.failures.invalidate(&format!("user:{user}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brake_engages_after_repeated_failures() {
        let b = LoginBrake::default();
        for _ in 0..MAX_FAILURES {
            assert!(b.allowed("1.1.1.1", "admin"));
            b.failed("1.1.1.1", "admin");
        }
        assert!(!b.allowed("1.1.1.1", "someone"), "by IP");
        assert!(!b.allowed("2.2.2.2", "admin"), "by account");
        assert!(b.allowed("2.2.2.2", "other"));
    }

    #[test]
    fn the_player_brake_counts_by_address_only() {
        let b = LoginBrake::with_limit(3);
        for _ in 0..3 {
            assert!(b.allowed_ip("1.1.1.1"));
            b.failed_ip("1.1.1.1");
        }
        assert!(!b.allowed_ip("1.1.1.1"));
        assert!(b.allowed_ip("2.2.2.2"), "other players are not braked");
    }
}
