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

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use super::answers::{align, AlignParams, AlignSegment, Alignment, Question};
use super::competency::{
    closest, overlap_similarity, Bindings, CompetencyLibrary, MappedBy, Mapping,
};
use super::digest::digest;
use super::embed::{cosine, Embedder};
use super::evidence::sentences::timed_sentences;
use super::evidence::{evidence, Evidence, Similarities, FEATURE_NAMES, PRIVATE_LIFE};
use super::highlights::{strengths_and_concerns, summary_text, Highlights, RedFlag, RedFlagKind};
use super::posting::Posting;
use super::roles::{Role, Roles};
use super::scoring::{criteria, raw_confidence, Reliability, Score, ScoringModel};
use super::sentiment::{Label, SentimentModel};
use super::skills::{match_requisition, Piece, SkillLexicon};
use super::summary::{AnalysisInfo, AnswerTranscript, Flag, Summary};
use super::tone::{count_long_pauses, measure_answer, SegmentAudio};
use super::{text, AnalysisError, AnalysisSection, EmbeddingsMode};
use crate::speech::moonshine::ModelInfo;
use crate::speech::Segment;
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

    /// The competency a question is judged on: bound by the pipeline, else
    /// the closest by meaning to its text, else (no text) to the answer.
    pub fn map_question(
        &mut self,
        question_id: Option<&str>,
        question: &str,
        answer: &str,
    ) -> Option<Mapping> {
        if let Some(id) = question_id
            .and_then(|q| self.bindings.get(q))
            .and_then(|c| c.first())
        {
            return Some(Mapping {
                competency: id.clone(),
                by: MappedBy::Pipeline,
                similarity: 1.0,
            });
        }
        let (text_in, by) = if question.trim().is_empty() {
            (answer, MappedBy::Answer)
        } else {
            (question, MappedBy::Similarity)
        };
        if text_in.trim().is_empty() {
            return None;
        }
        let library = self.library.clone();
        let (competency, similarity) = closest(&library, text_in, |a, b| self.similarity(a, b))?;
        Some(Mapping {
            competency,
            by,
            similarity: r3(similarity),
        })
    }

    /// The role of an interview: given, else the posting's, else the one
    /// whose question ids the platform sent, else the pipeline default.
    fn role(&self, ctx: &Context<'_>, media_qids: &[&str]) -> Option<(String, &'static str)> {
        if let Some(r) = ctx.role.filter(|r| self.roles.0.contains_key(*r)) {
            return Some((r.to_string(), "given"));
        }
        if let Some(p) = ctx.posting {
            let mut labels = p.labels.clone();
            labels.push(p.title.clone());
            if let Some((k, _)) = self.roles.by_labels(&labels) {
                return Some((k.to_string(), "posting"));
            }
        }
        let mut ids: Vec<&str> = media_qids.to_vec();
        ids.extend(ctx.questions.iter().map(|q| q.id.as_str()));
        if let Some((k, _)) = self.roles.by_questions(&ids) {
            return Some((k.to_string(), "question_ids"));
        }
        self.settings
            .default_role
            .clone()
            .filter(|r| self.roles.0.contains_key(r))
            .map(|r| (r, "default"))
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
            match heard_questions(&media[0].segments) {
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
            let (weighted, span) = a.segments.iter().fold((0.0, 0.0), |(w, s), seg| {
                let len = (seg.end - seg.start).max(0.0);
                (w + seg.confidence * len, s + len)
            });
            let transcription = if span > 0.0 { weighted / span } else { 0.0 };
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

        // Skills against the requisition: the posting's and the role's; with
        // neither, every known skill heard, and none reported missing.
        let mut requested: Vec<String> = Vec::new();
        if let Some(p) = ctx.posting {
            requested.extend(self.skills.skills_named(&p.full_text()));
        }
        if let Some(r) = &role_def {
            for s in &r.skills {
                let name = self
                    .skills
                    .canonical(s)
                    .map(str::to_string)
                    .unwrap_or_else(|| s.clone());
                if !requested.contains(&name) {
                    requested.push(name);
                }
            }
        }
        let open_search = requested.is_empty();
        if open_search {
            let all: String = answers
                .iter()
                .map(|a| a.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            requested = self.skills.skills_in(&all);
        }
        let pieces: Vec<Piece<'_>> = answers
            .iter()
            .filter(|a| a.answered)
            .flat_map(|a| {
                a.segments.iter().map(move |s| Piece {
                    question_id: a.question_id.as_deref(),
                    media_index: a.media_index,
                    start: s.start,
                    end: s.end,
                    text: &s.text,
                })
            })
            .collect();
        let (matched, missing) = match_requisition(&self.skills, &requested, &pieces);
        for a in answers.iter_mut() {
            a.skills = matched
                .iter()
                .filter(|m| {
                    m.mentions
                        .iter()
                        .any(|x| x.question_id == a.question_id && x.media_index == a.media_index)
                })
                .map(|m| m.skill.clone())
                .collect();
        }

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

    /// The general evidence of an answer to a question, as the score sees
    /// it (for evaluation and fitting).
    pub fn evidence_of(
        &mut self,
        question_id: Option<&str>,
        question: &str,
        segments: &[Segment],
    ) -> (Option<Mapping>, Evidence) {
        let sentences = timed_sentences(segments);
        let answer: String = sentences
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let mapping = self.map_question(question_id, question, &answer);
        let anchors = mapping
            .as_ref()
            .and_then(|m| self.library.get(&m.competency))
            .map(|c| c.anchors.to_vec());
        let sims = match self.embed(&[answer.as_str()]) {
            Some(v) => self.similarities(&v[0], question, anchors.as_deref()),
            None => Similarities::default(),
        };
        (mapping, evidence(&sentences, question, sims))
    }

    /// The similarities of an answer's embedding to its question, to the
    /// competency's anchors and to private life.
    fn similarities(
        &mut self,
        answer: &[f32],
        question: &str,
        anchors: Option<&[String]>,
    ) -> Similarities {
        let mut probe: Vec<&str> = vec![PRIVATE_LIFE];
        if let Some(a) = anchors {
            probe.extend(a.iter().map(String::as_str));
        }
        if !question.is_empty() {
            probe.push(question);
        }
        let Some(v) = self.embed(&probe) else {
            return Similarities::default();
        };
        let at = |i: usize| cosine(answer, &v[i]);
        let mut sims = Similarities {
            to_private_life: Some(at(0)),
            ..Similarities::default()
        };
        let mut next = 1;
        if anchors.is_some_and(|a| a.len() == 4) {
            sims.to_anchors = Some([at(1), at(2), at(3), at(4)]);
            next = 5;
        }
        if !question.is_empty() {
            sims.to_question = Some(at(next));
        }
        sims
    }

    /// A competency score from an answer's evidence.
    pub fn score(
        &self,
        mapping: &Mapping,
        question_id: &str,
        ev: &Evidence,
        reliability: &Reliability,
    ) -> Score {
        let prediction = self.scoring.predict(&ev.features);
        let raw = raw_confidence(&prediction, ev, reliability);
        let confidence = r3(self.scoring.calibrate(raw));
        let (met, lowered) = criteria(&prediction);
        let competency = self.library.get(&mapping.competency);
        let values = ev.features.values();
        let features = FEATURE_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.to_string(),
                    [r3(values[i]), r3(prediction.contributions[i])],
                )
            })
            .collect();
        // Quotes of the features that moved the score.
        let moved: Vec<&String> = met.iter().chain(&lowered).collect();
        let evidence = ev
            .quotes
            .iter()
            .filter(|q| moved.iter().any(|m| **m == q.feature))
            .cloned()
            .collect();
        Score {
            competency: mapping.competency.clone(),
            name: competency.map_or_else(|| mapping.competency.clone(), |c| c.name.clone()),
            question_id: question_id.to_string(),
            mapped_by: mapping.by.as_str().to_string(),
            mapping_similarity: mapping.similarity,
            score: prediction.score,
            level: r3(prediction.level),
            anchor: competency
                .map(|c| c.anchor(prediction.score).to_string())
                .unwrap_or_default(),
            criteria_met: met,
            criteria_missing: lowered,
            evidence,
            features,
            confidence,
            low_confidence: confidence < self.settings.low_confidence,
            weight: competency.map_or(1.0, |c| c.weight),
            model_version: self.scoring.version.clone(),
        }
    }

    /// The score of a question asked and not answered: the lowest level,
    /// as sure as the answer's boundaries are.
    fn unanswered_score(&self, mapping: &Mapping, question_id: &str, alignment: f64) -> Score {
        let competency = self.library.get(&mapping.competency);
        let confidence = r3(alignment.clamp(0.0, 1.0));
        Score {
            competency: mapping.competency.clone(),
            name: competency.map_or_else(|| mapping.competency.clone(), |c| c.name.clone()),
            question_id: question_id.to_string(),
            mapped_by: mapping.by.as_str().to_string(),
            mapping_similarity: mapping.similarity,
            score: 1,
            level: 1.0,
            anchor: competency
                .map(|c| c.anchor(1).to_string())
                .unwrap_or_default(),
            criteria_met: Vec::new(),
            criteria_missing: vec!["no_answer".into()],
            evidence: Vec::new(),
            features: BTreeMap::new(),
            confidence,
            low_confidence: confidence < self.settings.low_confidence,
            weight: competency.map_or(1.0, |c| c.weight),
            model_version: self.scoring.version.clone(),
        }
    }

    /// Aligns one recording's segments to the questions.
    pub fn align_segments(&mut self, segments: &[Segment], questions: &[Question]) -> Alignment {
        let seg_texts: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
        let q_texts: Vec<&str> = questions.iter().map(|q| q.text.as_str()).collect();
        let seg_emb = self.embed(&seg_texts);
        let q_emb = self.embed(&q_texts);
        let mut sim = vec![vec![0.0; questions.len()]; segments.len()];
        let mut spoken = vec![vec![0.0; questions.len()]; segments.len()];
        for (i, s) in segments.iter().enumerate() {
            for (q, question) in questions.iter().enumerate() {
                let heard = text::content_overlap(&question.text, &s.text);
                let within = text::content_overlap(&s.text, &question.text);
                let cos = match (&seg_emb, &q_emb) {
                    (Some(a), Some(b)) => Some(cosine(&a[i], &b[q])),
                    _ => None,
                };
                sim[i][q] = cos.unwrap_or(0.5 * (heard + within));
                spoken[i][q] = if heard >= 0.6 && within >= 0.5 {
                    heard.max(within)
                } else if cos.is_some_and(|c| c >= 0.8) && within >= 0.4 {
                    cos.unwrap_or(0.0)
                } else if asks_like_interviewer(&s.text)
                    && (heard >= 0.25 || cos.is_some_and(|c| c >= 0.45))
                {
                    // Misheard, but phrased as an interviewer asks, and about this question.
                    0.65
                } else {
                    0.0
                };
            }
        }
        let segs: Vec<AlignSegment> = segments
            .iter()
            .map(|s| AlignSegment {
                start: s.start,
                end: s.end,
                words: s.text.split_whitespace().count(),
            })
            .collect();
        align(&segs, &sim, &spoken, &AlignParams::default())
    }

    /// Answers per question from the media transcripts. Per-answer media
    /// report the questions they lack as unanswered only when the question
    /// list was given (`explicit`), not guessed from the job family.
    fn answers(
        &mut self,
        media: Vec<AnswerTranscript>,
        questions: &[Question],
        explicit: bool,
    ) -> (Vec<AnswerTranscript>, &'static str) {
        let text_of = |id: &str| {
            questions
                .iter()
                .find(|q| q.id == id)
                .map(|q| q.text.clone())
        };
        let all_ids = !media.is_empty() && media.iter().all(|m| m.question_id.is_some());
        if all_ids {
            let mut out: Vec<AnswerTranscript> = media
                .into_iter()
                .map(|mut m| {
                    if m.question.is_none() {
                        m.question = m.question_id.as_deref().and_then(text_of);
                    }
                    finish_answer(&mut m, 1.0);
                    m
                })
                .collect();
            let seen: HashSet<String> = out.iter().filter_map(|a| a.question_id.clone()).collect();
            for q in questions
                .iter()
                .filter(|q| explicit && !seen.contains(&q.id))
            {
                out.push(unanswered(q, usize::MAX, 0.9));
            }
            // Question order, then anything else.
            out.sort_by_key(|a| {
                a.question_id
                    .as_deref()
                    .and_then(|id| questions.iter().position(|q| q.id == id))
                    .unwrap_or(usize::MAX)
            });
            return (out, "per_answer_media");
        }
        if media.len() == 1 && questions.len() >= 2 {
            let Some(m) = media.into_iter().next() else {
                return (Vec::new(), "aligned");
            };
            let alignment = self.align_segments(&m.segments, questions);
            let mut out = Vec::with_capacity(questions.len());
            for (q, aligned) in questions.iter().zip(alignment.questions) {
                if aligned.answer.is_empty() {
                    out.push(unanswered(q, m.media_index, aligned.confidence));
                    continue;
                }
                let segments: Vec<Segment> = aligned
                    .answer
                    .iter()
                    .filter_map(|&i| m.segments.get(i).cloned())
                    .collect();
                let mut a = AnswerTranscript {
                    media_index: m.media_index,
                    question_id: Some(q.id.clone()),
                    question: Some(q.text.clone()),
                    duration_s: 0.0,
                    text: segments
                        .iter()
                        .map(|s| s.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    segments,
                    ..AnswerTranscript::unanalysed(m.media_index)
                };
                finish_answer(&mut a, aligned.confidence);
                out.push(a);
            }
            return (out, "aligned");
        }
        if media.len() >= 2 && !questions.is_empty() {
            // Several files without question ids: in question order.
            let out = media
                .into_iter()
                .enumerate()
                .map(|(i, mut m)| {
                    if let Some(q) = questions.get(i) {
                        m.question_id = Some(q.id.clone());
                        m.question = Some(q.text.clone());
                    }
                    finish_answer(&mut m, if i < questions.len() { 0.8 } else { 0.5 });
                    m
                })
                .collect();
            return (out, "per_answer_media");
        }
        let out = media
            .into_iter()
            .map(|mut m| {
                if let Some(q) = questions.first() {
                    m.question_id.get_or_insert_with(|| q.id.clone());
                    m.question.get_or_insert_with(|| q.text.clone());
                }
                finish_answer(&mut m, 1.0);
                m
            })
            .collect();
        (out, "whole_recording")
    }
}

fn unanswered(q: &Question, media_index: usize, confidence: f64) -> AnswerTranscript {
    AnswerTranscript {
        question_id: Some(q.id.clone()),
        question: Some(q.text.clone()),
        answered: false,
        alignment_confidence: Some(r3(confidence)),
        ..AnswerTranscript::unanalysed(if media_index == usize::MAX {
            0
        } else {
            media_index
        })
    }
}

/// Start, end, alignment confidence and (for a cut-out answer) duration
/// from the answer's segments.
fn finish_answer(a: &mut AnswerTranscript, alignment_confidence: f64) {
    a.start = a.segments.first().map(|s| s.start);
    a.end = a.segments.last().map(|s| s.end);
    if let (Some(s), Some(e), true) = (a.start, a.end, a.duration_s == 0.0) {
        a.duration_s = r3((e - s).max(0.0));
    }
    a.answered = !a.text.trim().is_empty();
    a.alignment_confidence = Some(r3(alignment_confidence));
}

/// Whether a segment opens the way interview questions do ("Tell us about…",
/// "Describe…", "How do you…", "Why…").
fn asks_like_interviewer(text_in: &str) -> bool {
    const OPENINGS: [&str; 14] = [
        "tell us",
        "tell me",
        "describe",
        "how do you",
        "how would you",
        "why do you",
        "why are you",
        "why did you",
        "what was",
        "what is your",
        "can you",
        "could you",
        "walk us",
        "walk me",
    ];
    let words = text::norm_words(text_in);
    let start = words.iter().take(3).cloned().collect::<Vec<_>>().join(" ");
    OPENINGS.iter().any(|o| start.starts_with(o))
}

/// Questions an interviewer reads out in a recording that came without a
/// question set: short segments phrased as interview questions ("Tell us
/// about…", "How do you…?"), each taken as asked, in order.
fn heard_questions(segments: &[Segment]) -> Vec<Question> {
    segments
        .iter()
        .filter(|s| {
            let words = s.text.split_whitespace().count();
            (4..=30).contains(&words) && asks_like_interviewer(&s.text)
        })
        .enumerate()
        .map(|(i, s)| Question::new(format!("asked-{}", i + 1), s.text.trim()))
        .collect()
}
