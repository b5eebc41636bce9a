//! Failed-login limits per client address and per login, answered 429 with `Retry-After`.
//! Kept in memory per instance: behind N instances an attacker gets at most N times the limit,
//! which still turns a password guesser from thousands of tries a second into a handful.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked keys, expired ones are swept before adding another.
const SWEEP_ABOVE: usize = 10_000;

/// Sliding-window counters of failed logins.
#[derive(Debug)]
pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// At most `max_failures` failures per key within `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self { max_failures: max_failures as usize, window, failures: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds to wait)` when any key is over its limit.
    pub fn check(&self, keys: &[String]) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = None::<Duration>;
        for key in keys {
            if let Some(q) = map.get_mut(key) {
                while q.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                    q.pop_front();
                }
                if q.len() >= self.max_failures
                    && let Some(oldest) = q.front()
                {
                    let w = self.window.saturating_sub(now.duration_since(*oldest));
                    wait = Some(wait.map_or(w, |x| x.max(w)));
                }
            }
        }
        match wait {
            Some(w) => Err(w.as_secs().max(1)),
            None => Ok(()),
        }
    }

    /// Counts a failure against every key.
    pub fn record_failure(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        for key in keys {
            map.entry(key.clone()).or_default().push_back(now);
        }
    }

    /// Forgets the failures of a key (after a successful login).
    pub fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_forgets_on_success() {
        let l = LoginLimiter::new(2, Duration::from_secs(60));
        let keys = vec!["ip:1".to_string(), "login:abcd".to_string()];
        assert!(l.check(&keys).is_ok());
        l.record_failure(&keys);
        l.record_failure(&keys);
        let wait = l.check(&keys).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(l.check(&["ip:2".to_string()]).is_ok(), "other addresses are not affected");
        l.clear("login:abcd");
        assert!(l.check(&["login:abcd".to_string()]).is_ok());
        assert!(l.check(&["ip:1".to_string()]).is_err(), "the address stays blocked");
    }

    #[test]
    fn failures_expire() {
        let l = LoginLimiter::new(1, Duration::from_millis(1));
        l.record_failure(&["k".to_string()]);
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.check(&["k".to_string()]).is_ok());
    }
}
