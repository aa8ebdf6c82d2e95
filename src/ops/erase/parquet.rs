//! The Parquet step: every file of the sink's and the aggregates' roots, and
//! the candidate's ids found in them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use panelflow_connectors::parquet::dataset::{self, DatasetError, Subject, TableFile};

use super::error::EraseError;
use super::review::review_files;
use super::targets::EraseTargets;

/// Every Parquet file of the sink's and the aggregates' roots.
pub fn all_files(targets: &EraseTargets) -> Result<Vec<TableFile>, DatasetError> {
    let mut files = dataset::parquet_files(&targets.parquet_dir)?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if !same(&targets.parquet_dir, &targets.aggregates_dir) {
        let known: std::collections::HashSet<PathBuf> =
            files.iter().map(|f| f.path.clone()).collect();
        files.extend(
            dataset::parquet_files(&targets.aggregates_dir)?
                .into_iter()
                .filter(|f| !known.contains(&f.path)),
        );
    }
    Ok(files)
}

/// The candidate's ids, from every Parquet file, the audit log and the review queue.
pub fn find_subject(
    targets: &EraseTargets,
    files: &[TableFile],
    candidate_id: &str,
) -> Result<Subject, EraseError> {
    let mut subject = Subject::new(candidate_id);
    let log = panelflow_connectors::store::audit::AuditLog::open(&targets.audit_dir)?;
    for e in log.read_all()? {
        if e.candidate_id.as_deref() == Some(candidate_id) {
            if !e.interview_id.is_empty() {
                subject.interview_ids.insert(e.interview_id.clone());
            }
            for k in ["opportunity_id", "opportunity"] {
                if let Some(o) = e.detail.get(k).and_then(Value::as_str) {
                    if !o.is_empty() {
                        subject.opportunity_ids.insert(o.to_string());
                    }
                }
            }
            if !e.correlation_id.is_empty() {
                subject.correlation_ids.insert(e.correlation_id.clone());
            }
        }
    }
    if let Some(dir) = &targets.review_dir {
        for (_, v) in review_files(dir)? {
            if v.get("candidate_id").and_then(Value::as_str) == Some(candidate_id) {
                for (k, set) in [
                    ("interview_id", &mut subject.interview_ids),
                    ("correlation_id", &mut subject.correlation_ids),
                    ("opportunity_id", &mut subject.opportunity_ids),
                ] {
                    if let Some(s) = v.get(k).and_then(Value::as_str) {
                        if !s.is_empty() {
                            set.insert(s.to_string());
                        }
                    }
                }
            }
        }
    }
    dataset::discover(&mut subject, files)?;
    Ok(subject)
}
