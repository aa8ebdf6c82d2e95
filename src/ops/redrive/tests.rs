//! Unit tests of the redrive: reading letters, choosing them, and what
//! becomes of each.

use super::*;
use panelflow_core::outcome::Stage;

fn record(partition: i32, offset: i64, letter: &DeadLetter) -> TopicRecord {
    TopicRecord {
        topic: "interviews.deadletter".into(),
        partition,
        offset,
        key: Some(letter.interview_id.clone().into_bytes()),
        payload: serde_json::to_vec(letter).expect("json"),
        headers: vec![],
        timestamp_ms: None,
    }
}

fn letter(source: &str, id: &str, stage: Stage, reason: &str, at: &str) -> DeadLetter {
    let mut e = InterviewCompleted::new(source, id, "cand-1", &format!("opp-{id}"), vec![]);
    e.namespace_ids();
    let mut l = DeadLetter::new(&e, stage, reason);
    l.failed_at = at.into();
    l
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

fn sample() -> Vec<Found> {
    let records = vec![
        record(
            0,
            0,
            &letter(
                "generic",
                "a",
                Stage::Media,
                "media_fetch: timed out (gave up after 3 tries)",
                "2026-12-01T10:00:00Z",
            ),
        ),
        record(
            1,
            0,
            &letter(
                "lever",
                "b",
                Stage::LeverNote,
                "HTTP 503",
                "2026-12-02T10:00:00Z",
            ),
        ),
        record(
            0,
            1,
            &letter(
                "generic",
                "c",
                Stage::Media,
                "media_not_audio: corrupt",
                "2026-12-03T10:00:00Z",
            ),
        ),
    ];
    let (found, unreadable) = letters(&records);
    assert_eq!(unreadable, 0);
    found
}

fn chosen(sel: &Selection) -> Vec<String> {
    plan(sample(), sel, 1 << 20)
        .into_iter()
        .map(|p| p.found.letter.interview_id)
        .collect()
}

#[test]
fn selects_by_id_reason_and_time() {
    let ids = |v: &[&str]| Selection {
        ids: v.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    assert_eq!(chosen(&ids(&["a"])), ["a"]);
    assert_eq!(chosen(&ids(&["a", "c"])), ["a", "c"]);
    assert_eq!(
        chosen(&ids(&["b"])),
        ["lever:b"],
        "the platform's id finds the namespaced one"
    );
    assert_eq!(chosen(&ids(&["lever:b"])), ["lever:b"]);
    assert!(chosen(&ids(&["zzz"])).is_empty());

    let reason = |r: &str| Selection {
        reasons: vec![r.into()],
        ..Default::default()
    };
    assert_eq!(
        chosen(&reason("TIMED OUT")),
        ["a"],
        "case-insensitive substring"
    );
    assert_eq!(
        chosen(&reason("LEVER_NOTE")),
        ["lever:b"],
        "the failing stage"
    );
    assert_eq!(chosen(&reason("media")), ["a", "c"]);

    let range = Selection {
        since: Some(time("2026-12-02T00:00:00Z")),
        until: Some(time("2026-12-03T10:00:00Z")),
        ..Default::default()
    };
    assert_eq!(chosen(&range), ["lever:b", "c"], "both ends included");
    let since = Selection {
        since: Some(time("2026-12-03T00:00:00Z")),
        ..Default::default()
    };
    assert_eq!(chosen(&since), ["c"]);

    let both = Selection {
        reasons: vec!["media".into()],
        until: Some(time("2026-12-02T00:00:00Z")),
        ..Default::default()
    };
    assert_eq!(chosen(&both), ["a"], "every selector given must hold");
    assert_eq!(
        chosen(&Selection {
            all: true,
            ..Default::default()
        })
        .len(),
        3
    );
    assert!(
        chosen(&Selection::default()).is_empty(),
        "nothing chosen without a selector"
    );
    assert!(matches!(
        Selection::default().check(),
        Err(RedriveError::NoSelector)
    ));
    let backwards = Selection {
        since: Some(time("2026-12-03T00:00:00Z")),
        until: Some(time("2026-12-01T00:00:00Z")),
        ..Default::default()
    };
    assert!(matches!(
        backwards.check(),
        Err(RedriveError::EmptyRange { .. })
    ));
}

#[test]
fn a_sendable_letter_goes_back_keyed_by_opportunity_with_its_headers() {
    let sel = Selection {
        ids: ["a".to_string()].into(),
        ..Default::default()
    };
    let planned = plan(sample(), &sel, 1 << 20);
    let m = outgoing(&planned[0], "interviews.completed").expect("sendable");
    assert_eq!(m.topic, "interviews.completed");
    assert_eq!(m.key, "opp-a");
    assert_eq!(
        m.headers,
        [
            (
                REDRIVE_HEADER.to_string(),
                "interviews.deadletter/0/0".to_string()
            ),
            (INTERVIEW_HEADER.to_string(), "a".to_string()),
        ]
    );
    let event: InterviewCompleted = serde_json::from_slice(&m.payload).expect("event");
    assert_eq!(
        (event.interview_id.as_str(), event.candidate_id.as_str()),
        ("a", "cand-1")
    );
}

#[test]
fn cut_malformed_and_oversized_letters_are_skipped_and_older_ones_superseded() {
    let large = |id: &str| {
        let mut e = InterviewCompleted::new("generic", id, "c", "o", vec![]);
        e.unknown_fields
            .insert("blob".into(), "x".repeat(64 * 1024).into());
        DeadLetter::new(&e, Stage::DecodeEvent, "event_too_large")
    };
    let cut = panelflow_connectors::kafka::dead_letter::fit(&large("big-cut"), 16 * 1024);
    let mut malformed = letter(
        "generic",
        "bad",
        Stage::DecodeEvent,
        "not a valid InterviewCompleted event",
        "2026-12-01T00:00:00Z",
    );
    malformed.event = serde_json::Value::String("{not json".into());
    let older = letter(
        "generic",
        "again",
        Stage::Media,
        "timed out",
        "2026-12-01T00:00:00Z",
    );
    let newer = letter(
        "generic",
        "again",
        Stage::Media,
        "timed out",
        "2026-12-02T00:00:00Z",
    );
    let records = vec![
        record(0, 0, &cut),
        record(0, 1, &malformed),
        record(0, 2, &newer),
        record(1, 0, &older),
        record(1, 1, &large("big-whole")),
    ];
    let (found, _) = letters(&records);
    let all = Selection {
        all: true,
        ..Default::default()
    };
    let planned = plan(found, &all, 32 * 1024);
    assert_eq!(planned.len(), 5);
    match &planned[0].verdict {
        Verdict::Skip(why) => assert!(
            why.contains("cut to fit") && why.contains("unknown_fields"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&planned[1].verdict, Verdict::Skip(why) if why.contains("no interview event")),
        "{:?}",
        planned[1].verdict
    );
    assert!(
        matches!(&planned[2].verdict, Verdict::Send { .. }),
        "the newest of `again`"
    );
    assert_eq!(
        planned[3].verdict,
        Verdict::Superseded {
            by: "interviews.deadletter/0/2".into()
        }
    );
    assert!(
        matches!(&planned[4].verdict, Verdict::Skip(why) if why.contains("max_event_bytes")),
        "{:?}",
        planned[4].verdict
    );
    let sendable: Vec<Outgoing> = planned.iter().filter_map(|p| outgoing(p, "t")).collect();
    assert_eq!(sendable.len(), 1);
}

#[test]
fn records_that_are_not_dead_letters_are_counted_and_left_alone() {
    let mut r = record(
        0,
        0,
        &letter("generic", "a", Stage::Media, "x", "2026-12-01T00:00:00Z"),
    );
    r.payload = b"not a letter".to_vec();
    let (found, unreadable) = letters(&[r]);
    assert!(found.is_empty());
    assert_eq!(unreadable, 1);
}
