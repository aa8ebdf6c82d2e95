//! A circuit breaker per dependency (Lever, each media host): after
//! `threshold` failures in a row it opens, and calls fail at once (a
//! transient failure, so the interview waits on a retry topic instead of
//! a worker sleeping through back-offs); after `cool_down` one trial call
//! is let through (half-open): success closes it, failure opens it again.
//!
//! ```
//! use std::time::Duration;
//! use panelflow_connectors::breaker::{Breaker, State};
//! let b = Breaker::new("doc", 2, Duration::from_secs(60));
//! assert!(b.allow());
//! b.failure();
//! b.failure();
//! assert_eq!(b.state(), State::Open);
//! assert!(!b.allow());
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics;

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls go through.
    Closed,
    /// One trial call goes through.
    HalfOpen,
    /// Calls are refused until the cool-down has passed.
    Open,
}

#[derive(Debug)]
struct Inner {
    failures: u32,
    opened_at: Option<Instant>,
    trial_in_flight: bool,
}

/// A breaker for one dependency; cheap to share (`Arc`).
#[derive(Debug)]
pub struct Breaker {
    name: String,
    threshold: u32,
    cool_down: Duration,
    inner: Mutex<Inner>,
}

impl Breaker {
    /// A closed breaker for `name` that opens after `threshold` failures in
    /// a row and tries again after `cool_down`.
    pub fn new(name: &str, threshold: u32, cool_down: Duration) -> Self {
        metrics::CIRCUIT_STATE.with_label_values(&[name]).set(0);
        Self {
            name: name.to_owned(),
            threshold: threshold.max(1),
            cool_down,
            inner: Mutex::new(Inner {
                failures: 0,
                opened_at: None,
                trial_in_flight: false,
            }),
        }
    }

    /// The dependency's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, state: State) {
        let v = match state {
            State::Closed => 0,
            State::HalfOpen => 1,
            State::Open => 2,
        };
        metrics::CIRCUIT_STATE
            .with_label_values(&[self.name.as_str()])
            .set(v);
    }

    /// The state now.
    pub fn state(&self) -> State {
        let inner = self.lock();
        match inner.opened_at {
            None => State::Closed,
            Some(at) if at.elapsed() >= self.cool_down => State::HalfOpen,
            Some(_) => State::Open,
        }
    }

    /// Whether a call may go now (in half-open, only one trial at a time).
    pub fn allow(&self) -> bool {
        let mut inner = self.lock();
        match inner.opened_at {
            None => true,
            Some(at) if at.elapsed() >= self.cool_down && !inner.trial_in_flight => {
                inner.trial_in_flight = true;
                drop(inner);
                self.publish(State::HalfOpen);
                true
            }
            Some(_) => false,
        }
    }

    /// The call succeeded: the breaker closes.
    pub fn success(&self) {
        let mut inner = self.lock();
        let was_open = inner.opened_at.is_some();
        inner.failures = 0;
        inner.opened_at = None;
        inner.trial_in_flight = false;
        drop(inner);
        if was_open {
            tracing::info!(dependency = %self.name, "circuit closed");
        }
        self.publish(State::Closed);
    }

    /// The call failed in a way that says the dependency is unwell (time-out,
    /// 5xx, 429); a refusal of the request itself (4xx) is not a failure of
    /// the dependency.
    pub fn failure(&self) {
        let mut inner = self.lock();
        inner.failures = inner.failures.saturating_add(1);
        let trial = std::mem::replace(&mut inner.trial_in_flight, false);
        if trial || inner.failures >= self.threshold {
            let newly = inner.opened_at.is_none() || trial;
            inner.opened_at = Some(Instant::now());
            drop(inner);
            if newly {
                tracing::warn!(dependency = %self.name, cool_down_s = self.cool_down.as_secs(), "circuit open");
            }
            self.publish(State::Open);
        }
    }
}

/// Breakers by key (media hosts), made on first use with the same settings.
#[derive(Debug)]
pub struct Breakers {
    prefix: String,
    threshold: u32,
    cool_down: Duration,
    by_key: Mutex<HashMap<String, Arc<Breaker>>>,
}

impl Breakers {
    /// Breakers named `prefix:KEY`.
    pub fn new(prefix: &str, threshold: u32, cool_down: Duration) -> Self {
        Self {
            prefix: prefix.to_owned(),
            threshold,
            cool_down,
            by_key: Mutex::new(HashMap::new()),
        }
    }

    /// The breaker of `key`.
    pub fn get(&self, key: &str) -> Arc<Breaker> {
        let mut map = self.by_key.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_owned())
            .or_insert_with(|| {
                Arc::new(Breaker::new(
                    &format!("{}:{key}", self.prefix),
                    self.threshold,
                    self.cool_down,
                ))
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_then_half_opens_then_closes() {
        let b = Breaker::new("t", 3, Duration::from_millis(50));
        for _ in 0..2 {
            b.failure();
        }
        assert_eq!(b.state(), State::Closed);
        b.failure();
        assert!(!b.allow());
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.allow(), "one trial after the cool-down");
        assert!(!b.allow(), "only one trial at a time");
        b.failure();
        assert_eq!(b.state(), State::Open, "a failed trial opens it again");
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.allow());
        b.success();
        assert_eq!(b.state(), State::Closed);
        assert!(b.allow());
    }
}
