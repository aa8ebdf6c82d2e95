//! `question_consistency`: for recordings where the questions are spoken,
//! how far each asked question strays from its canonical text, per posting
//! and question, across candidates.
//!
//! The deviation of one asking is the word error rate of the transcribed
//! question against the canonical text ([`panelflow_models::analysis::wer::wer`]:
//! case, punctuation and spelled-out numbers normalised). Per posting and
//! question: `askings`, `mean_deviation`, `max_deviation`, `strayed`
//! (askings whose deviation exceeds `stray_threshold`, 0.25 by default) and
//! `strayed_share`.
//!
//! ```
//! use panelflow::aggregates::questions::consistency_row;
//! use panelflow::aggregates::records::F64;
//! let values = vec![(("Tell me about a project.".to_string(), F64(0.0)), 2), (("Tell me about a project.".to_string(), F64(0.5)), 1)];
//! let refs: Vec<_> = values.iter().map(|(v, n)| (v, *n)).collect();
//! let row = consistency_row(&("p".into(), "q1".into()), &refs, 0.25).unwrap();
//! assert_eq!(row.askings, 3);
//! assert_eq!(row.strayed, 1);
//! assert!((row.mean_deviation.0 - 1.0 / 6.0).abs() < 1e-12);
//! ```

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use super::records::{QuestionRecord, Sym, F64};
use super::reduce_total::ReduceTotal;
use super::time::Time;
use panelflow_connectors::parquet::aggregates::{ColType, Column, RowSink, TableRow};

/// One row of the `question_consistency` table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConsistencyRow {
    /// Posting.
    pub posting: Sym,
    /// Question id.
    pub question: Sym,
    /// Canonical text (the first, in order, if askings disagree).
    pub canonical: String,
    /// Times asked.
    pub askings: i64,
    /// Mean deviation (word error rate against the canonical text).
    pub mean_deviation: F64,
    /// Largest deviation.
    pub max_deviation: F64,
    /// Askings above the stray threshold.
    pub strayed: i64,
    /// `strayed / askings`.
    pub strayed_share: F64,
}

impl TableRow for ConsistencyRow {
    const TABLE: &'static str = "question_consistency";
    const KEY: &'static [&'static str] = &["posting_id", "question_id"];
    fn columns() -> Vec<Column> {
        use ColType::*;
        vec![
            Column::new("posting_id", Utf8, false),
            Column::new("question_id", Utf8, false),
            Column::new("canonical_text", Utf8, false),
            Column::new("askings", Int64, false),
            Column::new("mean_deviation", Float64, false),
            Column::new("max_deviation", Float64, false),
            Column::new("strayed", Int64, false),
            Column::new("strayed_share", Float64, false),
        ]
    }
    fn write<S: RowSink>(&self, out: &mut S) {
        out.str(&self.posting);
        out.str(&self.question);
        out.str(&self.canonical);
        out.i64(self.askings);
        out.f64(self.mean_deviation.0);
        out.f64(self.max_deviation.0);
        out.i64(self.strayed);
        out.f64(self.strayed_share.0);
    }
}

/// The deviation of an asked question from its canonical text.
pub fn deviation(q: &QuestionRecord) -> f64 {
    panelflow_models::analysis::wer::wer(&q.canonical, &q.asked)
}

/// The row of one posting and question from its `(canonical, deviation)`
/// values with counts.
pub fn consistency_row(
    key: &(Sym, Sym),
    values: &[(&(String, F64), isize)],
    stray_threshold: f64,
) -> Option<ConsistencyRow> {
    let (mut n, mut sum, mut max, mut strayed) = (0i64, 0.0f64, 0.0f64, 0i64);
    let mut canonical = None;
    for ((text, dev), count) in values {
        let count = *count as i64;
        if count <= 0 {
            continue;
        }
        canonical.get_or_insert(text);
        n += count;
        sum += dev.0 * count as f64;
        max = max.max(dev.0);
        if dev.0 > stray_threshold {
            strayed += count;
        }
    }
    let canonical = canonical?;
    Some(ConsistencyRow {
        posting: key.0.clone(),
        question: key.1.clone(),
        canonical: canonical.clone(),
        askings: n,
        mean_deviation: F64(sum / n as f64),
        max_deviation: F64(max),
        strayed,
        strayed_share: F64(strayed as f64 / n as f64),
    })
}

/// The `question_consistency` operator.
pub trait QuestionConsistency<'scope, T: Time> {
    /// Consistency rows per posting and question from the asked questions.
    fn question_consistency(self, stray_threshold: f64)
        -> VecCollection<'scope, T, ConsistencyRow>;
}

impl<'scope, T: Time> QuestionConsistency<'scope, T> for VecCollection<'scope, T, QuestionRecord> {
    fn question_consistency(
        self,
        stray_threshold: f64,
    ) -> VecCollection<'scope, T, ConsistencyRow> {
        self.map(|q| {
            let dev = F64(deviation(&q));
            ((q.posting, q.question), (q.canonical, dev))
        })
        .reduce_total("QuestionConsistency", move |key, input, output| {
            if let Some(row) = consistency_row(key, input, stray_threshold) {
                output.push((row, 1isize));
            }
        })
    }
}
