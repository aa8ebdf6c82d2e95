//! Time helpers: UTC weeks and RFC 3339 times.

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Monday (UTC) of the week holding `ms`, in days since the epoch.
///
/// ```
/// use panelflow::aggregates::records::{week_of, week_start};
/// // 2025-03-06 is a Thursday; its week starts on Monday 2025-03-03.
/// let ms = chrono::DateTime::parse_from_rfc3339("2025-03-06T12:00:00Z").unwrap().timestamp_millis();
/// assert_eq!(week_start(week_of(ms)), "2025-03-03");
/// ```
pub fn week_of(ms: i64) -> i32 {
    let days = ms.div_euclid(DAY_MS);
    // 1970-01-01 was a Thursday: (days + 3) mod 7 is 0 on Mondays.
    (days - (days + 3).rem_euclid(7)) as i32
}

/// `YYYY-MM-DD` of a day number.
pub fn week_start(days: i32) -> String {
    chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

pub use panelflow_core::time::rfc3339_ms as rfc3339;
