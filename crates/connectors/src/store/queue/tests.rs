//! Unit tests of the review queue (its files' private parts included).

use std::os::unix::fs::PermissionsExt;

use super::storage::encode;
use super::*;
use crate::lever::writeback::WriteReport;
use panelflow_core::writeback::Phase;
use panelflow_core::writeback::{Route, WritePlan};

fn plan(route: Route) -> WritePlan {
    WritePlan {
        phase: Phase::Review,
        opportunity_id: "opp-1".into(),
        correlation_id: "corr-1".into(),
        note: Some("Generated note\npanelflow-correlation-id: corr-1".into()),
        add_tags: vec!["ai:needs-review".into()],
        remove_tags: vec![],
        stage: None,
        feedback: None,
        perform_as: None,
        route,
    }
}

fn item(id: &str, version: &str) -> ReviewItem {
    ReviewItem::new(
        id,
        version,
        "corr-1",
        "cand-1",
        "opp-1",
        plan(Route::Review {
            reasons: vec!["phase_review".into()],
        }),
        serde_json::json!({"interview_id": id}),
    )
}

#[test]
fn what_the_candidate_said_is_sealed_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let key = PiiKeys::generate_base64();
    let keys = PiiKeys::from_base64(&[&key], "test").unwrap();
    let q = ReviewQueue::open_with_keys(dir.path(), Some(std::sync::Arc::new(keys))).unwrap();
    let mut it = item("i-sealed", "1");
    it.summary = serde_json::json!({"transcript": "I once managed a secret project"});
    q.enqueue(it).unwrap();
    q.decide(
        "i-sealed",
        ReviewDecision {
            edited_note: Some("Edited: a secret project".into()),
            ..ReviewDecision::now("edit", "rita", "recruiter")
        },
    )
    .unwrap();
    let raw = std::fs::read_to_string(q.item_path("i-sealed", "1")).unwrap();
    assert!(!raw.contains("secret project"), "{raw}");
    assert!(!raw.contains("Generated note"), "{raw}");
    let back = q.get("i-sealed").unwrap().unwrap();
    assert_eq!(
        back.summary["transcript"],
        "I once managed a secret project"
    );
    assert_eq!(
        back.plan.note.as_deref(),
        Some("Generated note\npanelflow-correlation-id: corr-1")
    );
    assert_eq!(
        back.decisions[0].edited_note.as_deref(),
        Some("Edited: a secret project")
    );
    // Another key cannot read it.
    let other = PiiKeys::from_base64(&[&PiiKeys::generate_base64()], "other").unwrap();
    let wrong = ReviewQueue::open_with_keys(dir.path(), Some(std::sync::Arc::new(other))).unwrap();
    assert!(wrong.get("i-sealed").is_err());
}

#[test]
fn enqueue_is_idempotent_and_keeps_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let q = ReviewQueue::open(dir.path()).unwrap();
    assert!(q.enqueue(item("generic:a/b", "1")).unwrap());
    let decided = q
        .decide(
            "generic:a/b",
            ReviewDecision::now("reject", "rita", "recruiter"),
        )
        .unwrap();
    assert_eq!(decided.status, ReviewStatus::Rejected);
    // A replay of the same interview and version changes nothing.
    assert!(!q.enqueue(item("generic:a/b", "1")).unwrap());
    let stored = q.get("generic:a/b").unwrap().unwrap();
    assert_eq!(stored.status, ReviewStatus::Rejected);
    assert_eq!(stored.decisions.len(), 1);
    assert_eq!(q.list().unwrap().len(), 1);
}

#[test]
fn a_pending_failed_item_is_replaced_once_by_its_redriven_result() {
    let dir = tempfile::tempdir().unwrap();
    let q = ReviewQueue::open(dir.path()).unwrap();
    let mut failed = item("generic:f", "1");
    failed.failure = Some("media_fetch: timed out".into());
    assert!(q.enqueue(failed.clone()).unwrap());
    assert!(!q.enqueue(failed).unwrap(), "failing again changes nothing");
    assert!(
        q.enqueue(item("generic:f", "1")).unwrap(),
        "the redriven result"
    );
    assert!(!q.enqueue(item("generic:f", "1")).unwrap(), "once");
    let stored = q.get("generic:f").unwrap().unwrap();
    assert_eq!(stored.failure, None);
    assert_eq!(q.list().unwrap().len(), 1, "one item per interview");
}

#[test]
fn files_are_private_and_no_temporaries_are_left() {
    let dir = tempfile::tempdir().unwrap();
    let q = ReviewQueue::open(dir.path()).unwrap();
    q.enqueue(item("generic:x", "1")).unwrap();
    q.decide(
        "generic:x",
        ReviewDecision::now("approve", "rita", "recruiter"),
    )
    .unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["generic%3Ax@1.json".to_string()], "{names:?}");
    let mode = std::fs::metadata(q.item_path("generic:x", "1"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn concurrent_enqueues_store_one_item() {
    let dir = tempfile::tempdir().unwrap();
    let q = ReviewQueue::open(dir.path()).unwrap();
    let wins: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| q.enqueue(item("generic:race", "1")).unwrap()))
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum()
    });
    assert_eq!(wins, 1);
    assert_eq!(q.list().unwrap().len(), 1);
}

#[test]
fn concurrent_decisions_let_exactly_one_win() {
    let dir = tempfile::tempdir().unwrap();
    let q = ReviewQueue::open(dir.path()).unwrap();
    q.enqueue(item("generic:d", "1")).unwrap();
    let results: Vec<Result<ReviewItem, ReviewError>> = std::thread::scope(|s| {
        let handles: Vec<_> = ["approve", "reject", "approve", "edit"]
            .into_iter()
            .map(|a| {
                let q = &q;
                s.spawn(move || q.decide("generic:d", ReviewDecision::now(a, "u", "recruiter")))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, ReviewError::AlreadyDecided { .. })));
    assert_eq!(q.get("generic:d").unwrap().unwrap().decisions.len(), 1);
}

#[test]
fn deciding_twice_names_who_decided() {
    let dir = tempfile::tempdir().unwrap();
    let q = ReviewQueue::open(dir.path()).unwrap();
    q.enqueue(item("i", "1")).unwrap();
    q.decide("i", ReviewDecision::now("approve", "rita", "recruiter"))
        .unwrap();
    let err = q
        .decide("i", ReviewDecision::now("reject", "sam", "recruiter"))
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("already approved by rita"), "{text}");
    assert!(matches!(
        q.decide("nope", ReviewDecision::now("approve", "r", "recruiter")),
        Err(ReviewError::NotFound(_))
    ));
    assert!(matches!(
        q.decide("i", ReviewDecision::now("delete", "r", "recruiter")),
        Err(ReviewError::UnknownAction(_))
    ));
}

#[test]
fn write_results_and_retry() {
    let dir = tempfile::tempdir().unwrap();
    let q = ReviewQueue::open(dir.path()).unwrap();
    q.enqueue(item("i", "1")).unwrap();
    // A retry of a pending item is refused.
    assert!(q.begin_retry("i").is_err());
    q.decide("i", ReviewDecision::now("approve", "rita", "recruiter"))
        .unwrap();
    let failed = q.record_write("i", Err("Lever 503".into())).unwrap();
    assert_eq!(failed.status, ReviewStatus::WriteFailed);
    assert_eq!(failed.write_error.as_deref(), Some("Lever 503"));
    assert_eq!(q.begin_retry("i").unwrap().status, ReviewStatus::Approved);
    let report = WriteReport {
        note_id: Some("n1".into()),
        note_created: true,
        ..WriteReport::default()
    };
    let written = q.record_write("i", Ok(report.clone())).unwrap();
    assert_eq!(written.status, ReviewStatus::Written);
    assert_eq!(written.write_report, Some(report));
    assert_eq!(written.write_attempts, 2);
    assert!(q.begin_retry("i").is_err());
}

#[test]
fn latest_version_wins_and_erasure_removes_all() {
    let dir = tempfile::tempdir().unwrap();
    let q = ReviewQueue::open(dir.path()).unwrap();
    q.enqueue(item("i", "1")).unwrap();
    let mut v2 = item("i", "2");
    v2.enqueued_at += chrono::Duration::seconds(5);
    q.enqueue(v2).unwrap();
    let mut other = item("j", "1");
    other.candidate_id = "cand-2".into();
    q.enqueue(other).unwrap();
    assert_eq!(q.get("i").unwrap().unwrap().pipeline_version, "2");
    assert_eq!(q.latest().unwrap().len(), 2);
    assert_eq!(q.remove_candidate("cand-1").unwrap(), 2);
    assert!(q.get("i").unwrap().is_none());
    assert!(q.get("j").unwrap().is_some());
}

#[test]
fn direct_results_are_written_and_edits_keep_the_marker() {
    let direct = ReviewItem::new(
        "i",
        "1",
        "corr-1",
        "c",
        "o",
        plan(Route::Direct),
        serde_json::Value::Null,
    );
    assert_eq!(direct.status, ReviewStatus::Written);
    assert!(direct.reasons.is_empty());
    let mut held = item("i", "1");
    let mut d = ReviewDecision::now("edit", "rita", "recruiter");
    d.edited_note = Some("Shorter note.".into());
    held.decisions.push(d);
    let note = held.effective_plan().note.unwrap();
    assert!(note.starts_with("Shorter note."));
    assert!(note.contains("corr-1"));
}

#[test]
fn ids_become_safe_file_names() {
    assert_eq!(encode("generic:a/b"), "generic%3Aa%2Fb");
    assert_eq!(encode("../x"), "%2E.%2Fx");
    assert_eq!(encode("a@b"), "a%40b");
}
