//! Fitting the scoring model on the development splits.

use crate::analysis::analyzer::Analyzer;
use crate::analysis::scoring::fit::{calibration_knots, fit_weights, model, FitOptions, Sample};
use crate::analysis::scoring::{raw_confidence, Reliability, ScoringModel};
use crate::analysis::splits::Split;
use crate::analysis::AnalysisError;
use crate::speech::transcriber::Transcriber;

use super::loading::transcript_of;
use super::report::SplitReport;

/// Fits the scoring model on development splits: the weights and cut
/// points on every answer, the confidence calibration on out-of-fold
/// predictions (five folds by candidate), so it is not fitted to answers
/// the weights have seen.
pub fn fit(
    splits: &[Split],
    transcriber: &mut Transcriber,
    analyzer: &mut Analyzer,
    version: &str,
) -> Result<ScoringModel, AnalysisError> {
    let mut rows: Vec<(
        Sample,
        String,
        crate::analysis::evidence::Evidence,
        Reliability,
    )> = Vec::new();
    let mut scratch = SplitReport::default();
    for split in splits {
        for a in &split.answers {
            let (t, _, _) = transcript_of(transcriber, a, &mut scratch)?;
            let (mapping, ev) =
                analyzer.evidence_of(Some(&a.question.id), &a.question.text, &t.segments);
            let reliability = Reliability {
                transcription: crate::speech::mean_confidence(&t.segments),
                alignment: 1.0,
                mapping: mapping.map_or(0.0, |m| m.similarity),
            };
            rows.push((
                Sample {
                    x: crate::analysis::scoring::model_inputs(&ev.features),
                    label: a.label,
                },
                a.candidate_id.clone(),
                ev,
                reliability,
            ));
        }
    }
    let opts = FitOptions::default();
    let samples: Vec<Sample> = rows.iter().map(|r| r.0).collect();
    let (w, theta) = fit_weights(&samples, &opts);
    // Out-of-fold confidences for the calibration.
    let mut candidates: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    candidates.sort_unstable();
    candidates.dedup();
    let fold_of = |c: &str| candidates.iter().position(|x| *x == c).unwrap_or(0) % 5;
    let mut pairs: Vec<(f64, bool)> = Vec::new();
    for fold in 0..5 {
        let train: Vec<Sample> = rows
            .iter()
            .filter(|r| fold_of(&r.1) != fold)
            .map(|r| r.0)
            .collect();
        let (fw, ft) = fit_weights(&train, &opts);
        let held = model(version, "", &fw, &ft, Vec::new());
        for r in rows.iter().filter(|r| fold_of(&r.1) == fold) {
            let prediction = held.predict(&r.2.features);
            let raw = raw_confidence(&prediction, &r.2, &r.3);
            pairs.push((raw, (prediction.score >= 3) == (r.0.label >= 3)));
        }
    }
    let knots = calibration_knots(&pairs, 8);
    let described: Vec<String> = splits
        .iter()
        .map(|s| {
            format!(
                "{} ({} answers, index sha256 {})",
                s.name,
                s.answers.len(),
                &s.sha256[..12.min(s.sha256.len())]
            )
        })
        .collect();
    Ok(model(
        version,
        &format!("development: {}", described.join("; ")),
        &w,
        &theta,
        knots,
    ))
}
