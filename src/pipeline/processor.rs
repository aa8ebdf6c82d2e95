//! The stages of one worker, built from the pipeline config and run one
//! after the other without a dataflow: what `panelflow run`'s operators run,
//! for the tests, the benchmarks and tools that process a few interviews.

use std::sync::Arc;

use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::store::queue::ReviewQueue;
use panelflow_core::event::InterviewCompleted;
use panelflow_models::analysis::analyzer::Analyzer;
use panelflow_models::analysis::summary::PipelineRef;
use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};
use panelflow_models::speech::SpeechError;

use super::analyse::AnalyseStage;
use super::context::ContextStage;
use super::identity::Identity;
use super::interview::{Interview, Processed};
use super::media::MediaStage;
use super::resolve::LeverContext;
use super::speech::SpeechStage;
use super::writeback::WritebackStage;
use crate::config::PipelineConfig;

/// A worker's stages, models loaded once.
pub struct Processor {
    /// Interviews a stage takes at a time (`[speech] batch_interviews`).
    pub batch: usize,
    /// Context (and residency).
    pub context: ContextStage,
    /// Fetching the recordings.
    pub media: MediaStage,
    /// Transcription.
    pub speech: SpeechStage,
    /// The analysis.
    pub analyse: AnalyseStage,
    /// The write-back.
    pub writeback: WritebackStage,
    who: Arc<Identity>,
}

impl Processor {
    /// Loads the models and builds the clients for a worker. `lever` reads
    /// the context and, when `[lever] write_notes` is on, writes results back.
    pub fn new(cfg: &PipelineConfig, lever: Option<LeverClient>) -> Result<Self, SpeechError> {
        let context = Arc::new(LeverContext::new(cfg, lever.clone()));
        Self::with_context(cfg, lever, context)
    }

    /// [`Self::new`] with `context` (shared by every worker of the process:
    /// one cache, one token bucket).
    pub fn with_context(
        cfg: &PipelineConfig,
        lever: Option<LeverClient>,
        context: Arc<LeverContext>,
    ) -> Result<Self, SpeechError> {
        let transcriber = Transcriber::load(&TranscriberOptions {
            // Fetched recordings are untrusted: decoded under limits.
            decoder: crate::isolated_decode::media_opener(&cfg.media),
            ..TranscriberOptions::from_section(&cfg.speech, cfg.media.max_duration_s)
        })?;
        let mut models = vec![transcriber.model().clone()];
        let analyzer = if cfg.analysis.enabled {
            let a =
                Analyzer::from_sections(&cfg.analysis, &cfg.roles, &cfg.speech).map_err(|e| {
                    SpeechError::Model {
                        path: "analysis".into(),
                        reason: e.to_string(),
                    }
                })?;
            models.extend(a.models().iter().cloned());
            Some(a)
        } else {
            None
        };
        let queue = match ReviewQueue::open_for(&cfg.review.queue_dir, &cfg.governance) {
            Ok(q) => Some(q),
            Err(e) => {
                // Without a queue nothing may be routed to review: results
                // that need a recruiter fail (and are dead-lettered) instead.
                tracing::error!(error = %e, "review queue unavailable");
                None
            }
        };
        let who = Arc::new(Identity::new(cfg, models));
        let measure_tone = analyzer.is_some();
        Ok(Self {
            batch: cfg.speech.batch_interviews.max(1),
            context: ContextStage::new(who.clone(), context),
            media: MediaStage::new(who.clone(), cfg.media.max_items),
            speech: SpeechStage::new(who.clone(), transcriber, measure_tone, &cfg.media),
            analyse: AnalyseStage::new(who.clone(), analyzer),
            writeback: WritebackStage::new(
                who.clone(),
                Arc::new(cfg.clone()),
                lever.filter(|_| cfg.lever.write_notes),
                queue,
            ),
            who,
        })
    }

    /// Who processes: the pipeline and its models (what every row carries).
    pub fn identity(&self) -> Arc<Identity> {
        self.who.clone()
    }

    /// The pipeline identity its rows carry.
    pub fn pipeline(&self) -> &PipelineRef {
        &self.who.pipeline
    }

    /// Runs every stage for one interview.
    pub fn process(&mut self, event: &InterviewCompleted) -> Processed {
        let mut done = self.process_batch(std::slice::from_ref(event));
        // One result per interview.
        done.swap_remove(0)
    }

    /// Runs every stage for several interviews, their voice segments sharing
    /// the speech model's batches; results are in the order of `events`, and
    /// each interview fails or succeeds alone.
    pub fn process_batch(&mut self, events: &[InterviewCompleted]) -> Vec<Processed> {
        let started: Vec<Interview> = events.iter().cloned().map(Interview::start).collect();
        let flows = self.context.run(started);
        let flows = self.media.run(flows);
        let flows = self.speech.run(flows);
        let flows = self.analyse.run(flows);
        self.writeback.run(flows)
    }
}
