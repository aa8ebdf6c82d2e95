//! The report of a split: per-answer results, confidence bands and the
//! figures, with its plain-text table.

use serde::Serialize;

use crate::analysis::eval::Prf;

use super::reference::{OnOwnText, OwnTextFigures};

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
    /// Words of the answer's text (as written before it was spoken).
    #[serde(default)]
    pub reference_words: usize,
    /// Word errors of the transcript against that text.
    #[serde(default)]
    pub word_errors: usize,
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
    /// Key facts the transcript holds but the digest left out (what the
    /// digest, not the speech model, lost).
    pub key_facts_heard_not_kept: Vec<String>,
    /// The author's kind.
    pub kind: Option<String>,
    /// The evidence features and their contributions to the score.
    pub features: std::collections::BTreeMap<String, [f64; 2]>,
    /// The same answer analysed on its own text.
    pub own_text: OnOwnText,
    /// The voice it was spoken in, when the split names one.
    pub voice: Option<String>,
}

/// The figures of the answers spoken in one voice: how far the speech
/// model fails that voice, and what it costs the candidate.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VoiceFigures {
    /// The voice (`en-029`, `en-gb`, …).
    pub voice: String,
    /// Answers spoken in it.
    pub answers: usize,
    /// Word error rate of their transcripts.
    pub wer: f64,
    /// Share of their key facts the transcripts hold.
    pub key_fact_ceiling: f64,
    /// Recall of their key facts in the digests.
    pub key_fact_recall: f64,
    /// Mean expected level on the transcript minus on the answer's own
    /// text: below 0, the speech model costs these candidates score.
    pub level_shift: f64,
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
    /// Word error rate of the split's transcripts against the answers'
    /// texts (numbers spelled out on both sides).
    #[serde(default)]
    pub wer: f64,
    /// Recall of the lead baseline.
    pub key_fact_recall_lead: f64,
    /// Share of key facts the transcript holds at all (what speech
    /// recognition left to find).
    pub key_fact_ceiling: f64,
    /// The figures on the answers' own texts (perfect speech recognition).
    pub own_text: OwnTextFigures,
    /// Per voice, when the split names voices.
    pub by_voice: Vec<VoiceFigures>,
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
        if self.wer > 0.0 {
            out.push_str(&format!(
                "  word error rate          {}   (the transcripts against the answers' texts)\n",
                p(self.wer)
            ));
        }
        if self.key_facts > 0 {
            out.push_str(&format!(
                "  key-fact recall          {}   ({} facts; the transcript holds {} of them; baseline: the answer's first words, as many as the digest: {})\n",
                p(self.key_fact_recall),
                self.key_facts,
                p(self.key_fact_ceiling),
                p(self.key_fact_recall_lead)
            ));
        }
        let o = &self.own_text;
        out.push_str(&format!(
            "  on the answers' own texts  rho {:.3}  pairwise {}  MAE {:.3}  key-fact recall {}  uncertainty P {} R {}   (the analysis alone, as if speech recognition were perfect)\n",
            o.spearman,
            p(o.pairwise),
            o.mae,
            p(o.key_fact_recall),
            p(o.uncertain_precision),
            p(o.uncertain_recall)
        ));
        if !self.by_voice.is_empty() {
            out.push_str("  per voice                answers, word error rate, key facts held, key-fact recall, level on the transcript minus on the own text\n");
            for v in &self.by_voice {
                out.push_str(&format!(
                    "    {:<22} {:>4}   {:>7}   {:>7}   {:>7}   {:+.3}\n",
                    v.voice,
                    v.answers,
                    p(v.wer),
                    p(v.key_fact_ceiling),
                    p(v.key_fact_recall),
                    v.level_shift
                ));
            }
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
