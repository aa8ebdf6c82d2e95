//! The analysis of one interview, as the dataflow and `panelflow analyze`
//! run it: from the summary's media transcripts (and the tone measures of
//! their audio) to answers per question, skills, sentiment, tone flags, the
//! extractive summary and rubric scores, written back into the summary.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use super::answers::{align, AlignParams, AlignSegment, Alignment, Question};
use super::embed::{cosine, Embedder};
use super::extract::{self, AnswerView, RedFlag};
use super::posting::Posting;
use super::rubric::{self, AnswerFacts, Family, Rubrics};
use super::sentiment::{employer_negativity, Label, SentimentModel};
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
    /// The requisition, when known.
    pub posting: Option<&'a Posting>,
    /// The job family (a key of the rubrics), when known.
    pub family: Option<&'a str>,
}

/// Loaded models and settings, reused across interviews.
pub struct Analyzer {
    embedder: Option<Embedder>,
    sentiment: SentimentModel,
    skills: SkillLexicon,
    rubrics: Rubrics,
    settings: AnalysisSection,
    models: Vec<ModelInfo>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("embeddings", &self.embedder.is_some())
            .field("families", &self.rubrics.0.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Figures rounded for output.
fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Analyzer {
    /// Builds the analyzer of a pipeline from its `[analysis]`, `[rubrics]`
    /// and `[speech]` (models folder, threads) sections.
    pub fn from_sections(
        analysis: &AnalysisSection,
        rubrics: &Rubrics,
        speech: &crate::speech::SpeechSection,
    ) -> Result<Self, AnalysisError> {
        Self::new(
            analysis.clone(),
            rubrics.clone(),
            &speech.models_dir().join("minilm"),
            speech.threads,
        )
    }

    /// Builds an analyzer; loads the embedding model from `minilm_dir` unless
    /// the settings say `off` (with `auto`, a missing model means word overlap).
    pub fn new(
        settings: AnalysisSection,
        rubrics: Rubrics,
        minilm_dir: &Path,
        threads: usize,
    ) -> Result<Self, AnalysisError> {
        let skills = match &settings.skills_file {
            Some(path) => SkillLexicon::load(path)?,
            None => SkillLexicon::builtin()?,
        };
        let mut sentiment = SentimentModel::new();
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
        let mut embedder = embedder;
        let mut models = Vec::new();
        if let Some(e) = embedder.as_mut() {
            sentiment.prepare(e)?;
            models.push(e.info().clone());
        }
        Ok(Self {
            embedder,
            sentiment,
            skills,
            rubrics,
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

    /// The rubric set.
    pub fn rubrics(&self) -> &Rubrics {
        &self.rubrics
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

    /// Analyses an interview: replaces the summary's media transcripts by
    /// answers per question and fills in skills, sentiment, flags, the
    /// extractive summary and scores. `audio[i]` holds the tone measures of
    /// media item `i` (empty when the audio was not measured).
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

        // The job family and question set.
        let media_qids: Vec<&str> = media
            .iter()
            .filter_map(|m| m.question_id.as_deref())
            .collect();
        let mut family: Option<(String, &'static str)> = None;
        if let Some(f) = ctx.family.filter(|f| self.rubrics.0.contains_key(*f)) {
            family = Some((f.to_string(), "given"));
        }
        if family.is_none() {
            if let Some(p) = ctx.posting {
                let mut labels = p.labels.clone();
                labels.push(p.title.clone());
                family = self
                    .rubrics
                    .by_labels(&labels)
                    .map(|(k, _)| (k.to_string(), "posting"));
            }
        }
        if family.is_none() {
            let mut ids = media_qids.clone();
            ids.extend(ctx.questions.iter().map(|q| q.id.as_str()));
            family = self
                .rubrics
                .by_questions(&ids)
                .map(|(k, _)| (k.to_string(), "question_ids"));
        }
        if family.is_none()
            && media.len() == 1
            && ctx.questions.is_empty()
            && self.embedder.is_some()
        {
            family = self
                .family_from_transcript(&media[0].segments)
                .map(|k| (k, "transcript"));
        }
        if family.is_none() {
            if let Some(f) = self
                .settings
                .default_family
                .clone()
                .filter(|f| self.rubrics.0.contains_key(f))
            {
                family = Some((f, "default"));
            }
        }
        let fam: Option<Family> = family
            .as_ref()
            .and_then(|(k, _)| self.rubrics.0.get(k).cloned());
        let questions: Vec<Question> = if !ctx.questions.is_empty() {
            ctx.questions.to_vec()
        } else if let Some(f) = &fam {
            f.questions.clone()
        } else {
            media
                .iter()
                .filter_map(|m| {
                    Some(Question {
                        id: m.question_id.clone()?,
                        text: m.question.clone().unwrap_or_default(),
                    })
                })
                .collect()
        };

        // Answers per question.
        let (mut answers, answers_from) =
            self.answers(media, &questions, !ctx.questions.is_empty());

        // Per answer: confidence, sentiment, tone, flags.
        let texts: Vec<String> = answers.iter().map(|a| a.text.clone()).collect();
        let q_texts: Vec<String> = answers
            .iter()
            .map(|a| a.question.clone().unwrap_or_default())
            .collect();
        let answer_emb = self.embed(&texts.iter().map(String::as_str).collect::<Vec<_>>());
        let question_emb = self.embed(&q_texts.iter().map(String::as_str).collect::<Vec<_>>());
        let thresholds = self.settings.tone.clone();
        let mut flags: Vec<Flag> = Vec::new();
        let mut red_flags: Vec<RedFlag> = Vec::new();
        for (k, a) in answers.iter_mut().enumerate() {
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
            let core = self.is_core(fam.as_ref(), qid.as_deref(), a.question.as_deref());
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
            if !a.answered || words < 3 {
                a.answered = words >= 3 && a.answered;
                raise(
                    "no_answer",
                    Severity::Review,
                    vec![("words", words as f64)],
                    None,
                    a,
                );
                red_flags.push(RedFlag {
                    kind: "no_answer".into(),
                    question_id: qid.clone(),
                    text: format!(
                        "No answer to: {}",
                        a.question.as_deref().unwrap_or("(question)")
                    ),
                });
                continue;
            }
            let emb = answer_emb.as_ref().map(|v| v[k].as_slice());
            let sentiment = self.sentiment.score(&a.text, emb);
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
            let (mut tone, disfluency) = measure_answer(&a.text, &times, &media_audio);
            tone.long_pauses = count_long_pauses(&times, &media_audio, thresholds.long_pause_s);
            let negativity: Vec<String> = employer_negativity(&self.sentiment, &a.text)
                .into_iter()
                .map(str::to_string)
                .collect();
            let uncertain = disfluency.hedge_weight() >= thresholds.uncertain_hedges;
            let off_topic = match (emb, question_emb.as_ref()) {
                (Some(e), Some(q)) if !q_texts[k].is_empty() && words >= 8 => {
                    let s = cosine(e, &q[k]);
                    (s < self.settings.off_topic_similarity).then_some(s)
                }
                _ => None,
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
            let silent = tone.long_pauses > 0 || tone.pause_ratio > thresholds.max_pause_ratio;
            if silent {
                raise(
                    "long_silences",
                    Severity::Review,
                    vec![
                        ("long_pauses", tone.long_pauses as f64),
                        ("longest_pause_s", tone.longest_pause_s),
                        ("pause_ratio", tone.pause_ratio),
                        ("long_pause_threshold_s", thresholds.long_pause_s),
                        ("pause_ratio_threshold", thresholds.max_pause_ratio),
                    ],
                    None,
                    a,
                );
            }
            if uncertain {
                let figures = vec![
                    ("strong_hedges", disfluency.strong_hedges as f64),
                    ("mild_hedges", disfluency.mild_hedges as f64),
                    ("fillers", disfluency.fillers as f64),
                    ("threshold", thresholds.uncertain_hedges),
                ];
                raise(
                    "uncertain_needs_clarification",
                    Severity::Review,
                    figures,
                    Some(disfluency.phrases.join(", ")),
                    a,
                );
                if core {
                    let quote = hedged_sentence(&a.text).unwrap_or_else(|| a.text.clone());
                    raise(
                        "hedging_on_core_question",
                        Severity::Review,
                        vec![("strong_hedges", disfluency.strong_hedges as f64)],
                        Some(quote.clone()),
                        a,
                    );
                    red_flags.push(RedFlag {
                        kind: "hedging_on_core_question".into(),
                        question_id: qid.clone(),
                        text: quote,
                    });
                }
            }
            if let Some(quote) = negativity.first() {
                raise(
                    "negativity_about_employer",
                    Severity::Review,
                    vec![("lexicon_compound", r3(self.sentiment.lexicon(quote)))],
                    Some(quote.clone()),
                    a,
                );
                red_flags.push(RedFlag {
                    kind: "negativity_about_employer".into(),
                    question_id: qid.clone(),
                    text: quote.clone(),
                });
            }
            if let Some(s) = off_topic {
                raise(
                    "off_topic_answer",
                    Severity::Review,
                    vec![
                        ("similarity_to_question", r3(s)),
                        ("threshold", self.settings.off_topic_similarity),
                    ],
                    None,
                    a,
                );
                red_flags.push(RedFlag {
                    kind: "off_topic_answer".into(),
                    question_id: qid.clone(),
                    text: a.text.chars().take(160).collect(),
                });
            }
            let confident = !uncertain
                && disfluency.strong_hedges + disfluency.mild_hedges == 0
                && tone.fillers_per_100_words <= thresholds.max_fillers_per_100
                && !silent
                && words >= thresholds.min_words_confident
                && tone.words_per_minute >= thresholds.slow_wpm
                && sentiment.label != Label::Negative
                && negativity.is_empty()
                && off_topic.is_none();
            if confident {
                let mut figures = vec![
                    ("words_per_minute", tone.words_per_minute),
                    ("pause_ratio", tone.pause_ratio),
                    ("fillers_per_100_words", tone.fillers_per_100_words),
                    ("hedges", 0.0),
                ];
                if let Some(v) = tone.pitch_variability_st {
                    figures.push(("pitch_variability_st", v));
                }
                raise("high_confidence", Severity::Info, figures, None, a);
            }
            a.sentiment = Some(sentiment);
            a.tone = Some(tone);
        }

        // Skills against the requisition.
        let mut requested: Vec<String> = Vec::new();
        if let Some(p) = ctx.posting {
            requested.extend(self.skills.skills_in(&p.full_text()));
        }
        if let Some(f) = &fam {
            for s in &f.skills {
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
            // No requisition: report every known skill heard.
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

        // Overall sentiment: answers weighted by words.
        let (sum, weight) = answers
            .iter()
            .filter_map(|a| Some((a.sentiment.as_ref()?.score, a.words.unwrap_or(0) as f64)))
            .fold((0.0, 0.0), |(s, w), (x, n)| (s + x * n, w + n));
        if weight > 0.0 {
            summary.sentiment_score = r3(sum / weight);
            summary.sentiment = Label::of(summary.sentiment_score);
        }

        // Rubric scores.
        let mut scores = Vec::new();
        if let Some(f) = &fam {
            for c in &f.competencies {
                for qid in &c.questions {
                    let Some(a) = answers
                        .iter()
                        .find(|a| a.question_id.as_deref() == Some(qid.as_str()))
                    else {
                        continue;
                    };
                    let facts = AnswerFacts {
                        text: if a.answered { &a.text } else { "" },
                        transcription_confidence: a.transcription_confidence.unwrap_or(0.0),
                        uncertain: a.flags.iter().any(|f| f == "uncertain_needs_clarification"),
                        negativity: a.flags.iter().any(|f| f == "negativity_about_employer"),
                        off_topic: a.flags.iter().any(|f| f == "off_topic_answer"),
                        negative_tone: a
                            .sentiment
                            .as_ref()
                            .is_some_and(|s| s.label == Label::Negative),
                        alignment_confidence: a.alignment_confidence.unwrap_or(1.0),
                    };
                    scores.push(rubric::score(c, qid, &facts, self.settings.low_confidence));
                }
            }
        }

        // The extractive summary.
        let views: Vec<AnswerView<'_>> = answers
            .iter()
            .filter(|a| a.answered)
            .map(|a| AnswerView {
                question_id: a.question_id.as_deref(),
                question: a.question.as_deref(),
                start: a.start,
                text: &a.text,
            })
            .collect();
        let matched_names: Vec<String> = matched.iter().map(|m| m.skill.clone()).collect();
        let highlights = extract::highlights(&views, &matched_names, red_flags);
        let text = extract::summary_text(
            &views,
            &highlights,
            &matched_names,
            if open_search { &[] } else { &missing },
        );

        summary.unanswered_questions = answers
            .iter()
            .filter(|a| !a.answered)
            .filter_map(|a| a.question_id.clone())
            .collect();
        summary.answers = answers;
        summary.interview_transcript_summary = text;
        summary.key_skills_matched = matched;
        summary.skills_missing = if open_search { Vec::new() } else { missing };
        summary.skills_requested = if open_search { Vec::new() } else { requested };
        summary.flags = flags;
        summary.highlights = highlights;
        summary.overall_score = rubric::overall(&scores);
        summary.scores = scores;
        for m in &self.models {
            if !summary.models.contains(m) {
                summary.models.push(m.clone());
            }
        }
        summary.analysis = AnalysisInfo {
            complete: true,
            job_family: family.as_ref().map(|f| f.0.clone()),
            job_family_from: family.as_ref().map(|f| f.1.to_string()),
            answers_from: Some(answers_from.to_string()),
            embeddings: self.embedder.is_some(),
            skills_vocabulary_sha256: self.skills.sha256().to_string(),
            analysis_ms: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        };
        summary.analysis_completion_time = chrono::Utc::now().to_rfc3339();
    }

    fn is_core(&self, fam: Option<&Family>, qid: Option<&str>, question: Option<&str>) -> bool {
        if let (Some(f), Some(q)) = (fam, qid) {
            if let Some(c) = f
                .competencies
                .iter()
                .find(|c| c.questions.iter().any(|x| x == q))
            {
                return c.core;
            }
        }
        !question.is_some_and(|q| q.trim_start().to_lowercase().starts_with("why"))
    }

    /// The family whose question set the transcript fits best: the mean,
    /// over segments (weighted by words), of each segment's similarity to
    /// the family's closest question.
    fn family_from_transcript(&mut self, segments: &[Segment]) -> Option<String> {
        let families: Vec<(String, Vec<String>)> = self
            .rubrics
            .0
            .iter()
            .filter(|(_, f)| !f.questions.is_empty())
            .map(|(k, f)| {
                (
                    k.clone(),
                    f.questions.iter().map(|q| q.text.clone()).collect(),
                )
            })
            .collect();
        let seg_texts: Vec<&str> = segments.iter().map(|s| s.text.as_str()).collect();
        let seg_emb = self.embed(&seg_texts)?;
        let weights: Vec<f64> = segments
            .iter()
            .map(|s| s.text.split_whitespace().count().max(1) as f64)
            .collect();
        let total: f64 = weights.iter().sum();
        let mut best: Option<(f64, String)> = None;
        for (k, questions) in families {
            let q_emb = self.embed(&questions.iter().map(String::as_str).collect::<Vec<_>>())?;
            let fit = seg_emb
                .iter()
                .zip(&weights)
                .map(|(e, w)| {
                    w * q_emb
                        .iter()
                        .map(|q| cosine(e, q))
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .sum::<f64>()
                / total.max(1.0);
            if best.as_ref().is_none_or(|(b, _)| fit > *b) {
                best = Some((fit, k));
            }
        }
        best.map(|(_, k)| k)
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

/// The first sentence holding a hedge.
fn hedged_sentence(text_in: &str) -> Option<String> {
    text::sentences(text_in)
        .into_iter()
        .map(|(a, b)| &text_in[a..b])
        .find(|s| super::tone::disfluency(s).hedged())
        .map(|s| s.trim().to_string())
}
