//! Writing a batch: the duplicate check, segments and the analysis tables
//! first, then the interviews rows (the commit markers); and the audit table.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use tracing::{debug, info};

use super::analysis_rows::{self, AnalysisRows, ResponseRow, ScoreRow};
use super::audit_rows;
use super::error::ParquetSinkError;
use super::keys::{invalid, Claim, KeyState, RowClaim};
use super::layout::{AUDIT_DIR, INTERVIEWS_DIR, RESPONSES_DIR, SCORES_DIR, SEGMENTS_DIR};
use super::report::WriteReport;
use super::rows::{self, InterviewRow, Key, SegmentRow};
use super::sink::ParquetSink;
use crate::store::audit::AuditEvent;
use panelflow_core::outcome::Outcome;

impl ParquetSink {
    /// Lands audit events as the `audit` table: one file per UTC date of
    /// the events' `at` (`audit/date=YYYY-MM-DD/part-<uuid>.parquet`), each
    /// written atomically like the other tables. The table is append-only, as
    /// the JSON-lines log is: a replay appends the replay's own events.
    /// Returns the files written (none for no events).
    ///
    /// ```
    /// use panelflow_connectors::store::audit::AuditEvent;
    /// use panelflow_connectors::parquet::ParquetSink;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let sink = ParquetSink::open_with_keys(dir.path(), None)?;
    /// let files = sink.write_audit(&[AuditEvent::step("corr-1", "iv-1", "media", "ok")])?;
    /// assert_eq!(files.len(), 1);
    /// assert_eq!(sink.read_audit()?[0].step, "media");
    /// # Ok(()) }
    /// ```
    pub fn write_audit(&self, events: &[AuditEvent]) -> Result<Vec<PathBuf>, ParquetSinkError> {
        let mut by_date: BTreeMap<String, Vec<&AuditEvent>> = BTreeMap::new();
        for e in events {
            by_date
                .entry(e.at.format("%Y-%m-%d").to_string())
                .or_default()
                .push(e);
        }
        let part = format!("part-{}.parquet", uuid::Uuid::new_v4());
        let mut files = Vec::new();
        for (date, rows) in by_date {
            let batch = audit_rows::audit_batch(&rows)?;
            files.push(self.write_file(AUDIT_DIR, &date, &part, &batch)?);
        }
        if !files.is_empty() {
            debug!(
                events = events.len(),
                files = files.len(),
                "audit events written"
            );
        }
        Ok(files)
    }

    /// Writes one batch: segments first, then interviews (the commit marker),
    /// one file per table and partition date, each atomically.
    ///
    /// Rows whose key is already committed are dropped — except that a key
    /// whose only row is `failed` takes one row that is not failed (a
    /// redriven interview; see [`WriteReport::failed_rows_replaced`]; the
    /// segments, responses and scores the failed row already has are not
    /// written again) — as are interviews rows
    /// repeating a key earlier in the batch and segments repeating
    /// `(key, media_index, segment_index)`. Every segment must belong to an
    /// interviews row of the same batch (or to a key already committed, then it
    /// is dropped); otherwise the batch is refused with
    /// [`ParquetSinkError::InvalidRow`] before anything is written, as it is for
    /// an empty `interview_id` or `pipeline_version`.
    ///
    /// On an error part of the batch may be durable; calling again with the same
    /// batch completes it without writing anything twice.
    pub fn write_batch(
        &self,
        interviews: &[InterviewRow],
        segments: &[SegmentRow],
    ) -> Result<WriteReport, ParquetSinkError> {
        self.write_batch_with(interviews, segments, &AnalysisRows::default())
    }

    /// [`Self::write_batch`] with the analysis tables: `responses` and
    /// `scores` rows are written after the segments and before the
    /// interviews rows (the commit marker), under the same rules as segments:
    /// rows of a key already committed are dropped; every row needs its
    /// interviews row.
    pub fn write_batch_with(
        &self,
        interviews: &[InterviewRow],
        segments: &[SegmentRow],
        analysis: &AnalysisRows,
    ) -> Result<WriteReport, ParquetSinkError> {
        let mut known = self.lock();
        let mut report = WriteReport::default();

        // Check the batch before claiming anything.
        let batch_dates: HashMap<Key, String> = interviews
            .iter()
            .map(|r| (r.key(), r.partition_date()))
            .collect();
        for row in interviews {
            if row.interview_id.is_empty() || row.pipeline_version.is_empty() {
                return Err(invalid(row.key(), "empty interview_id or pipeline_version"));
            }
        }
        // Rows whose interviews row is not in the batch: dropped when their
        // key is committed already, else the batch is refused.
        let mut orphans: BTreeMap<Key, String> = BTreeMap::new();
        for seg in segments {
            orphans.entry(seg.key()).or_insert_with(|| {
                format!(
                    "segment {} of media {} has no interviews row in the batch",
                    seg.segment_index, seg.media_index
                )
            });
        }
        for r in &analysis.responses {
            orphans.entry(r.key()).or_insert_with(|| {
                format!(
                    "response {} has no interviews row in the batch",
                    r.question_index
                )
            });
        }
        for r in &analysis.scores {
            orphans.entry(r.key()).or_insert_with(|| {
                format!("score {} has no interviews row in the batch", r.competency)
            });
        }
        orphans.retain(|k, _| !batch_dates.contains_key(k));
        for (key, reason) in orphans {
            if !known.contains_key(&key) && !matches!(self.key_state(&key)?, KeyState::Committed(_))
            {
                return Err(invalid(key, &reason));
            }
        }

        // Choose the interviews rows: new keys, first occurrence wins.
        let part = format!("part-{}.parquet", uuid::Uuid::new_v4());
        let mut batch_keys: HashSet<Key> = HashSet::new();
        let mut candidates: Vec<&InterviewRow> = Vec::new();
        for row in interviews {
            let key = row.key();
            let failed = row.outcome == Outcome::Failed;
            // A key known committed is skipped — unless its latest row is
            // failed and this one is not (a redriven interview): the key
            // index decides whether its one replacement is still free.
            let replaceable = known
                .get(&key)
                .is_some_and(|&was_failed| was_failed && !failed);
            if known.contains_key(&key) && !replaceable {
                debug!(interview_id = %key.0, pipeline_version = %key.1, "already committed; skipped");
                report.interviews_skipped_existing += 1;
            } else if !batch_keys.insert(key.clone()) {
                debug!(interview_id = %key.0, pipeline_version = %key.1, "repeated in batch; skipped");
                report.interviews_skipped_duplicate += 1;
            } else {
                candidates.push(row);
            }
        }

        // Claim them in the key index.
        let mut dates: HashMap<Key, String> = HashMap::new();
        let mut accepted: Vec<&InterviewRow> = Vec::new();
        // Tables in which a replaced failed row already holds the key's rows.
        let mut held: HashSet<(Key, &'static str)> = HashSet::new();
        for row in candidates {
            let key = row.key();
            let failed = row.outcome == Outcome::Failed;
            let claim = Claim {
                date: row.partition_date(),
                part: part.clone(),
                writer: self.writer.clone(),
                at_ms: chrono::Utc::now().timestamp_millis(),
                failed: Some(failed),
            };
            let claimed = match self.claim_row(&key, &claim, &mut known, &mut report)? {
                RowClaim::New => true,
                RowClaim::Replacing(tables) => {
                    for table in tables {
                        held.insert((key.clone(), table));
                    }
                    true
                }
                RowClaim::Done => false,
            };
            if claimed {
                dates.insert(key, claim.date);
                accepted.push(row);
            } else {
                debug!(interview_id = %key.0, pipeline_version = %key.1, "committed by an earlier write; skipped");
                report.interviews_skipped_existing += 1;
            }
        }

        // Choose the segments rows and their partition dates.
        let mut seen_segments: HashSet<(Key, i32, i32)> = HashSet::new();
        let mut segments_by_date: BTreeMap<String, Vec<&SegmentRow>> = BTreeMap::new();
        for seg in segments {
            let key = seg.key();
            let Some(date) = dates.get(&key) else {
                report.segments_skipped += 1;
                continue;
            };
            if held.contains(&(key.clone(), SEGMENTS_DIR)) {
                report.segments_skipped += 1;
                continue;
            }
            if !seen_segments.insert((key, seg.media_index, seg.segment_index)) {
                report.segments_skipped += 1;
                continue;
            }
            segments_by_date.entry(date.clone()).or_default().push(seg);
        }

        let mut interviews_by_date: BTreeMap<String, Vec<&InterviewRow>> = BTreeMap::new();
        for row in accepted {
            interviews_by_date
                .entry(row.partition_date())
                .or_default()
                .push(row);
        }

        // Segments first: without their interviews row they are not committed.
        for (date, mut rows) in segments_by_date {
            rows.sort_by(|a, b| {
                (
                    &a.interview_id,
                    &a.pipeline_version,
                    a.media_index,
                    a.segment_index,
                )
                    .cmp(&(
                        &b.interview_id,
                        &b.pipeline_version,
                        b.media_index,
                        b.segment_index,
                    ))
            });
            let batch = rows::segments_batch(&rows)?;
            let path = self.write_file(SEGMENTS_DIR, &date, &part, &batch)?;
            report.segments_written += rows.len();
            report.files.push(path);
        }

        // The analysis tables, before the commit markers too.
        let mut responses_by_date: BTreeMap<String, Vec<&ResponseRow>> = BTreeMap::new();
        let mut seen_responses: HashSet<(Key, i32)> = HashSet::new();
        for r in &analysis.responses {
            let key = r.key();
            let Some(date) = dates.get(&key) else {
                continue;
            };
            if held.contains(&(key.clone(), RESPONSES_DIR)) {
                continue;
            }
            if seen_responses.insert((key, r.question_index)) {
                responses_by_date.entry(date.clone()).or_default().push(r);
            }
        }
        let mut scores_by_date: BTreeMap<String, Vec<&ScoreRow>> = BTreeMap::new();
        let mut seen_scores: HashSet<(Key, String, String)> = HashSet::new();
        for r in &analysis.scores {
            let key = r.key();
            let Some(date) = dates.get(&key) else {
                continue;
            };
            if held.contains(&(key.clone(), SCORES_DIR)) {
                continue;
            }
            if seen_scores.insert((key, r.competency.clone(), r.question_id.clone())) {
                scores_by_date.entry(date.clone()).or_default().push(r);
            }
        }
        for (date, mut rows) in responses_by_date {
            rows.sort_by(|a, b| {
                (&a.interview_id, &a.pipeline_version, a.question_index).cmp(&(
                    &b.interview_id,
                    &b.pipeline_version,
                    b.question_index,
                ))
            });
            let batch = analysis_rows::responses_batch(&rows)?;
            let path = self.write_file(RESPONSES_DIR, &date, &part, &batch)?;
            report.responses_written += rows.len();
            report.files.push(path);
        }
        for (date, mut rows) in scores_by_date {
            rows.sort_by(|a, b| {
                (&a.interview_id, &a.pipeline_version, &a.competency).cmp(&(
                    &b.interview_id,
                    &b.pipeline_version,
                    &b.competency,
                ))
            });
            let batch = analysis_rows::scores_batch(&rows)?;
            let path = self.write_file(SCORES_DIR, &date, &part, &batch)?;
            report.scores_written += rows.len();
            report.files.push(path);
        }

        // Then the interviews rows, the commit markers.
        for (date, mut rows) in interviews_by_date {
            rows.sort_by(|a, b| {
                (&a.interview_id, &a.pipeline_version).cmp(&(&b.interview_id, &b.pipeline_version))
            });
            let batch = rows::interviews_batch(&rows)?;
            let path = self.write_file(INTERVIEWS_DIR, &date, &part, &batch)?;
            report.interviews_written += rows.len();
            report.files.push(path);
            for r in rows {
                Self::remember(&mut known, r.key(), r.outcome == Outcome::Failed);
            }
        }

        info!(
            interviews = report.interviews_written,
            segments = report.segments_written,
            skipped_existing = report.interviews_skipped_existing,
            skipped_duplicate = report.interviews_skipped_duplicate,
            segments_skipped = report.segments_skipped,
            taken_over = report.claims_taken_over,
            files = report.files.len(),
            "parquet batch written"
        );
        Ok(report)
    }
}
