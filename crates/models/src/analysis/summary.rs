//! The summary object: one per interview and pipeline version. Its JSON
//! Schema is `schemas/summary.schema.json`.

use serde::{Deserialize, Serialize};

use panelflow_core::outcome::Severity;

use super::competency::Mapping;
use super::digest::Digest;
use super::highlights::Highlights;
use super::scoring::Score;
use super::sentiment::{Label, Sentiment};
use super::skills::SkillMatch;
use super::tone::Tone;
use crate::speech::moonshine::ModelInfo;
use crate::speech::{Segment, Transcript};

/// The transcript of one media item (one answer, or the whole recording);
/// after the analysis, one answer to one question, with its place in the
/// media (`start`/`end`), its confidence and what the analysis found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerTranscript {
    /// Position of the media item in the event.
    pub media_index: usize,
    /// The question this media answers, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// The question's text, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// Seconds of audio.
    pub duration_s: f64,
    /// Text.
    pub text: String,
    /// Timed segments, relative to this media item.
    pub segments: Vec<Segment>,
    /// Where the answer starts in its media, seconds (a clip to jump to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    /// Where it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<f64>,
    /// Whether the question was answered (false: nothing was said for it).
    #[serde(default = "yes")]
    pub answered: bool,
    /// Confidence in this answer, 0..1: its boundaries' confidence × its
    /// transcription confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Confidence of the answer's boundaries (1 for per-answer media).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment_confidence: Option<f64>,
    /// Mean segment confidence of the answer, weighted by length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription_confidence: Option<f64>,
    /// Words (numbers spelled out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<usize>,
    /// Text sentiment of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
    /// Vocal tone of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone: Option<Tone>,
    /// Names of the flags raised on this answer (details in the summary's `flags`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Requisition skills mentioned in this answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    /// The competency the question was judged on, and how it was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<Mapping>,
    /// One or two sentences and the key facts, each with its time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
}

fn yes() -> bool {
    true
}

/// A flag raised by the analysis, with the figures that raised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// `high_confidence`, `uncertain_needs_clarification`, `no_answer`,
    /// `evasive_answer`, `off_topic_answer`, `blames_others` (the answer);
    /// `very_fast_pace`, `slow_pace`, `long_silences` (the voice: always
    /// `info`, shown to the recruiter, used by no rule unless the pipeline
    /// opts in).
    pub name: String,
    /// The question it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// `info` (context for the reader) or `review` (a red flag to look at).
    pub severity: Severity,
    /// The measures behind it and their thresholds.
    #[serde(default)]
    pub figures: std::collections::BTreeMap<String, f64>,
    /// A quote or the phrases heard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// How the analysis ran: for explaining every figure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalysisInfo {
    /// Whether the summary holds the full analysis (false: transcript facts only).
    pub complete: bool,
    /// The pipeline role whose question set or skills were used, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_family: Option<String>,
    /// How the role was chosen (`given`, `posting`, `question_ids`, `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_family_from: Option<String>,
    /// Where the questions came from (`platform`, `posting`, `role`,
    /// `heard_in_recording`) — `unknown` when nobody said what was asked:
    /// then nothing is scored and no skill is reported missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questions_from: Option<String>,
    /// The scoring model's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring_model: Option<String>,
    /// Whether voice measures may enter decisions (tags, triage) in this
    /// pipeline: off unless it opts in (`[analysis] voice_in_decisions`).
    #[serde(default)]
    pub voice_in_decisions: bool,
    /// How answers were found (`per_answer_media`, `aligned`, `whole_recording`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers_from: Option<String>,
    /// Whether sentence embeddings were used.
    pub embeddings: bool,
    /// SHA-256 of the skills vocabulary.
    #[serde(default)]
    pub skills_vocabulary_sha256: String,
    /// Milliseconds the analysis took (after transcription).
    pub analysis_ms: f64,
}

impl AnswerTranscript {
    /// An answer with no text and no analysis yet (the analyzer fills it in).
    pub fn unanalysed(media_index: usize) -> AnswerTranscript {
        AnswerTranscript {
            media_index,
            question_id: None,
            question: None,
            duration_s: 0.0,
            text: String::new(),
            segments: Vec::new(),
            start: None,
            end: None,
            answered: true,
            confidence: None,
            alignment_confidence: None,
            transcription_confidence: None,
            words: None,
            sentiment: None,
            tone: None,
            flags: Vec::new(),
            skills: Vec::new(),
            mapping: None,
            digest: None,
        }
    }
}

/// The summary object written to Parquet and into the Lever note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Schema version.
    pub schema_version: u32,
    /// Interview id.
    pub interview_id: String,
    /// Candidate id.
    pub candidate_id: String,
    /// Opportunity id.
    pub opportunity_id: String,
    /// Correlation id.
    pub correlation_id: String,
    /// The Lever posting the interview is for, when the context stage found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posting_id: Option<String>,
    /// Pipeline name and version, config hash.
    pub pipeline: PipelineRef,
    /// Total seconds of audio.
    pub duration_s: f64,
    /// Words in the transcript.
    pub words: usize,
    /// Speaking rate over the recording.
    pub words_per_minute: f64,
    /// Mean segment confidence (0..1), weighted by length.
    pub transcription_confidence: f64,
    /// Whole transcript.
    pub transcript: String,
    /// The first lines a recruiter reads: strengths and concerns in words (or, when nothing was scored, the most telling sentences).
    pub interview_transcript_summary: String,
    /// Per media item.
    pub answers: Vec<AnswerTranscript>,
    /// When the analysis finished (RFC 3339).
    pub analysis_completion_time: String,
    /// Models used.
    pub models: Vec<ModelInfo>,
    /// Overall text sentiment, 0 (negative) … 1 (positive).
    #[serde(default = "half")]
    pub sentiment_score: f64,
    /// Label of `sentiment_score`.
    #[serde(default = "neutral")]
    pub sentiment: Label,
    /// Requisition skills the candidate talked about, each with quotes and times.
    #[serde(default)]
    pub key_skills_matched: Vec<SkillMatch>,
    /// Requisition skills never mentioned.
    #[serde(default)]
    pub skills_missing: Vec<String>,
    /// The requisition's skills (posting and pipeline list) the matching used.
    #[serde(default)]
    pub skills_requested: Vec<String>,
    /// Flags with the figures that raised them.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// Questions nobody answered (ids).
    #[serde(default)]
    pub unanswered_questions: Vec<String>,
    /// Strengths, concerns and red flags, each with its quote and time.
    #[serde(default)]
    pub highlights: Highlights,
    /// Rubric scores (Lever's 1–4 scale) with evidence and confidence.
    #[serde(default)]
    pub scores: Vec<Score>,
    /// Weighted mean of `scores`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall_score: Option<f64>,
    /// How the analysis ran.
    #[serde(default)]
    pub analysis: AnalysisInfo,
}

fn half() -> f64 {
    0.5
}

fn neutral() -> Label {
    Label::Neutral
}

/// Pipeline identity on every output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRef {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Hash of the effective config.
    pub config_hash: String,
}

/// Words of extract kept in `interview_transcript_summary`.
const EXTRACT_WORDS: usize = 60;

impl Summary {
    /// Builds the summary of an interview from its media transcripts.
    ///
    /// ```
    /// use panelflow_models::analysis::summary::{Summary, PipelineRef};
    /// use panelflow_core::event::InterviewCompleted;
    /// use panelflow_models::speech::{Segment, Transcript};
    /// let e = InterviewCompleted::new("generic", "i1", "c1", "o1", vec![]);
    /// let t = Transcript { duration_s: 60.0, language: "en".into(), model: "m".into(),
    ///     segments: vec![Segment { start: 0.5, end: 3.0, text: "I love Python".into(), confidence: 0.9 }],
    ///     text: "I love Python".into() };
    /// let p = PipelineRef { name: "pilot".into(), version: "1".into(), config_hash: "ab".into() };
    /// let s = Summary::build(&e, &p, vec![(None, None, t)], vec![]);
    /// assert_eq!(s.words, 3);
    /// assert!((s.words_per_minute - 3.0).abs() < 1e-9);
    /// ```
    pub fn build(
        event: &panelflow_core::event::InterviewCompleted,
        pipeline: &PipelineRef,
        media: Vec<(Option<String>, Option<String>, Transcript)>,
        models: Vec<ModelInfo>,
    ) -> Self {
        let answers: Vec<AnswerTranscript> = media
            .into_iter()
            .enumerate()
            .map(|(i, (question_id, question, t))| AnswerTranscript {
                media_index: i,
                question_id,
                question,
                duration_s: t.duration_s,
                text: t.text,
                segments: t.segments,
                ..AnswerTranscript::unanalysed(i)
            })
            .collect();
        let duration_s: f64 = answers.iter().map(|a| a.duration_s).sum();
        let transcript = answers
            .iter()
            .map(|a| a.text.as_str())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let words = transcript.split_whitespace().count();
        let words_per_minute = if duration_s > 0.0 {
            words as f64 * 60.0 / duration_s
        } else {
            0.0
        };
        let transcription_confidence =
            crate::speech::mean_confidence(answers.iter().flat_map(|a| a.segments.iter()));
        let extract: Vec<&str> = transcript.split_whitespace().take(EXTRACT_WORDS).collect();
        let mut interview_transcript_summary = extract.join(" ");
        if words > EXTRACT_WORDS {
            interview_transcript_summary.push('…');
        }
        // A lexicon-only sentiment until the full analysis replaces it.
        let sentiment = super::sentiment::SentimentModel::new().score(&transcript);
        Self {
            schema_version: 1,
            interview_id: event.interview_id.clone(),
            candidate_id: event.candidate_id.clone(),
            opportunity_id: event.opportunity_id.clone(),
            correlation_id: event.correlation_id.clone(),
            posting_id: None,
            pipeline: pipeline.clone(),
            duration_s,
            words,
            words_per_minute,
            transcription_confidence,
            transcript,
            interview_transcript_summary,
            answers,
            analysis_completion_time: chrono::Utc::now().to_rfc3339(),
            models,
            sentiment_score: sentiment.score,
            sentiment: sentiment.label,
            key_skills_matched: Vec::new(),
            skills_missing: Vec::new(),
            skills_requested: Vec::new(),
            flags: Vec::new(),
            unanswered_questions: Vec::new(),
            highlights: Highlights::default(),
            scores: Vec::new(),
            overall_score: None,
            analysis: AnalysisInfo::default(),
        }
    }
}
