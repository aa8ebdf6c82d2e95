//! `drift`: per model version, metric and week, the distribution of the AI's
//! outputs against a reference window — population stability index (PSI)
//! and the two-sample Kolmogorov–Smirnov statistic.
//!
//! Metrics: `score` (every competency score, 1–4), `sentiment` (−1–1) and
//! `transcription_confidence` (0–1) of each interview, all in hundredths.
//! The reference window of a model version and metric is its first
//! `reference_weeks` weeks with data. For every week:
//! - `psi = Σ (pᵢ − qᵢ) ln(pᵢ / qᵢ)` over 10 equal-width bins of the
//!   metric's range, `p` the week's shares and `q` the reference's, each
//!   floored at 0.0001 so empty bins stay finite; `psi_level` is `stable`
//!   (< 0.1), `moderate` (0.1–0.25) or `major` (≥ 0.25), `flagged` when not
//!   stable;
//! - `ks = max |F_week(x) − F_ref(x)|` over the values (exact on the
//!   hundredths grid); `ks_critical = 1.358 √((n + m)/(n m))` (α = 0.05) and
//!   `ks_significant = ks > ks_critical`.
//!
//! One `reduce_total` ([`super::reduce_total`]) per model version and metric over the distinct
//! `(week, value)` pairs: its cost follows weeks × distinct values, not
//! the number of scores.
//!
//! ```
//! use panelflow::aggregates::drift::{drift_rows, Metric};
//! // Week 0 (reference) centred on 2.5, week 7 shifted to 3.5.
//! let values = vec![((0, 240), 50), ((0, 260), 50), ((7, 340), 50), ((7, 360), 50)];
//! let refs: Vec<_> = values.iter().map(|(v, n)| (v, *n)).collect();
//! let rows = drift_rows(&"m@1".into(), Metric::Score, &refs, 1);
//! assert_eq!(rows.len(), 2);
//! assert_eq!(rows[0].psi.0, 0.0);
//! assert_eq!(rows[1].psi_level.as_str(), "major");
//! assert_eq!(rows[1].ks.0, 1.0);
//! ```

use std::collections::BTreeMap;

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use super::combine::CombineLocal;
use super::records::{week_start, ScoreRow, SignalRow, Sym, F64};
use super::reduce_total::ReduceTotal;
use super::time::Time;
use panelflow_connectors::parquet::aggregates::{ColType, Column, RowSink, TableRow};

/// PSI below this is stable.
pub const PSI_MODERATE: f64 = 0.1;
/// PSI from this on is a major shift.
pub const PSI_MAJOR: f64 = 0.25;
/// Bins of the PSI.
pub const PSI_BINS: usize = 10;
/// Floor of a bin's share in the PSI.
pub const PSI_FLOOR: f64 = 1e-4;
/// The KS critical coefficient at α = 0.05.
pub const KS_C_ALPHA: f64 = 1.358;

/// A monitored output of the models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Metric {
    /// Competency scores.
    Score,
    /// Interview sentiment.
    Sentiment,
    /// Interview transcription confidence.
    TranscriptionConfidence,
}

impl Metric {
    /// All metrics.
    pub const ALL: [Metric; 3] = [
        Metric::Score,
        Metric::Sentiment,
        Metric::TranscriptionConfidence,
    ];

    /// `score`, `sentiment` or `transcription_confidence`.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Score => "score",
            Metric::Sentiment => "sentiment",
            Metric::TranscriptionConfidence => "transcription_confidence",
        }
    }

    /// The metric's range in hundredths.
    pub fn range(self) -> (i32, i32) {
        match self {
            Metric::Score => (100, 400),
            Metric::Sentiment => (-100, 100),
            Metric::TranscriptionConfidence => (0, 100),
        }
    }

    /// The PSI bin of a value (hundredths).
    pub fn bin(self, centi: i32) -> usize {
        let (lo, hi) = self.range();
        let b = (i64::from(centi - lo) * PSI_BINS as i64) / i64::from(hi - lo);
        b.clamp(0, PSI_BINS as i64 - 1) as usize
    }
}

/// How far a distribution moved, by its PSI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PsiLevel {
    /// PSI < 0.1.
    Stable,
    /// 0.1 ≤ PSI < 0.25.
    Moderate,
    /// PSI ≥ 0.25.
    Major,
}

impl PsiLevel {
    /// The level of a PSI.
    pub fn of(psi: f64) -> Self {
        if psi >= PSI_MAJOR {
            PsiLevel::Major
        } else if psi >= PSI_MODERATE {
            PsiLevel::Moderate
        } else {
            PsiLevel::Stable
        }
    }
    /// `stable`, `moderate` or `major`.
    pub fn as_str(self) -> &'static str {
        match self {
            PsiLevel::Stable => "stable",
            PsiLevel::Moderate => "moderate",
            PsiLevel::Major => "major",
        }
    }
}

/// One row of the `drift` table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DriftRow {
    /// Model version.
    pub model: Sym,
    /// Metric.
    pub metric: Metric,
    /// Monday of the week, days since the epoch.
    pub week: i32,
    /// Values in the week.
    pub n: i64,
    /// Their mean.
    pub mean: F64,
    /// First week of the reference window.
    pub reference_start: i32,
    /// Last week of the reference window.
    pub reference_end: i32,
    /// Values in the reference window.
    pub reference_n: i64,
    /// Whether the week is part of the reference window.
    pub in_reference: bool,
    /// Population stability index against the reference.
    pub psi: F64,
    /// `stable`, `moderate` or `major`.
    pub psi_level: PsiLevel,
    /// PSI not stable.
    pub flagged: bool,
    /// Two-sample KS statistic against the reference.
    pub ks: F64,
    /// KS critical value at α = 0.05.
    pub ks_critical: F64,
    /// `ks > ks_critical`.
    pub ks_significant: bool,
}

impl TableRow for DriftRow {
    const TABLE: &'static str = "drift";
    const KEY: &'static [&'static str] = &["model_version", "metric", "week_start"];
    fn columns() -> Vec<Column> {
        use ColType::*;
        vec![
            Column::new("model_version", Utf8, false),
            Column::new("metric", Utf8, false),
            Column::new("week_start", Utf8, false),
            Column::new("n", Int64, false),
            Column::new("mean", Float64, false),
            Column::new("reference_start", Utf8, false),
            Column::new("reference_end", Utf8, false),
            Column::new("reference_n", Int64, false),
            Column::new("in_reference", Boolean, false),
            Column::new("psi", Float64, false),
            Column::new("psi_level", Utf8, false),
            Column::new("flagged", Boolean, false),
            Column::new("ks", Float64, false),
            Column::new("ks_critical", Float64, false),
            Column::new("ks_significant", Boolean, false),
        ]
    }
    fn write<S: RowSink>(&self, out: &mut S) {
        out.str(&self.model);
        out.str(self.metric.as_str());
        out.str(&week_start(self.week));
        out.i64(self.n);
        out.f64(self.mean.0);
        out.str(&week_start(self.reference_start));
        out.str(&week_start(self.reference_end));
        out.i64(self.reference_n);
        out.bool(self.in_reference);
        out.f64(self.psi.0);
        out.str(self.psi_level.as_str());
        out.bool(self.flagged);
        out.f64(self.ks.0);
        out.f64(self.ks_critical.0);
        out.bool(self.ks_significant);
    }
}

/// PSI of two histograms over the same bins.
pub fn psi(current: &[i64; PSI_BINS], reference: &[i64; PSI_BINS]) -> f64 {
    let (n, m) = (
        current.iter().sum::<i64>() as f64,
        reference.iter().sum::<i64>() as f64,
    );
    let mut total = 0.0;
    for (c, r) in current.iter().zip(reference) {
        let p = (*c as f64 / n).max(PSI_FLOOR);
        let q = (*r as f64 / m).max(PSI_FLOOR);
        total += (p - q) * (p / q).ln();
    }
    total
}

/// Two-sample KS statistic of two value → count maps.
pub fn ks(current: &BTreeMap<i32, i64>, reference: &BTreeMap<i32, i64>) -> f64 {
    let (n, m) = (
        current.values().sum::<i64>(),
        reference.values().sum::<i64>(),
    );
    if n == 0 || m == 0 {
        return 0.0;
    }
    let mut xs: Vec<i32> = current.keys().chain(reference.keys()).copied().collect();
    xs.sort_unstable();
    xs.dedup();
    let (mut a, mut b, mut best) = (0i64, 0i64, 0.0f64);
    for x in xs {
        a += current.get(&x).copied().unwrap_or(0);
        b += reference.get(&x).copied().unwrap_or(0);
        best = best.max((a as f64 / n as f64 - b as f64 / m as f64).abs());
    }
    best
}

/// The drift rows of one model version and metric from its `(week, value)`
/// pairs with counts (counts that are not positive are ignored), by week.
pub fn drift_rows(
    model: &Sym,
    metric: Metric,
    values: &[(&(i32, i32), isize)],
    reference_weeks: usize,
) -> Vec<DriftRow> {
    let mut weeks: BTreeMap<i32, BTreeMap<i32, i64>> = BTreeMap::new();
    for ((week, value), count) in values {
        if *count > 0 {
            *weeks.entry(*week).or_default().entry(*value).or_default() += *count as i64;
        }
    }
    let reference_set: Vec<i32> = weeks.keys().take(reference_weeks.max(1)).copied().collect();
    let (Some(&ref_start), Some(&ref_end)) = (reference_set.first(), reference_set.last()) else {
        return Vec::new();
    };
    let mut reference: BTreeMap<i32, i64> = BTreeMap::new();
    for w in &reference_set {
        for (v, c) in &weeks[w] {
            *reference.entry(*v).or_default() += c;
        }
    }
    let hist = |values: &BTreeMap<i32, i64>| {
        let mut h = [0i64; PSI_BINS];
        for (v, c) in values {
            h[metric.bin(*v)] += c;
        }
        h
    };
    let ref_hist = hist(&reference);
    let m: i64 = reference.values().sum();
    weeks
        .iter()
        .map(|(week, values)| {
            let n: i64 = values.values().sum();
            let sum: i64 = values.iter().map(|(v, c)| i64::from(*v) * c).sum();
            let p = psi(&hist(values), &ref_hist);
            let k = ks(values, &reference);
            let critical = KS_C_ALPHA * (((n + m) as f64) / ((n * m) as f64)).sqrt();
            let level = PsiLevel::of(p);
            DriftRow {
                model: model.clone(),
                metric,
                week: *week,
                n,
                mean: F64(sum as f64 / (100 * n) as f64),
                reference_start: ref_start,
                reference_end: ref_end,
                reference_n: m,
                in_reference: reference_set.contains(week),
                psi: F64(p),
                psi_level: level,
                flagged: level != PsiLevel::Stable,
                ks: F64(k),
                ks_critical: F64(critical),
                ks_significant: k > critical,
            }
        })
        .collect()
}

/// The `(model, metric)` keyed values of score rows and signals.
pub fn drift_values(row: &ScoreRow) -> ((Sym, Metric), (i32, i32)) {
    ((row.model.clone(), Metric::Score), (row.week, row.centi))
}

/// The `(model, metric)` keyed values of an interview's signals.
pub fn signal_values(s: &SignalRow) -> Vec<((Sym, Metric), (i32, i32))> {
    let mut out = Vec::with_capacity(2);
    if let Some(v) = s.sentiment {
        out.push(((s.model.clone(), Metric::Sentiment), (s.week, v)));
    }
    if let Some(v) = s.transcription_confidence {
        out.push((
            (s.model.clone(), Metric::TranscriptionConfidence),
            (s.week, v),
        ));
    }
    out
}

/// The `drift` operator.
pub trait Drift<'scope, T: Time> {
    /// Drift rows per model version, metric and week from the competency
    /// scores and the interviews' signals.
    fn drift(
        self,
        signals: VecCollection<'scope, T, SignalRow>,
        reference_weeks: usize,
    ) -> VecCollection<'scope, T, DriftRow>;
}

impl<'scope, T: Time> Drift<'scope, T> for VecCollection<'scope, T, ScoreRow> {
    fn drift(
        self,
        signals: VecCollection<'scope, T, SignalRow>,
        reference_weeks: usize,
    ) -> VecCollection<'scope, T, DriftRow> {
        // Each worker adds up its updates per (model, metric, week, value)
        // first: a few keys carry every score, so their owner would
        // otherwise see every update.
        self.map(|r| drift_values(&r))
            .concat(signals.flat_map(|s| signal_values(&s)))
            .combine_local("DriftCombine")
            .reduce_total("Drift", move |(model, metric), input, output| {
                for row in drift_rows(model, *metric, input, reference_weeks) {
                    output.push((row, 1isize));
                }
            })
    }
}
