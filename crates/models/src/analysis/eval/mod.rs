//! Quality, measured.
//!
//! - [`evaluate`] runs transcription and the analysis over the sample
//!   interviews of `datasets/manifest.json` as a pipeline would (whole
//!   recordings, the question set from the posting) and measures what holds
//!   there: word error rate, answer boundaries, skills, unanswered questions.
//! - [`answers`] measures the scores, the uncertainty flag and the digests
//!   on the labelled splits — development and the frozen test split — beside
//!   trivial baselines, and fits the scoring model on development
//!   (`panelflow eval --fit`).
//!
//! `panelflow eval` prints both; the tests pin floors on them.

pub mod answers;
pub mod stats;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::analysis::analyzer::{Analyzer, Context};
use crate::analysis::answers::Question;
use crate::analysis::posting::Posting;
use crate::analysis::summary::{PipelineRef, Summary};
use crate::analysis::{wer, AnalysisError};
use crate::speech::transcriber::Transcriber;
use panelflow_core::event::InterviewCompleted;

/// Precision, recall and F1 of a set prediction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Prf {
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// False negatives.
    pub r#fn: usize,
}

impl Prf {
    /// Counts one prediction against its truth.
    pub fn add(&mut self, predicted: &BTreeSet<String>, truth: &BTreeSet<String>) {
        self.tp += predicted.intersection(truth).count();
        self.fp += predicted.difference(truth).count();
        self.r#fn += truth.difference(predicted).count();
    }

    /// tp / (tp + fp); 1 when nothing was predicted.
    pub fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }

    /// tp / (tp + fn); 1 when there was nothing to find.
    pub fn recall(&self) -> f64 {
        if self.tp + self.r#fn == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.r#fn) as f64
        }
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// One answer's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerEval {
    /// Interview.
    pub interview_id: String,
    /// Question.
    pub question_id: String,
    /// Start error, seconds (single recordings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary_error_s: Option<f64>,
    /// Skills annotated.
    pub skills_expected: Vec<String>,
    /// Skills found.
    pub skills_found: Vec<String>,
    /// Sentiment annotated.
    pub sentiment_expected: String,
    /// Sentiment found.
    pub sentiment_found: String,
    /// Its score and lexicon parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment_detail: Option<crate::analysis::sentiment::Sentiment>,
    /// The answer as transcribed.
    pub text_found: String,
    /// Flags raised.
    pub flags_found: Vec<String>,
}

/// The figures over the dataset.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    /// Interviews evaluated.
    pub interviews: usize,
    /// Annotated answers evaluated.
    pub answers: usize,
    /// Job families covered.
    pub job_families: BTreeSet<String>,
    /// Word error rate over every media file.
    pub wer: f64,
    /// Reference words.
    pub wer_words: usize,
    /// Mean absolute boundary error (start and end), seconds, over single-recording answers.
    pub boundary_error_s: f64,
    /// Boundaries compared.
    pub boundaries: usize,
    /// Skill mentions per answer.
    pub skills: Prf,
    /// Sentiment labels right.
    pub sentiment_accuracy: f64,
    /// Questions left unanswered found as such (`no_answer`), of those annotated.
    pub unanswered: Prf,
    /// Seconds of audio.
    pub audio_s: f64,
    /// Seconds spent transcribing.
    pub transcribe_s: f64,
    /// Seconds spent in the analysis (including tone measures).
    pub analysis_s: f64,
    /// Whether embeddings were used.
    pub embeddings: bool,
    /// Per answer.
    pub details: Vec<AnswerEval>,
}

impl EvalReport {
    /// A plain-text table of the figures.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let fams: Vec<&str> = self.job_families.iter().map(String::as_str).collect();
        out.push_str(&format!(
            "panelflow eval: {} interviews, {} annotated answers, {} job families ({}); embeddings: {}\n",
            self.interviews,
            self.answers,
            fams.len(),
            fams.join(", "),
            if self.embeddings { "all-MiniLM-L6-v2" } else { "off (word overlap)" }
        ));
        out.push_str(&format!(
            "  word error rate        {:>7.3}   ({} reference words)\n",
            self.wer, self.wer_words
        ));
        out.push_str(&format!("  boundary error         {:>7.3} s ({} single-recording answers, mean |start| and |end| error)\n", self.boundary_error_s, self.boundaries));
        out.push_str(&format!(
            "  skills                 P {:.3}  R {:.3}  F1 {:.3}   (tp {} fp {} fn {})\n",
            self.skills.precision(),
            self.skills.recall(),
            self.skills.f1(),
            self.skills.tp,
            self.skills.fp,
            self.skills.r#fn
        ));
        out.push_str(&format!(
            "  sentiment accuracy     {:>7.3}   ({} answers)\n",
            self.sentiment_accuracy, self.answers
        ));
        out.push_str(&format!(
            "  unanswered questions   P {:.3}  R {:.3}   (tp {} fp {} fn {})\n",
            self.unanswered.precision(),
            self.unanswered.recall(),
            self.unanswered.tp,
            self.unanswered.fp,
            self.unanswered.r#fn
        ));
        out.push_str(&format!(
            "  time: {:.1} s of audio, transcription {:.1} s, analysis {:.2} s ({:.1} % of transcription)\n",
            self.audio_s,
            self.transcribe_s,
            self.analysis_s,
            if self.transcribe_s > 0.0 { 100.0 * self.analysis_s / self.transcribe_s } else { 0.0 }
        ));
        if cfg!(debug_assertions) {
            out.push_str("  (a debug build: the analysis's own code is unoptimised here; `cargo bench --bench analysis` measures its budget)
");
        }
        out
    }
}

/// Reads the Lever postings of `datasets/lever_postings.json` by id.
pub fn load_postings(datasets: &Path) -> BTreeMap<String, Posting> {
    let text = std::fs::read_to_string(datasets.join("lever_postings.json")).unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    v.as_array()
        .into_iter()
        .flatten()
        .map(Posting::from_lever)
        .filter(|p| !p.id.is_empty())
        .map(|p| (p.id.clone(), p))
        .collect()
}

fn set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

pub use crate::analysis::tone::transcribe_with_tone;

/// Runs the evaluation over `datasets/` (its `manifest.json`), optionally
/// only some interviews.
pub fn evaluate(
    datasets: &Path,
    transcriber: &mut Transcriber,
    analyzer: &mut Analyzer,
    only: &[String],
) -> Result<EvalReport, AnalysisError> {
    let path = datasets.join("manifest.json");
    let manifest: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| AnalysisError::Data {
            path: path.display().to_string(),
            reason: "missing or not JSON".into(),
        })?;
    let postings = load_postings(datasets);
    let pipeline = PipelineRef {
        name: "eval".into(),
        version: "eval".into(),
        config_hash: String::new(),
    };
    let mut report = EvalReport {
        embeddings: analyzer.has_embeddings(),
        ..Default::default()
    };
    let (mut wer_errors, mut boundary_sum, mut sentiment_right) = (0usize, 0.0, 0usize);
    for it in manifest["interviews"].as_array().into_iter().flatten() {
        let id = it["interview_id"].as_str().unwrap_or_default().to_string();
        if !only.is_empty() && !only.contains(&id) {
            continue;
        }
        report.interviews += 1;
        if let Some(f) = it["job_family"].as_str() {
            report.job_families.insert(f.to_string());
        }
        let questions: Vec<Question> = it["questions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|q| Some(Question::new(q["id"].as_str()?, q["text"].as_str()?)))
            .collect();
        let answers = it["answers"].as_array().cloned().unwrap_or_default();
        // Transcribe each media file.
        let mut media = Vec::new();
        let mut audio = Vec::new();
        let mut tone_s = 0.0;
        for m in it["media"].as_array().into_iter().flatten() {
            let rel = m["path"].as_str().unwrap_or_default();
            let file: PathBuf = datasets.join(rel);
            let t0 = Instant::now();
            let key = transcriber.model_key();
            let (t, a, ts) = match cached(&file, &key) {
                Some((t, a, _)) => (t, a, 0.0),
                None => {
                    let fresh = transcribe_with_tone(transcriber, &file)?;
                    store(&file, &key, &fresh);
                    report.transcribe_s += t0.elapsed().as_secs_f64() - fresh.2;
                    fresh
                }
            };
            tone_s += ts;
            report.audio_s += t.duration_s;
            // WER against the reference of this file (questions read out included).
            let mut reference = Vec::new();
            for a in answers.iter().filter(|a| a["media_path"] == rel) {
                // A question read out in the recording is in its reference too.
                if a.get("question_start_s").is_some() {
                    let qid = a["question_id"].as_str().unwrap_or_default();
                    if let Some(q) = questions.iter().find(|q| q.id == qid) {
                        reference.push(q.text.clone());
                    }
                }
                reference.push(a["reference_text"].as_str().unwrap_or_default().to_string());
            }
            let r = wer::normalize(&reference.join(" "));
            wer_errors += wer::word_errors(&r, &wer::normalize(&t.text));
            report.wer_words += r.len();
            let qid = m["question_id"].as_str().map(str::to_string);
            let qtext = qid
                .as_ref()
                .and_then(|q| questions.iter().find(|x| &x.id == q))
                .map(|q| q.text.clone());
            media.push((qid, qtext, t));
            audio.push(a);
        }
        let event = InterviewCompleted::new("eval", &id, "eval", "eval", vec![]);
        let mut summary = Summary::build(&event, &pipeline, media, vec![]);
        let posting = it["posting_id"].as_str().and_then(|p| postings.get(p));
        let single = it["form"] == "single_recording";
        // As a pipeline sees it: a single recording's questions come from
        // the posting's application form; per-answer media name their own.
        let ctx = Context {
            questions: if single { &questions } else { &[] },
            questions_from: Some("posting"),
            posting,
            role: None,
        };
        let t0 = Instant::now();
        analyzer.analyze(&mut summary, &audio, &ctx);
        report.analysis_s += t0.elapsed().as_secs_f64() + tone_s;

        // Compare.
        let answered: BTreeSet<&str> = answers
            .iter()
            .filter_map(|a| a["question_id"].as_str())
            .collect();
        for a in &answers {
            let qid = a["question_id"].as_str().unwrap_or_default();
            let found = summary
                .answers
                .iter()
                .find(|x| x.question_id.as_deref() == Some(qid));
            report.answers += 1;
            let mut e = AnswerEval {
                interview_id: id.clone(),
                question_id: qid.to_string(),
                boundary_error_s: None,
                skills_expected: set(&a["skills_mentioned"]).into_iter().collect(),
                skills_found: found.map(|f| f.skills.clone()).unwrap_or_default(),
                sentiment_expected: a["sentiment"].as_str().unwrap_or_default().to_string(),
                sentiment_found: found
                    .and_then(|f| f.sentiment.as_ref())
                    .map(|s| s.label.as_str().to_string())
                    .unwrap_or_else(|| "none".into()),
                sentiment_detail: found.and_then(|f| f.sentiment.clone()),
                text_found: found.map(|f| f.text.clone()).unwrap_or_default(),
                flags_found: found.map(|f| f.flags.clone()).unwrap_or_default(),
            };
            if single {
                let (s, en) = (
                    a["start_s"].as_f64().unwrap_or(0.0),
                    a["end_s"].as_f64().unwrap_or(0.0),
                );
                let err = match found.and_then(|f| Some((f.start?, f.end?))) {
                    Some((fs, fe)) if found.is_some_and(|f| f.answered) => {
                        0.5 * ((fs - s).abs() + (fe - en).abs())
                    }
                    _ => en - s,
                };
                boundary_sum += err;
                report.boundaries += 1;
                e.boundary_error_s = Some((err * 1000.0).round() / 1000.0);
            }
            let expected: BTreeSet<String> = e.skills_expected.iter().cloned().collect();
            let got: BTreeSet<String> = e.skills_found.iter().cloned().collect();
            report.skills.add(&got, &expected);
            if e.sentiment_expected == e.sentiment_found {
                sentiment_right += 1;
            }
            report.details.push(e);
        }
        // Unanswered questions: `no_answer` is expected there.
        for q in questions
            .iter()
            .filter(|q| !answered.contains(q.id.as_str()))
        {
            let found = summary
                .answers
                .iter()
                .find(|x| x.question_id.as_deref() == Some(q.id.as_str()));
            let got: BTreeSet<String> = found
                .map(|f| f.flags.iter().cloned().collect())
                .unwrap_or_default();
            let expected: BTreeSet<String> = ["no_answer".to_string()].into();
            let got: BTreeSet<String> = got.intersection(&expected).cloned().collect();
            report.unanswered.add(&got, &expected);
        }
        // And answered ones wrongly taken for unanswered.
        for a in &summary.answers {
            let qid = a.question_id.as_deref().unwrap_or_default();
            if answered.contains(qid) && a.flags.iter().any(|f| f == "no_answer") {
                report.unanswered.fp += 1;
            }
        }
    }
    if report.wer_words > 0 {
        report.wer = wer_errors as f64 / report.wer_words as f64;
    }
    if report.boundaries > 0 {
        report.boundary_error_s = boundary_sum / report.boundaries as f64;
    }
    if report.answers > 0 {
        report.sentiment_accuracy = sentiment_right as f64 / report.answers as f64;
    }
    Ok(report)
}

/// `PANELFLOW_EVAL_CACHE`: a folder where transcripts and tone measures are
/// kept between runs (for tuning the analysis; never set in CI), one file
/// per recording and speech-model setting (`model`:
/// [`crate::speech::transcriber::Transcriber::model_key`]).
pub(crate) fn cache_path(file: &Path, model: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("PANELFLOW_EVAL_CACHE")?);
    let sha = crate::onnx::file_sha256(file).ok()?;
    Some(dir.join(format!("{sha}.{model}.json")))
}

pub(crate) type Transcribed = (
    crate::speech::Transcript,
    Vec<crate::analysis::tone::SegmentAudio>,
    f64,
);

pub(crate) fn cached(file: &Path, model: &str) -> Option<Transcribed> {
    let text = std::fs::read_to_string(cache_path(file, model)?).ok()?;
    serde_json::from_str(&text).ok()
}

pub(crate) fn store(file: &Path, model: &str, value: &Transcribed) {
    if let Some(path) = cache_path(file, model) {
        let _ = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")));
        if let Ok(text) = serde_json::to_string(value) {
            let _ = std::fs::write(path, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prf_counts() {
        let mut p = Prf::default();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>();
        p.add(&s(&["a", "b"]), &s(&["b", "c"]));
        assert_eq!((p.tp, p.fp, p.r#fn), (1, 1, 1));
        assert!((p.f1() - 0.5).abs() < 1e-12);
        assert_eq!(Prf::default().f1(), 1.0);
    }
}
