//! A token bucket shared by every thread that talks to Lever.
//!
//! Lever documents a limit of 10 requests per second per API key, with
//! bursts of up to 20, and answers `429 Too Many Requests` beyond it. All of
//! panelflow's Lever calls (from every timely worker in a process) go through
//! one [`TokenBucket`] held in an `Arc`, so the process as a whole stays under
//! the limit. When several processes share one key (the runners of one
//! consumer group), each process's bucket is [rescaled](TokenBucket::rescale)
//! to its share of the group's partitions, so the processes together stay
//! under it too. The Lever emulator uses the same type on the server side.
//!
//! ```
//! use std::sync::Arc;
//! use panelflow_connectors::lever::ratelimit::TokenBucket;
//!
//! let bucket = Arc::new(TokenBucket::new(100.0, 2.0));
//! assert!(bucket.try_acquire());
//! assert!(bucket.try_acquire());
//! assert!(!bucket.try_acquire()); // burst spent; the next token comes in ~10 ms
//! bucket.acquire(); // blocks until it does
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lever's documented steady rate, requests per second.
pub const LEVER_RATE_PER_S: f64 = 10.0;
/// Lever's documented burst, requests.
pub const LEVER_BURST: f64 = 20.0;

/// The longest a blocked [`TokenBucket::acquire`] sleeps before it looks
/// again (the rate may have been rescaled meanwhile).
const MAX_SLEEP: Duration = Duration::from_millis(100);

/// A thread-safe token bucket: `rate_per_s` tokens flow in per second, at
/// most `burst` are held, and each request takes one.
///
/// A token is only ever taken when it is there under the rate in force at
/// that moment, so a [`rescale`](Self::rescale) takes effect at once, even
/// for callers already waiting in [`acquire`](Self::acquire).
#[derive(Debug)]
pub struct TokenBucket {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rate_per_s: f64,
    burst: f64,
    /// Tokens available now.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

/// A rate that is not a positive finite number becomes 0 (nothing flows).
fn sane_rate(rate_per_s: f64) -> f64 {
    if rate_per_s.is_finite() && rate_per_s > 0.0 {
        rate_per_s
    } else {
        0.0
    }
}

/// A burst below one request could never admit one: at least 1.
fn sane_burst(burst: f64) -> f64 {
    if burst.is_finite() && burst >= 1.0 {
        burst
    } else {
        1.0
    }
}

impl TokenBucket {
    /// A bucket that starts full. A `rate_per_s` that is not a positive
    /// finite number is raised to a minimal positive rate, and `burst` is at
    /// least 1, so the bucket always lets requests through eventually.
    pub fn new(rate_per_s: f64, burst: f64) -> Self {
        let rate_per_s = match sane_rate(rate_per_s) {
            r if r > 0.0 => r,
            _ => 1e-3,
        };
        let burst = sane_burst(burst);
        Self {
            state: Mutex::new(State {
                rate_per_s,
                burst,
                tokens: burst,
                updated: Instant::now(),
            }),
        }
    }

    /// Lever's documented limit: 10 requests per second, bursts of 20.
    pub fn lever_default() -> Self {
        Self::new(LEVER_RATE_PER_S, LEVER_BURST)
    }

    /// A bucket that starts empty and lets nothing through until it is
    /// [rescaled](Self::rescale): for a process whose share of a shared
    /// budget is not known yet.
    ///
    /// ```
    /// use panelflow_connectors::lever::ratelimit::TokenBucket;
    /// let b = TokenBucket::closed();
    /// assert!(!b.try_acquire());
    /// b.rescale(1000.0, 1.0);
    /// std::thread::sleep(std::time::Duration::from_millis(5));
    /// assert!(b.try_acquire());
    /// ```
    pub fn closed() -> Self {
        Self {
            state: Mutex::new(State {
                rate_per_s: 0.0,
                burst: 1.0,
                tokens: 0.0,
                updated: Instant::now(),
            }),
        }
    }

    /// Sets a new rate and burst from now on. Tokens held beyond the new
    /// burst are dropped, and none are added, so the sum over buckets whose
    /// rates and bursts add up to a budget never exceeds that budget, at any
    /// moment of a change. A rate that is not positive stops the flow.
    ///
    /// ```
    /// use panelflow_connectors::lever::ratelimit::TokenBucket;
    /// let b = TokenBucket::new(10.0, 20.0);
    /// b.rescale(5.0, 4.0);
    /// assert!(b.available() <= 4.0);
    /// assert_eq!(b.rate_per_s(), 5.0);
    /// ```
    pub fn rescale(&self, rate_per_s: f64, burst: f64) {
        let mut state = self.lock();
        state.rate_per_s = sane_rate(rate_per_s);
        state.burst = sane_burst(burst);
        state.tokens = state.tokens.min(state.burst);
    }

    /// The steady rate, tokens per second.
    pub fn rate_per_s(&self) -> f64 {
        self.lock().rate_per_s
    }

    /// The most tokens the bucket holds.
    pub fn burst(&self) -> f64 {
        self.lock().burst
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent
        // (plain numbers), so a poisoned lock is simply taken over.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(state.updated).as_secs_f64();
        state.tokens = (state.tokens + elapsed * state.rate_per_s).min(state.burst);
        state.updated = now;
        state
    }

    /// How long until a token is there at the current rate (`None`: never).
    fn until_token(state: &State) -> Option<Duration> {
        (state.rate_per_s > 0.0)
            .then(|| Duration::from_secs_f64(((1.0 - state.tokens) / state.rate_per_s).max(0.0)))
    }

    /// Takes one token, sleeping the calling thread until one is available.
    /// Never call this on an async runtime's thread.
    pub fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.lock();
                if state.tokens >= 1.0 {
                    state.tokens -= 1.0;
                    return;
                }
                Self::until_token(&state).map_or(MAX_SLEEP, |w| w.min(MAX_SLEEP))
            };
            tracing::trace!(
                wait_ms = wait.as_millis() as u64,
                "rate limiter: waiting for a token"
            );
            std::thread::sleep(wait.max(Duration::from_millis(1)));
        }
    }

    /// Takes one token if one is available now; never blocks.
    pub fn try_acquire(&self) -> bool {
        self.try_acquire_within(Duration::ZERO).is_ok()
    }

    /// Takes one token if one is available now or will be within `slack`
    /// (a server uses a few milliseconds of slack to absorb transport jitter
    /// between a well-behaved client's limiter and its own clock).
    /// Otherwise takes nothing and returns how long until a token is
    /// available (an hour while the flow is stopped).
    pub fn try_acquire_within(&self, slack: Duration) -> Result<(), Duration> {
        let mut state = self.lock();
        let needed = 1.0 - slack.as_secs_f64() * state.rate_per_s;
        if state.tokens >= needed {
            state.tokens -= 1.0;
            Ok(())
        } else {
            Err(Self::until_token(&state).unwrap_or(Duration::from_secs(3600)))
        }
    }

    /// Tokens available now. For diagnostics and tests.
    pub fn available(&self) -> f64 {
        self.lock().tokens
    }
}

impl Default for TokenBucket {
    /// Same as [`TokenBucket::lever_default`].
    fn default() -> Self {
        Self::lever_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn starts_full_and_refuses_beyond_the_burst() {
        let b = TokenBucket::new(1.0, 5.0);
        for _ in 0..5 {
            assert!(b.try_acquire());
        }
        assert!(!b.try_acquire());
    }

    #[test]
    fn refills_at_the_rate() {
        let b = TokenBucket::new(20.0, 1.0);
        assert!(b.try_acquire());
        assert!(!b.try_acquire());
        std::thread::sleep(Duration::from_millis(120)); // 2.4 tokens' worth, capped at 1
        assert!(b.try_acquire());
        assert!(!b.try_acquire());
    }

    #[test]
    fn never_holds_more_than_the_burst() {
        let b = TokenBucket::new(1000.0, 3.0);
        std::thread::sleep(Duration::from_millis(20));
        assert!(b.available() <= 3.0);
    }

    #[test]
    fn refusal_says_how_long_to_wait() {
        let b = TokenBucket::new(10.0, 1.0);
        assert!(b.try_acquire_within(Duration::ZERO).is_ok());
        let wait = b
            .try_acquire_within(Duration::ZERO)
            .expect_err("bucket is empty");
        assert!(
            wait > Duration::from_millis(50) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        // With 200 ms of slack the token due within 100 ms is granted.
        assert!(b.try_acquire_within(Duration::from_millis(200)).is_ok());
    }

    #[test]
    fn acquire_blocks_for_the_missing_token() {
        let b = TokenBucket::new(50.0, 1.0);
        let start = Instant::now();
        b.acquire(); // from the burst
        b.acquire(); // waits ~20 ms
        b.acquire(); // waits ~20 ms more
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(38), "{took:?}");
        assert!(took < Duration::from_millis(500), "{took:?}");
    }

    #[test]
    fn shared_across_threads_the_total_rate_holds() {
        // 4 threads × 10 requests against 100/s with burst 10: the first 10
        // pass at once, the other 30 need at least ~300 ms in total.
        let b = Arc::new(TokenBucket::new(100.0, 10.0));
        let start = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let b = Arc::clone(&b);
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        b.acquire();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("worker thread");
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(290), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
    }

    #[test]
    fn nonsense_parameters_are_made_safe() {
        let b = TokenBucket::new(f64::NAN, 0.0);
        assert!(b.rate_per_s() > 0.0);
        assert_eq!(b.burst(), 1.0);
        assert!(b.try_acquire());
    }

    #[test]
    fn lever_default_matches_the_documented_limit() {
        let b = TokenBucket::lever_default();
        assert_eq!(b.rate_per_s(), 10.0);
        assert_eq!(b.burst(), 20.0);
    }

    #[test]
    fn a_rescale_reaches_callers_already_waiting() {
        let b = Arc::new(TokenBucket::closed());
        let waiter = {
            let b = Arc::clone(&b);
            std::thread::spawn(move || {
                let start = Instant::now();
                b.acquire();
                start.elapsed()
            })
        };
        std::thread::sleep(Duration::from_millis(150));
        b.rescale(1000.0, 1.0);
        let waited = waiter.join().expect("waiter");
        assert!(waited >= Duration::from_millis(140), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }

    #[test]
    fn shrinking_drops_tokens_beyond_the_new_burst_and_growing_adds_none() {
        let b = TokenBucket::new(1.0, 20.0);
        b.rescale(0.5, 5.0);
        assert!(b.available() <= 5.0);
        b.rescale(0.001, 20.0);
        assert!(b.available() <= 5.01, "{}", b.available());
        assert!(!TokenBucket::closed().try_acquire());
    }
}
