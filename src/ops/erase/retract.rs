//! The aggregates' step: retractions of the subject's net rows.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value};

use panelflow_connectors::parquet::dataset::{self, DatasetError, Subject, TableFile};
use panelflow_core::topics::Topic;

use super::retraction::Retraction;

/// Distinct rows of one input table (by their JSON text) with their net count.
type NetRows = BTreeMap<String, (Map<String, Value>, i64)>;

/// Retractions of the subject's net rows in the aggregates' input tables.
pub fn retractions(
    files: &[TableFile],
    subject: &Subject,
) -> Result<Vec<Retraction>, DatasetError> {
    // Net count of each distinct row (all columns but time and diff).
    let mut net: BTreeMap<String, NetRows> = BTreeMap::new();
    for f in files.iter().filter(|f| f.table.starts_with("inputs/")) {
        for mut row in dataset::subject_rows(f, subject, None)? {
            let diff = row.remove("diff").and_then(|d| d.as_i64()).unwrap_or(1);
            row.remove("time");
            let key = Value::Object(row.clone()).to_string();
            let e = net
                .entry(f.table.trim_start_matches("inputs/").to_string())
                .or_default()
                .entry(key)
                .or_insert((row, 0));
            e.1 += diff;
        }
    }
    let positive = |t: &str| -> Vec<(Map<String, Value>, i64)> {
        net.get(t)
            .map(|m| m.values().filter(|(_, n)| *n > 0).cloned().collect())
            .unwrap_or_default()
    };
    let s = |r: &Map<String, Value>, k: &str| r.get(k).cloned().unwrap_or(Value::Null);
    let key_of = |r: &Map<String, Value>| {
        r.get("candidate_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut out = Vec::new();
    let mut push = |topic, r: &Map<String, Value>, n: i64, message: Value| {
        for _ in 0..n {
            out.push(Retraction {
                topic,
                key: key_of(r),
                message: message.clone(),
            });
        }
    };
    for (r, n) in positive("ratings") {
        let mut m = json!({"diff": -1, "reviewer_id": s(&r, "reviewer_id"), "candidate_id": s(&r, "candidate_id"),
            "posting_id": s(&r, "posting_id"), "competency": s(&r, "competency"), "rating": s(&r, "rating"),
            "source": s(&r, "source"), "rated_at": s(&r, "rated_at")});
        if let Some(i) = r.get("interview_id").filter(|v| !v.is_null()) {
            m["interview_id"] = i.clone();
        }
        push(Topic::Ratings, &r, n, m);
    }
    for (r, n) in positive("decisions") {
        let mut m = json!({"diff": -1, "candidate_id": s(&r, "candidate_id"), "posting_id": s(&r, "posting_id"),
            "decision": s(&r, "decision"), "source": s(&r, "source"), "decided_at": s(&r, "decided_at")});
        if let Some(st) = r.get("stage").filter(|v| !v.is_null()) {
            m["stage"] = st.clone();
        }
        push(Topic::Decisions, &r, n, m);
    }
    for (r, n) in positive("demographics") {
        let m = json!({"diff": -1, "candidate_id": s(&r, "candidate_id"), "posting_id": s(&r, "posting_id"),
            "sex": s(&r, "sex"), "race_ethnicity": s(&r, "race_ethnicity"), "collected_at": s(&r, "collected_at")});
        push(Topic::Demographics, &r, n, m);
    }
    for (r, n) in positive("questions") {
        let m = json!({"diff": -1, "interview_id": s(&r, "interview_id"), "candidate_id": s(&r, "candidate_id"),
            "posting_id": s(&r, "posting_id"), "interviewer_id": s(&r, "interviewer_id"),
            "question_id": s(&r, "question_id"), "canonical_text": s(&r, "canonical_text"),
            "asked_text": s(&r, "asked_text"), "asked_at": s(&r, "asked_at")});
        push(Topic::Questions, &r, n, m);
    }
    // A score message is one interview_signals row plus its per-competency scores rows.
    let score_key = |r: &Map<String, Value>| {
        ["interview_id", "model_version", "scored_at"]
            .iter()
            .map(|k| s(r, k).to_string())
            .collect::<Vec<_>>()
            .join("\u{1f}")
    };
    let mut competencies: HashMap<String, (Vec<Value>, Value)> = HashMap::new();
    for (r, _) in positive("scores") {
        let e = competencies
            .entry(score_key(&r))
            .or_insert_with(|| (Vec::new(), s(&r, "flags")));
        let mut c = json!({"competency": s(&r, "competency"), "score": s(&r, "score")});
        if let Some(conf) = r.get("confidence").filter(|v| !v.is_null()) {
            c["confidence"] = conf.clone();
        }
        if !e.0.contains(&c) {
            e.0.push(c);
        }
    }
    for (r, n) in positive("interview_signals") {
        let Some((comps, flags)) = competencies.get(&score_key(&r)) else {
            continue;
        };
        let flags: Vec<&str> = flags
            .as_str()
            .unwrap_or_default()
            .split(',')
            .filter(|f| !f.is_empty())
            .collect();
        let mut m = json!({"diff": -1, "interview_id": s(&r, "interview_id"), "candidate_id": s(&r, "candidate_id"),
            "posting_id": s(&r, "posting_id"), "job_family": s(&r, "job_family"), "model_name": s(&r, "model_name"),
            "model_version": s(&r, "model_version"), "scored_at": s(&r, "scored_at"), "competencies": comps});
        for k in ["sentiment", "transcription_confidence"] {
            if let Some(v) = r.get(k).filter(|v| !v.is_null()) {
                m[k] = v.clone();
            }
        }
        if !flags.is_empty() {
            m["flags"] = json!(flags);
        }
        push(Topic::Scores, &r, n, m);
    }
    Ok(out)
}
