//! The analysis of one interview, as the dataflow and `panelflow analyze`
//! run it: from the summary's media transcripts (and the tone measures of
//! their audio) to answers per question, each question's competency, the
//! general evidence of each answer and its score, the digest of each answer,
//! strengths, concerns and red flags, skills, and — for information only —
//! sentiment and vocal tone.
//!
//! What was asked comes from the platform, the Lever posting or a pipeline
//! role, or is heard in the recording (an interviewer reading questions
//! out). When nobody says what was asked, the analysis says so
//! (`questions_from = "unknown"`): it summarises, but scores nothing and
//! reports no skill as missing. It never guesses a role from the transcript.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

mod asked;
mod judged;
mod skills;

use super::answers::Question;
use super::competency::{overlap_similarity, Bindings, CompetencyLibrary};
use super::digest::digest;
use super::embed::{cosine, Embedder};
use super::evidence::sentences::timed_sentences;
use super::evidence::{evidence, Similarities};
use super::highlights::{strengths_and_concerns, summary_text, Highlights, RedFlag, RedFlagKind};
use super::posting::Posting;
use super::roles::{Role, Roles};
use super::scoring::{Reliability, Score, ScoringModel};
use super::sentiment::{Label, SentimentModel};
use super::skills::SkillLexicon;
use super::summary::{AnalysisInfo, AnswerTranscript, Flag, Summary};
use super::tone::{count_long_pauses, measure_answer, SegmentAudio};
use super::{text, AnalysisError, AnalysisSection, EmbeddingsMode};
use crate::speech::moonshine::ModelInfo;
use panelflow_core::outcome::Severity;

/// What is known about the interview besides its media.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The questions asked, in order (for a single recording; per-answer
    /// media name their own).
    pub questions: &'a [Question],
    /// Where `questions` came from (`platform`, `posting`, `role`).
    pub questions_from: Option<&'a str>,
    /// The requisition, when known.
    pub posting: Option<&'a Posting>,
    /// The pipeline role (a key of `[roles]`), when known.
    pub role: Option<&'a str>,
}

/// Loaded models and settings, reused across interviews.
pub struct Analyzer {
    embedder: Option<Embedder>,
    sentiment: SentimentModel,
    skills: SkillLexicon,
    roles: Roles,
    library: CompetencyLibrary,
    bindings: Bindings,
    scoring: ScoringModel,
    settings: AnalysisSection,
    models: Vec<ModelInfo>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("embeddings", &self.embedder.is_some())
            .field("roles", &self.roles.0.keys().collect::<Vec<_>>())
            .field("competencies", &self.library.len())
            .field("scoring", &self.scoring.version)
            .finish_non_exhaustive()
    }
}

/// Figures rounded for output.
fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Words below which an answer is not an answer.
const MIN_ANSWER_WORDS: usize = 3;
/// Words from which an answer may be judged confidently given.
const MIN_CONFIDENT_WORDS: usize = 15;

impl Analyzer {
    /// Builds the analyzer of a pipeline from its `[analysis]`, `[roles]`
    /// and `[speech]` (models folder, threads) sections.
    pub fn from_sections(
        analysis: &AnalysisSection,
        roles: &Roles,
        speech: &crate::speech::SpeechSection,
    ) -> Result<Self, AnalysisError> {
        Self::new(
            analysis.clone(),
            roles.clone(),
            &speech.models_dir().join("minilm"),
            speech.threads,
        )
    }

    /// Builds an analyzer; loads the embedding model from `minilm_dir` unless
    /// the settings say `off` (with `auto`, a missing model means word overlap).
    pub fn new(
        settings: AnalysisSection,
        roles: Roles,
        minilm_dir: &Path,
        threads: usize,
    ) -> Result<Self, AnalysisError> {
        let skills = match &settings.skills_file {
            Some(path) => SkillLexicon::load(path)?,
            None => SkillLexicon::builtin()?,
        };
        let scoring = match &settings.scoring_model {
            Some(path) => ScoringModel::load(path)?,
            None => ScoringModel::default(),
        };
        let embedder = match settings.embeddings {
            EmbeddingsMode::Off => None,
            EmbeddingsMode::Required => Some(Embedder::load(minilm_dir, threads)?),
            EmbeddingsMode::Auto if Embedder::installed(minilm_dir) => {
                Some(Embedder::load(minilm_dir, threads)?)
            }
            EmbeddingsMode::Auto => {
                tracing::warn!(dir = %minilm_dir.display(), "sentence-embedding model not installed; the analysis uses word overlap");
                None
            }
        };
        let models = embedder.iter().map(|e| e.info().clone()).collect();
        let library = CompetencyLibrary::with(&settings.competencies);
        let mut bindings = roles.bindings();
        for (q, c) in &settings.question_competencies {
            bindings.insert(q.clone(), c.clone());
        }
        for (q, ids) in &bindings {
            if let Some(id) = ids.iter().find(|id| library.get(id).is_none()) {
                return Err(AnalysisError::Data {
                    path: "[analysis] question_competencies".into(),
                    reason: format!("question {q} is bound to `{id}`, which is not a competency"),
                });
            }
        }
        Ok(Self {
            embedder,
            sentiment: SentimentModel::new(),
            skills,
            roles,
            library,
            bindings,
            scoring,
            settings,
            models,
        })
    }

    /// The analysis models (the embedding model, when loaded).
    pub fn models(&self) -> &[ModelInfo] {
        &self.models
    }

    /// Whether sentence embeddings are in use.
    pub fn has_embeddings(&self) -> bool {
        self.embedder.is_some()
    }

    /// The skills vocabulary.
    pub fn skills(&self) -> &SkillLexicon {
        &self.skills
    }

    /// The competencies scored.
    pub fn library(&self) -> &CompetencyLibrary {
        &self.library
    }

    /// The scoring model.
    pub fn scoring(&self) -> &ScoringModel {
        &self.scoring
    }

    fn embed(&mut self, texts: &[&str]) -> Option<Vec<Vec<f32>>> {
        let e = self.embedder.as_mut()?;
        match e.embed(texts) {
            Ok(v) => Some(v),
            Err(err) => {
                tracing::warn!(error = %err, "embedding failed; falling back to word overlap");
                None
            }
        }
    }

    /// Similarity of two texts: sentence embeddings, else word overlap.
    fn similarity(&mut self, a: &str, b: &str) -> f64 {
        match self.embed(&[a, b]) {
            Some(v) => cosine(&v[0], &v[1]),
            None => overlap_similarity(a, b),
        }
    }

    /// Analyses an interview: replaces the summary's media transcripts by
    /// answers per question and fills in competencies, scores, digests,
    /// highlights, skills, sentiment and flags. `audio[i]` holds the tone
    /// measures of media item `i` (empty when the audio was not measured).
    pub fn analyze(
        &mut self,
        summary: &mut Summary,
        audio: &[Vec<SegmentAudio>],
        ctx: &Context<'_>,
    ) {
        let started = Instant::now();
        let media = std::mem::take(&mut summary.answers);
        if !self.settings.enabled {
            summary.answers = media;
            return;
        }

        // What was asked.
        let media_qids: Vec<&str> = media
            .iter()
            .filter_map(|m| m.question_id.as_deref())
            .collect();
        let role = self.role(ctx, &media_qids);
        let role_def: Option<Role> = role
            .as_ref()
            .and_then(|(k, _)| self.roles.0.get(k).cloned());
        let every_media_has_id = !media.is_empty() && media.iter().all(|m| m.question_id.is_some());
        let (questions, questions_from): (Vec<Question>, &str) = if !ctx.questions.is_empty() {
            (
                ctx.questions.to_vec(),
                ctx.questions_from.unwrap_or("platform"),
            )
        } else if every_media_has_id {
            // The platform's ids; texts it left out, and bindings, from the role's set.
            let known = |id: &str| {
                role_def
                    .as_ref()
                    .and_then(|r| r.questions.iter().find(|q| q.id == id))
            };
            let qs = media
                .iter()
                .filter_map(|m| {
                    let id = m.question_id.clone()?;
                    let mut q = Question::new(id.clone(), m.question.clone().unwrap_or_default());
                    if let Some(k) = known(&id) {
                        if q.text.is_empty() {
                            q.text = k.text.clone();
                        }
                        q.competencies = k.competencies.clone();
                    }
                    Some(q)
                })
                .collect();
            (qs, "platform")
        } else if let Some(r) = role_def.as_ref().filter(|r| !r.questions.is_empty()) {
            (r.questions.clone(), "role")
        } else if media.len() == 1 {
            match asked::heard_questions(&media[0].segments) {
                qs if !qs.is_empty() => (qs, "heard_in_recording"),
                _ => (Vec::new(), "unknown"),
            }
        } else {
            (Vec::new(), "unknown")
        };
        let explicit = matches!(questions_from, "platform" | "posting");
        let (mut answers, answers_from) = self.answers(media, &questions, explicit);

        // Per answer: sentences, confidence, mapping, evidence, flags, tone.
        let texts: Vec<String> = answers.iter().map(|a| a.text.clone()).collect();
        let answer_emb = self.embed(&texts.iter().map(String::as_str).collect::<Vec<_>>());
        let thresholds = self.settings.tone.clone();
        let mut flags: Vec<Flag> = Vec::new();
        let mut red_flags: Vec<RedFlag> = Vec::new();
        let mut scores: Vec<Score> = Vec::new();
        for k in 0..answers.len() {
            let sentences = timed_sentences(&answers[k].segments);
            let a = &mut answers[k];
            let words = text::norm_words(&a.text).len();
            a.words = Some(words);
            let transcription = crate::speech::mean_confidence(&a.segments);
            a.transcription_confidence = Some(r3(transcription));
            let align_conf = a.alignment_confidence.unwrap_or(1.0);
            a.confidence = Some(r3(if a.answered {
                align_conf * transcription
            } else {
                align_conf
            }));
            let qid = a.question_id.clone();
            let question = a.question.clone().unwrap_or_default();
            let asked = qid.is_some() || !question.is_empty();
            let mut raise = |name: &str,
                             severity: Severity,
                             figures: Vec<(&str, f64)>,
                             evidence: Option<String>,
                             a: &mut AnswerTranscript| {
                a.flags.push(name.to_string());
                flags.push(Flag {
                    name: name.to_string(),
                    question_id: qid.clone(),
                    severity,
                    figures: figures
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<BTreeMap<_, _>>(),
                    evidence,
                });
            };
            if !a.answered || words < MIN_ANSWER_WORDS {
                a.answered = false;
                if asked {
                    raise(
                        "no_answer",
                        Severity::Review,
                        vec![("words", words as f64)],
                        None,
                        a,
                    );
                    red_flags.push(RedFlag {
                        kind: RedFlagKind::NoAnswer,
                        question_id: qid.clone(),
                        text: format!(
                            "No answer to: {}",
                            a.question.as_deref().unwrap_or("(question)")
                        ),
                        at: None,
                    });
                    if let Some(mapping) = self.map_question(qid.as_deref(), &question, "") {
                        scores.push(self.unanswered_score(
                            &mapping,
                            qid.as_deref().unwrap_or(""),
                            align_conf,
                        ));
                        answers[k].mapping = Some(mapping);
                    }
                }
                continue;
            }
            let answer_text = a.text.clone();
            a.sentiment = Some(self.sentiment.score(&answer_text));
            let times: Vec<(f64, f64)> = a.segments.iter().map(|s| (s.start, s.end)).collect();
            let media_audio: Vec<&SegmentAudio> = audio
                .get(a.media_index)
                .map(|v| {
                    v.iter()
                        .filter(|m| {
                            let mid = 0.5 * (m.start + m.end);
                            a.segments
                                .iter()
                                .any(|s| mid >= s.start - 0.05 && mid <= s.end + 0.05)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let (mut tone, _) = measure_answer(&a.text, &times, &media_audio);
            tone.long_pauses = count_long_pauses(&times, &media_audio, thresholds.long_pause_s);
            // The voice: shown to the recruiter, never in a score, and no
            // input to a rule (severity `info`) unless the pipeline opts in.
            let voice_severity = if self.settings.voice_in_decisions {
                Severity::Review
            } else {
                Severity::Info
            };
            let enough = words >= 10;
            if enough && tone.words_per_minute > thresholds.fast_wpm {
                raise(
                    "very_fast_pace",
                    Severity::Info,
                    vec![
                        ("words_per_minute", tone.words_per_minute),
                        ("threshold", thresholds.fast_wpm),
                    ],
                    None,
                    a,
                );
            }
            if enough && tone.span_s >= 5.0 && tone.words_per_minute < thresholds.slow_wpm {
                raise(
                    "slow_pace",
                    Severity::Info,
                    vec![
                        ("words_per_minute", tone.words_per_minute),
                        ("threshold", thresholds.slow_wpm),
                    ],
                    None,
                    a,
                );
            }
            if tone.long_pauses > 0 || tone.pause_ratio > thresholds.max_pause_ratio {
                raise(
                    "long_silences",
                    voice_severity,
                    vec![
                        ("long_pauses", tone.long_pauses as f64),
                        ("longest_pause_s", tone.longest_pause_s),
                        ("pause_ratio", tone.pause_ratio),
                    ],
                    None,
                    a,
                );
            }
            a.tone = Some(tone);
            a.digest = Some(digest(&sentences, &self.skills));
            if !asked {
                continue;
            }

            // The competency, the evidence and the score.
            let Some(mapping) = self.map_question(qid.as_deref(), &question, &answer_text) else {
                continue;
            };
            let anchors: Option<Vec<String>> = self
                .library
                .get(&mapping.competency)
                .map(|c| c.anchors.to_vec());
            let sims = match &answer_emb {
                Some(e) => self.similarities(&e[k], &question, anchors.as_deref()),
                None => Similarities::default(),
            };
            let ev = evidence(&sentences, &question, sims);
            let a = &mut answers[k];
            let specific_and_measured =
                ev.features.specific_situation >= 0.5 && ev.features.measured >= 1.0;
            let uncertain = ev.hedging.uncertain(words, specific_and_measured);
            if uncertain {
                raise(
                    "uncertain_needs_clarification",
                    Severity::Review,
                    vec![
                        ("strong_hedges", ev.hedging.strong as f64),
                        ("mild_hedges", ev.hedging.mild as f64),
                    ],
                    ev.hedging.quote.as_ref().map(|q| q.text.clone()),
                    a,
                );
            } else if words >= MIN_CONFIDENT_WORDS && ev.hedging.strong == 0 {
                raise(
                    "high_confidence",
                    Severity::Info,
                    vec![("mild_hedges", ev.hedging.mild as f64)],
                    None,
                    a,
                );
            }
            let quote_of = |feature: &str| ev.quotes.iter().find(|q| q.feature == feature);
            if ev.features.evasion >= 1.0 {
                let q = quote_of("evasion");
                raise(
                    "evasive_answer",
                    Severity::Review,
                    vec![],
                    q.map(|q| q.text.clone()),
                    a,
                );
                red_flags.push(RedFlag {
                    kind: RedFlagKind::Evasive,
                    question_id: qid.clone(),
                    text: q.map_or_else(|| a.text.chars().take(160).collect(), |q| q.text.clone()),
                    at: q.map(|q| q.at),
                });
            }
            if words >= 8 && ev.features.off_topic >= self.settings.off_topic_threshold {
                raise(
                    "off_topic_answer",
                    Severity::Review,
                    vec![
                        ("off_topic", r3(ev.features.off_topic)),
                        ("threshold", self.settings.off_topic_threshold),
                    ],
                    None,
                    a,
                );
                red_flags.push(RedFlag {
                    kind: RedFlagKind::OffTopic,
                    question_id: qid.clone(),
                    text: sentences
                        .first()
                        .map_or_else(String::new, |s| s.text.clone()),
                    at: sentences.first().map(|s| s.start),
                });
            }
            if ev.features.blame >= 1.0 {
                let q = quote_of("blame");
                raise(
                    "blames_others",
                    Severity::Review,
                    vec![],
                    q.map(|q| q.text.clone()),
                    a,
                );
                red_flags.push(RedFlag {
                    kind: RedFlagKind::Blaming,
                    question_id: qid.clone(),
                    text: q.map_or_else(String::new, |q| q.text.clone()),
                    at: q.map(|q| q.at),
                });
            }
            let reliability = Reliability {
                transcription,
                alignment: align_conf,
                mapping: mapping.similarity,
            };
            scores.push(self.score(&mapping, qid.as_deref().unwrap_or(""), &ev, &reliability));
            answers[k].mapping = Some(mapping);
        }

        // Skills against the requisition.
        let (matched, missing, requested, open_search) =
            self.skills_against_requisition(ctx.posting, role_def.as_ref(), &mut answers);

        // Overall sentiment (information only): answers weighted by words.
        let (sum, weight) = answers
            .iter()
            .filter_map(|a| Some((a.sentiment.as_ref()?.score, a.words.unwrap_or(0) as f64)))
            .fold((0.0, 0.0), |(s, w), (x, n)| (s + x * n, w + n));
        if weight > 0.0 {
            summary.sentiment_score = r3(sum / weight);
            summary.sentiment = Label::of(summary.sentiment_score);
        }

        // Highlights and the first lines.
        let (strengths, concerns) = strengths_and_concerns(&scores, |id| {
            answers
                .iter()
                .find(|a| a.question_id.as_deref() == Some(id))
                .and_then(|a| a.question.as_deref())
        });
        let highlights = Highlights {
            strengths,
            concerns,
            red_flags,
        };
        let mut first_lines = summary_text(&highlights);
        if first_lines.is_empty() {
            // Nothing scored or flagged: the most telling sentences.
            first_lines = answers
                .iter()
                .filter_map(|a| a.digest.as_ref())
                .flat_map(|d| d.sentences.iter().map(|s| s.text.clone()))
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
        }
        if questions_from == "unknown" {
            first_lines =
                format!("The questions asked are not known, so nothing was scored. {first_lines}")
                    .trim_end()
                    .to_string();
        }

        summary.unanswered_questions = answers
            .iter()
            .filter(|a| !a.answered)
            .filter_map(|a| a.question_id.clone())
            .collect();
        summary.answers = answers;
        summary.interview_transcript_summary = first_lines;
        summary.key_skills_matched = matched;
        summary.skills_missing = if open_search { Vec::new() } else { missing };
        summary.skills_requested = if open_search { Vec::new() } else { requested };
        summary.flags = flags;
        summary.highlights = highlights;
        summary.overall_score = super::scoring::overall(&scores);
        summary.scores = scores;
        for m in &self.models {
            if !summary.models.contains(m) {
                summary.models.push(m.clone());
            }
        }
        summary.analysis = AnalysisInfo {
            complete: true,
            job_family: role.as_ref().map(|f| f.0.clone()),
            job_family_from: role.as_ref().map(|f| f.1.to_string()),
            questions_from: Some(questions_from.to_string()),
            answers_from: Some(answers_from.to_string()),
            embeddings: self.embedder.is_some(),
            skills_vocabulary_sha256: self.skills.sha256().to_string(),
            scoring_model: Some(self.scoring.version.clone()),
            voice_in_decisions: self.settings.voice_in_decisions,
            analysis_ms: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        };
        summary.analysis_completion_time = chrono::Utc::now().to_rfc3339();
    }
}
