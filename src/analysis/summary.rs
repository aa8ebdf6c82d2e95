//! The summary object: one per interview and pipeline version. Its JSON
//! Schema is `schemas/summary.schema.json`.

use serde::{Deserialize, Serialize};

use crate::speech::moonshine::ModelInfo;
use crate::speech::{Segment, Transcript};

/// The transcript of one media item (one answer, or the whole recording).
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
    /// A short extract for the note's first lines.
    pub interview_transcript_summary: String,
    /// Per media item.
    pub answers: Vec<AnswerTranscript>,
    /// When the analysis finished (RFC 3339).
    pub analysis_completion_time: String,
    /// Models used.
    pub models: Vec<ModelInfo>,
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
    /// use panelflow::analysis::summary::{Summary, PipelineRef};
    /// use panelflow::event::InterviewCompleted;
    /// use panelflow::speech::{Segment, Transcript};
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
        event: &crate::event::InterviewCompleted,
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
            })
            .collect();
        let duration_s: f64 = answers.iter().map(|a| a.duration_s).sum();
        let transcript = answers.iter().map(|a| a.text.as_str()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" ");
        let words = transcript.split_whitespace().count();
        let words_per_minute = if duration_s > 0.0 { words as f64 * 60.0 / duration_s } else { 0.0 };
        let (weighted, span) = answers
            .iter()
            .flat_map(|a| a.segments.iter())
            .fold((0.0, 0.0), |(w, s), seg| {
                let len = (seg.end - seg.start).max(0.0);
                (w + seg.confidence * len, s + len)
            });
        let transcription_confidence = if span > 0.0 { weighted / span } else { 0.0 };
        let extract: Vec<&str> = transcript.split_whitespace().take(EXTRACT_WORDS).collect();
        let mut interview_transcript_summary = extract.join(" ");
        if words > EXTRACT_WORDS {
            interview_transcript_summary.push('…');
        }
        Self {
            schema_version: 1,
            interview_id: event.interview_id.clone(),
            candidate_id: event.candidate_id.clone(),
            opportunity_id: event.opportunity_id.clone(),
            correlation_id: event.correlation_id.clone(),
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
        }
    }
}
