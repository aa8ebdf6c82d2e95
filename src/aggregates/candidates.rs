//! `candidate_facts`: one row per candidate and audit scope with the
//! candidate's score in that scope, whether they were selected there, and
//! their self-reported categories — the units the bias audit counts.
//!
//! A candidate is *assessed* in a scope when they have AI scores in it:
//! - `overall`: every AI score of the candidate;
//! - `posting`: the scores for that posting;
//! - `job_family`: the scores for postings of that family;
//! - `model_version`: the scores by that model version.
//!
//! Their score in the scope is the mean of those competency scores,
//! `Σ hundredths / (100 · n)` (one division, so equal means are equal
//! floats). They are *selected* in the scope when they were advanced on a
//! posting where they were assessed within it. Their sex and race/ethnicity
//! are those of their demographics records; a field is unknown when no
//! record gives it or the records disagree.
//!
//! One `reduce_total` ([`super::reduce_total`]) keyed by candidate does it all: a change to one of the
//! candidate's records costs work proportional to that candidate's records.
//!
//! ```
//! use differential_dataflow::input::Input;
//! use panelflow::aggregates::candidates::{CandidateFacts, Scope};
//! use panelflow::aggregates::records::{DecisionRecord, DemographicsRecord, ScoreRow, Sym};
//!
//! timely::execute_directly(|worker| {
//!     let captured = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
//!     let sink = captured.clone();
//!     let (mut scores, mut decisions, mut demographics) = worker.dataflow::<u64, _, _>(|scope| {
//!         let (s, scores) = scope.new_collection::<ScoreRow, isize>();
//!         let (d, decisions) = scope.new_collection::<DecisionRecord, isize>();
//!         let (g, demographics) = scope.new_collection::<DemographicsRecord, isize>();
//!         scores.candidate_facts(decisions, demographics).inspect(move |x| sink.borrow_mut().push(x.clone()));
//!         (s, d, g)
//!     });
//!     let row = |centi| ScoreRow { candidate: "c1".into(), posting: "p1".into(), family: "eng".into(),
//!                                  model: "m@1".into(), competency: Sym::from(format!("k{centi}")), week: 0, centi };
//!     scores.insert(row(300));
//!     scores.insert(row(350));
//!     decisions.insert(DecisionRecord { candidate: "c1".into(), posting: "p1".into(), advance: true,
//!                                       stage: None, source: "lever".into(), at_ms: 0 });
//!     demographics.insert(DemographicsRecord { candidate: "c1".into(), posting: "p1".into(),
//!                                              sex: Some("female".into()), race: None, at_ms: 0 });
//!     drop((scores, decisions, demographics));
//!     while worker.step() {}
//!     let facts = captured.borrow();
//!     let overall = facts.iter().find(|(f, _, _)| f.scope == Scope::Overall).unwrap();
//!     assert_eq!(overall.0.score.0, 3.25);
//!     assert!(overall.0.selected);
//!     assert_eq!(overall.0.sex.as_deref(), Some("female"));
//!     assert_eq!(facts.len(), 4); // overall, posting, job family, model version
//! });
//! ```

use std::collections::{BTreeMap, BTreeSet};

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use super::records::{DecisionRecord, DemographicsRecord, ScoreRow, Sym, F64};
use super::reduce_total::ReduceTotal;
use super::time::Time;

/// Where an audit figure is computed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Every candidate.
    Overall,
    /// One posting.
    Posting(Sym),
    /// One job family.
    JobFamily(Sym),
    /// One model version.
    ModelVersion(Sym),
}

impl Scope {
    /// `overall`, `posting`, `job_family` or `model_version`.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Overall => "overall",
            Scope::Posting(_) => "posting",
            Scope::JobFamily(_) => "job_family",
            Scope::ModelVersion(_) => "model_version",
        }
    }

    /// `overall`, or the posting, job family or model version.
    pub fn id(&self) -> &str {
        match self {
            Scope::Overall => "overall",
            Scope::Posting(s) | Scope::JobFamily(s) | Scope::ModelVersion(s) => s.as_str(),
        }
    }

    /// The scopes a score row counts in.
    pub fn of(row: &ScoreRow) -> [Scope; 4] {
        [
            Scope::Overall,
            Scope::Posting(row.posting.clone()),
            Scope::JobFamily(row.family.clone()),
            Scope::ModelVersion(row.model.clone()),
        ]
    }
}

/// What the candidate reduce sees of a candidate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CandidateValue {
    /// One competency score.
    Score {
        /// Posting.
        posting: Sym,
        /// Job family.
        family: Sym,
        /// Model version.
        model: Sym,
        /// Score in hundredths.
        centi: i32,
    },
    /// An advance decision on a posting.
    Advanced {
        /// Posting.
        posting: Sym,
    },
    /// A demographics record.
    Demographics {
        /// Sex (`None`: unknown).
        sex: Option<Sym>,
        /// Race/ethnicity (`None`: unknown).
        race: Option<Sym>,
    },
}

/// A candidate in one scope.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CandidateFact {
    /// Candidate id.
    pub candidate: Sym,
    /// The scope.
    pub scope: Scope,
    /// Mean AI score in the scope.
    pub score: F64,
    /// Advanced on a posting where assessed within the scope.
    pub selected: bool,
    /// Sex (`None`: unknown).
    pub sex: Option<Sym>,
    /// Race/ethnicity (`None`: unknown).
    pub race: Option<Sym>,
}

/// The facts of one candidate from their values (with multiplicities; values
/// whose multiplicity is not positive are ignored).
pub fn facts_of(candidate: &Sym, values: &[(&CandidateValue, isize)]) -> Vec<CandidateFact> {
    let mut scopes: BTreeMap<Scope, (i64, i64, BTreeSet<&Sym>)> = BTreeMap::new();
    let mut advanced: BTreeSet<&Sym> = BTreeSet::new();
    let mut sexes: BTreeSet<Option<&Sym>> = BTreeSet::new();
    let mut races: BTreeSet<Option<&Sym>> = BTreeSet::new();
    for (value, count) in values {
        let count = *count as i64;
        if count <= 0 {
            continue;
        }
        match value {
            CandidateValue::Score {
                posting,
                family,
                model,
                centi,
            } => {
                for scope in [
                    Scope::Overall,
                    Scope::Posting(posting.clone()),
                    Scope::JobFamily(family.clone()),
                    Scope::ModelVersion(model.clone()),
                ] {
                    let e = scopes.entry(scope).or_default();
                    e.0 += count;
                    e.1 += count * i64::from(*centi);
                    e.2.insert(posting);
                }
            }
            CandidateValue::Advanced { posting } => {
                advanced.insert(posting);
            }
            CandidateValue::Demographics { sex, race } => {
                sexes.insert(sex.as_ref());
                races.insert(race.as_ref());
            }
        }
    }
    let unique = |set: &BTreeSet<Option<&Sym>>| {
        if set.len() == 1 {
            set.first().copied().flatten().cloned()
        } else {
            None
        }
    };
    let (sex, race) = (unique(&sexes), unique(&races));
    scopes
        .into_iter()
        .map(|(scope, (n, sum, postings))| CandidateFact {
            candidate: candidate.clone(),
            scope,
            score: F64(sum as f64 / (100 * n) as f64),
            selected: postings.iter().any(|p| advanced.contains(p)),
            sex: sex.clone(),
            race: race.clone(),
        })
        .collect()
}

/// The `candidate_facts` operator.
pub trait CandidateFacts<'scope, T: Time> {
    /// Facts per candidate and scope from the score rows, the decisions and
    /// the demographics.
    fn candidate_facts(
        self,
        decisions: VecCollection<'scope, T, DecisionRecord>,
        demographics: VecCollection<'scope, T, DemographicsRecord>,
    ) -> VecCollection<'scope, T, CandidateFact>;
}

impl<'scope, T: Time> CandidateFacts<'scope, T> for VecCollection<'scope, T, ScoreRow> {
    fn candidate_facts(
        self,
        decisions: VecCollection<'scope, T, DecisionRecord>,
        demographics: VecCollection<'scope, T, DemographicsRecord>,
    ) -> VecCollection<'scope, T, CandidateFact> {
        let scores = self.map(|s| {
            (
                s.candidate,
                CandidateValue::Score {
                    posting: s.posting,
                    family: s.family,
                    model: s.model,
                    centi: s.centi,
                },
            )
        });
        let advanced = decisions
            .filter(|d| d.advance)
            .map(|d| (d.candidate, CandidateValue::Advanced { posting: d.posting }));
        let demographics = demographics.map(|d| {
            (
                d.candidate,
                CandidateValue::Demographics {
                    sex: d.sex,
                    race: d.race,
                },
            )
        });
        scores.concat(advanced).concat(demographics).reduce_total(
            "CandidateFacts",
            |candidate, input, output| {
                for fact in facts_of(candidate, input) {
                    output.push((fact, 1isize));
                }
            },
        )
    }
}
