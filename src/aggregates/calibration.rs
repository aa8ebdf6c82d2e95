//! `reviewer_calibration`: how each reviewer rates, overall, per posting and
//! per competency — count, mean and spread of their ratings, leniency
//! against the rest of the panel, agreement with the panel and with the AI,
//! and the share of extreme ratings.
//!
//! From each [`Observation`] (a rating `r` in a panel of `n` ratings summing
//! to `S`, whose candidate has `a` AI scores summing to `A` hundredths):
//! - *co-rated* when `n ≥ 2`: `offset = r − mean of the others
//!   = (r n − S)/(n − 1)`; it *agrees with the panel* when `|offset| ≤ 0.5`;
//! - *AI-compared* when `a ≥ 1`: `ai_offset = r − A/(100 a)`; it *agrees
//!   with the AI* when `|ai_offset| ≤ 0.5`;
//! - *extreme* when `r` is 1 or 4.
//!
//! Per reviewer and scope (`all`, `posting`, `competency`): `ratings`,
//! `mean`, `std` (population), `extreme_share`, `co_rated`, `leniency` (mean
//! offset; positive = more lenient than their panels), `agreement_panel`,
//! `ai_compared`, `ai_offset` (mean), `agreement_ai`. Figures over no
//! observation are null.
//!
//! The sums travel as the differences of the collection ([`Moments`], an
//! abelian group): a new or retracted rating changes its reviewer's rows in
//! constant time, whatever their history.
//!
//! ```
//! use panelflow::aggregates::calibration::{Moments, calibration_row, ReviewerScope};
//! use panelflow::aggregates::panel::Observation;
//! let obs = |rating, panel_sum| Observation { reviewer: "r1".into(), posting: "p".into(), competency: "k".into(),
//!     rating, panel_n: 2, panel_sum, ai_n: 1, ai_sum: 300 };
//! let m = Moments::of(&obs(4, 7)).plus(&Moments::of(&obs(2, 5)));
//! let row = calibration_row(&"r1".into(), &ReviewerScope::All, &m).unwrap();
//! assert_eq!(row.ratings, 2);
//! assert_eq!(row.leniency.unwrap().0, 0.0);        // +1 and −1
//! assert_eq!(row.extreme_share.0, 0.5);
//! assert_eq!(row.agreement_ai.unwrap().0, 0.0);    // 4 and 2 are 1 away from 3
//! ```

use differential_dataflow::difference::{IsZero, Monoid, Multiply, Semigroup};
use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use super::panel::Observation;
use super::records::{Sym, F64};
use super::reduce_total::ReduceTotal;
use super::time::Time;
use panelflow_connectors::parquet::aggregates::{ColType, Column, RowSink, TableRow};

/// Sums over a reviewer's observations, used as a difference type.
///
/// Integer fields add exactly; the two offset sums are floats (their terms
/// are fractions with varying denominators) and carry rounding error of the
/// order of 1e-16 per term.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Moments {
    /// Ratings.
    pub n: i64,
    /// Sum of ratings.
    pub sum: i64,
    /// Sum of squared ratings.
    pub sum_sq: i64,
    /// Ratings of 1 or 4.
    pub extreme: i64,
    /// Co-rated ratings (panel of two or more).
    pub co_rated: i64,
    /// Sum of offsets from the other panelists.
    pub offset_sum: f64,
    /// Co-rated ratings within 0.5 of the others' mean.
    pub agree_panel: i64,
    /// Ratings with an AI score.
    pub ai_compared: i64,
    /// Sum of offsets from the AI score.
    pub ai_offset_sum: f64,
    /// AI-compared ratings within 0.5 of the AI score.
    pub agree_ai: i64,
}

impl Moments {
    /// The sums of one observation.
    pub fn of(o: &Observation) -> Self {
        let r = i64::from(o.rating);
        let mut m = Moments {
            n: 1,
            sum: r,
            sum_sq: r * r,
            extreme: i64::from(r == 1 || r == 4),
            ..Default::default()
        };
        if o.panel_n >= 2 {
            let num = r * o.panel_n - o.panel_sum;
            m.co_rated = 1;
            m.offset_sum = num as f64 / (o.panel_n - 1) as f64;
            m.agree_panel = i64::from(2 * num.abs() < o.panel_n);
        }
        if o.ai_n >= 1 {
            let num = 100 * o.ai_n * r - o.ai_sum;
            m.ai_compared = 1;
            m.ai_offset_sum = num as f64 / (100 * o.ai_n) as f64;
            m.agree_ai = i64::from(2 * num.abs() <= 100 * o.ai_n);
        }
        m
    }

    /// `self + other`.
    pub fn plus(mut self, other: &Self) -> Self {
        self.plus_equals(other);
        self
    }

    fn ints(&self) -> [i64; 8] {
        [
            self.n,
            self.sum,
            self.sum_sq,
            self.extreme,
            self.co_rated,
            self.agree_panel,
            self.ai_compared,
            self.agree_ai,
        ]
    }
}

impl PartialEq for Moments {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Moments {}
impl PartialOrd for Moments {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Moments {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ints()
            .cmp(&other.ints())
            .then(self.offset_sum.total_cmp(&other.offset_sum))
            .then(self.ai_offset_sum.total_cmp(&other.ai_offset_sum))
    }
}

impl IsZero for Moments {
    /// Zero when every field is: a change whose counts cancel but whose
    /// offsets moved (a rating whose panel or AI score changed) is not zero.
    /// Rounding can leave a residue of ~1e-16 in the offset sums once every
    /// observation is retracted; such a value has `n == 0` and yields no row.
    fn is_zero(&self) -> bool {
        self.ints().iter().all(|v| *v == 0) && self.offset_sum == 0.0 && self.ai_offset_sum == 0.0
    }
}

impl Semigroup for Moments {
    fn plus_equals(&mut self, rhs: &Self) {
        self.n += rhs.n;
        self.sum += rhs.sum;
        self.sum_sq += rhs.sum_sq;
        self.extreme += rhs.extreme;
        self.co_rated += rhs.co_rated;
        self.offset_sum += rhs.offset_sum;
        self.agree_panel += rhs.agree_panel;
        self.ai_compared += rhs.ai_compared;
        self.ai_offset_sum += rhs.ai_offset_sum;
        self.agree_ai += rhs.agree_ai;
    }
}

impl Monoid for Moments {
    fn zero() -> Self {
        Self::default()
    }
}

impl differential_dataflow::difference::Abelian for Moments {
    fn negate(&mut self) {
        *self = self.scaled(-1);
    }
}

impl Moments {
    fn scaled(&self, k: i64) -> Self {
        Moments {
            n: self.n * k,
            sum: self.sum * k,
            sum_sq: self.sum_sq * k,
            extreme: self.extreme * k,
            co_rated: self.co_rated * k,
            offset_sum: self.offset_sum * k as f64,
            agree_panel: self.agree_panel * k,
            ai_compared: self.ai_compared * k,
            ai_offset_sum: self.ai_offset_sum * k as f64,
            agree_ai: self.agree_ai * k,
        }
    }
}

impl Multiply<isize> for Moments {
    type Output = Moments;
    fn multiply(self, rhs: &isize) -> Moments {
        self.scaled(*rhs as i64)
    }
}

/// The slice of a reviewer's ratings a row describes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReviewerScope {
    /// All their ratings.
    All,
    /// Their ratings for one posting.
    Posting(Sym),
    /// Their ratings of one competency.
    Competency(Sym),
}

impl ReviewerScope {
    /// `all`, `posting` or `competency`.
    pub fn kind(&self) -> &'static str {
        match self {
            ReviewerScope::All => "all",
            ReviewerScope::Posting(_) => "posting",
            ReviewerScope::Competency(_) => "competency",
        }
    }
    /// `all`, or the posting or competency.
    pub fn id(&self) -> &str {
        match self {
            ReviewerScope::All => "all",
            ReviewerScope::Posting(s) | ReviewerScope::Competency(s) => s,
        }
    }
}

/// One row of the `reviewer_calibration` table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CalibrationRow {
    /// Reviewer.
    pub reviewer: Sym,
    /// Scope.
    pub scope: ReviewerScope,
    /// Ratings.
    pub ratings: i64,
    /// Mean rating.
    pub mean: F64,
    /// Population standard deviation of the ratings.
    pub std: F64,
    /// Share of ratings of 1 or 4.
    pub extreme_share: F64,
    /// Ratings in panels of two or more.
    pub co_rated: i64,
    /// Mean offset from the rest of the panel.
    pub leniency: Option<F64>,
    /// Share of co-rated ratings within 0.5 of the rest of the panel.
    pub agreement_panel: Option<F64>,
    /// Ratings with an AI score to compare with.
    pub ai_compared: i64,
    /// Mean offset from the AI score.
    pub ai_offset: Option<F64>,
    /// Share of AI-compared ratings within 0.5 of the AI score.
    pub agreement_ai: Option<F64>,
}

impl TableRow for CalibrationRow {
    const TABLE: &'static str = "reviewer_calibration";
    const KEY: &'static [&'static str] = &["reviewer_id", "scope_kind", "scope"];
    fn columns() -> Vec<Column> {
        use ColType::*;
        vec![
            Column::new("reviewer_id", Utf8, false),
            Column::new("scope_kind", Utf8, false),
            Column::new("scope", Utf8, false),
            Column::new("ratings", Int64, false),
            Column::new("mean", Float64, false),
            Column::new("std", Float64, false),
            Column::new("extreme_share", Float64, false),
            Column::new("co_rated", Int64, false),
            Column::new("leniency", Float64, true),
            Column::new("agreement_panel", Float64, true),
            Column::new("ai_compared", Int64, false),
            Column::new("ai_offset", Float64, true),
            Column::new("agreement_ai", Float64, true),
        ]
    }
    fn write<S: RowSink>(&self, out: &mut S) {
        out.str(&self.reviewer);
        out.str(self.scope.kind());
        out.str(self.scope.id());
        out.i64(self.ratings);
        out.f64(self.mean.0);
        out.f64(self.std.0);
        out.f64(self.extreme_share.0);
        out.i64(self.co_rated);
        out.opt_f64(self.leniency.map(|v| v.0));
        out.opt_f64(self.agreement_panel.map(|v| v.0));
        out.i64(self.ai_compared);
        out.opt_f64(self.ai_offset.map(|v| v.0));
        out.opt_f64(self.agreement_ai.map(|v| v.0));
    }
}

/// The row of a reviewer and scope from its sums (`None` when empty).
pub fn calibration_row(
    reviewer: &Sym,
    scope: &ReviewerScope,
    m: &Moments,
) -> Option<CalibrationRow> {
    if m.n <= 0 {
        return None;
    }
    let n = m.n as f64;
    let ratio = |num: i64, den: i64| (den > 0).then(|| F64(num as f64 / den as f64));
    let mean_of = |sum: f64, den: i64| (den > 0).then(|| F64(sum / den as f64));
    Some(CalibrationRow {
        reviewer: reviewer.clone(),
        scope: scope.clone(),
        ratings: m.n,
        mean: F64(m.sum as f64 / n),
        std: F64(((m.n * m.sum_sq - m.sum * m.sum) as f64).max(0.0).sqrt() / n),
        extreme_share: F64(m.extreme as f64 / n),
        co_rated: m.co_rated,
        leniency: mean_of(m.offset_sum, m.co_rated),
        agreement_panel: ratio(m.agree_panel, m.co_rated),
        ai_compared: m.ai_compared,
        ai_offset: mean_of(m.ai_offset_sum, m.ai_compared),
        agreement_ai: ratio(m.agree_ai, m.ai_compared),
    })
}

/// The scopes an observation counts in.
pub fn scopes_of(o: &Observation) -> [ReviewerScope; 3] {
    [
        ReviewerScope::All,
        ReviewerScope::Posting(o.posting.clone()),
        ReviewerScope::Competency(o.competency.clone()),
    ]
}

/// The `reviewer_calibration` operator.
pub trait ReviewerCalibration<'scope, T: Time> {
    /// Calibration rows per reviewer and scope from the rating observations.
    fn reviewer_calibration(self) -> VecCollection<'scope, T, CalibrationRow>;
}

impl<'scope, T: Time> ReviewerCalibration<'scope, T> for VecCollection<'scope, T, Observation> {
    fn reviewer_calibration(self) -> VecCollection<'scope, T, CalibrationRow> {
        self.explode(|o| {
            let m = Moments::of(&o);
            scopes_of(&o).map(|s| ((o.reviewer.clone(), s), m))
        })
        .map(|key| (key, ()))
        .reduce_total("ReviewerCalibration", |(reviewer, scope), input, output| {
            if let Some((_, m)) = input.first() {
                if let Some(row) = calibration_row(reviewer, scope, m) {
                    output.push((row, 1isize));
                }
            }
        })
    }
}
