//! The analysis stage: an interview's transcripts (and their tone) become
//! its summary object — answers per question, skills, sentiment, tone
//! flags, the extractive summary and rubric scores — and its `segments`,
//! `responses` and `scores` rows. With the analysis off, the summary holds
//! the transcript's facts only.

use std::sync::Arc;

use serde_json::json;

use panelflow_connectors::parquet::{AnalysisRows, SegmentRow};
use panelflow_core::outcome::{Stage, StepOutcome};
use panelflow_models::analysis::analyzer::Analyzer;
use panelflow_models::analysis::summary::Summary;

use super::context::Context;
use super::identity::Identity;
use super::interview::{Flow, Interview};
use super::rows;
use super::speech::Transcribed;

/// An analysed interview: its summary and rows, and the context the
/// write-back needs.
#[derive(Debug, Clone)]
pub struct Analysed {
    /// The summary object.
    pub summary: Summary,
    /// The `segments` rows.
    pub segments: Vec<SegmentRow>,
    /// The `responses` and `scores` rows.
    pub analysis: AnalysisRows,
    /// Its context (posting, media).
    pub context: Context,
}

/// The analysis stage of a worker.
pub struct AnalyseStage {
    who: Arc<Identity>,
    analyzer: Option<Analyzer>,
}

impl AnalyseStage {
    /// The stage; `analyzer` is `None` when `[analysis] enabled` is off.
    pub fn new(who: Arc<Identity>, analyzer: Option<Analyzer>) -> Self {
        Self { who, analyzer }
    }

    /// Analyses each going interview.
    pub fn run(&mut self, items: Vec<Flow<Transcribed>>) -> Vec<Flow<Analysed>> {
        items
            .into_iter()
            .map(|f| f.then(|interview, t| self.one(interview, t)))
            .collect()
    }

    fn one(&mut self, mut interview: Interview, transcribed: Transcribed) -> Flow<Analysed> {
        let event = interview.event.clone();
        let span = tracing::info_span!("interview", interview_id = %event.interview_id, correlation_id = %event.correlation_id);
        let _guard = span.enter();
        let _timer = panelflow_connectors::metrics::stage_timer("analyse");
        // The test hook (dev builds only): a panic the stage must isolate.
        #[cfg(feature = "dev")]
        if event.interview_id.contains(super::TEST_PANIC_MARKER) {
            panic!("test hook: injected panic for {}", event.interview_id);
        }
        let Transcribed { media, transcripts } = transcribed;
        let context = media.context;
        let mut texts = Vec::with_capacity(transcripts.len());
        let mut audio = Vec::with_capacity(transcripts.len());
        for (item, (transcript, measures)) in context.resolved.media.iter().zip(transcripts) {
            texts.push((
                item.question_id.clone(),
                item.question_text.clone(),
                transcript,
            ));
            audio.push(measures);
        }
        let at = chrono::Utc::now();
        let mut summary =
            Summary::build(&event, &self.who.pipeline, texts, self.who.models.clone());
        summary.posting_id = context.posting.as_ref().map(|p| p.0.clone());
        if let Some(analyzer) = self.analyzer.as_mut() {
            analyzer.analyze(&mut summary, &audio, &context.resolved.analysis());
        }
        let outcome = if summary.analysis.complete {
            StepOutcome::Ok
        } else {
            StepOutcome::Partial
        };
        interview.audit.push(
            self.who
                .step(&event, Stage::Analysis, outcome)
                .timed(at, chrono::Utc::now())
                .with_detail(json!({
                    "models": self.who.models_json(),
                    "role": summary.analysis.job_family,
                    "questions_from": summary.analysis.questions_from,
                    "answers_from": summary.analysis.answers_from,
                    "scoring_model": summary.analysis.scoring_model,
                    "competencies": summary.scores.iter().map(|s| json!({
                        "question_id": s.question_id, "competency": s.competency,
                        "mapped_by": s.mapped_by, "similarity": s.mapping_similarity})).collect::<Vec<_>>(),
                    // Voice in decisions is off unless the pipeline opted in: recorded on every interview.
                    "voice_in_decisions": summary.analysis.voice_in_decisions,
                    "scores": summary.scores.len(),
                    "flags": summary.flags.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
                })),
        );
        let version = &self.who.pipeline.version;
        let segments = rows::segment_rows(&event, version, &summary);
        let analysis = rows::analysis_rows(&event, version, &summary);
        Flow::Going(
            interview,
            Analysed {
                summary,
                segments,
                analysis,
                context,
            },
        )
    }
}
