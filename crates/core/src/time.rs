//! Times as the wire messages write them.

/// RFC 3339 in UTC with milliseconds (`2025-03-04T10:00:00.000Z`) of a time
/// in milliseconds since the epoch; empty when out of range.
///
/// ```
/// assert_eq!(panelflow_core::time::rfc3339_ms(1_741_082_400_000), "2025-03-04T10:00:00.000Z");
/// ```
pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
