//! Fitting the scoring model on a labelled split: the ordinal logistic
//! likelihood with a small ridge penalty, maximised by projected gradient
//! ascent (after each step every weight is clipped to its allowed sign and
//! the cut points kept in order), then the confidence calibration by
//! pooled adjacent violators (isotonic regression of "the score equals the
//! label" on the raw confidence).
//!
//! Deterministic: the same samples give the same model, bit for bit.

use std::collections::BTreeMap;

use super::{level_probabilities, sigmoid, ScoringModel};
use crate::analysis::evidence::{FEATURES, FEATURE_NAMES, FEATURE_SIGNS};

/// One labelled answer: its feature values and the label (1–4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Feature values in [`FEATURE_NAMES`] order.
    pub x: [f64; FEATURES],
    /// Label on Lever's scale.
    pub label: u8,
}

/// Settings of the fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Ridge penalty on the weights (per sample).
    pub ridge: f64,
    /// Gradient steps.
    pub steps: usize,
    /// Step size.
    pub learning_rate: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            ridge: 0.02,
            steps: 20_000,
            learning_rate: 0.05,
        }
    }
}

fn density(t: f64) -> f64 {
    let s = sigmoid(t);
    s * (1.0 - s)
}

/// Mean log-likelihood of the samples under weights and cut points.
pub fn log_likelihood(w: &[f64; FEATURES], theta: &[f64; 3], samples: &[Sample]) -> f64 {
    let n = samples.len().max(1) as f64;
    samples
        .iter()
        .map(|s| {
            let z: f64 = w.iter().zip(&s.x).map(|(a, b)| a * b).sum();
            let p = level_probabilities(theta, z)[usize::from(s.label.clamp(1, 4)) - 1];
            p.max(1e-12).ln()
        })
        .sum::<f64>()
        / n
}

/// Fits weights and cut points (no calibration).
///
/// ```
/// use panelflow_models::analysis::scoring::fit::{fit_weights, FitOptions, Sample};
/// // Labels that rise with the first feature ("anchor_fit").
/// let samples: Vec<Sample> = (0..40)
///     .map(|i| {
///         let mut x = [0.0; 12];
///         x[0] = (i % 4) as f64 / 3.0;
///         Sample { x, label: (i % 4) as u8 + 1 }
///     })
///     .collect();
/// let (w, theta) = fit_weights(&samples, &FitOptions { steps: 3000, ..Default::default() });
/// assert!(w[0] > 1.0, "{w:?}");
/// assert!(theta[0] < theta[1] && theta[1] < theta[2]);
/// ```
pub fn fit_weights(samples: &[Sample], opts: &FitOptions) -> ([f64; FEATURES], [f64; 3]) {
    let n = samples.len().max(1) as f64;
    let mut w = [0.0; FEATURES];
    let mut theta = [-1.0, 0.0, 1.0];
    for _ in 0..opts.steps {
        let mut gw = [0.0; FEATURES];
        let mut gt = [0.0; 3];
        for s in samples {
            let z: f64 = w.iter().zip(&s.x).map(|(a, b)| a * b).sum();
            let y = usize::from(s.label.clamp(1, 4));
            let upper = if y < 4 {
                sigmoid(theta[y - 1] - z)
            } else {
                1.0
            };
            let lower = if y > 1 {
                sigmoid(theta[y - 2] - z)
            } else {
                0.0
            };
            let p = (upper - lower).max(1e-12);
            let du = if y < 4 {
                density(theta[y - 1] - z)
            } else {
                0.0
            };
            let dl = if y > 1 {
                density(theta[y - 2] - z)
            } else {
                0.0
            };
            // d log p / d z
            let dz = (dl - du) / p;
            for (g, x) in gw.iter_mut().zip(&s.x) {
                *g += dz * x;
            }
            if y < 4 {
                gt[y - 1] += du / p;
            }
            if y > 1 {
                gt[y - 2] -= dl / p;
            }
        }
        for k in 0..FEATURES {
            let g = gw[k] / n - opts.ridge * w[k];
            w[k] += opts.learning_rate * g;
            // Projection: the sign each feature allows.
            if w[k] * FEATURE_SIGNS[k] < 0.0 {
                w[k] = 0.0;
            }
        }
        for (t, g) in theta.iter_mut().zip(gt) {
            *t += opts.learning_rate * g / n;
        }
        theta[1] = theta[1].max(theta[0] + 0.05);
        theta[2] = theta[2].max(theta[1] + 0.05);
    }
    (w, theta)
}

/// Isotonic regression (pooled adjacent violators) of `correct` on `raw`,
/// reduced to at most `max_knots` `(raw, calibrated)` knots.
///
/// ```
/// use panelflow_models::analysis::scoring::fit::calibration_knots;
/// let pairs = [(0.1, false), (0.2, false), (0.5, true), (0.4, false), (0.9, true), (0.8, true)];
/// let k = calibration_knots(&pairs, 10);
/// assert!(k.windows(2).all(|w| w[0][0] <= w[1][0] && w[0][1] <= w[1][1]));
/// assert_eq!(k.last().unwrap()[1], 1.0);
/// ```
pub fn calibration_knots(pairs: &[(f64, bool)], max_knots: usize) -> Vec<[f64; 2]> {
    let mut sorted: Vec<(f64, f64)> = pairs
        .iter()
        .map(|&(r, c)| (r, if c { 1.0 } else { 0.0 }))
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Blocks: (mean raw, mean correct, count).
    let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
    for (r, c) in sorted {
        blocks.push((r, c, 1.0));
        while blocks.len() >= 2 {
            let (b, a) = (blocks[blocks.len() - 1], blocks[blocks.len() - 2]);
            if a.1 <= b.1 {
                break;
            }
            blocks.truncate(blocks.len() - 2);
            let n = a.2 + b.2;
            blocks.push(((a.0 * a.2 + b.0 * b.2) / n, (a.1 * a.2 + b.1 * b.2) / n, n));
        }
    }
    let mut knots: Vec<[f64; 2]> = blocks.iter().map(|b| [b.0, b.1]).collect();
    while knots.len() > max_knots.max(2) {
        // Merge the closest neighbours in raw value.
        let Some(i) = (0..knots.len() - 1).min_by(|&a, &b| {
            (knots[a + 1][0] - knots[a][0]).total_cmp(&(knots[b + 1][0] - knots[b][0]))
        }) else {
            break;
        };
        let merged = [
            0.5 * (knots[i][0] + knots[i + 1][0]),
            0.5 * (knots[i][1] + knots[i + 1][1]),
        ];
        knots.splice(i..i + 2, [merged]);
    }
    for k in &mut knots {
        k[0] = (k[0] * 1000.0).round() / 1000.0;
        k[1] = (k[1] * 1000.0).round() / 1000.0;
    }
    knots
}

/// A fitted model from weights, cut points and calibration knots.
pub fn model(
    version: &str,
    fitted_on: &str,
    w: &[f64; FEATURES],
    theta: &[f64; 3],
    calibration: Vec<[f64; 2]>,
) -> ScoringModel {
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    ScoringModel {
        version: version.to_string(),
        fitted_on: fitted_on.to_string(),
        weights: FEATURE_NAMES
            .iter()
            .zip(w)
            .map(|(n, v)| (n.to_string(), round(*v)))
            .collect::<BTreeMap<_, _>>(),
        cutpoints: [round(theta[0]), round(theta[1]), round(theta[2])],
        calibration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_that_should_lower_scores_is_never_given_a_positive_weight() {
        // Data where "blame" (index 9) goes with high labels: the fit must
        // still keep its weight at or below zero.
        let samples: Vec<Sample> = (0..40)
            .map(|i| {
                let mut x = [0.0; FEATURES];
                x[9] = if i % 2 == 0 { 1.0 } else { 0.0 };
                Sample {
                    x,
                    label: if i % 2 == 0 { 4 } else { 1 },
                }
            })
            .collect();
        let (w, _) = fit_weights(
            &samples,
            &FitOptions {
                steps: 2000,
                ..Default::default()
            },
        );
        assert!(w[9] <= 0.0, "{w:?}");
    }

    #[test]
    fn fitting_raises_the_likelihood() {
        let samples: Vec<Sample> = (0..60)
            .map(|i| {
                let mut x = [0.0; FEATURES];
                x[5] = (i % 4) as f64 / 3.0;
                x[2] = 1.0 - x[5];
                Sample {
                    x,
                    label: (i % 4) as u8 + 1,
                }
            })
            .collect();
        let before = log_likelihood(&[0.0; FEATURES], &[-1.0, 0.0, 1.0], &samples);
        let (w, t) = fit_weights(
            &samples,
            &FitOptions {
                steps: 3000,
                ..Default::default()
            },
        );
        assert!(log_likelihood(&w, &t, &samples) > before + 0.3);
        assert!(w[5] > 0.0 && w[2] <= 0.0);
    }
}
