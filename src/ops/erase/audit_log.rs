//! The audit log's step: the subject's lines removed, references to them
//! redacted in the lines kept.

use std::path::Path;

use serde_json::Value;

use panelflow_connectors::parquet::dataset::{self, Subject};
use panelflow_connectors::store::audit::AUDIT_FILE;

use super::error::EraseError;
use super::fs::write_text_atomic;

/// Removes the subject's lines from `<audit_dir>/audit.jsonl` (atomically);
/// returns how many. Lines that do not parse but contain the candidate id
/// go too.
pub(super) fn scrub_audit_log(audit_dir: &Path, subject: &Subject) -> Result<usize, EraseError> {
    rewrite_audit_log(audit_dir, |text| {
        let mut kept = String::with_capacity(text.len());
        let mut removed = 0;
        for line in text.lines() {
            let drop = match serde_json::from_str::<Value>(line) {
                Ok(v) => subject.matches_json(&v),
                Err(_) => line.contains(subject.candidate_id.as_str()),
            };
            if drop {
                removed += 1;
            } else if !line.trim().is_empty() {
                kept.push_str(line);
                kept.push('\n');
            }
        }
        (kept, removed)
    })
}

/// The ids whose mention elsewhere refers to the subject: their candidate
/// id, opportunity ids and interview ids.
pub(super) fn reference_ids(subject: &Subject) -> Vec<String> {
    let mut ids: Vec<String> = std::iter::once(subject.candidate_id.clone())
        .chain(subject.opportunity_ids.iter().cloned())
        .chain(subject.interview_ids.iter().cloned())
        .filter(|i| !i.trim().is_empty())
        .collect();
    ids.sort();
    ids.dedup();
    // Longest first: an id that contains another is replaced whole.
    ids.sort_by_key(|i| std::cmp::Reverse(i.len()));
    ids
}

/// Replaces references to the subject in the lines kept in `audit.jsonl`;
/// returns how many lines changed.
pub(super) fn redact_audit_references(
    audit_dir: &Path,
    needles: &[String],
) -> Result<usize, EraseError> {
    rewrite_audit_log(audit_dir, |text| {
        let mut changed = 0;
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            match dataset::redact_ids(line, needles) {
                Some(r) => {
                    changed += 1;
                    out.push_str(&r);
                }
                None => out.push_str(line),
            }
            out.push('\n');
        }
        (out, changed)
    })
}

/// Rewrites `<audit_dir>/audit.jsonl` under the log's lock: `edit` gets its
/// text and returns the new text and how many lines it removed or changed;
/// the file is replaced (atomically) only when that is more than none. No
/// log is nothing to do.
fn rewrite_audit_log(
    audit_dir: &Path,
    edit: impl FnOnce(&str) -> (String, usize),
) -> Result<usize, EraseError> {
    let path = audit_dir.join(AUDIT_FILE);
    // Appends wait while the log is read and rewritten (no event lost to the old file).
    let _lock = panelflow_connectors::store::audit::AuditLog::open(audit_dir)?
        .lock()
        .map_err(|source| EraseError::Io {
            op: "lock",
            path: path.clone(),
            source,
        })?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => {
            return Err(EraseError::Io {
                op: "read",
                path,
                source,
            })
        }
    };
    let (new_text, touched) = edit(&text);
    if touched > 0 {
        write_text_atomic(&path, new_text.as_bytes())?;
    }
    Ok(touched)
}
