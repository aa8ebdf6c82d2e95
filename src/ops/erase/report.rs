//! What an erasure did.

use std::collections::BTreeMap;

use serde::Serialize;

/// What an erasure did (no ids in it but the count of interviews).
#[derive(Debug, Clone, Default, Serialize)]
pub struct EraseReport {
    /// Salted hash of the candidate id.
    pub candidate_hash: String,
    /// Interviews of the candidate found.
    pub interviews: usize,
    /// Rows removed per table.
    pub rows_removed: BTreeMap<String, usize>,
    /// Files rewritten.
    pub files_rewritten: usize,
    /// Lines removed from the JSON-lines audit log.
    pub audit_lines_removed: usize,
    /// Review queue files deleted.
    pub review_files_removed: usize,
    /// Retractions built from the aggregates' inputs.
    pub retractions: usize,
    /// Retractions published to Kafka.
    pub retractions_published: usize,
    /// Why retractions were not published, if they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retraction_error: Option<String>,
    /// Values of other records in which a reference to the candidate was
    /// replaced by `[erased]` (Parquet values, audit lines, review files).
    pub references_redacted: usize,
    /// Interview ids tombstoned in the receiver's replay store.
    pub tombstones: usize,
    /// What the erasure could not reach, for the operator to handle.
    pub not_reached: Vec<String>,
}

impl EraseReport {
    /// Total rows removed from Parquet.
    pub fn total_rows(&self) -> usize {
        self.rows_removed.values().sum()
    }
}
