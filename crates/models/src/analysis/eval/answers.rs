//! Scores, the uncertainty flag and digests measured on labelled answers,
//! beside trivial baselines, and the scoring model fitted on development.
//!
//! Every answer goes the way a platform's answer goes: its recording is
//! transcribed, and the analysis gets the question as the platform sends
//! it (an opaque id and its text) — no binding, no role: each question
//! reaches its competency by meaning.
//!
//! | figure | what | baselines |
//! | --- | --- | --- |
//! | coverage | share of answers scored | — |
//! | Spearman ρ | expected level vs label, all answers | constant score (0), length in words |
//! | pairwise accuracy | within each question, pairs with different labels ordered right (ties ½) | constant (0.5), length |
//! | uncertainty flag | precision and recall of `uncertain_needs_clarification` | flag every answer |
//! | key-fact recall | annotated facts found in the answer's digest | the answer's first words, as many as the digest has |
//! | reliability | per confidence band: how often the score equals the label | — |

use std::time::Instant;

use serde::Serialize;

use super::stats::{pairwise_accuracy, spearman};
use super::{cached, store, transcribe_with_tone, Prf, Transcribed};
use crate::analysis::analyzer::{Analyzer, Context};
use crate::analysis::scoring::fit::{calibration_knots, fit_weights, model, FitOptions, Sample};
use crate::analysis::scoring::{raw_confidence, Reliability, ScoringModel};
use crate::analysis::splits::{LabelledAnswer, Split};
use crate::analysis::summary::{PipelineRef, Summary};
use crate::analysis::{text, wer, AnalysisError};
use crate::speech::transcriber::Transcriber;
use crate::speech::{Segment, Transcript};
use panelflow_core::event::InterviewCompleted;

/// One answer's result.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerResult {
    /// Answer id.
    pub answer_id: String,
    /// Question id.
    pub question_id: String,
    /// Competency it was judged on.
    pub competency: Option<String>,
    /// Label.
    pub label: u8,
    /// Score given (None: not scored).
    pub score: Option<u8>,
    /// Expected level.
    pub level: Option<f64>,
    /// Confidence.
    pub confidence: Option<f64>,
    /// Words transcribed.
    pub words: usize,
    /// Uncertainty annotated.
    pub uncertain_expected: Option<bool>,
    /// Uncertainty flagged.
    pub uncertain_found: bool,
    /// Key facts annotated and whether each was in the digest.
    pub key_facts: Vec<(String, bool)>,
    /// Key facts in the lead baseline.
    pub key_facts_lead: usize,
    /// Key facts anywhere in the transcript.
    pub key_facts_transcript: usize,
    /// The author's kind.
    pub kind: Option<String>,
    /// The evidence features and their contributions to the score.
    pub features: std::collections::BTreeMap<String, [f64; 2]>,
}

/// A confidence band of the reliability table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Band {
    /// Lower edge.
    pub from: f64,
    /// Upper edge.
    pub to: f64,
    /// Scores in it.
    pub n: usize,
    /// Mean confidence.
    pub mean_confidence: f64,
    /// Share equal to the label.
    pub exact: f64,
    /// Share within one level of the label.
    pub within_one: f64,
    /// Share on the label's side of the scale (yes 3–4, no 1–2): what the
    /// confidence is calibrated to.
    pub same_side: f64,
}

/// The figures over one split.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SplitReport {
    /// Which split.
    pub split: String,
    /// SHA-256 of its index.
    pub sha256: String,
    /// Answers.
    pub answers: usize,
    /// Distinct questions.
    pub questions: usize,
    /// Share of answers scored.
    pub coverage: f64,
    /// ρ of the expected level.
    pub spearman: f64,
    /// ρ of the whole-number score.
    pub spearman_score: f64,
    /// ρ of answer length in words.
    pub spearman_length: f64,
    /// Pairwise accuracy of the expected level within questions.
    pub pairwise: f64,
    /// Pairs compared.
    pub pairs: usize,
    /// Pairwise accuracy of length.
    pub pairwise_length: f64,
    /// Mean absolute error of the score.
    pub mae: f64,
    /// MAE of always giving the most common label.
    pub mae_constant: f64,
    /// Exact agreement.
    pub exact: f64,
    /// The uncertainty flag.
    pub uncertain: Prf,
    /// Flagging every answer.
    pub uncertain_always: Prf,
    /// Key facts annotated.
    pub key_facts: usize,
    /// Recall of key facts in the digests.
    pub key_fact_recall: f64,
    /// Recall of the lead baseline.
    pub key_fact_recall_lead: f64,
    /// Share of key facts the transcript holds at all (what speech
    /// recognition left to find).
    pub key_fact_ceiling: f64,
    /// Reliability of the confidence.
    pub reliability: Vec<Band>,
    /// Seconds of audio.
    pub audio_s: f64,
    /// Seconds transcribing (0 for cached transcripts).
    pub transcribe_s: f64,
    /// Seconds in the analysis.
    pub analysis_s: f64,
    /// Per answer.
    pub details: Vec<AnswerResult>,
}

impl SplitReport {
    /// A plain-text table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let p = |x: f64| format!("{:.1} %", 100.0 * x);
        out.push_str(&format!(
            "{}: {} answers to {} questions (index sha256 {})\n",
            self.split,
            self.answers,
            self.questions,
            &self.sha256[..self.sha256.len().min(12)]
        ));
        out.push_str(&format!(
            "  coverage                 {}\n",
            p(self.coverage)
        ));
        out.push_str(&format!(
            "  Spearman rho             {:.3}   (whole-number score {:.3}; baselines: constant 0.000, length {:.3})\n",
            self.spearman, self.spearman_score, self.spearman_length
        ));
        out.push_str(&format!(
            "  pairwise accuracy        {}   ({} pairs within questions; baselines: constant 50.0 %, length {})\n",
            p(self.pairwise),
            self.pairs,
            p(self.pairwise_length)
        ));
        out.push_str(&format!(
            "  exact / MAE              {} / {:.3}   (baseline: the most common label, MAE {:.3})\n",
            p(self.exact),
            self.mae,
            self.mae_constant
        ));
        out.push_str(&format!(
            "  uncertainty flag         P {}  R {}   (tp {} fp {} fn {}; baseline flag-all: P {} R 100.0 %)\n",
            p(self.uncertain.precision()),
            p(self.uncertain.recall()),
            self.uncertain.tp,
            self.uncertain.fp,
            self.uncertain.r#fn,
            p(self.uncertain_always.precision())
        ));
        if self.key_facts > 0 {
            out.push_str(&format!(
                "  key-fact recall          {}   ({} facts; the transcript holds {} of them; baseline: the answer's first words, as many as the digest: {})\n",
                p(self.key_fact_recall),
                self.key_facts,
                p(self.key_fact_ceiling),
                p(self.key_fact_recall_lead)
            ));
        }
        out.push_str("  reliability              confidence band: scores, mean confidence, same side (yes 3-4 / no 1-2), exact, within one\n");
        for b in self.reliability.iter().filter(|b| b.n > 0) {
            out.push_str(&format!(
                "    {:.1}-{:.1}                {:>4}   {:.2}   {}   {}   {}\n",
                b.from,
                b.to,
                b.n,
                b.mean_confidence,
                p(b.same_side),
                p(b.exact),
                p(b.within_one)
            ));
        }
        out.push_str(&format!(
            "  time: {:.1} s of audio, transcription {:.1} s, analysis {:.2} s\n",
            self.audio_s, self.transcribe_s, self.analysis_s
        ));
        out
    }
}

/// A transcript of one labelled answer (from the cache when set).
fn transcript_of(
    transcriber: &mut Transcriber,
    a: &LabelledAnswer,
    report: &mut SplitReport,
) -> Result<Transcribed, AnalysisError> {
    let t0 = Instant::now();
    let (t, audio, tone_s) = match cached(&a.media) {
        Some(hit) => hit,
        None => {
            let fresh = transcribe_with_tone(transcriber, &a.media)?;
            store(&a.media, &fresh);
            report.transcribe_s += t0.elapsed().as_secs_f64() - fresh.2;
            fresh
        }
    };
    let Some((from, to)) = a.span else {
        report.audio_s += t.duration_s;
        return Ok((t, audio, tone_s));
    };
    // An answer cut out of a longer recording: the segments said inside it.
    let inside = |s: f64, e: f64| {
        let mid = 0.5 * (s + e);
        mid >= from - 0.3 && mid <= to + 0.3
    };
    let segments: Vec<Segment> = t
        .segments
        .iter()
        .filter(|s| inside(s.start, s.end))
        .cloned()
        .collect();
    let text_in = segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    report.audio_s += to - from;
    Ok((
        Transcript {
            duration_s: t.duration_s,
            language: t.language.clone(),
            model: t.model.clone(),
            segments,
            text: text_in,
        },
        audio
            .into_iter()
            .filter(|x| inside(x.start, x.end))
            .collect(),
        tone_s,
    ))
}

/// Whether a key fact is in a text, allowing for the speech model's slips:
/// at least two thirds of the fact's content words (numbers spelled out;
/// all of them for a fact of one or two words) are among the text's words,
/// exactly or as a likely slip of a long word; or, for a name the model
/// split or joined ("North Wind" for "Northwind"), the letters in a row.
///
/// ```
/// use panelflow_models::analysis::eval::answers::fact_in;
/// assert!(fact_in("forty percent", "Waiting fell by 40% in May."));
/// assert!(fact_in("Kubernetes", "we ran it on Kubernetis"));
/// assert!(!fact_in("three weeks", "It took two weeks."));
/// assert!(fact_in("Northwind Payments", "at North Wind Payments when"));
/// assert!(fact_in("two point four million dollars", "about 2.4 million dollars"));
/// assert!(fact_in("a canary stage for config changes", "we added a canary step for config changes"));
/// ```
pub fn fact_in(fact: &str, text_in: &str) -> bool {
    let have = wer::normalize(text_in);
    let joined_fact: String = wer::normalize(fact).concat();
    if joined_fact.len() >= 8 && have.concat().contains(&joined_fact) {
        return true;
    }
    let all = wer::normalize(fact);
    let content: Vec<&String> = all
        .iter()
        .filter(|w| !text::is_stopword(w) || w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let want: Vec<&String> = if content.is_empty() {
        all.iter().collect()
    } else {
        content
    };
    if want.is_empty() {
        return false;
    }
    let found = want
        .iter()
        .filter(|w| {
            have.iter()
                .any(|h| h == **w || text::stem(h) == text::stem(w) || text::sounds_like(h, w))
        })
        .count();
    let needed = if want.len() <= 2 {
        want.len()
    } else {
        (2 * want.len()).div_ceil(3)
    };
    found >= needed
}

/// Analyses one answer as a platform's answer: one media item with its
/// question id and text.
fn analyse_one(
    analyzer: &mut Analyzer,
    a: &LabelledAnswer,
    t: Transcript,
    audio: Vec<crate::analysis::tone::SegmentAudio>,
) -> Summary {
    let pipeline = PipelineRef {
        name: "eval".into(),
        version: "eval".into(),
        config_hash: String::new(),
    };
    let event = InterviewCompleted::new("eval", &a.answer_id, &a.candidate_id, "eval", vec![]);
    let mut summary = Summary::build(
        &event,
        &pipeline,
        vec![(
            Some(a.question.id.clone()),
            Some(a.question.text.clone()),
            t,
        )],
        vec![],
    );
    let ctx = Context {
        questions: std::slice::from_ref(&a.question),
        questions_from: Some("platform"),
        posting: None,
        role: None,
    };
    analyzer.analyze(&mut summary, &[audio], &ctx);
    summary
}

/// Measures the analysis on a split.
pub fn evaluate_split(
    split: &Split,
    transcriber: &mut Transcriber,
    analyzer: &mut Analyzer,
) -> Result<SplitReport, AnalysisError> {
    let mut report = SplitReport {
        split: split.name.clone(),
        sha256: split.sha256.clone(),
        ..Default::default()
    };
    for a in &split.answers {
        let (t, audio, tone_s) = transcript_of(transcriber, a, &mut report)?;
        let words = text::norm_words(&t.text).len();
        let transcript_words: Vec<String> = t.text.split_whitespace().map(str::to_string).collect();
        let t0 = Instant::now();
        let summary = analyse_one(analyzer, a, t, audio);
        report.analysis_s += t0.elapsed().as_secs_f64() + tone_s;
        let answer = summary.answers.first();
        let score = summary.scores.first();
        let digest_text = answer
            .and_then(|x| x.digest.as_ref())
            .map(|d| d.text())
            .unwrap_or_default();
        let budget = digest_text.split_whitespace().count();
        let lead = transcript_words
            .iter()
            .take(budget)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let facts: Vec<(String, bool)> = a
            .key_facts
            .iter()
            .map(|f| (f.clone(), fact_in(f, &digest_text)))
            .collect();
        let lead_hits = a.key_facts.iter().filter(|f| fact_in(f, &lead)).count();
        let whole = transcript_words.join(" ");
        let transcript_hits = a.key_facts.iter().filter(|f| fact_in(f, &whole)).count();
        report.details.push(AnswerResult {
            answer_id: a.answer_id.clone(),
            question_id: a.question.id.clone(),
            competency: score.map(|s| s.competency.clone()),
            label: a.label,
            score: score.map(|s| s.score),
            level: score.map(|s| s.level),
            confidence: score.map(|s| s.confidence),
            words,
            uncertain_expected: a.uncertain,
            uncertain_found: answer
                .is_some_and(|x| x.flags.iter().any(|f| f == "uncertain_needs_clarification")),
            key_facts: facts,
            key_facts_lead: lead_hits,
            key_facts_transcript: transcript_hits,
            kind: a.kind.clone(),
            features: score.map(|s| s.features.clone()).unwrap_or_default(),
        });
    }
    summarise(&mut report);
    Ok(report)
}

/// The figures from the per-answer results.
fn summarise(r: &mut SplitReport) {
    let d = &r.details;
    r.answers = d.len();
    let mut qs: Vec<&str> = d.iter().map(|x| x.question_id.as_str()).collect();
    qs.sort_unstable();
    qs.dedup();
    r.questions = qs.len();
    if d.is_empty() {
        return;
    }
    let n = d.len() as f64;
    r.coverage = d.iter().filter(|x| x.score.is_some()).count() as f64 / n;
    let labels: Vec<f64> = d.iter().map(|x| f64::from(x.label)).collect();
    // An answer left unscored ranks lowest.
    let levels: Vec<f64> = d.iter().map(|x| x.level.unwrap_or(0.0)).collect();
    let scores: Vec<f64> = d.iter().map(|x| x.score.map_or(0.0, f64::from)).collect();
    let lengths: Vec<f64> = d.iter().map(|x| x.words as f64).collect();
    r.spearman = spearman(&levels, &labels);
    r.spearman_score = spearman(&scores, &labels);
    r.spearman_length = spearman(&lengths, &labels);
    let groups: Vec<&str> = d.iter().map(|x| x.question_id.as_str()).collect();
    (r.pairwise, r.pairs) = pairwise_accuracy(&groups, &labels, &levels);
    r.pairwise_length = pairwise_accuracy(&groups, &labels, &lengths).0;
    r.mae = d
        .iter()
        .map(|x| (f64::from(x.score.unwrap_or(1)) - f64::from(x.label)).abs())
        .sum::<f64>()
        / n;
    r.exact = d.iter().filter(|x| x.score == Some(x.label)).count() as f64 / n;
    let mode = (1..=4u8)
        .max_by_key(|l| d.iter().filter(|x| x.label == *l).count())
        .unwrap_or(3);
    r.mae_constant = d
        .iter()
        .map(|x| (f64::from(mode) - f64::from(x.label)).abs())
        .sum::<f64>()
        / n;
    let (mut flag, mut all) = (Prf::default(), Prf::default());
    for x in d {
        let Some(want) = x.uncertain_expected else {
            continue;
        };
        match (x.uncertain_found, want) {
            (true, true) => flag.tp += 1,
            (true, false) => flag.fp += 1,
            (false, true) => flag.r#fn += 1,
            (false, false) => {}
        }
        if want {
            all.tp += 1;
        } else {
            all.fp += 1;
        }
    }
    r.uncertain = flag;
    r.uncertain_always = all;
    r.key_facts = d.iter().map(|x| x.key_facts.len()).sum();
    if r.key_facts > 0 {
        let found = d.iter().flat_map(|x| &x.key_facts).filter(|f| f.1).count();
        let lead: usize = d.iter().map(|x| x.key_facts_lead).sum();
        r.key_fact_recall = found as f64 / r.key_facts as f64;
        r.key_fact_recall_lead = lead as f64 / r.key_facts as f64;
        let heard: usize = d.iter().map(|x| x.key_facts_transcript).sum();
        r.key_fact_ceiling = heard as f64 / r.key_facts as f64;
    }
    r.reliability = (0..5)
        .map(|b| {
            let (from, to) = (b as f64 * 0.2, (b + 1) as f64 * 0.2);
            let inside: Vec<&AnswerResult> = d
                .iter()
                .filter(|x| {
                    x.confidence
                        .is_some_and(|c| c >= from && (c < to || (b == 4 && c <= 1.0)))
                })
                .collect();
            let m = inside.len().max(1) as f64;
            Band {
                from,
                to,
                n: inside.len(),
                mean_confidence: inside.iter().filter_map(|x| x.confidence).sum::<f64>() / m,
                exact: inside.iter().filter(|x| x.score == Some(x.label)).count() as f64 / m,
                within_one: inside
                    .iter()
                    .filter(|x| x.score.is_some_and(|s| s.abs_diff(x.label) <= 1))
                    .count() as f64
                    / m,
                same_side: inside
                    .iter()
                    .filter(|x| x.score.is_some_and(|s| (s >= 3) == (x.label >= 3)))
                    .count() as f64
                    / m,
            }
        })
        .collect();
}

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
            let (weighted, span) = t.segments.iter().fold((0.0, 0.0), |(w, s), seg| {
                let len = (seg.end - seg.start).max(0.0);
                (w + seg.confidence * len, s + len)
            });
            let (mapping, ev) =
                analyzer.evidence_of(Some(&a.question.id), &a.question.text, &t.segments);
            let reliability = Reliability {
                transcription: if span > 0.0 { weighted / span } else { 0.0 },
                alignment: 1.0,
                mapping: mapping.map_or(0.0, |m| m.similarity),
            };
            rows.push((
                Sample {
                    x: ev.features.values(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn result(q: &str, label: u8, level: f64, words: usize) -> AnswerResult {
        AnswerResult {
            answer_id: format!("{q}{label}{words}"),
            question_id: q.into(),
            competency: None,
            label,
            score: Some(level.round() as u8),
            level: Some(level),
            confidence: Some(0.5),
            words,
            uncertain_expected: Some(label == 1),
            uncertain_found: label == 1,
            key_facts: vec![("x".into(), label > 2)],
            key_facts_lead: 0,
            key_facts_transcript: 1,
            kind: None,
            features: Default::default(),
        }
    }

    #[test]
    fn the_summary_figures_of_a_perfect_scorer() {
        let mut r = SplitReport {
            details: vec![
                result("a", 1, 1.1, 90),
                result("a", 4, 3.9, 20),
                result("b", 2, 2.0, 50),
                result("b", 3, 3.0, 40),
            ],
            ..Default::default()
        };
        summarise(&mut r);
        assert_eq!(r.coverage, 1.0);
        assert!((r.spearman - 1.0).abs() < 1e-9);
        assert_eq!(r.pairwise, 1.0);
        assert_eq!(r.pairwise_length, 0.0, "length orders these pairs wrong");
        assert_eq!((r.uncertain.precision(), r.uncertain.recall()), (1.0, 1.0));
        assert_eq!(r.key_fact_recall, 0.5);
        assert_eq!(r.reliability[2].n, 4);
    }
}
