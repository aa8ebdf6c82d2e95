//! `bias_audit`: selection and scoring rates per category and per
//! intersection, impact ratios against the highest category, and the
//! four-fifths flag (EEOC), after NYC Local Law 144's bias audit.
//!
//! For each scope (see [`super::candidates::Scope`]) and dimension (`sex`,
//! `race_ethnicity`, `intersection` = `"sex / race_ethnicity"`):
//! - the *sample* is every candidate assessed in the scope, unknown category
//!   included; its median score is `quantile_cont(score, 0.5)` (the mean of
//!   the two middle scores when the sample is even);
//! - per known category: `assessed`, `selected`, `selection_rate =
//!   selected / assessed`, `scored_above` (score strictly above the sample's
//!   median), `scoring_rate = scored_above / assessed`;
//! - `share` = assessed ÷ candidates of known category; a category with a
//!   share under `small_share` (2 %) is `small_category`: reported, but not
//!   used as the reference and never flagged;
//! - `impact_ratio_* = rate / highest rate` among the categories that are not
//!   small (among all when every one is small); null when that rate is 0;
//! - `flagged_selection` / `flagged_scoring`: impact ratio below
//!   `impact_threshold` (0.8), `flagged` either of them;
//! - `unknown_excluded`: candidates of the sample left out as unknown.
//!
//! One [`ScopeAudit`] per scope (all three dimensions at once), folded by
//! [`super::reduce_total`] as candidates' facts change: a change costs a few
//! map updates, and each time a scope changes its rows are rebuilt from
//! counts kept per category — work that follows the scope's distinct scores
//! and categories, not its candidates. [`audit_group`] computes the same rows
//! from all values at once (the from-scratch reference).
//!
//! ```
//! use panelflow::aggregates::bias::{audit_group, BiasConfig, Dimension};
//! use panelflow::aggregates::candidates::Scope;
//! use panelflow::aggregates::records::{Sym, F64};
//! let (a, b) = (Some(Sym::from("a")), Some(Sym::from("b")));
//! // a: 10 assessed, 5 selected; b: 10 assessed, 2 selected.
//! let values = vec![
//!     ((a.clone(), F64(3.0), true), 5), ((a.clone(), F64(2.0), false), 5),
//!     ((b.clone(), F64(3.0), true), 2), ((b.clone(), F64(2.0), false), 8),
//!     ((None, F64(2.5), false), 3),
//! ];
//! let refs: Vec<_> = values.iter().map(|(v, n)| (v, *n)).collect();
//! let rows = audit_group(&Scope::Overall, Dimension::Sex, &refs, BiasConfig::default());
//! assert_eq!(rows.len(), 2);
//! assert_eq!(rows[1].impact_ratio_selection.unwrap().0, 0.4);
//! assert!(rows[1].flagged && !rows[0].flagged);
//! assert_eq!(rows[0].unknown_excluded, 3);
//! ```

use std::collections::BTreeMap;
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use super::candidates::{CandidateFact, Scope};
use super::records::{IdMap, Sym, F64};
use super::reduce_total::ReduceTotal;
use super::time::Time;
use panelflow_connectors::parquet::aggregates::{ColType, Column, RowSink, TableRow};

/// A protected characteristic, or the intersection of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Dimension {
    /// Sex.
    Sex,
    /// Race/ethnicity.
    RaceEthnicity,
    /// Sex × race/ethnicity.
    Intersection,
}

impl Dimension {
    /// All dimensions.
    pub const ALL: [Dimension; 3] = [
        Dimension::Sex,
        Dimension::RaceEthnicity,
        Dimension::Intersection,
    ];

    /// `sex`, `race_ethnicity` or `intersection`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Sex => "sex",
            Dimension::RaceEthnicity => "race_ethnicity",
            Dimension::Intersection => "intersection",
        }
    }

    /// The candidate's category in this dimension (`None`: unknown).
    pub fn category(self, sex: Option<&Sym>, race: Option<&Sym>) -> Option<Sym> {
        match self {
            Dimension::Sex => sex.cloned(),
            Dimension::RaceEthnicity => race.cloned(),
            Dimension::Intersection => match (sex, race) {
                (Some(s), Some(r)) => Some(Sym::from(format!("{s} / {r}"))),
                _ => None,
            },
        }
    }
}

/// Thresholds of the audit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BiasConfig {
    /// Impact ratios below this are flagged (the four-fifths rule: 0.8).
    pub impact_threshold: f64,
    /// Categories with a smaller share of the known sample are marked small (0.02).
    pub small_share: f64,
}

impl Default for BiasConfig {
    fn default() -> Self {
        Self {
            impact_threshold: 0.8,
            small_share: 0.02,
        }
    }
}

/// One row of the `bias_audit` table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BiasRow {
    /// Scope.
    pub scope: Scope,
    /// Dimension.
    pub dimension: Dimension,
    /// Category.
    pub category: Sym,
    /// Candidates of the category assessed in the scope.
    pub assessed: i64,
    /// Of them, selected.
    pub selected: i64,
    /// `selected / assessed`.
    pub selection_rate: F64,
    /// Of them, scoring above the sample's median.
    pub scored_above: i64,
    /// `scored_above / assessed`.
    pub scoring_rate: F64,
    /// Selection rate ÷ highest selection rate.
    pub impact_ratio_selection: Option<F64>,
    /// Scoring rate ÷ highest scoring rate.
    pub impact_ratio_scoring: Option<F64>,
    /// Either impact ratio below the threshold.
    pub flagged: bool,
    /// Selection impact ratio below the threshold.
    pub flagged_selection: bool,
    /// Scoring impact ratio below the threshold.
    pub flagged_scoring: bool,
    /// Candidates of the sample of unknown category in this dimension.
    pub unknown_excluded: i64,
    /// Share of the candidates of known category.
    pub share: F64,
    /// Share under the small-category threshold.
    pub small_category: bool,
    /// Candidates in the sample (unknown included).
    pub sample_size: i64,
    /// The sample's median score.
    pub median_score: F64,
}

impl TableRow for BiasRow {
    const TABLE: &'static str = "bias_audit";
    const KEY: &'static [&'static str] = &["scope_kind", "scope", "dimension", "category"];
    fn columns() -> Vec<Column> {
        use ColType::*;
        vec![
            Column::new("scope_kind", Utf8, false),
            Column::new("scope", Utf8, false),
            Column::new("dimension", Utf8, false),
            Column::new("category", Utf8, false),
            Column::new("assessed", Int64, false),
            Column::new("selected", Int64, false),
            Column::new("selection_rate", Float64, false),
            Column::new("scored_above", Int64, false),
            Column::new("scoring_rate", Float64, false),
            Column::new("impact_ratio_selection", Float64, true),
            Column::new("impact_ratio_scoring", Float64, true),
            Column::new("flagged", Boolean, false),
            Column::new("flagged_selection", Boolean, false),
            Column::new("flagged_scoring", Boolean, false),
            Column::new("unknown_excluded", Int64, false),
            Column::new("share", Float64, false),
            Column::new("small_category", Boolean, false),
            Column::new("sample_size", Int64, false),
            Column::new("median_score", Float64, false),
        ]
    }
    fn write<S: RowSink>(&self, out: &mut S) {
        out.str(self.scope.kind());
        out.str(self.scope.id());
        out.str(self.dimension.as_str());
        out.str(&self.category);
        out.i64(self.assessed);
        out.i64(self.selected);
        out.f64(self.selection_rate.0);
        out.i64(self.scored_above);
        out.f64(self.scoring_rate.0);
        out.opt_f64(self.impact_ratio_selection.map(|v| v.0));
        out.opt_f64(self.impact_ratio_scoring.map(|v| v.0));
        out.bool(self.flagged);
        out.bool(self.flagged_selection);
        out.bool(self.flagged_scoring);
        out.i64(self.unknown_excluded);
        out.f64(self.share.0);
        out.bool(self.small_category);
        out.i64(self.sample_size);
        out.f64(self.median_score.0);
    }
}

/// A candidate as [`audit_group`] sees it: category, score, selected.
pub type AuditValue = (Option<Sym>, F64, bool);

/// `quantile_cont(x, 0.5)` of `(value, count)` pairs sorted by value.
pub fn median(sorted: &[(f64, i64)]) -> Option<f64> {
    let n: i64 = sorted.iter().map(|(_, c)| c).sum();
    if n <= 0 {
        return None;
    }
    let kth = |k: i64| -> f64 {
        let mut seen = 0;
        for (v, c) in sorted {
            seen += c;
            if seen > k {
                return *v;
            }
        }
        sorted.last().map_or(0.0, |(v, _)| *v)
    };
    if n % 2 == 1 {
        Some(kth((n - 1) / 2))
    } else {
        let (lo, hi) = (kth(n / 2 - 1), kth(n / 2));
        Some(lo + (hi - lo) * 0.5)
    }
}

/// The counts of one category in one scope and dimension.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Candidates assessed.
    pub assessed: i64,
    /// Of them, selected.
    pub selected: i64,
    /// Of them, scoring strictly above the sample's median.
    pub above: i64,
}

/// The audit rows of one scope and dimension from its categories' tallies
/// (in category order), the unknown count, the sample size and median.
/// Shared by [`audit_group`] (from all values) and [`ScopeAudit`]
/// (maintained incrementally), so both compute every figure alike.
pub fn rows_of_tallies(
    scope: &Scope,
    dimension: Dimension,
    tallies: &[(&Sym, Tally)],
    unknown: i64,
    sample: i64,
    median: f64,
    cfg: BiasConfig,
) -> Vec<BiasRow> {
    let known: i64 = tallies.iter().map(|(_, t)| t.assessed).sum();
    if known == 0 {
        return Vec::new();
    }
    let rate = |num: i64, den: i64| num as f64 / den as f64;
    let small = |t: &Tally| rate(t.assessed, known) < cfg.small_share;
    let any_large = tallies.iter().any(|(_, t)| !small(t));
    let reference = |f: &dyn Fn(&Tally) -> f64| {
        tallies
            .iter()
            .map(|(_, t)| t)
            .filter(|t| !any_large || !small(t))
            .map(f)
            .fold(0.0f64, f64::max)
    };
    let best_selection = reference(&|t: &Tally| rate(t.selected, t.assessed));
    let best_scoring = reference(&|t: &Tally| rate(t.above, t.assessed));
    let ratio = |r: f64, best: f64| {
        if best > 0.0 {
            Some(F64(r / best))
        } else {
            None
        }
    };
    tallies
        .iter()
        .map(|(category, t)| {
            let selection_rate = rate(t.selected, t.assessed);
            let scoring_rate = rate(t.above, t.assessed);
            let ir_sel = ratio(selection_rate, best_selection);
            let ir_score = ratio(scoring_rate, best_scoring);
            let is_small = small(t);
            let below =
                |ir: Option<F64>| !is_small && ir.is_some_and(|v| v.0 < cfg.impact_threshold);
            let (flagged_selection, flagged_scoring) = (below(ir_sel), below(ir_score));
            BiasRow {
                scope: scope.clone(),
                dimension,
                category: (*category).clone(),
                assessed: t.assessed,
                selected: t.selected,
                selection_rate: F64(selection_rate),
                scored_above: t.above,
                scoring_rate: F64(scoring_rate),
                impact_ratio_selection: ir_sel,
                impact_ratio_scoring: ir_score,
                flagged: flagged_selection || flagged_scoring,
                flagged_selection,
                flagged_scoring,
                unknown_excluded: unknown,
                share: F64(rate(t.assessed, known)),
                small_category: is_small,
                sample_size: sample,
                median_score: F64(median),
            }
        })
        .collect()
}

/// The audit rows of one scope and dimension from its values (with counts;
/// counts that are not positive are ignored). Rows come sorted by category.
pub fn audit_group(
    scope: &Scope,
    dimension: Dimension,
    values: &[(&AuditValue, isize)],
    cfg: BiasConfig,
) -> Vec<BiasRow> {
    let mut scores: Vec<(f64, i64)> = values
        .iter()
        .filter(|(_, c)| *c > 0)
        .map(|((_, s, _), c)| (s.0, *c as i64))
        .collect();
    scores.sort_by(|a, b| a.0.total_cmp(&b.0));
    let Some(median) = median(&scores) else {
        return Vec::new();
    };
    let sample: i64 = scores.iter().map(|(_, c)| c).sum();

    let mut tallies: BTreeMap<&Sym, Tally> = BTreeMap::new();
    let mut unknown = 0i64;
    for ((category, score, selected), count) in values {
        let count = *count as i64;
        if count <= 0 {
            continue;
        }
        let Some(category) = category else {
            unknown += count;
            continue;
        };
        let t = tallies.entry(category).or_default();
        t.assessed += count;
        if *selected {
            t.selected += count;
        }
        if score.0 > median {
            t.above += count;
        }
    }
    let tallies: Vec<(&Sym, Tally)> = tallies.into_iter().collect();
    rows_of_tallies(scope, dimension, &tallies, unknown, sample, median, cfg)
}

/// The candidates of one score in a scope: all of them, and per dimension
/// and category (by index into [`DimensionAudit::categories`]).
#[derive(Debug, Default)]
struct ScoreCounts {
    total: i64,
    by_category: Vec<(u8, u16, i64)>,
}

#[derive(Debug, Default)]
struct DimensionAudit {
    unknown: i64,
    /// Categories in order of appearance (few; indices stay valid).
    categories: Vec<(Sym, Tally)>,
}

impl DimensionAudit {
    fn index(&mut self, category: Sym) -> usize {
        match self.categories.iter().position(|(c, _)| *c == category) {
            Some(i) => i,
            None => {
                self.categories.push((category, Tally::default()));
                self.categories.len() - 1
            }
        }
    }
}

/// The audit of one scope, every dimension at once, maintained
/// incrementally: one ordered map from each score to its candidates (all,
/// and per dimension and category), and per dimension and category the
/// assessed, selected and scored-above counts.
///
/// A candidate entering or leaving costs one map update and a few
/// additions. Once a time is applied, [`ScopeAudit::rows`] finds the
/// sample's median (a walk over the distinct scores), moves the categories'
/// scored-above counts by the candidates whose scores lie between the old
/// and the new median (a range of the map, usually short), and builds the
/// rows with
/// [`rows_of_tallies`] — the work follows the distinct scores and the
/// categories, not the candidates, and the figures are exactly
/// [`audit_group`]'s.
///
/// ```
/// use panelflow::aggregates::bias::{audit_group, BiasConfig, Dimension, ScopeAudit};
/// use panelflow::aggregates::candidates::Scope;
/// use panelflow::aggregates::records::{Sym, F64};
/// let (a, b) = (Some(Sym::from("a")), Some(Sym::from("b")));
/// let mut audit = ScopeAudit::default();
/// let mut values = Vec::new();
/// for (sex, score, selected, n) in [(&a, 3.0, true, 5), (&a, 2.0, false, 5), (&b, 3.0, true, 2), (&b, 2.0, false, 8)] {
///     audit.update(F64(score), [sex.clone(), None, None], selected, n);
///     values.push(((sex.clone(), F64(score), selected), n as isize));
/// }
/// let mut rows = Vec::new();
/// audit.rows(&Scope::Overall, BiasConfig::default(), &mut rows);
/// let refs: Vec<_> = values.iter().map(|(v, n)| (v, *n)).collect();
/// let want = audit_group(&Scope::Overall, Dimension::Sex, &refs, BiasConfig::default());
/// let got: Vec<_> = rows.into_iter().map(|(r, _)| r).filter(|r| r.dimension == Dimension::Sex).collect();
/// assert_eq!(got, want);
/// ```
#[derive(Debug, Default)]
pub struct ScopeAudit {
    /// The sample's scores, each with its candidates per category.
    scores: BTreeMap<F64, ScoreCounts>,
    /// The median the scored-above counts are relative to.
    threshold: Option<F64>,
    dims: [DimensionAudit; 3],
}

impl ScopeAudit {
    /// Adds `count` candidates (negative: removes them) of `score`, with
    /// their category in each of [`Dimension::ALL`] (`None`: unknown).
    /// Counts may go negative while a time is being applied.
    pub fn update(&mut self, score: F64, categories: [Option<Sym>; 3], selected: bool, count: i64) {
        let above = self.threshold.is_some_and(|m| score > m);
        let mut at = [None; 3];
        for ((dim, category), at) in self.dims.iter_mut().zip(categories).zip(&mut at) {
            let Some(category) = category else {
                dim.unknown += count;
                continue;
            };
            let i = dim.index(category);
            let t = &mut dim.categories[i].1;
            t.assessed += count;
            if selected {
                t.selected += count;
            }
            if above {
                t.above += count;
            }
            *at = Some(i as u16);
        }
        let e = self.scores.entry(score).or_default();
        e.total += count;
        for (d, i) in at.iter().enumerate() {
            let Some(i) = *i else { continue };
            let d = d as u8;
            match e
                .by_category
                .iter_mut()
                .find(|(dd, ii, _)| *dd == d && *ii == i)
            {
                Some(c) => c.2 += count,
                None => e.by_category.push((d, i, count)),
            }
        }
        e.by_category.retain(|c| c.2 != 0);
        if e.total == 0 && e.by_category.is_empty() {
            self.scores.remove(&score);
        }
    }

    /// Adds `sign` × the candidates of scores in `range` to their
    /// categories' scored-above counts.
    fn shift_above(&mut self, range: (Bound<F64>, Bound<F64>), sign: i64) {
        for (_, e) in self.scores.range(range) {
            for (d, i, n) in &e.by_category {
                if let Some((_, t)) = self.dims[*d as usize].categories.get_mut(*i as usize) {
                    t.above += sign * n;
                }
            }
        }
    }

    /// Pushes the scope's rows (every dimension and category) once a time
    /// has been applied; says whether the scope is empty.
    pub fn rows(
        &mut self,
        scope: &Scope,
        cfg: BiasConfig,
        out: &mut Vec<(BiasRow, isize)>,
    ) -> bool {
        let sorted: Vec<(f64, i64)> = self
            .scores
            .iter()
            .filter(|(_, c)| c.total > 0)
            .map(|(s, c)| (s.0, c.total))
            .collect();
        let new = median(&sorted).map(F64);
        match (self.threshold, new) {
            (Some(old), Some(new)) if old < new => {
                self.shift_above((Excluded(old), Included(new)), -1)
            }
            (Some(old), Some(new)) if new < old => {
                self.shift_above((Excluded(new), Included(old)), 1)
            }
            (Some(_), Some(_)) => {}
            (old, new) => {
                for dim in &mut self.dims {
                    for (_, t) in &mut dim.categories {
                        t.above = 0;
                    }
                }
                if let (None, Some(new)) = (old, new) {
                    self.shift_above((Excluded(new), Unbounded), 1);
                }
            }
        }
        self.threshold = new;
        let Some(median) = new else {
            return self.scores.is_empty()
                && self
                    .dims
                    .iter()
                    .all(|d| d.unknown == 0 && d.categories.iter().all(|(_, t)| t.assessed == 0));
        };
        let sample: i64 = sorted.iter().map(|(_, c)| c).sum();
        for (dim, dimension) in self.dims.iter().zip(Dimension::ALL) {
            let mut tallies: Vec<(&Sym, Tally)> = dim
                .categories
                .iter()
                .filter(|(_, t)| t.assessed > 0)
                .map(|(s, t)| (s, *t))
                .collect();
            tallies.sort_by(|a, b| a.0.cmp(b.0));
            for row in rows_of_tallies(
                scope,
                dimension,
                &tallies,
                dim.unknown.max(0),
                sample,
                median.0,
                cfg,
            ) {
                out.push((row, 1));
            }
        }
        false
    }
}

/// The `bias_audit` operator.
pub trait BiasAudit<'scope, T: Time> {
    /// The audit rows of every scope, dimension and category.
    fn bias_audit(self, cfg: BiasConfig) -> VecCollection<'scope, T, BiasRow>;
}

impl<'scope, T: Time> BiasAudit<'scope, T> for VecCollection<'scope, T, CandidateFact> {
    fn bias_audit(self, cfg: BiasConfig) -> VecCollection<'scope, T, BiasRow> {
        // Intersection categories, formatted and interned once each.
        let mut intersections: IdMap<(Sym, Sym), Sym> = IdMap::default();
        self.map(|f| (f.scope, (f.score, f.sex, f.race, f.selected)))
            .fold_total(
                "BiasAudit",
                move |audit: &mut ScopeAudit, (score, sex, race, selected), count: isize| {
                    let both = match (&sex, &race) {
                        (Some(s), Some(r)) => Some(
                            intersections
                                .entry((s.clone(), r.clone()))
                                .or_insert_with(|| {
                                    Dimension::Intersection
                                        .category(Some(s), Some(r))
                                        .unwrap_or_default()
                                })
                                .clone(),
                        ),
                        _ => None,
                    };
                    audit.update(score, [sex, race, both], selected, count as i64);
                },
                move |scope, audit, out| audit.rows(scope, cfg, out),
            )
    }
}

#[cfg(test)]
mod tests;
