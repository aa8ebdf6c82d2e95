//! What happens to one interview inside a worker, stage by stage: context
//! (find the media), media (fetch, decode), speech (transcribe), analysis
//! (the summary object), then the Lever note. A failing stage yields a
//! `failed` outcome with its reason — never a panic, never a silent drop.

use std::path::PathBuf;
use std::time::Instant;

use crate::analysis::analyzer::Analyzer;
use crate::analysis::summary::{PipelineRef, Summary};
use crate::analysis::tone::SegmentAudio;
use crate::config::PipelineConfig;
use crate::event::InterviewCompleted;
use crate::lever::client::LeverClient;
use crate::media::fetch::{fetch, FetchPolicy};
use crate::sinks::dead_letter::DeadLetter;
use crate::sinks::lever_note::LeverNoteSink;
use crate::sinks::parquet::{AnalysisRows, InterviewRow, ResponseRow, ScoreRow, SegmentRow};
use crate::speech::moonshine::ModelInfo;
use crate::speech::transcriber::{Transcriber, TranscriberOptions};

/// Outcome value of a successfully analysed interview.
pub const OUTCOME_TRANSCRIBED: &str = "transcribed";
/// Outcome value of an interview that could not be analysed.
pub const OUTCOME_FAILED: &str = "failed";

/// Media file extensions recognised when the context stage looks for
/// recording links on a Lever opportunity.
const MEDIA_EXTENSIONS: [&str; 9] = [
    ".mp4", ".m4a", ".webm", ".mkv", ".mp3", ".wav", ".flac", ".ogg", ".mov",
];

/// A stage failure: which stage, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct StageError {
    /// `context`, `media`, `speech`, `lever_note`.
    pub stage: &'static str,
    /// Stable short code (e.g. `media_forbidden_address`).
    pub code: String,
    /// Human-readable reason.
    pub reason: String,
}

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.stage, self.reason, self.code)
    }
}

/// Everything one interview produced, ready for the sinks.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The `interviews` row.
    pub interview: InterviewRow,
    /// The `segments` rows.
    pub segments: Vec<SegmentRow>,
    /// The `responses` and `scores` rows.
    pub analysis: AnalysisRows,
    /// A dead-letter record when the interview failed.
    pub dead_letter: Option<DeadLetter>,
}

/// The per-worker processor: models loaded once, clients shared.
pub struct Processor {
    transcriber: Transcriber,
    analyzer: Option<Analyzer>,
    fetch_policy: FetchPolicy,
    context: std::sync::Arc<crate::lever::context::LeverContext>,
    notes: Option<LeverNoteSink>,
    pipeline: PipelineRef,
    models: Vec<ModelInfo>,
    scratch: PathBuf,
}

impl Processor {
    /// Loads the models and builds the clients for a worker.
    pub fn new(
        cfg: &PipelineConfig,
        lever: Option<LeverClient>,
        notes: Option<LeverNoteSink>,
    ) -> Result<Self, crate::speech::SpeechError> {
        let transcriber = Transcriber::load(&TranscriberOptions::from_config(cfg))?;
        let mut models = vec![transcriber.model().clone()];
        let analyzer = if cfg.analysis.enabled {
            let a = Analyzer::from_config(cfg).map_err(|e| crate::speech::SpeechError::Model {
                path: "analysis".into(),
                reason: e.to_string(),
            })?;
            models.extend(a.models().iter().cloned());
            Some(a)
        } else {
            None
        };
        Ok(Self {
            transcriber,
            analyzer,
            fetch_policy: FetchPolicy::from_config(&cfg.media),
            context: std::sync::Arc::new(crate::lever::context::LeverContext::new(cfg, lever)),
            notes,
            pipeline: PipelineRef {
                name: cfg.pipeline.name.clone(),
                version: cfg.pipeline.version.clone(),
                config_hash: cfg.config_hash(),
            },
            models,
            scratch: std::env::temp_dir(),
        })
    }

    /// Uses `context` (shared by every worker of the process: one cache, one
    /// token bucket) instead of a context stage of its own.
    pub fn with_context(
        mut self,
        context: std::sync::Arc<crate::lever::context::LeverContext>,
    ) -> Self {
        self.context = context;
        self
    }

    /// The pipeline identity this processor stamps on its rows.
    pub fn pipeline(&self) -> &PipelineRef {
        &self.pipeline
    }

    /// Runs every stage for one interview.
    pub fn process(&mut self, event: &InterviewCompleted) -> Processed {
        let started = Instant::now();
        let span = tracing::info_span!("interview", interview_id = %event.interview_id, correlation_id = %event.correlation_id);
        let _guard = span.enter();
        let result = self.analyse(event);
        let elapsed_ms = started.elapsed().as_millis() as i64;
        match result {
            Ok((summary, segments, analysis)) => {
                let summary_json =
                    serde_json::to_value(&summary).unwrap_or(serde_json::Value::Null);
                let note = match &self.notes {
                    Some(notes) => match notes.write(
                        &event.opportunity_id,
                        &event.correlation_id,
                        &summary_json,
                    ) {
                        Ok(outcome) => Some(outcome.note_id().to_string()),
                        Err(e) => {
                            let err = StageError {
                                stage: "lever_note",
                                code: "lever_write_failed".into(),
                                reason: e.to_string(),
                            };
                            tracing::warn!(error = %err, "Lever note not written");
                            let mut failed = self.failed(event, &err, elapsed_ms);
                            failed.interview.transcript = Some(summary.transcript.clone());
                            failed.interview.duration_s = Some(summary.duration_s);
                            failed.interview.summary_json = Some(summary_json.to_string());
                            failed.segments = segments;
                            failed.analysis = analysis;
                            return failed;
                        }
                    },
                    None => None,
                };
                tracing::info!(
                    duration_s = summary.duration_s,
                    words = summary.words,
                    ms = elapsed_ms,
                    "interview analysed"
                );
                Processed {
                    interview: self.row(
                        event,
                        OUTCOME_TRANSCRIBED,
                        None,
                        Some(&summary),
                        note,
                        elapsed_ms,
                    ),
                    segments,
                    analysis,
                    dead_letter: None,
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "interview failed");
                self.failed(event, &err, elapsed_ms)
            }
        }
    }

    fn analyse(
        &mut self,
        event: &InterviewCompleted,
    ) -> Result<(Summary, Vec<SegmentRow>, AnalysisRows), StageError> {
        let resolved = self.context(event)?;
        let media = &resolved.media;
        let mut transcripts = Vec::with_capacity(media.len());
        let mut audio: Vec<Vec<SegmentAudio>> = Vec::with_capacity(media.len());
        for (i, item) in media.iter().enumerate() {
            let fetched =
                fetch(&item.url, &self.fetch_policy, &self.scratch).map_err(|e| StageError {
                    stage: "media",
                    code: e.code().into(),
                    reason: format!("media item {i}: {e}"),
                })?;
            tracing::debug!(bytes = fetched.bytes, host = %fetched.host, "media fetched");
            // The tone measures keep a few sums per voice segment, never the audio.
            let transcribed = if self.analyzer.is_some() {
                crate::analysis::tone::transcribe_with_tone(&mut self.transcriber, &fetched.file)
                    .map(|(t, m, _)| (t, m))
            } else {
                self.transcriber
                    .transcribe_file(&fetched.file)
                    .map(|t| (t, Vec::new()))
            };
            let (transcript, measures) = transcribed.map_err(|e| match &e {
                // Decoding is part of the media stage; only model failures are speech failures.
                crate::speech::SpeechError::Media(m) => StageError {
                    stage: "media",
                    code: m.code().into(),
                    reason: format!("media item {i}: {m}"),
                },
                _ => StageError {
                    stage: "speech",
                    code: "speech_failed".into(),
                    reason: format!("media item {i}: {e}"),
                },
            })?;
            transcripts.push((
                item.question_id.clone(),
                item.question_text.clone(),
                transcript,
            ));
            audio.push(measures);
        }
        let mut summary = Summary::build(event, &self.pipeline, transcripts, self.models.clone());
        if let Some(analyzer) = self.analyzer.as_mut() {
            analyzer.analyze(&mut summary, &audio, &resolved.analysis());
        }
        let version = self.pipeline.version.clone();
        // Segments are numbered per media item (one recording may hold several answers).
        let mut next_index: std::collections::BTreeMap<usize, i32> = Default::default();
        let segments = summary
            .answers
            .iter()
            .flat_map(|a| {
                let version = version.clone();
                let counter = next_index.entry(a.media_index).or_insert(0);
                let first = *counter;
                *counter += a.segments.len() as i32;
                a.segments.iter().enumerate().map(move |(j, s)| SegmentRow {
                    interview_id: event.interview_id.clone(),
                    pipeline_version: version.clone(),
                    correlation_id: event.correlation_id.clone(),
                    media_index: a.media_index as i32,
                    question_id: a.question_id.clone(),
                    segment_index: first + j as i32,
                    start_s: s.start,
                    end_s: s.end,
                    text: s.text.clone(),
                })
            })
            .collect();
        let analysis = analysis_rows(event, &version, &summary);
        Ok((summary, segments, analysis))
    }

    /// The context stage (`lever::context`): media (refreshed when their
    /// signed URLs expired), question set, posting and job family.
    fn context(
        &self,
        event: &InterviewCompleted,
    ) -> Result<crate::lever::context::ResolvedContext, StageError> {
        self.context.resolve(event).map_err(|e| StageError {
            stage: "context",
            code: e.code().into(),
            reason: e.to_string(),
        })
    }

    fn failed(&self, event: &InterviewCompleted, err: &StageError, elapsed_ms: i64) -> Processed {
        let reason = err.to_string();
        Processed {
            interview: self.row(
                event,
                OUTCOME_FAILED,
                Some(reason.clone()),
                None,
                None,
                elapsed_ms,
            ),
            segments: Vec::new(),
            analysis: AnalysisRows::default(),
            dead_letter: Some(DeadLetter {
                interview_id: event.interview_id.clone(),
                correlation_id: event.correlation_id.clone(),
                source: event.source.clone(),
                stage: err.stage.to_string(),
                reason,
                event: serde_json::to_value(event).unwrap_or(serde_json::Value::Null),
                failed_at: chrono::Utc::now().to_rfc3339(),
            }),
        }
    }

    fn row(
        &self,
        event: &InterviewCompleted,
        outcome: &str,
        failure_reason: Option<String>,
        summary: Option<&Summary>,
        lever_note_id: Option<String>,
        processing_ms: i64,
    ) -> InterviewRow {
        let received_at = chrono::DateTime::parse_from_rfc3339(&event.received_at)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|_| chrono::Utc::now());
        let model = self.models.first();
        InterviewRow {
            interview_id: event.interview_id.clone(),
            pipeline_version: self.pipeline.version.clone(),
            pipeline_name: self.pipeline.name.clone(),
            candidate_id: event.candidate_id.clone(),
            opportunity_id: event.opportunity_id.clone(),
            source: event.source.clone(),
            correlation_id: event.correlation_id.clone(),
            config_hash: self.pipeline.config_hash.clone(),
            outcome: outcome.to_string(),
            failure_reason,
            received_at,
            analysis_completion_time: chrono::Utc::now(),
            processing_ms,
            duration_s: summary.map(|s| s.duration_s),
            words: summary.map(|s| s.words as i64),
            words_per_minute: summary.map(|s| s.words_per_minute),
            language: summary.map(|_| "en".to_string()),
            transcript: summary.map(|s| s.transcript.clone()),
            model_name: model.map(|m| m.name.clone()).unwrap_or_default(),
            model_version: model.map(|m| m.version.clone()).unwrap_or_default(),
            model_sha256: model.map(|m| m.sha256.clone()).unwrap_or_default(),
            media_count: event.media.len() as i32,
            lever_note_id,
            summary_json: summary.and_then(|s| serde_json::to_string(s).ok()),
        }
    }
}

/// The `responses` and `scores` rows of an analysed interview.
fn analysis_rows(event: &InterviewCompleted, version: &str, summary: &Summary) -> AnalysisRows {
    if !summary.analysis.complete {
        return AnalysisRows::default();
    }
    let responses = summary
        .answers
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let tone = a.tone.as_ref();
            ResponseRow {
                interview_id: event.interview_id.clone(),
                pipeline_version: version.to_string(),
                correlation_id: event.correlation_id.clone(),
                question_index: k as i32,
                question_id: a.question_id.clone(),
                question: a.question.clone(),
                media_index: a.media_index as i32,
                answered: a.answered,
                start_s: a.start,
                end_s: a.end,
                text: a.text.clone(),
                words: a.words.unwrap_or(0) as i32,
                confidence: a.confidence,
                sentiment_score: a.sentiment.as_ref().map(|s| s.score),
                sentiment_label: a.sentiment.as_ref().map(|s| s.label.as_str().to_string()),
                words_per_minute: tone.map(|t| t.words_per_minute),
                pause_ratio: tone.map(|t| t.pause_ratio),
                longest_pause_s: tone.map(|t| t.longest_pause_s),
                pitch_hz: tone.and_then(|t| t.pitch_hz),
                pitch_variability_st: tone.and_then(|t| t.pitch_variability_st),
                loudness_variability_db: tone.and_then(|t| t.loudness_variability_db),
                fillers: tone.map(|t| t.fillers as i32).unwrap_or(0),
                hedges: tone.map(|t| t.hedges as i32).unwrap_or(0),
                flags: a.flags.join(","),
                skills: a.skills.join(","),
            }
        })
        .collect();
    let family = summary.analysis.job_family.clone().unwrap_or_default();
    let scores = summary
        .scores
        .iter()
        .map(|s| ScoreRow {
            interview_id: event.interview_id.clone(),
            pipeline_version: version.to_string(),
            correlation_id: event.correlation_id.clone(),
            job_family: family.clone(),
            competency: s.competency.clone(),
            competency_name: s.name.clone(),
            question_id: s.question_id.clone(),
            score: i32::from(s.score),
            confidence: s.confidence,
            low_confidence: s.low_confidence,
            criteria_share: s.criteria_share,
            criteria_met: s.criteria_met.join(","),
            evidence_json:
                serde_json::json!({ "evidence": s.evidence, "adjustments": s.adjustments })
                    .to_string(),
            weight: s.weight,
        })
        .collect();
    AnalysisRows { responses, scores }
}

/// Recording links on a Lever opportunity (`links`, `files[].downloadUrl`).
///
/// ```
/// let opp = serde_json::json!({"links": ["https://x.example/a.mp4", "https://linkedin.com/in/x"]});
/// assert_eq!(panelflow::dataflow::process::media_links(&opp), vec!["https://x.example/a.mp4"]);
/// ```
pub fn media_links(opportunity: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let looks_like_media = |u: &str| {
        let path = u.split(['?', '#']).next().unwrap_or(u).to_ascii_lowercase();
        MEDIA_EXTENSIONS.iter().any(|ext| path.ends_with(ext))
    };
    if let Some(links) = opportunity["links"].as_array() {
        out.extend(
            links
                .iter()
                .filter_map(|l| l.as_str())
                .filter(|u| looks_like_media(u))
                .map(str::to_string),
        );
    }
    if let Some(files) = opportunity["files"].as_array() {
        for f in files {
            if let Some(u) = f["downloadUrl"].as_str().or_else(|| f["url"].as_str()) {
                if looks_like_media(u) || looks_like_media(f["name"].as_str().unwrap_or("")) {
                    out.push(u.to_string());
                }
            }
        }
    }
    out
}
