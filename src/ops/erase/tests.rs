use super::*;
use crate::aggregates::harness::TimedSink;
use crate::aggregates::inputs::InputLogs;
use crate::aggregates::records::{decode, InputRecord, Validate};
use panelflow_connectors::parquet::aggregates::Layout;
use panelflow_connectors::parquet::dataset::Subject;
use panelflow_core::wire::{DecisionMessage, ScoreMessage};

#[test]
fn retractions_decode_to_the_records_they_cancel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = Layout::new(dir.path());
    let mut logs = InputLogs::new(&layout, 0, false);
    let score: ScoreMessage = serde_json::from_value(json!({
        "interview_id": "iv-1", "candidate_id": "cand-x", "posting_id": "p1", "job_family": "swe",
        "model_name": "rubric", "model_version": "rubric@1", "scored_at": "2024-05-01T12:00:00Z",
        "sentiment": 0.25, "transcription_confidence": 0.9, "flags": ["b", "a"],
        "competencies": [{"competency": "python", "score": 3.0, "confidence": 0.8},
                         {"competency": "design", "score": 2.5}]
    }))
    .expect("score");
    let decision: DecisionMessage = serde_json::from_value(json!({
        "candidate_id": "cand-x", "posting_id": "p1", "decision": "advance", "source": "lever",
        "decided_at": "2024-05-02T12:00:00Z"
    }))
    .expect("decision");
    let other: DecisionMessage = serde_json::from_value(json!({
        "candidate_id": "cand-y", "posting_id": "p1", "decision": "archive", "source": "lever",
        "decided_at": "2024-05-02T12:00:00Z"
    }))
    .expect("decision");
    let (s, _) = score.validate().expect("valid");
    let (d, _) = decision.validate().expect("valid");
    let (o, _) = other.validate().expect("valid");
    logs.apply(
        1,
        vec![
            (InputRecord::Score(s.clone()), 1),
            (InputRecord::Decision(d.clone()), 1),
            (InputRecord::Decision(o), 1),
        ],
    );
    logs.flush().expect("flush");
    let files = dataset::parquet_files(dir.path()).expect("files");
    let mut subject = Subject::new("cand-x");
    dataset::discover(&mut subject, &files).expect("discover");
    assert!(subject.interview_ids.contains("iv-1"));
    let r = retractions(&files, &subject).expect("retractions");
    assert_eq!(r.len(), 2, "{r:?}");
    for x in &r {
        assert_eq!(x.key, "cand-x");
        let (rec, diff) = decode(x.topic, x.message.to_string().as_bytes()).expect("decodes");
        assert_eq!(diff, -1);
        match rec {
            InputRecord::Score(got) => assert_eq!(got, s),
            InputRecord::Decision(got) => assert_eq!(got, d),
            other => panic!("unexpected {other:?}"),
        }
    }
}
