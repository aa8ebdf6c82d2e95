//! Who processes an interview: the pipeline (name, version, config hash),
//! its region, and the models it runs — what every row and audit event of
//! the pipeline carries.

use panelflow_connectors::store::audit::AuditEvent;
use panelflow_core::event::InterviewCompleted;
use panelflow_core::outcome::{Stage, StepOutcome};
use panelflow_models::analysis::summary::PipelineRef;
use panelflow_models::speech::moonshine::ModelInfo;

use crate::config::PipelineConfig;

/// The pipeline and its models, shared by the stages of a worker.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Name, version and config hash.
    pub pipeline: PipelineRef,
    /// The deployment's region (`[pipeline] region`).
    pub region: String,
    /// The speech model first, then the analysis's.
    pub models: Vec<ModelInfo>,
}

impl Identity {
    /// The identity of `cfg`'s pipeline, running `models`.
    pub fn new(cfg: &PipelineConfig, models: Vec<ModelInfo>) -> Self {
        Self {
            pipeline: PipelineRef {
                name: cfg.pipeline.name.clone(),
                version: cfg.pipeline.version.clone(),
                config_hash: cfg.config_hash(),
            },
            region: cfg.pipeline.region.clone(),
            models,
        }
    }

    /// The audit event of one step of `event`, by this pipeline.
    pub fn step(
        &self,
        event: &InterviewCompleted,
        stage: Stage,
        outcome: StepOutcome,
    ) -> AuditEvent {
        self.record(event, stage, outcome.as_str())
    }

    /// [`Self::step`] with an outcome word of the stage's own (the route:
    /// `direct` or `review`).
    pub fn record(&self, event: &InterviewCompleted, stage: Stage, outcome: &str) -> AuditEvent {
        AuditEvent::step(
            &event.correlation_id,
            &event.interview_id,
            stage.as_str(),
            outcome,
        )
        .for_candidate(event.candidate_id.clone())
        .by(format!(
            "pipeline:{}@{}",
            self.pipeline.name, self.pipeline.version
        ))
        .with_config_hash(self.pipeline.config_hash.clone())
    }

    /// The models as the audit details name them.
    pub fn models_json(&self) -> Vec<serde_json::Value> {
        self.models
            .iter()
            .map(|m| serde_json::json!({"name": m.name, "version": m.version, "sha256": m.sha256}))
            .collect()
    }
}
