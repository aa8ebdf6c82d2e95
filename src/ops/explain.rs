//! `panelflow explain INTERVIEW_ID`: the whole story of one interview — every
//! audit event in order (step, start, end, duration, outcome, actor, config
//! hash, and the step's detail: models with versions and hashes, Lever
//! objects read, media host, approvals), the `interviews` rows of each
//! pipeline version, and where the results went in Lever (note, tags,
//! stage, feedback). Events come from the JSON-lines log and the `audit`
//! table (deduplicated); no transcript text is printed.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::erase::EraseError;
use panelflow_connectors::parquet::{InterviewRow, ParquetSink};
use panelflow_connectors::store::audit::{AuditEvent, AuditLog};

/// One interviews row, without its PII columns.
#[derive(Debug, Clone, Serialize)]
pub struct RowView {
    /// Pipeline version (part of the key).
    pub pipeline_version: String,
    /// Pipeline name.
    pub pipeline_name: String,
    /// Config hash.
    pub config_hash: String,
    /// `transcribed` or `failed`.
    pub outcome: String,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Candidate id.
    pub candidate_id: String,
    /// Opportunity id.
    pub opportunity_id: String,
    /// Correlation id.
    pub correlation_id: String,
    /// Source platform.
    pub source: String,
    /// Received by ingest.
    pub received_at: String,
    /// Analysis finished.
    pub analysis_completion_time: String,
    /// Processing time.
    pub processing_ms: i64,
    /// Speech model name, version and hash.
    pub model: String,
    /// The Lever note written, if any.
    pub lever_note_id: Option<String>,
}

impl From<&InterviewRow> for RowView {
    fn from(r: &InterviewRow) -> Self {
        Self {
            pipeline_version: r.pipeline_version.clone(),
            pipeline_name: r.pipeline_name.clone(),
            config_hash: r.config_hash.clone(),
            outcome: r.outcome.to_string(),
            failure_reason: r.failure_reason.clone(),
            candidate_id: r.candidate_id.clone(),
            opportunity_id: r.opportunity_id.clone(),
            correlation_id: r.correlation_id.clone(),
            source: r.source.clone(),
            received_at: r.received_at.to_rfc3339(),
            analysis_completion_time: r.analysis_completion_time.to_rfc3339(),
            processing_ms: r.processing_ms,
            model: format!(
                "{} {} sha256:{}",
                r.model_name, r.model_version, r.model_sha256
            ),
            lever_note_id: r.lever_note_id.clone(),
        }
    }
}

/// The story of one interview.
#[derive(Debug, Clone, Serialize)]
pub struct Story {
    /// The interview id asked about.
    pub interview_id: String,
    /// Its rows, oldest first: one per pipeline version, except that a
    /// `failed` row later replaced by a redriven one is kept before it.
    pub rows: Vec<RowView>,
    /// Its audit events, in time order.
    pub events: Vec<AuditEvent>,
    /// The events that wrote to Lever (`lever_*` steps), in order.
    pub lever_writes: Vec<AuditEvent>,
}

/// Gathers the story of `interview_id` (an interview id or a correlation id).
pub fn story(
    parquet_dir: &Path,
    audit_dir: &Path,
    interview_id: &str,
) -> Result<Story, EraseError> {
    let mut events = AuditLog::open(audit_dir)?.for_interview(interview_id)?;
    let mut rows = Vec::new();
    if panelflow_connectors::parquet::storage::is_dir(parquet_dir)
        .map_err(panelflow_connectors::parquet::dataset::DatasetError::from)?
    {
        // No key ring: only the non-PII columns are shown, and reading the
        // audit table needs none.
        let sink = ParquetSink::open_with_keys(parquet_dir, None)?;
        let seen: BTreeSet<String> = events.iter().map(event_key).collect();
        for e in sink.read_audit()? {
            if (e.interview_id == interview_id || e.correlation_id == interview_id)
                && !seen.contains(&event_key(&e))
            {
                events.push(e);
            }
        }
        rows = interview_rows(parquet_dir, interview_id)?;
    }
    events.sort_by_key(|e| (e.started_at.unwrap_or(e.at), e.at));
    let lever_writes = events
        .iter()
        .filter(|e| e.step.starts_with("lever_"))
        .cloned()
        .collect();
    Ok(Story {
        interview_id: interview_id.to_string(),
        rows,
        events,
        lever_writes,
    })
}

fn event_key(e: &AuditEvent) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        e.at.timestamp_micros(),
        e.correlation_id,
        e.interview_id,
        e.step,
        e.outcome
    )
}

/// The interviews rows of one interview, PII columns left out (read without
/// decrypting, so no key is needed).
fn interview_rows(parquet_dir: &Path, id: &str) -> Result<Vec<RowView>, EraseError> {
    let mut subject =
        panelflow_connectors::parquet::dataset::Subject::new("\u{0}no candidate\u{0}");
    subject.interview_ids.insert(id.to_string());
    subject.correlation_ids.insert(id.to_string());
    let mut out = Vec::new();
    for f in panelflow_connectors::parquet::dataset::parquet_files(
        &parquet_dir.join(panelflow_connectors::parquet::INTERVIEWS_DIR),
    )? {
        let data = panelflow_connectors::parquet::dataset::read_file(&f.path)?;
        for b in &data.batches {
            let kept =
                arrow::compute::filter_record_batch(b, &subject.mask(b)).map_err(|source| {
                    panelflow_connectors::parquet::dataset::DatasetError::Arrow {
                        path: f.path.clone(),
                        source,
                    }
                })?;
            for row in panelflow_connectors::parquet::dataset::batch_to_json(&kept) {
                let s = |k: &str| {
                    row.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                out.push(RowView {
                    pipeline_version: s("pipeline_version"),
                    pipeline_name: s("pipeline_name"),
                    config_hash: s("config_hash"),
                    outcome: s("outcome"),
                    failure_reason: row
                        .get("failure_reason")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    candidate_id: s("candidate_id"),
                    opportunity_id: s("opportunity_id"),
                    correlation_id: s("correlation_id"),
                    source: s("source"),
                    received_at: s("received_at"),
                    analysis_completion_time: s("analysis_completion_time"),
                    processing_ms: row
                        .get("processing_ms")
                        .and_then(Value::as_i64)
                        .unwrap_or(0),
                    model: format!(
                        "{} {} sha256:{}",
                        s("model_name"),
                        s("model_version"),
                        s("model_sha256")
                    ),
                    lever_note_id: row
                        .get("lever_note_id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                });
            }
        }
    }
    out.sort_by(|a, b| a.analysis_completion_time.cmp(&b.analysis_completion_time));
    Ok(out)
}

/// The story as readable text.
pub fn render(story: &Story) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Interview {}", story.interview_id);
    if let Some(r) = story.rows.first() {
        let _ = writeln!(
            o,
            "  candidate {}  opportunity {}  source {}  correlation {}",
            r.candidate_id, r.opportunity_id, r.source, r.correlation_id
        );
    }
    let _ = writeln!(
        o,
        "\nResults (interviews table), one per pipeline version (a failed one redriven since is kept as history):"
    );
    if story.rows.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for (i, r) in story.rows.iter().enumerate() {
        // Rows are in completion order: a later row of the same version
        // replaced this one (a redriven failure).
        let replaced = story.rows[i + 1..]
            .iter()
            .any(|later| later.pipeline_version == r.pipeline_version);
        let _ = writeln!(
            o,
            "  {} ({}) config {}: {}{}{} — received {}, done {} in {} ms",
            r.pipeline_version,
            r.pipeline_name,
            r.config_hash,
            r.outcome,
            r.failure_reason
                .as_deref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default(),
            if replaced {
                " [replaced by the later row]"
            } else {
                ""
            },
            r.received_at,
            r.analysis_completion_time,
            r.processing_ms
        );
        let _ = writeln!(o, "      speech model {}", r.model);
        if let Some(n) = &r.lever_note_id {
            let _ = writeln!(
                o,
                "      Lever note {n} on opportunity {}",
                r.opportunity_id
            );
        }
    }
    let _ = writeln!(o, "\nSteps ({} audit events):", story.events.len());
    for e in &story.events {
        let when = e
            .started_at
            .unwrap_or(e.at)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let dur = match (e.started_at, e.ended_at) {
            (Some(a), Some(b)) => format!("{} ms", (b - a).num_milliseconds()),
            _ => "-".into(),
        };
        let _ = writeln!(
            o,
            "  {when}  {:<16} {:<9} {:>9}  by {}{}",
            e.step,
            e.outcome,
            dur,
            e.actor,
            if e.config_hash.is_empty() {
                String::new()
            } else {
                format!("  config {}", e.config_hash)
            }
        );
        if let Some(end) = e.ended_at {
            let _ = writeln!(
                o,
                "      ended {}",
                end.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            );
        }
        if let Value::Object(m) = &e.detail {
            for (k, v) in m {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let _ = writeln!(o, "      {k}: {v}");
            }
        }
    }
    let _ = writeln!(o, "\nWrites to Lever:");
    if story.lever_writes.is_empty() {
        let _ = writeln!(o, "  (none recorded)");
    }
    for e in &story.lever_writes {
        let _ = writeln!(o, "  {} {} {}", e.step, e.outcome, e.detail);
    }
    o
}
