//! The input tables: every record the aggregates read, as it arrived, with
//! its `time` and `diff` (`−1` a retraction) — `scores` (one row per
//! competency), `interview_signals` (one row per score message), `ratings`,
//! `decisions`, `demographics` and `questions`. Each worker writes the
//! records it read; its first write gives every table a file (empty if it
//! has no row yet), so readers always find all six. Values are the quantised ones the aggregates use.
//!
//! The current content of a table is its rows grouped by every column but
//! `time` and `diff`, each repeated `sum(diff)` times where positive.
//!
//! ```
//! use panelflow::aggregates::inputs::{input_tables, InputLogs};
//! use panelflow::aggregates::harness::TimedSink;
//! use panelflow::aggregates::records::{InputRecord, DecisionRecord};
//! use panelflow_connectors::parquet::aggregates::{read_rows, Layout};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let layout = Layout::new(dir.path());
//! let mut logs = InputLogs::new(&layout, 0, false);
//! let d = InputRecord::Decision(DecisionRecord { candidate: "c".into(), posting: "p".into(), advance: true,
//!                                                stage: None, source: "lever".into(), at_ms: 0 });
//! logs.apply(3, vec![(d, 1)]);
//! logs.flush()?;
//! let rows = read_rows(&layout.input_dir("decisions"))?;
//! assert_eq!(rows.rows.len(), 1);
//! assert_eq!(rows.get(&rows.rows[0], "decision").as_str(), Some("advance"));
//! assert_eq!(input_tables().len(), 6);
//! # Ok(()) }
//! ```

use super::records::{rfc3339, week_start, InputRecord, CENTI};
use super::sink::TimedSink;
use panelflow_connectors::parquet::aggregates::{
    AggregatesSinkError, ColType, Column, Layout, LogWriter, RowSink,
};

/// `(table, columns)` of every input table (without `time` and `diff`).
pub fn input_tables() -> Vec<(&'static str, Vec<Column>)> {
    use ColType::*;
    vec![
        (
            "scores",
            vec![
                Column::new("interview_id", Utf8, false),
                Column::new("candidate_id", Utf8, false),
                Column::new("posting_id", Utf8, false),
                Column::new("job_family", Utf8, false),
                Column::new("model_name", Utf8, false),
                Column::new("model_version", Utf8, false),
                Column::new("competency", Utf8, false),
                Column::new("score", Float64, false),
                Column::new("confidence", Float64, true),
                Column::new("flags", Utf8, false),
                Column::new("scored_at", Utf8, false),
                Column::new("week_start", Utf8, false),
            ],
        ),
        (
            "interview_signals",
            vec![
                Column::new("interview_id", Utf8, false),
                Column::new("candidate_id", Utf8, false),
                Column::new("posting_id", Utf8, false),
                Column::new("job_family", Utf8, false),
                Column::new("model_name", Utf8, false),
                Column::new("model_version", Utf8, false),
                Column::new("sentiment", Float64, true),
                Column::new("transcription_confidence", Float64, true),
                Column::new("competencies", Int64, false),
                Column::new("scored_at", Utf8, false),
                Column::new("week_start", Utf8, false),
            ],
        ),
        (
            "ratings",
            vec![
                Column::new("reviewer_id", Utf8, false),
                Column::new("candidate_id", Utf8, false),
                Column::new("posting_id", Utf8, false),
                Column::new("interview_id", Utf8, true),
                Column::new("competency", Utf8, false),
                Column::new("rating", Int64, false),
                Column::new("source", Utf8, false),
                Column::new("rated_at", Utf8, false),
            ],
        ),
        (
            "decisions",
            vec![
                Column::new("candidate_id", Utf8, false),
                Column::new("posting_id", Utf8, false),
                Column::new("decision", Utf8, false),
                Column::new("stage", Utf8, true),
                Column::new("source", Utf8, false),
                Column::new("decided_at", Utf8, false),
            ],
        ),
        (
            "demographics",
            vec![
                Column::new("candidate_id", Utf8, false),
                Column::new("posting_id", Utf8, false),
                Column::new("sex", Utf8, true),
                Column::new("race_ethnicity", Utf8, true),
                Column::new("collected_at", Utf8, false),
            ],
        ),
        (
            "questions",
            vec![
                Column::new("interview_id", Utf8, false),
                Column::new("candidate_id", Utf8, false),
                Column::new("posting_id", Utf8, false),
                Column::new("interviewer_id", Utf8, true),
                Column::new("question_id", Utf8, false),
                Column::new("canonical_text", Utf8, false),
                Column::new("asked_text", Utf8, false),
                Column::new("asked_at", Utf8, false),
            ],
        ),
    ]
}

/// The input tables' writers of one worker.
pub struct InputLogs {
    scores: LogWriter,
    signals: LogWriter,
    ratings: LogWriter,
    decisions: LogWriter,
    demographics: LogWriter,
    questions: LogWriter,
    /// `week_start` strings already formatted (weeks are few).
    weeks: std::collections::BTreeMap<i32, String>,
}

impl InputLogs {
    /// Writers under `layout`, files tagged with `worker`.
    pub fn new(layout: &Layout, worker: usize, durable: bool) -> Self {
        let mut tables = input_tables().into_iter();
        let mut next = || {
            let (name, cols) = tables.next().unwrap_or(("unknown", Vec::new()));
            LogWriter::new(
                name,
                layout.input_dir(name),
                cols,
                &format!("w{worker}-"),
                durable,
            )
        };
        Self {
            scores: next(),
            signals: next(),
            ratings: next(),
            decisions: next(),
            demographics: next(),
            questions: next(),
            weeks: Default::default(),
        }
    }

    fn all(&mut self) -> [&mut LogWriter; 6] {
        [
            &mut self.scores,
            &mut self.signals,
            &mut self.ratings,
            &mut self.decisions,
            &mut self.demographics,
            &mut self.questions,
        ]
    }

    /// Appends one record's rows.
    pub fn push(&mut self, record: &InputRecord, time: u64, diff: isize) {
        let f = |c: i32| f64::from(c) / CENTI;
        match record {
            InputRecord::Score(s) => {
                let at = rfc3339(s.at_ms);
                let week = self
                    .weeks
                    .entry(s.week)
                    .or_insert_with(|| week_start(s.week))
                    .clone();
                for (competency, score, confidence) in &s.competencies {
                    let o = self.scores.rows();
                    o.str(&s.interview);
                    o.str(&s.candidate);
                    o.str(&s.posting);
                    o.str(&s.family);
                    o.str(&s.model_name);
                    o.str(&s.model);
                    o.str(competency);
                    o.f64(f(*score));
                    o.opt_f64(confidence.map(f));
                    o.str(&s.flags);
                    o.str(&at);
                    o.str(&week);
                    self.scores.end(time, diff);
                }
                let o = self.signals.rows();
                o.str(&s.interview);
                o.str(&s.candidate);
                o.str(&s.posting);
                o.str(&s.family);
                o.str(&s.model_name);
                o.str(&s.model);
                o.opt_f64(s.sentiment.map(f));
                o.opt_f64(s.transcription_confidence.map(f));
                o.i64(s.competencies.len() as i64);
                o.str(&at);
                o.str(&week);
                self.signals.end(time, diff);
            }
            InputRecord::Rating(r) => {
                let o = self.ratings.rows();
                o.str(&r.reviewer);
                o.str(&r.candidate);
                o.str(&r.posting);
                o.opt_str(r.interview.as_deref());
                o.str(&r.competency);
                o.i64(i64::from(r.rating));
                o.str(&r.source);
                o.str(&rfc3339(r.at_ms));
                self.ratings.end(time, diff);
            }
            InputRecord::Decision(d) => {
                let o = self.decisions.rows();
                o.str(&d.candidate);
                o.str(&d.posting);
                o.str(if d.advance { "advance" } else { "archive" });
                o.opt_str(d.stage.as_deref());
                o.str(&d.source);
                o.str(&rfc3339(d.at_ms));
                self.decisions.end(time, diff);
            }
            InputRecord::Demographics(d) => {
                let o = self.demographics.rows();
                o.str(&d.candidate);
                o.str(&d.posting);
                o.opt_str(d.sex.as_deref());
                o.opt_str(d.race.as_deref());
                o.str(&rfc3339(d.at_ms));
                self.demographics.end(time, diff);
            }
            InputRecord::Question(q) => {
                let o = self.questions.rows();
                o.str(&q.interview);
                o.str(&q.candidate);
                o.str(&q.posting);
                o.opt_str(q.interviewer.as_deref());
                o.str(&q.question);
                o.str(&q.canonical);
                o.str(&q.asked);
                o.str(&rfc3339(q.at_ms));
                self.questions.end(time, diff);
            }
        }
    }
}

impl TimedSink<InputRecord> for InputLogs {
    fn apply(&mut self, time: u64, updates: Vec<(InputRecord, isize)>) {
        for (record, diff) in &updates {
            self.push(record, time, *diff);
        }
    }
    fn pending(&self) -> bool {
        [
            &self.scores,
            &self.signals,
            &self.ratings,
            &self.decisions,
            &self.demographics,
            &self.questions,
        ]
        .iter()
        .any(|l| l.pending() > 0)
    }
    fn flush(&mut self) -> Result<(), AggregatesSinkError> {
        // Every table gets a file, empty if need be, so readers find all six.
        for log in self.all() {
            log.flush_or_touch()?;
        }
        Ok(())
    }
}
