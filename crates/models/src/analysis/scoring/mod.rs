//! A competency score from an answer's general evidence: a small monotone
//! ordinal model on Lever's scale (1 strong no … 4 strong yes).
//!
//! The linear predictor is `z = Σ wᵢ·xᵢ` over the twelve features of
//! [`crate::analysis::evidence`] (each in 0..1), the raising ones first
//! weighed by how much of the answer's evidence counts ([`evidence_weight`]:
//! a story about something else, a dodged question or habits in place of an
//! example is weak evidence of the competency asked about, however detailed);
//! every weight has the sign the feature allows ([`FEATURE_SIGNS`]: a
//! measured outcome can only raise a score, blame can only lower it), so the
//! model is monotone by construction. Three ordered cut points give
//! `P(score ≤ k) = σ(θₖ − z)`; the score is the level nearest the expected
//! level. Its confidence is the probability that a recruiter comes down on
//! the same side of the scale (yes 3–4, no 1–2), lowered by hedging, an
//! unreliable transcript or a weak question-to-competency mapping, then
//! calibrated on out-of-fold predictions of the development split (the
//! reliability table on the test split is printed by `panelflow eval`).
//!
//! The weights, cut points and calibration live in one place,
//! [`model.toml`](BUILTIN_MODEL), fitted on the development split by
//! `panelflow eval --fit` ([`fit`]) and frozen. Nothing of the voice
//! (pace, pauses, pitch, fillers) nor the sentiment enters a score.

pub mod fit;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::evidence::{Evidence, EvidenceQuote, Features, FEATURES, FEATURE_NAMES, FEATURE_SIGNS};
use super::AnalysisError;

/// The frozen scoring model (`scoring/model.toml`).
pub const BUILTIN_MODEL: &str = include_str!("model.toml");

/// How much of an answer's raising evidence counts, 0..1: all of it on an
/// answer that stays on the question, less as it drifts off topic, dodges
/// the question or puts habits and hypotheticals in place of an example.
/// Only lowering features lower it, so the model stays monotone.
///
/// ```
/// use panelflow_models::analysis::evidence::Features;
/// use panelflow_models::analysis::scoring::evidence_weight;
/// assert_eq!(evidence_weight(&Features::default()), 1.0);
/// let off = Features { off_topic: 1.0, own_actions: 1.0, ..Default::default() };
/// assert_eq!(evidence_weight(&off), 0.0);
/// let habits = Features { generic: 1.0, ..Default::default() };
/// assert_eq!(evidence_weight(&habits), 0.5);
/// ```
pub fn evidence_weight(f: &Features) -> f64 {
    (1.0 - f.off_topic) * (1.0 - f.evasion) * (1.0 - 0.5 * f.generic)
}

/// The model's inputs in [`FEATURE_NAMES`] order: the raising features
/// times [`evidence_weight`], the lowering ones as measured.
pub fn model_inputs(f: &Features) -> [f64; FEATURES] {
    let weight = evidence_weight(f);
    let mut x = f.values();
    for (v, sign) in x.iter_mut().zip(FEATURE_SIGNS) {
        if sign > 0.0 {
            *v *= weight;
        }
    }
    x
}

/// The logistic function.
fn sigmoid(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

/// The monotone ordinal model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringModel {
    /// Version written on every score (`model_version` in Parquet).
    pub version: String,
    /// What it was fitted on: the split, its size and checksum.
    pub fitted_on: String,
    /// One weight per feature name; signs as [`FEATURE_SIGNS`].
    pub weights: BTreeMap<String, f64>,
    /// θ₁ < θ₂ < θ₃.
    pub cutpoints: [f64; 3],
    /// `(raw, calibrated)` knots of the confidence calibration, raw rising.
    #[serde(default)]
    pub calibration: Vec<[f64; 2]>,
}

impl Default for ScoringModel {
    fn default() -> Self {
        match toml::from_str::<ScoringModel>(BUILTIN_MODEL).map(|m| m.checked()) {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => panic!("the built-in scoring model is invalid: {e}"),
            Err(e) => panic!("the built-in scoring model does not parse: {e}"),
        }
    }
}

/// What a scored answer gets: the level, its probabilities and what moved it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Lever's scale, 1–4.
    pub score: u8,
    /// The expected level (1.0–4.0): for ranking answers, finer than `score`.
    pub level: f64,
    /// P(score = k) for k = 1..4.
    pub probabilities: [f64; 4],
    /// Each feature's contribution `wᵢ·xᵢ` to the predictor (a raising
    /// feature's after [`evidence_weight`]).
    pub contributions: [f64; FEATURES],
}

impl ScoringModel {
    /// Reads a model file (a pipeline's own `[analysis] scoring_model`).
    pub fn load(path: &Path) -> Result<Self, AnalysisError> {
        let data = |reason: String| AnalysisError::Data {
            path: path.display().to_string(),
            reason,
        };
        let raw = std::fs::read_to_string(path).map_err(|e| data(e.to_string()))?;
        toml::from_str::<ScoringModel>(&raw)
            .map_err(|e| data(e.to_string()))?
            .checked()
            .map_err(data)
    }

    /// Checks the weights (every feature, the allowed sign) and cut points.
    pub fn checked(self) -> Result<Self, String> {
        for (name, sign) in FEATURE_NAMES.iter().zip(FEATURE_SIGNS) {
            let w = self
                .weights
                .get(*name)
                .ok_or_else(|| format!("no weight for feature `{name}`"))?;
            if w * sign < 0.0 {
                return Err(format!(
                    "weight of `{name}` is {w}: the model must be monotone (sign {sign})"
                ));
            }
        }
        if let Some(extra) = self
            .weights
            .keys()
            .find(|k| !FEATURE_NAMES.contains(&k.as_str()))
        {
            return Err(format!("unknown feature `{extra}`"));
        }
        let [a, b, c] = self.cutpoints;
        if !(a < b && b < c) {
            return Err(format!("cut points must rise: {:?}", self.cutpoints));
        }
        Ok(self)
    }

    /// The weights in [`FEATURE_NAMES`] order.
    pub fn weight_vector(&self) -> [f64; FEATURES] {
        let mut w = [0.0; FEATURES];
        for (k, name) in FEATURE_NAMES.iter().enumerate() {
            w[k] = self.weights.get(*name).copied().unwrap_or(0.0);
        }
        w
    }

    /// Level probabilities of a feature vector.
    ///
    /// ```
    /// use panelflow_models::analysis::scoring::ScoringModel;
    /// use panelflow_models::analysis::evidence::Features;
    /// let m = ScoringModel::default();
    /// let weak = m.predict(&Features { generic: 1.0, ..Default::default() });
    /// let strong = m.predict(&Features {
    ///     anchor_fit: 0.8, specific_situation: 1.0, own_actions: 1.0, own_share: 0.8,
    ///     outcome: 1.0, measured: 1.0, reflection: 1.0, details: 1.0, ..Default::default()
    /// });
    /// assert!(strong.level > weak.level);
    /// assert!(strong.score >= 3 && weak.score <= 2);
    /// let p: f64 = strong.probabilities.iter().sum();
    /// assert!((p - 1.0).abs() < 1e-9);
    /// ```
    pub fn predict(&self, features: &Features) -> Prediction {
        let x = model_inputs(features);
        let w = self.weight_vector();
        let mut contributions = [0.0; FEATURES];
        for k in 0..FEATURES {
            contributions[k] = w[k] * x[k];
        }
        let z: f64 = contributions.iter().sum();
        let probabilities = level_probabilities(&self.cutpoints, z);
        let level: f64 = probabilities
            .iter()
            .enumerate()
            .map(|(k, p)| (k as f64 + 1.0) * p)
            .sum();
        Prediction {
            score: level.round().clamp(1.0, 4.0) as u8,
            level,
            probabilities,
            contributions,
        }
    }

    /// The calibrated confidence of a raw one (piecewise linear through the
    /// knots; the raw value when there are none).
    pub fn calibrate(&self, raw: f64) -> f64 {
        calibrate_with(&self.calibration, raw)
    }
}

/// P(level = k), k = 1..4, of the ordinal model with these cut points.
pub fn level_probabilities(cutpoints: &[f64; 3], z: f64) -> [f64; 4] {
    let f = |k: usize| sigmoid(cutpoints[k] - z);
    let (f1, f2, f3) = (f(0), f(1), f(2));
    [f1, (f2 - f1).max(0.0), (f3 - f2).max(0.0), 1.0 - f3]
}

/// Piecewise-linear calibration through `(raw, calibrated)` knots.
pub fn calibrate_with(knots: &[[f64; 2]], raw: f64) -> f64 {
    let Some(first) = knots.first() else {
        return raw.clamp(0.0, 1.0);
    };
    if raw <= first[0] {
        return first[1];
    }
    for pair in knots.windows(2) {
        let ([x0, y0], [x1, y1]) = (pair[0], pair[1]);
        if raw <= x1 {
            let t = if x1 > x0 { (raw - x0) / (x1 - x0) } else { 1.0 };
            return y0 + t * (y1 - y0);
        }
    }
    knots.last().map_or(raw, |k| k[1])
}

/// What besides the evidence bears on how far a score can be trusted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reliability {
    /// Mean transcription confidence of the answer, 0..1.
    pub transcription: f64,
    /// Confidence that the answer's boundaries are right, 0..1.
    pub alignment: f64,
    /// Similarity of the question to the competency it was mapped to
    /// (1 when a recruiter bound it in the pipeline file).
    pub mapping: f64,
}

/// The raw confidence of a prediction: the probability that a recruiter
/// comes down on the same side of Lever's scale (yes: 3–4, no: 1–2), times
/// what hedging, the transcript, the boundaries and the mapping allow.
/// Hedging lowers confidence, never competence.
pub fn raw_confidence(prediction: &Prediction, evidence: &Evidence, r: &Reliability) -> f64 {
    let [p1, p2, p3, p4] = prediction.probabilities;
    let p = if prediction.score >= 3 {
        p3 + p4
    } else {
        p1 + p2
    };
    let hedge = match evidence.hedging.strong {
        0 => 1.0 - 0.05 * evidence.hedging.mild.min(4) as f64,
        1 => 0.7,
        _ => 0.5,
    };
    let transcript = (r.transcription / 0.8).clamp(0.3, 1.0);
    let mapping = (0.6 + r.mapping).clamp(0.6, 1.0);
    let short = if evidence.words < 15 { 0.8 } else { 1.0 };
    (p * hedge * transcript * r.alignment.clamp(0.0, 1.0) * mapping * short).clamp(0.0, 1.0)
}

/// One competency's score on one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Competency id.
    pub competency: String,
    /// Competency name.
    pub name: String,
    /// Question judged.
    pub question_id: String,
    /// How the question reached this competency: `pipeline` (bound by a
    /// recruiter) or `similarity` (its text against the definitions).
    #[serde(default)]
    pub mapped_by: String,
    /// Similarity of the question to the competency (1 when bound).
    #[serde(default)]
    pub mapping_similarity: f64,
    /// Lever scorecard scale: 1 (strong no) … 4 (strong yes).
    pub score: u8,
    /// The expected level, 1.0–4.0 (ranks answers more finely).
    #[serde(default)]
    pub level: f64,
    /// The behavioural anchor of the level given.
    #[serde(default)]
    pub anchor: String,
    /// The features that raised the score, strongest first.
    #[serde(default)]
    pub criteria_met: Vec<String>,
    /// The features that lowered it.
    #[serde(default)]
    pub criteria_missing: Vec<String>,
    /// The sentences that moved it, with times.
    #[serde(default)]
    pub evidence: Vec<EvidenceQuote>,
    /// Every feature's value and its contribution.
    #[serde(default)]
    pub features: BTreeMap<String, [f64; 2]>,
    /// Calibrated confidence, 0..1: how likely a recruiter's rating falls on
    /// the same side of the scale (yes 3–4, no 1–2).
    pub confidence: f64,
    /// `confidence` below the pipeline's `low_confidence`: review first.
    pub low_confidence: bool,
    /// Weight in the overall score.
    pub weight: f64,
    /// The scoring model's version.
    #[serde(default)]
    pub model_version: String,
}

/// Weighted mean of the scores, rounded to two decimals.
///
/// ```
/// use panelflow_models::analysis::scoring::overall;
/// assert_eq!(overall(&[]), None);
/// ```
pub fn overall(scores: &[Score]) -> Option<f64> {
    let (sum, weight) = scores.iter().fold((0.0, 0.0), |(s, w), x| {
        (s + x.score as f64 * x.weight, w + x.weight)
    });
    (weight > 0.0).then(|| (sum / weight * 100.0).round() / 100.0)
}

/// Contributions smaller than this are not named as criteria.
const NOTABLE: f64 = 0.05;

/// The features that raised (positive contribution) and lowered a score,
/// strongest first.
pub fn criteria(prediction: &Prediction) -> (Vec<String>, Vec<String>) {
    let mut order: Vec<usize> = (0..FEATURES).collect();
    order.sort_by(|&a, &b| {
        prediction.contributions[b]
            .abs()
            .total_cmp(&prediction.contributions[a].abs())
    });
    let met = order
        .iter()
        .filter(|&&k| prediction.contributions[k] > NOTABLE)
        .map(|&k| FEATURE_NAMES[k].to_string())
        .collect();
    let lowered = order
        .iter()
        .filter(|&&k| prediction.contributions[k] < -NOTABLE)
        .map(|&k| FEATURE_NAMES[k].to_string())
        .collect();
    (met, lowered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_model_is_monotone_in_every_feature() {
        let m = ScoringModel::default();
        let base = Features::from_values([0.5; FEATURES]);
        let at = |k: usize, v: f64| {
            let mut x = base.values();
            x[k] = v;
            m.predict(&Features::from_values(x)).level
        };
        for k in 0..FEATURES {
            let (lo, hi) = (at(k, 0.0), at(k, 1.0));
            if FEATURE_SIGNS[k] > 0.0 {
                assert!(hi >= lo, "{} must not lower a score", FEATURE_NAMES[k]);
            } else {
                assert!(hi <= lo, "{} must not raise a score", FEATURE_NAMES[k]);
            }
        }
    }

    #[test]
    fn a_model_with_a_wrong_sign_is_refused() {
        let mut m = ScoringModel::default();
        m.weights.insert("blame".into(), 1.0);
        assert!(m.checked().unwrap_err().contains("monotone"));
    }

    #[test]
    fn calibration_is_piecewise_linear_and_clamped() {
        let knots = [[0.2, 0.1], [0.6, 0.5], [0.9, 0.8]];
        assert_eq!(calibrate_with(&knots, 0.0), 0.1);
        assert!((calibrate_with(&knots, 0.4) - 0.3).abs() < 1e-9);
        assert_eq!(calibrate_with(&knots, 1.0), 0.8);
        assert_eq!(calibrate_with(&[], 0.7), 0.7);
    }

    #[test]
    fn probabilities_sum_to_one() {
        for z in [-5.0, 0.0, 1.3, 9.0] {
            let p = level_probabilities(&[-1.0, 0.5, 2.0], z);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}
