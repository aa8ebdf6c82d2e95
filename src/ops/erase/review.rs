//! The review queue's step: the subject's files deleted, references to them
//! redacted in the files that remain.

use std::path::{Path, PathBuf};

use serde_json::Value;

use panelflow_connectors::parquet::dataset::{self, Subject};

use super::error::EraseError;
use super::fs::write_text_atomic;

/// Replaces references to the subject in the review files that remain;
/// returns how many files changed.
pub(super) fn redact_review_references(
    dir: &Path,
    needles: &[String],
) -> Result<usize, EraseError> {
    let mut changed = 0;
    for (path, v) in review_files(dir)? {
        let text = v.to_string();
        if let Some(r) = dataset::redact_ids(&text, needles) {
            if serde_json::from_str::<Value>(&r).is_ok() {
                write_text_atomic(&path, r.as_bytes())?;
                changed += 1;
            }
        }
    }
    Ok(changed)
}

/// Every `*.json` file under the review queue's folder, parsed.
pub(super) fn review_files(dir: &Path) -> Result<Vec<(PathBuf, Value)>, EraseError> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let io = |source| EraseError::Io {
            op: "list folder",
            path: d.clone(),
            source,
        };
        for entry in std::fs::read_dir(&d).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io)?;
            if kind.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    out.push((path, v));
                }
            }
        }
    }
    Ok(out)
}

/// Deletes the review queue's files about the subject; returns how many.
pub(super) fn scrub_review_queue(dir: &Path, subject: &Subject) -> Result<usize, EraseError> {
    let mut n = 0;
    for (path, v) in review_files(dir)? {
        let nested = v.get("item").is_some_and(|i| subject.matches_json(i));
        if subject.matches_json(&v) || nested {
            std::fs::remove_file(&path).map_err(|source| EraseError::Io {
                op: "remove",
                path: path.clone(),
                source,
            })?;
            n += 1;
        }
    }
    Ok(n)
}

/// The candidate's review queue files (for the export).
pub fn review_items(dir: &Path, subject: &Subject) -> Result<Vec<Value>, EraseError> {
    Ok(review_files(dir)?
        .into_iter()
        .filter(|(_, v)| {
            subject.matches_json(v) || v.get("item").is_some_and(|i| subject.matches_json(i))
        })
        .map(|(_, v)| v)
        .collect())
}
