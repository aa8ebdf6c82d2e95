//! The sign-in lock-out: [`SignInLimiter`] counts failed sign-ins per
//! address and overall.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins from one address before it is locked out.
pub const MAX_FAILURES: u32 = 5;

#[derive(Debug, Default)]
struct Failures {
    count: u32,
    first: Option<Instant>,
    locked_until: Option<Instant>,
    lockouts: u32,
}

/// Failed sign-ins per address and overall (see the module docs).
#[derive(Debug)]
pub struct SignInLimiter {
    per_ip: Mutex<HashMap<IpAddr, Failures>>,
    global: Mutex<(Instant, u32, Option<Instant>)>,
    window: Duration,
    global_max: u32,
}

impl Default for SignInLimiter {
    fn default() -> Self {
        Self {
            per_ip: Mutex::new(HashMap::new()),
            global: Mutex::new((Instant::now(), 0, None)),
            window: Duration::from_secs(15 * 60),
            global_max: 100,
        }
    }
}

impl SignInLimiter {
    /// `Err(wait)` while sign-in from `ip` is locked out.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        {
            let g = self.global.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(until) = g.2.filter(|u| *u > now) {
                return Err(until - now);
            }
        }
        let Some(ip) = ip else { return Ok(()) };
        let map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&ip).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failed sign-in from `ip`.
    pub fn failed(&self, ip: Option<IpAddr>) {
        let now = Instant::now();
        {
            let mut g = self.global.lock().unwrap_or_else(|p| p.into_inner());
            if now.duration_since(g.0) > Duration::from_secs(60) {
                *g = (now, 0, g.2);
            }
            g.1 += 1;
            if g.1 > self.global_max {
                tracing::warn!("too many failed sign-ins overall: sign-in locked for a minute");
                g.2 = Some(now + Duration::from_secs(60));
                g.1 = 0;
            }
        }
        let Some(ip) = ip else { return };
        let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, f| f.locked_until.is_some_and(|u| u > now));
        }
        let f = map.entry(ip).or_default();
        if f.first.is_none_or(|t| now.duration_since(t) > self.window) {
            f.first = Some(now);
            f.count = 0;
        }
        f.count += 1;
        if f.count >= MAX_FAILURES {
            let minutes = 1u64 << f.lockouts.min(6);
            f.locked_until = Some(now + Duration::from_secs(60 * minutes));
            f.lockouts += 1;
            f.count = 0;
            f.first = None;
            tracing::warn!(%ip, minutes, "sign-in locked out after repeated failures");
        }
    }

    /// Forgets the failures of `ip` after a good sign-in.
    pub fn succeeded(&self, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(f) = map.get_mut(&ip) {
                f.count = 0;
                f.first = None;
            }
        }
    }
}
