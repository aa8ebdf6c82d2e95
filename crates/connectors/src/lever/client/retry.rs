//! Back-off arithmetic: `Retry-After` and jitter.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Longest single back-off sleep (also caps `Retry-After`).
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// `Retry-After` as delay-seconds or an HTTP date, capped at 60 s.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(secs) = v.parse::<f64>() {
        if !(secs.is_finite() && secs >= 0.0) {
            return None;
        }
        Duration::from_secs_f64(secs.min(MAX_BACKOFF.as_secs_f64()))
    } else {
        let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
        let ms = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
        Duration::from_millis(ms.max(0) as u64)
    };
    Some(d.min(MAX_BACKOFF))
}

/// A number in [0, 1) from the OS-seeded randomness of a v4 UUID.
pub(super) fn jitter_fraction() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11; // 53 random bits
    bits as f64 / (1u64 << 53) as f64
}
