//! `panelflow erase CANDIDATE_ID`: removes a candidate from everything the
//! deployment holds, and says so in the audit log without naming them.
//!
//! 1. **Who**: the candidate's interview and correlation ids are found in
//!    every Parquet table (rows whose `candidate_id` is theirs, then rows
//!    sharing those ids, until nothing new turns up), the JSON-lines audit
//!    log and the review queue.
//! 2. **Aggregates**: the net rows of the aggregates' input tables
//!    (`inputs/*`) that are theirs become retraction messages (`"diff": -1`,
//!    identical to the originals) for the aggregates' Kafka topics, published
//!    when a broker answers (the running aggregates then drop them from
//!    every figure).
//! 3. **Parquet**: every file under the sink's root and the aggregates' root
//!    holding one of their rows (matched by `candidate_id`, `interview_id` or
//!    `correlation_id`) is rewritten without them, atomically (temporary file
//!    + rename); other files are not touched.
//! 4. **Audit log and review queue**: their lines are removed from
//!    `audit.jsonl` (rewritten atomically), their review files deleted.
//! 5. **References**: what other records say about the candidate — their
//!    candidate id, their Lever opportunity ids (learnt from their own rows)
//!    or their interview ids inside another row's text (an audit `detail`
//!    naming them as an opportunity's contact, a review file, a line of
//!    `audit.jsonl`) — is replaced by `[erased]`
//!    ([`dataset::redact_references`]); the other records stay.
//! 6. **Tombstones**: each of their interview ids is tombstoned in the
//!    receiver's replay store (`[ingest] state_dir`), so a replayed webhook
//!    cannot bring an erased interview back.
//! 7. **Record**: an `erase` event with a salted hash of the candidate id
//!    ([`PiiKeys::erasure_hash`]) and counts, in the JSON-lines log and the
//!    `audit` table.
//!
//! Erasing twice is harmless: the second run finds nothing and records it.
//! Not covered, and said so in the report's `not_reached`: copies outside
//! these folders — Kafka topics (the event and dead-letter topics until
//! their retention passes; the aggregates' input topics are kept, since the
//! aggregator rebuilds from them, and there the published retractions
//! cancel the candidate's records), backups, Lever itself — and encrypted
//! values of other rows (searched only as ciphertext).
//! A running aggregates process records the retractions it reads in its
//! input tables: erase again once it has caught up to remove those rows too.

mod audit_log;
mod error;
mod fs;
mod parquet;
mod report;
mod retract;
mod retraction;
mod review;
mod targets;

use serde_json::json;

use panelflow_connectors::parquet::dataset;
use panelflow_connectors::store::audit::AuditEvent;
use panelflow_connectors::store::crypto::PiiKeys;

use self::audit_log::{redact_audit_references, reference_ids, scrub_audit_log};
pub use self::error::EraseError;
pub use self::parquet::{all_files, find_subject};
pub use self::report::EraseReport;
pub use self::retract::retractions;
pub use self::retraction::{publish_retractions, Publisher, Retraction};
pub use self::review::review_items;
use self::review::{redact_review_references, scrub_review_queue};
pub use self::targets::EraseTargets;

/// Erases `candidate_id` from `targets` (see the module docs). `publish`
/// sends the aggregates' retractions (none: they are counted, not sent).
pub fn erase(
    targets: &EraseTargets,
    keys: &PiiKeys,
    candidate_id: &str,
    actor: &str,
    publish: Option<Publisher<'_>>,
) -> Result<EraseReport, EraseError> {
    if candidate_id.trim().is_empty() {
        return Err(EraseError::EmptyId);
    }
    let mut report = EraseReport {
        candidate_hash: keys.erasure_hash(candidate_id),
        ..Default::default()
    };
    let files = all_files(targets)?;
    let subject = find_subject(targets, &files, candidate_id)?;
    report.interviews = subject.interview_ids.len();

    // Retractions first, from the inputs as they are before deletion.
    let retractions = retractions(&files, &subject)?;
    report.retractions = retractions.len();
    if !retractions.is_empty() {
        match publish {
            Some(p) => match p(&retractions) {
                Ok(n) => report.retractions_published = n,
                Err(e) => {
                    tracing::warn!(error = %e, "retractions not published");
                    report.retraction_error = Some(e);
                }
            },
            None => report.retraction_error = Some("no broker configured".into()),
        }
    }

    for f in &files {
        let n = dataset::remove_rows(&f.path, &subject)?;
        if n > 0 {
            report.files_rewritten += 1;
            *report.rows_removed.entry(f.table.clone()).or_default() += n;
        }
    }
    report.audit_lines_removed = scrub_audit_log(&targets.audit_dir, &subject)?;
    // References in what remains.
    let needles = reference_ids(&subject);
    for f in &files {
        report.references_redacted += dataset::redact_references(&f.path, &needles)?;
    }
    report.references_redacted += redact_audit_references(&targets.audit_dir, &needles)?;
    if let Some(dir) = targets.review_dir.as_ref().filter(|d| d.is_dir()) {
        // The queue's own erasure (under its lock), then any other file that
        // names the candidate's interviews (decisions, leftovers).
        report.review_files_removed = panelflow_connectors::store::queue::ReviewQueue::open(dir)
            .and_then(|q| q.remove_candidate(candidate_id))
            .map_err(|e| EraseError::Review(e.to_string()))?;
        report.review_files_removed += scrub_review_queue(dir, &subject)?;
        report.references_redacted += redact_review_references(dir, &needles)?;
    }
    match &targets.ingest_state_dir {
        Some(dir) => match panelflow_connectors::store::replay::ReplayStore::open(dir) {
            Ok(store) => {
                for id in &subject.interview_ids {
                    match store.tombstone(id) {
                        Ok(()) => report.tombstones += 1,
                        Err(e) => {
                            tracing::warn!(error = %e, "tombstone not written");
                            report
                                .not_reached
                                .push(format!("a tombstone in {}: {e}", dir.display()));
                        }
                    }
                }
            }
            Err(e) => report
                .not_reached
                .push(format!("the receiver's replay store {}: {e}", dir.display())),
        },
        None => report.not_reached.push(
            "the receiver's replay store (no [ingest] state_dir): a replayed webhook could bring an interview back".into(),
        ),
    }
    report.not_reached.extend([
        "Kafka: the event and dead-letter topics keep the candidate's events until their retention passes".to_string(),
        "backups and copies of these folders made elsewhere".to_string(),
        "Lever itself (notes, tags and scorecards written there)".to_string(),
        "encrypted values of other candidates' rows (searched as ciphertext only)".to_string(),
    ]);

    let event = AuditEvent::step("", "", "erase", "ok")
        .by(actor)
        .with_detail(json!({
            "candidate_hash": report.candidate_hash,
            "hash": format!("hmac-sha256(erasure salt of PII key {})", keys.active_key_id()),
            "interviews": report.interviews,
            "rows_removed": report.rows_removed,
            "files_rewritten": report.files_rewritten,
            "audit_lines_removed": report.audit_lines_removed,
            "review_files_removed": report.review_files_removed,
            "retractions": report.retractions,
            "retractions_published": report.retractions_published,
            "retraction_error": report.retraction_error,
            "references_redacted": report.references_redacted,
            "tombstones": report.tombstones,
            "not_reached": report.not_reached,
        }));
    panelflow_connectors::store::audit::AuditLog::open(&targets.audit_dir)?
        .append(std::slice::from_ref(&event))?;
    panelflow_connectors::parquet::ParquetSink::open_with_keys(&targets.parquet_dir, None)?
        .write_audit(std::slice::from_ref(&event))?;
    tracing::info!(
        candidate_hash = %report.candidate_hash,
        rows = report.total_rows(),
        files = report.files_rewritten,
        "candidate erased"
    );
    Ok(report)
}

#[cfg(test)]
mod tests;
