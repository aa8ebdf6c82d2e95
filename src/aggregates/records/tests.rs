//! Unit tests of the input records.

use panelflow_core::topics::Topic;

use super::*;

#[test]
fn syms_are_interned_and_sent_as_strings() {
    let short = Sym::from("abc");
    let long = Sym::from("abc".repeat(20).as_str());
    assert_ne!(short, long);
    assert_eq!(long.as_str(), "abc".repeat(20));
    assert_eq!(Sym::from(String::from("abc")), short);
    let json = serde_json::to_string(&long).unwrap();
    let back: Sym = serde_json::from_str(&json).unwrap();
    assert_eq!(back, long);
}

#[test]
fn weeks_start_on_monday() {
    for (day, monday) in [
        ("2025-03-03", "2025-03-03"),
        ("2025-03-09", "2025-03-03"),
        ("2025-03-10", "2025-03-10"),
    ] {
        let ms = chrono::DateTime::parse_from_rfc3339(&format!("{day}T23:59:59Z"))
            .unwrap()
            .timestamp_millis();
        assert_eq!(week_start(week_of(ms)), monday, "{day}");
    }
}

#[test]
fn out_of_range_values_are_refused() {
    let bad = br#"{"reviewer_id":"r","candidate_id":"c","posting_id":"p","competency":"x","rating":5,"source":"s","rated_at":"2025-01-01T00:00:00Z"}"#;
    assert!(matches!(
        decode(Topic::Ratings, bad),
        Err(RecordError::Field {
            field: "rating",
            ..
        })
    ));
    let bad_diff = br#"{"diff":2,"reviewer_id":"r","candidate_id":"c","posting_id":"p","competency":"x","rating":3,"source":"s","rated_at":"2025-01-01T00:00:00Z"}"#;
    assert!(decode(Topic::Ratings, bad_diff).is_err());
    assert!(decode(Topic::Scores, b"{}").is_err());
}
