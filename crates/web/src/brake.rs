//! A brake on repeated failed logins: after a few failures per IP or per account,
//! further attempts are refused for a while without even checking the password
//! (argon2 is deliberately slow: unbraked guessing would also burn CPU).

use std::time::Duration;

/// Failures allowed within [`WINDOW`] before the brake engages.
pub const MAX_FAILURES: u32 = 5;
/// How long failures are remembered, and how long the brake holds.
pub const WINDOW: Duration = Duration::from_secs(300);

/// Failure counters by key (`ip:…` and `user:…`).
#[derive(Clone)]
pub struct LoginBrake {
    failures: moka::sync::Cache<String, u32>,
}

impl Default for LoginBrake {
    fn default() -> Self {
        Self {
            failures: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(WINDOW)
                .build(),
        }
    }
}

impl LoginBrake {
    /// Whether a login from `ip` for `user` may be attempted now.
    pub fn allowed(&self, ip: &str, user: &str) -> bool {
        let over = |k: String| self.failures.get(&k).is_some_and(|n| n >= MAX_FAILURES);
        !over(format!("ip:{ip}")) && !over(format!("user:{user}"))
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
}
