//! `panelflow export CANDIDATE_ID`: everything held about one candidate, as
//! one JSON document, decrypted — interview rows (every pipeline version),
//! segments, responses, scores, the aggregates' rows (inputs, change logs,
//! snapshots), review queue items and decisions, audit events — with the
//! candidate notice (`[governance] notice`). The export itself is recorded
//! in the audit log (as a step of the candidate, without their data).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::erase::{all_files, find_subject, review_items, EraseError, EraseTargets};
use panelflow_connectors::parquet::dataset;
use panelflow_connectors::store::audit::{AuditEvent, AuditLog};
use panelflow_connectors::store::crypto::PiiKeys;

/// The export document.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateExport {
    /// The candidate id.
    pub candidate_id: String,
    /// When the export was made (RFC 3339).
    pub generated_at: String,
    /// The notice shown to candidates.
    pub notice: String,
    /// Their interview ids.
    pub interview_ids: Vec<String>,
    /// Rows of the sink's tables (`interviews`, `segments`, `responses`,
    /// `scores`, `audit`), PII decrypted; `summary_json`/`event_json` parsed.
    pub tables: BTreeMap<String, Vec<Map<String, Value>>>,
    /// Rows of the aggregates' tables (`inputs/…`, `changelog/…`, `snapshot/…`).
    pub aggregates: BTreeMap<String, Vec<Map<String, Value>>>,
    /// Review queue items and decisions about them.
    pub review: Vec<Value>,
    /// Events of the JSON-lines audit log.
    pub audit_log: Vec<AuditEvent>,
}

/// Builds the export of `candidate_id` and records it in the audit log
/// (JSON lines and the `audit` table) as `actor`.
pub fn export(
    targets: &EraseTargets,
    keys: &PiiKeys,
    notice: &str,
    candidate_id: &str,
    actor: &str,
) -> Result<CandidateExport, EraseError> {
    if candidate_id.trim().is_empty() {
        return Err(EraseError::EmptyId);
    }
    let files = all_files(targets)?;
    let subject = find_subject(targets, &files, candidate_id)?;
    let mut tables: BTreeMap<String, Vec<Map<String, Value>>> = BTreeMap::new();
    let mut aggregates: BTreeMap<String, Vec<Map<String, Value>>> = BTreeMap::new();
    for f in &files {
        let rows = dataset::subject_rows(f, &subject, Some(keys))?;
        if rows.is_empty() {
            continue;
        }
        let rows: Vec<_> = rows.into_iter().map(parse_json_columns).collect();
        let aggregate = f.table.contains('/');
        let into = if aggregate {
            &mut aggregates
        } else {
            &mut tables
        };
        into.entry(f.table.clone()).or_default().extend(rows);
    }
    let log = AuditLog::open(&targets.audit_dir)?;
    let audit_log: Vec<AuditEvent> = log
        .read_all()?
        .into_iter()
        .filter(|e| {
            e.candidate_id.as_deref() == Some(candidate_id)
                || subject.interview_ids.contains(&e.interview_id)
                || subject.correlation_ids.contains(&e.correlation_id)
        })
        .collect();
    let review = match &targets.review_dir {
        Some(d) => review_items(d, &subject)?,
        None => Vec::new(),
    };
    let out = CandidateExport {
        candidate_id: candidate_id.to_string(),
        generated_at: chrono::Utc::now().to_rfc3339(),
        notice: notice.to_string(),
        interview_ids: subject.interview_ids.iter().cloned().collect(),
        tables,
        aggregates,
        review,
        audit_log,
    };
    let counts: BTreeMap<&str, usize> = out
        .tables
        .iter()
        .chain(out.aggregates.iter())
        .map(|(k, v)| (k.as_str(), v.len()))
        .collect();
    let event = AuditEvent::step("", "", "export", "ok")
        .by(actor)
        .for_candidate(candidate_id)
        .with_detail(json!({ "rows": counts, "audit_events": out.audit_log.len(),
                             "review_items": out.review.len() }));
    log.append(std::slice::from_ref(&event))?;
    panelflow_connectors::parquet::ParquetSink::open_with_keys(&targets.parquet_dir, None)?
        .write_audit(std::slice::from_ref(&event))?;
    Ok(out)
}

/// `summary_json`, `event_json`, `evidence_json` and `detail_json` as JSON
/// values rather than strings, for a readable export.
fn parse_json_columns(mut row: Map<String, Value>) -> Map<String, Value> {
    for k in ["summary_json", "event_json", "evidence_json", "detail_json"] {
        if let Some(Value::String(s)) = row.get(k) {
            if let Ok(v) = serde_json::from_str::<Value>(s) {
                row.insert(k.to_string(), v);
            }
        }
    }
    row
}
