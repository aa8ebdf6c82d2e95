//! What one batch write did.

use std::path::PathBuf;

/// What one [`ParquetSink::write_batch`](super::ParquetSink::write_batch) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Interviews rows written.
    pub interviews_written: usize,
    /// Segments rows written.
    pub segments_written: usize,
    /// Responses rows written.
    pub responses_written: usize,
    /// Scores rows written.
    pub scores_written: usize,
    /// Interviews rows dropped because their key was already committed (a replay).
    pub interviews_skipped_existing: usize,
    /// Interviews rows dropped because an earlier row of the same batch had their key.
    pub interviews_skipped_duplicate: usize,
    /// Segments rows dropped: their key was already committed, or they
    /// repeated `(key, media_index, segment_index)`.
    pub segments_skipped: usize,
    /// Rows written in place of a key's `failed` row (a redriven interview
    /// that succeeded): the failed row stays, the new one is the latest.
    pub failed_rows_replaced: usize,
    /// Claims taken over from a writer that died between claim and commit.
    pub claims_taken_over: usize,
    /// The files written, segments first.
    pub files: Vec<PathBuf>,
}
