//! `panel_view`: per posting, candidate and competency, every panelist's
//! rating and the AI's score side by side, with the panel's dispersion — and
//! the *observations* that reviewer calibration aggregates.
//!
//! A panel is the reviewers who rated the same candidate on the same
//! competency for the same posting. For a panel of `n` ratings summing to
//! `S`, and the AI's `a` scores (all model versions) summing to `A`
//! hundredths:
//! - `rating_mean = S / n`, `dispersion` = population standard deviation of
//!   the ratings (when `n ≥ 2`), `rating_range` = max − min;
//! - `ai_score = A / (100 a)`, `ai_minus_panel = ai_score − rating_mean`.
//!
//! Each rating `r` becomes an [`Observation`] carrying `(n, S, a, A)`, from
//! which its offset from the other panelists (`(r n − S) / (n − 1)`) and from
//! the AI follow exactly. Only panels with at least one rating get a row.
//!
//! ```
//! use panelflow::aggregates::panel::{panel_group, PanelValue};
//! let values = vec![
//!     (PanelValue::Ai { centi: 300 }, 1),
//!     (PanelValue::Rating { reviewer: "r1".into(), rating: 2 }, 1),
//!     (PanelValue::Rating { reviewer: "r2".into(), rating: 4 }, 1),
//! ];
//! let refs: Vec<_> = values.iter().map(|(v, n)| (v, *n)).collect();
//! let (row, observations) = panel_group(&("p".into(), "c".into(), "k".into()), &refs);
//! let row = row.unwrap();
//! assert_eq!(row.ratings, "r1=2;r2=4");
//! assert_eq!(row.dispersion.unwrap().0, 1.0);
//! assert_eq!(row.ai_minus_panel.unwrap().0, 0.0);
//! assert_eq!(observations.len(), 2);
//! ```

use differential_dataflow::{AsCollection, VecCollection};
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::{Map, Partition};

use super::records::{RatingRecord, ScoreRow, Sym, F64};
use super::reduce_total::ReduceTotal;
use super::time::Time;
use panelflow_connectors::parquet::aggregates::{ColType, Column, RowSink, TableRow};

/// What a panel is made of.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PanelValue {
    /// An AI competency score, in hundredths.
    Ai {
        /// Score in hundredths.
        centi: i32,
    },
    /// A panelist's rating.
    Rating {
        /// Reviewer id.
        reviewer: Sym,
        /// Rating 1–4.
        rating: i8,
    },
}

/// `(posting, candidate, competency)`.
pub type PanelKey = (Sym, Sym, Sym);

/// One row of the `panel_view` table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PanelRow {
    /// Posting.
    pub posting: Sym,
    /// Candidate.
    pub candidate: Sym,
    /// Competency.
    pub competency: Sym,
    /// Ratings in the panel.
    pub panelists: i64,
    /// `reviewer=rating` pairs, `;`-separated, by reviewer.
    pub ratings: String,
    /// Mean rating.
    pub rating_mean: F64,
    /// Population standard deviation of the ratings (`n ≥ 2`).
    pub dispersion: Option<F64>,
    /// Highest minus lowest rating.
    pub rating_range: i64,
    /// Mean AI score, when scored.
    pub ai_score: Option<F64>,
    /// AI scores behind `ai_score`.
    pub ai_scores: i64,
    /// `ai_score − rating_mean`.
    pub ai_minus_panel: Option<F64>,
}

impl TableRow for PanelRow {
    const TABLE: &'static str = "panel_view";
    const KEY: &'static [&'static str] = &["posting_id", "candidate_id", "competency"];
    fn columns() -> Vec<Column> {
        use ColType::*;
        vec![
            Column::new("posting_id", Utf8, false),
            Column::new("candidate_id", Utf8, false),
            Column::new("competency", Utf8, false),
            Column::new("panelists", Int64, false),
            Column::new("ratings", Utf8, false),
            Column::new("rating_mean", Float64, false),
            Column::new("dispersion", Float64, true),
            Column::new("rating_range", Int64, false),
            Column::new("ai_score", Float64, true),
            Column::new("ai_scores", Int64, false),
            Column::new("ai_minus_panel", Float64, true),
        ]
    }
    fn write<S: RowSink>(&self, out: &mut S) {
        out.str(&self.posting);
        out.str(&self.candidate);
        out.str(&self.competency);
        out.i64(self.panelists);
        out.str(&self.ratings);
        out.f64(self.rating_mean.0);
        out.opt_f64(self.dispersion.map(|v| v.0));
        out.i64(self.rating_range);
        out.opt_f64(self.ai_score.map(|v| v.0));
        out.i64(self.ai_scores);
        out.opt_f64(self.ai_minus_panel.map(|v| v.0));
    }
}

/// One rating seen with its panel and the AI.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Observation {
    /// Reviewer.
    pub reviewer: Sym,
    /// Posting.
    pub posting: Sym,
    /// Competency.
    pub competency: Sym,
    /// The rating.
    pub rating: i8,
    /// Ratings in the panel (this one included).
    pub panel_n: i64,
    /// Their sum.
    pub panel_sum: i64,
    /// AI scores for the panel's candidate, posting and competency.
    pub ai_n: i64,
    /// Their sum in hundredths.
    pub ai_sum: i64,
}

/// What the panel reduce emits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PanelOut {
    /// The panel's row.
    Row(PanelRow),
    /// A rating with its context.
    Observation(Observation),
}

/// The row and the observations (with multiplicities) of one panel.
pub fn panel_group(
    key: &PanelKey,
    values: &[(&PanelValue, isize)],
) -> (Option<PanelRow>, Vec<(Observation, isize)>) {
    let (mut ai_n, mut ai_sum) = (0i64, 0i64);
    let mut ratings: Vec<(&Sym, i8, isize)> = Vec::new();
    for (value, count) in values {
        if *count <= 0 {
            continue;
        }
        match value {
            PanelValue::Ai { centi } => {
                ai_n += *count as i64;
                ai_sum += *count as i64 * i64::from(*centi);
            }
            PanelValue::Rating { reviewer, rating } => ratings.push((reviewer, *rating, *count)),
        }
    }
    panel_of(key, ai_n, ai_sum, &ratings)
}

/// The row and the observations of one panel from its AI scores' count and
/// sum (hundredths) and its ratings `(reviewer, rating, count)` with
/// positive counts.
///
/// ```
/// use panelflow::aggregates::panel::panel_of;
/// use panelflow::aggregates::records::Sym;
/// let (r1, r2) = (Sym::from("r1"), Sym::from("r2"));
/// let (row, obs) = panel_of(&("p".into(), "c".into(), "k".into()), 2, 600, &[(&r1, 2, 1), (&r2, 4, 1)]);
/// assert_eq!(row.unwrap().ai_score.unwrap().0, 3.0);
/// assert_eq!(obs[0].0.panel_sum, 6);
/// ```
pub fn panel_of(
    key: &PanelKey,
    ai_n: i64,
    ai_sum: i64,
    rated: &[(&Sym, i8, isize)],
) -> (Option<PanelRow>, Vec<(Observation, isize)>) {
    let (mut n, mut sum, mut sum_sq) = (0i64, 0i64, 0i64);
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    let mut ratings = Vec::new();
    for (reviewer, rating, count) in rated {
        let count = *count as i64;
        if count <= 0 {
            continue;
        }
        let r = i64::from(*rating);
        n += count;
        sum += count * r;
        sum_sq += count * r * r;
        lo = lo.min(r);
        hi = hi.max(r);
        for _ in 0..count {
            ratings.push((reviewer.as_str(), *rating));
        }
    }
    if n == 0 {
        return (None, Vec::new());
    }
    let (posting, candidate, competency) = key;
    // By reviewer name (ids are ordered by hash), then rating.
    ratings.sort_unstable();
    let ratings: Vec<String> = ratings.iter().map(|(r, v)| format!("{r}={v}")).collect();
    let mean = sum as f64 / n as f64;
    let ai_score = (ai_n > 0).then(|| ai_sum as f64 / (100 * ai_n) as f64);
    let row = PanelRow {
        posting: posting.clone(),
        candidate: candidate.clone(),
        competency: competency.clone(),
        panelists: n,
        ratings: ratings.join(";"),
        rating_mean: F64(mean),
        dispersion: (n >= 2)
            .then(|| F64(((n * sum_sq - sum * sum) as f64).max(0.0).sqrt() / n as f64)),
        rating_range: hi - lo,
        ai_score: ai_score.map(F64),
        ai_scores: ai_n,
        ai_minus_panel: ai_score.map(|a| F64(a - mean)),
    };
    let observations = rated
        .iter()
        .filter(|(_, _, c)| *c > 0)
        .map(|(reviewer, rating, count)| {
            (
                Observation {
                    reviewer: (*reviewer).clone(),
                    posting: posting.clone(),
                    competency: competency.clone(),
                    rating: *rating,
                    panel_n: n,
                    panel_sum: sum,
                    ai_n,
                    ai_sum,
                },
                *count,
            )
        })
        .collect();
    (Some(row), observations)
}

/// A panel as the dataflow keeps it: the AI scores as a count and a sum
/// (added to and taken from as scores come and go), the ratings as a
/// multiset. A panel nobody rated costs two additions per AI score.
#[derive(Debug, Default)]
pub struct PanelState {
    ai_n: i64,
    ai_sum: i64,
    ratings: std::collections::BTreeMap<(Sym, i8), isize>,
}

impl PanelState {
    /// Folds in one value with its difference.
    ///
    /// ```
    /// use panelflow::aggregates::panel::{PanelState, PanelValue};
    /// let mut p = PanelState::default();
    /// p.update(PanelValue::Ai { centi: 300 }, 1);
    /// p.update(PanelValue::Rating { reviewer: "r1".into(), rating: 4 }, 1);
    /// let mut out = Vec::new();
    /// assert!(!p.rows(&("p".into(), "c".into(), "k".into()), &mut out));
    /// assert_eq!(out.len(), 2); // the row and one observation
    /// ```
    pub fn update(&mut self, value: PanelValue, diff: isize) {
        match value {
            PanelValue::Ai { centi } => {
                self.ai_n += diff as i64;
                self.ai_sum += diff as i64 * i64::from(centi);
            }
            PanelValue::Rating { reviewer, rating } => {
                let key = (reviewer, rating);
                let e = self.ratings.entry(key.clone()).or_default();
                *e += diff;
                if *e == 0 {
                    self.ratings.remove(&key);
                }
            }
        }
    }

    /// Pushes the panel's row and observations; says whether it is empty.
    pub fn rows(&self, key: &PanelKey, out: &mut Vec<(PanelOut, isize)>) -> bool {
        if self.ratings.is_empty() {
            return self.ai_n == 0 && self.ai_sum == 0;
        }
        let rated: Vec<(&Sym, i8, isize)> =
            self.ratings.iter().map(|((r, v), n)| (r, *v, *n)).collect();
        let (row, observations) = panel_of(key, self.ai_n.max(0), self.ai_sum, &rated);
        if let Some(row) = row {
            out.push((PanelOut::Row(row), 1));
        }
        for (obs, count) in observations {
            out.push((PanelOut::Observation(obs), count));
        }
        false
    }
}

/// The `panel_view` operator.
pub trait PanelView<'scope, T: Time> {
    /// Panel rows and rating observations from the ratings and the AI scores.
    fn panel_view(
        self,
        scores: VecCollection<'scope, T, ScoreRow>,
    ) -> (
        VecCollection<'scope, T, PanelRow>,
        VecCollection<'scope, T, Observation>,
    );
}

impl<'scope, T: Time> PanelView<'scope, T> for VecCollection<'scope, T, RatingRecord> {
    fn panel_view(
        self,
        scores: VecCollection<'scope, T, ScoreRow>,
    ) -> (
        VecCollection<'scope, T, PanelRow>,
        VecCollection<'scope, T, Observation>,
    ) {
        let ratings = self.map(|r| {
            (
                (r.posting, r.candidate, r.competency),
                PanelValue::Rating {
                    reviewer: r.reviewer,
                    rating: r.rating,
                },
            )
        });
        let ai = scores.map(|s| {
            (
                (s.posting, s.candidate, s.competency),
                PanelValue::Ai { centi: s.centi },
            )
        });
        let mut out = ratings
            .concat(ai)
            .fold_total(
                "PanelView",
                |panel: &mut PanelState, value, diff: isize| panel.update(value, diff),
                |key, panel, out| panel.rows(key, out),
            )
            .inner
            .partition(2, |(o, t, d)| match o {
                PanelOut::Row(_) => (0, (o, t, d)),
                PanelOut::Observation(_) => (1, (o, t, d)),
            })
            .into_iter();
        let mut next = || out.next().expect("two partitions");
        let rows = next()
            .flat_map(|(o, t, d)| match o {
                PanelOut::Row(r) => Some((r, t, d)),
                PanelOut::Observation(_) => None,
            })
            .as_collection();
        let observations = next()
            .flat_map(|(o, t, d)| match o {
                PanelOut::Observation(obs) => Some((obs, t, d)),
                PanelOut::Row(_) => None,
            })
            .as_collection();
        (rows, observations)
    }
}
