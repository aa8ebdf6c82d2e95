//! What the providers' unit tests share: their sample bodies
//! (`schemas/webhooks/<provider>.json`), a fixed "now" beside the samples'
//! times, and the reason of a malformed verdict.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::{SourceError, Verdict};

/// The time the samples are received at: a minute after the samples' own.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 10, 1, 0).unwrap()
}

/// The documented sample body of a provider (`schemas/webhooks/NAME.json`).
pub(crate) fn sample(provider: &str) -> Value {
    let path = format!(
        "{}/../../schemas/webhooks/{provider}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// The reason of a `Malformed` refusal; anything else fails the test.
pub(crate) fn reason(r: Result<Verdict, SourceError>) -> String {
    match r {
        Err(SourceError::Malformed(m)) => m,
        other => panic!("expected Malformed, got {other:?}"),
    }
}
