//! The aggregates recomputed from scratch, with plain ordered maps, from
//! the current multiset of input records: what the tests hold the
//! incremental dataflow to. The grouping is independent of the dataflow;
//! the per-group arithmetic is the operators' own pure functions (DuckDB,
//! in the tests, checks that arithmetic independently).
//!
//! ```
//! use std::collections::BTreeMap;
//! use panelflow::aggregates::{reference, AggregateConfig, language::PhraseList};
//! use panelflow::aggregates::records::{InputRecord, RatingRecord};
//! let rating = |reviewer: &str, rating| InputRecord::Rating(RatingRecord { reviewer: reviewer.into(),
//!     candidate: "c".into(), posting: "p".into(), competency: "k".into(), rating, interview: None,
//!     source: "willo".into(), at_ms: 0 });
//! let mut state = BTreeMap::new();
//! state.insert(rating("r1", 1), 1);
//! state.insert(rating("r2", 3), 1);
//! let all = reference::compute(&state, &AggregateConfig::default(), &PhraseList::embedded().unwrap());
//! let r1 = all.calibration.iter().find(|r| r.reviewer.as_str() == "r1" && r.scope.kind() == "all").unwrap();
//! assert_eq!(r1.leniency.unwrap().0, -2.0);
//! ```

use std::collections::BTreeMap;

use super::bias::{audit_group, BiasRow, Dimension};
use super::calibration::{calibration_row, scopes_of, CalibrationRow, Moments};
use super::candidates::{facts_of, CandidateValue};
use super::drift::{drift_rows, drift_values, signal_values, DriftRow};
use super::language::{language_rows, LanguageRow, PhraseList};
use super::panel::{panel_group, PanelRow, PanelValue};
use super::questions::{consistency_row, deviation, ConsistencyRow};
use super::records::{InputRecord, F64};
use super::AggregateConfig;

/// Every aggregate's current rows, each sorted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AllRows {
    /// `bias_audit`.
    pub bias: Vec<BiasRow>,
    /// `reviewer_calibration`.
    pub calibration: Vec<CalibrationRow>,
    /// `panel_view`.
    pub panel: Vec<PanelRow>,
    /// `drift`.
    pub drift: Vec<DriftRow>,
    /// `question_consistency`.
    pub questions: Vec<ConsistencyRow>,
    /// `interviewer_language`.
    pub language: Vec<LanguageRow>,
}

type Groups<K, V> = BTreeMap<K, BTreeMap<V, isize>>;

fn add<K: Ord, V: Ord>(groups: &mut Groups<K, V>, key: K, value: V, count: isize) {
    *groups.entry(key).or_default().entry(value).or_default() += count;
}

/// Each group's non-zero values with their counts, sorted by value (what a
/// differential `reduce` sees).
fn each<K: Ord, V: Ord>(groups: &Groups<K, V>, mut f: impl FnMut(&K, &[(&V, isize)])) {
    for (key, values) in groups {
        let values: Vec<(&V, isize)> = values
            .iter()
            .filter(|(_, c)| **c != 0)
            .map(|(v, c)| (v, *c))
            .collect();
        if !values.is_empty() {
            f(key, &values);
        }
    }
}

/// Recomputes every aggregate from `state`, the input records with their
/// multiplicities.
pub fn compute(
    state: &BTreeMap<InputRecord, isize>,
    cfg: &AggregateConfig,
    phrases: &PhraseList,
) -> AllRows {
    let mut candidates: Groups<_, CandidateValue> = BTreeMap::new();
    let mut panels: Groups<_, PanelValue> = BTreeMap::new();
    let mut drift: Groups<_, (i32, i32)> = BTreeMap::new();
    let mut questions: Groups<_, (String, F64)> = BTreeMap::new();
    let mut language: BTreeMap<LanguageRow, isize> = BTreeMap::new();
    for (record, &count) in state {
        if count == 0 {
            continue;
        }
        match record {
            InputRecord::Score(s) => {
                for row in s.rows() {
                    let value = CandidateValue::Score {
                        posting: row.posting.clone(),
                        family: row.family.clone(),
                        model: row.model.clone(),
                        centi: row.centi,
                    };
                    add(&mut candidates, row.candidate.clone(), value, count);
                    add(
                        &mut panels,
                        (
                            row.posting.clone(),
                            row.candidate.clone(),
                            row.competency.clone(),
                        ),
                        PanelValue::Ai { centi: row.centi },
                        count,
                    );
                    let (key, value) = drift_values(&row);
                    add(&mut drift, key, value, count);
                }
                for (key, value) in signal_values(&s.signal()) {
                    add(&mut drift, key, value, count);
                }
            }
            InputRecord::Rating(r) => add(
                &mut panels,
                (r.posting.clone(), r.candidate.clone(), r.competency.clone()),
                PanelValue::Rating {
                    reviewer: r.reviewer.clone(),
                    rating: r.rating,
                },
                count,
            ),
            InputRecord::Decision(d) => {
                if d.advance {
                    add(
                        &mut candidates,
                        d.candidate.clone(),
                        CandidateValue::Advanced {
                            posting: d.posting.clone(),
                        },
                        count,
                    );
                }
            }
            InputRecord::Demographics(d) => add(
                &mut candidates,
                d.candidate.clone(),
                CandidateValue::Demographics {
                    sex: d.sex.clone(),
                    race: d.race.clone(),
                },
                count,
            ),
            InputRecord::Question(q) => {
                add(
                    &mut questions,
                    (q.posting.clone(), q.question.clone()),
                    (q.canonical.clone(), F64(deviation(q))),
                    count,
                );
                for row in language_rows(phrases, q) {
                    *language.entry(row).or_default() += count;
                }
            }
        }
    }

    let mut out = AllRows::default();

    let mut audit: Groups<_, _> = BTreeMap::new();
    each(&candidates, |candidate, values| {
        for f in facts_of(candidate, values) {
            for d in Dimension::ALL {
                add(
                    &mut audit,
                    (f.scope.clone(), d),
                    (
                        d.category(f.sex.as_ref(), f.race.as_ref()),
                        f.score,
                        f.selected,
                    ),
                    1,
                );
            }
        }
    });
    each(&audit, |(scope, dimension), values| {
        out.bias
            .extend(audit_group(scope, *dimension, values, cfg.bias))
    });

    let mut moments: BTreeMap<_, Moments> = BTreeMap::new();
    each(&panels, |key, values| {
        let (row, observations) = panel_group(key, values);
        out.panel.extend(row);
        for (o, count) in observations {
            let m = Moments::of(&o);
            for s in scopes_of(&o) {
                for _ in 0..count.max(0) {
                    let e = moments.entry((o.reviewer.clone(), s.clone())).or_default();
                    *e = e.plus(&m);
                }
            }
        }
    });
    out.calibration = moments
        .iter()
        .filter_map(|((reviewer, scope), m)| calibration_row(reviewer, scope, m))
        .collect();

    each(&drift, |(model, metric), values| {
        out.drift
            .extend(drift_rows(model, *metric, values, cfg.reference_weeks))
    });
    each(&questions, |key, values| {
        out.questions
            .extend(consistency_row(key, values, cfg.stray_threshold))
    });
    out.language = language
        .into_iter()
        .flat_map(|(row, n)| std::iter::repeat_n(row, n.max(0) as usize))
        .collect();

    out.bias.sort();
    out.calibration.sort();
    out.panel.sort();
    out.drift.sort();
    out.questions.sort();
    out.language.sort();
    out
}
