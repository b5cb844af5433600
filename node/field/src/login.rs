//! Offline login attempts: how many wrong passwords an officer may type, how long the terminal
//! makes the next try wait, and when offline login locks until the node confirms the officer
//! again. Pure: time is passed in; the vault keeps the counts in its key file, so a restart
//! does not reset them.

use serde::{Deserialize, Serialize};

/// Wrong passwords in a row that cost nothing but the argon2id derivation itself.
pub const OFFLINE_LOGIN_FREE_ATTEMPTS: u32 = 3;
/// The wait after the first wrong password past the free ones, in ms; it doubles with each
/// further one.
pub const OFFLINE_LOGIN_BACKOFF_MS_MIN: i64 = 5_000;
/// The longest wait between two tries, in ms.
pub const OFFLINE_LOGIN_BACKOFF_MS_MAX: i64 = 5 * 60_000;
/// Wrong passwords in a row after which offline login is locked for the officer: only a login
/// the node confirms (online) unlocks it. With the waits above, reaching it takes ~10 minutes,
/// and a guesser then needs the node, which has its own limits and audit.
pub const OFFLINE_LOGIN_FAILURES_MAX: u32 = 10;

/// Failed offline logins of one officer in a row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures {
    pub count: u32,
    pub last_at_ms: i64,
}

impl Failures {
    pub fn record(&mut self, now_ms: i64) {
        self.count = self.count.saturating_add(1);
        self.last_at_ms = now_ms;
    }
}

/// Why a try is refused before the password is even checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    TooSoon { retry_after_ms: i64 },
    Locked,
}

/// The attempt limits (tests shrink them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptPolicy {
    pub free_attempts: u32,
    pub backoff_ms_min: i64,
    pub backoff_ms_max: i64,
    pub failures_max: u32,
}

impl Default for AttemptPolicy {
    fn default() -> Self {
        AttemptPolicy {
            free_attempts: OFFLINE_LOGIN_FREE_ATTEMPTS,
            backoff_ms_min: OFFLINE_LOGIN_BACKOFF_MS_MIN,
            backoff_ms_max: OFFLINE_LOGIN_BACKOFF_MS_MAX,
            failures_max: OFFLINE_LOGIN_FAILURES_MAX,
        }
    }
}

impl AttemptPolicy {
    /// The wait after `failures` wrong passwords in a row, in ms (0 within the free ones).
    pub fn backoff_ms(&self, failures: u32) -> i64 {
        if failures < self.free_attempts {
            return 0;
        }
        let doublings = (failures - self.free_attempts).min(32);
        self.backoff_ms_min
            .saturating_mul(1i64 << doublings)
            .min(self.backoff_ms_max)
    }

    /// Whether a try at `now_ms` may check a password.
    pub fn check(&self, failures: &Failures, now_ms: i64) -> Result<(), LoginRefusal> {
        if failures.count >= self.failures_max {
            return Err(LoginRefusal::Locked);
        }
        let ready_at = failures
            .last_at_ms
            .saturating_add(self.backoff_ms(failures.count));
        if failures.count > 0 && now_ms < ready_at {
            return Err(LoginRefusal::TooSoon {
                retry_after_ms: ready_at - now_ms,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_tries_then_doubling_waits_then_lock() {
        let p = AttemptPolicy::default();
        let mut f = Failures::default();
        let mut now = 1_000_000;
        for _ in 0..OFFLINE_LOGIN_FREE_ATTEMPTS {
            assert_eq!(p.check(&f, now), Ok(()));
            f.record(now);
        }
        assert_eq!(
            p.check(&f, now),
            Err(LoginRefusal::TooSoon {
                retry_after_ms: OFFLINE_LOGIN_BACKOFF_MS_MIN
            })
        );
        let mut waits = Vec::new();
        while f.count < OFFLINE_LOGIN_FAILURES_MAX {
            let w = p.backoff_ms(f.count);
            waits.push(w);
            now += w;
            assert_eq!(p.check(&f, now), Ok(()));
            f.record(now);
        }
        assert_eq!(waits[0], OFFLINE_LOGIN_BACKOFF_MS_MIN);
        assert_eq!(waits[1], 2 * OFFLINE_LOGIN_BACKOFF_MS_MIN);
        assert!(waits.iter().all(|w| *w <= OFFLINE_LOGIN_BACKOFF_MS_MAX));
        assert_eq!(p.check(&f, i64::MAX), Err(LoginRefusal::Locked));
    }
}
