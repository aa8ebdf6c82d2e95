//! Pipeline configuration (`dataflows/*.toml`): the composition of every
//! part's own section. Each section is defined beside the code it configures
//! and handed to that code alone; this file only puts them together, reads
//! the file, applies the environment overrides (brokers, URLs, output) and
//! hashes the result. Every field has an embedded default so `panelflow run`
//! works with no file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use panelflow_connectors::kafka::KafkaSection;
use panelflow_connectors::lever::LeverSection;
use panelflow_connectors::media::MediaSection;
use panelflow_connectors::parquet::SinksSection;
use panelflow_connectors::store::GovernanceSection;
use panelflow_core::writeback::{Phase, WritebackSection};
use panelflow_models::analysis::roles::Roles;
use panelflow_models::analysis::AnalysisSection;
use panelflow_models::speech::SpeechSection;

/// Errors reading a pipeline config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown fields.
    #[error("invalid config {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
}

/// A whole pipeline definition.
///
/// ```
/// let cfg = panelflow::config::PipelineConfig::default();
/// assert_eq!(cfg.kafka.topic, "interviews.completed");
/// assert!(!cfg.media.allow_private_networks);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Name, version and phase.
    pub pipeline: PipelineSection,
    /// Kafka connection and topics.
    pub kafka: KafkaSection,
    /// Webhook receiver.
    pub ingest: crate::ingest::IngestSection,
    /// Media fetching limits.
    pub media: MediaSection,
    /// Speech model and voice activity.
    pub speech: SpeechSection,
    /// Lever API.
    pub lever: LeverSection,
    /// Output sinks.
    pub sinks: SinksSection,
    /// The analysis: embeddings, skills vocabulary, thresholds.
    pub analysis: AnalysisSection,
    /// Role question sets (`[roles.<id>]`): for interviews whose platform
    /// sends no questions and whose posting has none; none by default.
    pub roles: Roles,
    /// The context stage: Lever cache, provider APIs for fresh media URLs.
    pub context: panelflow_connectors::lever::context::ContextSection,
    /// What may be written to Lever in this phase, and when.
    pub writeback: WritebackSection,
    /// The review queue and page.
    pub review: crate::review::ReviewSection,
    /// Audit log, residency, PII at rest, erasure.
    pub governance: GovernanceSection,
    /// `panelflow poll-lever`: human scorecards, decisions and EEO answers
    /// read from Lever for the aggregates.
    pub lever_poll: crate::ingest::lever_poll::LeverPollSection,
    /// The hiring manager's briefing (`panelflow brief`); left out of the
    /// config hash while it holds only defaults.
    #[serde(skip_serializing_if = "crate::briefing::BriefingSection::is_default")]
    pub briefing: crate::briefing::BriefingSection,
    /// Where `panelflow run` serves `/metrics`.
    pub metrics: crate::metrics::MetricsSection,
}

/// Name, version and phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSection {
    /// Pipeline name (`pilot`, ...).
    pub name: String,
    /// Pipeline version: part of every idempotency key.
    pub version: String,
    /// Rollout phase.
    pub phase: Phase,
    /// Deployment region (data residency).
    pub region: String,
}

impl Default for PipelineSection {
    fn default() -> Self {
        Self {
            name: "pilot".into(),
            version: "1".into(),
            phase: Phase::Pilot,
            region: "us".into(),
        }
    }
}

impl PipelineConfig {
    /// Reads a TOML file, then applies environment overrides.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut cfg = Self::from_toml(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        cfg.apply_env();
        Ok(cfg)
    }

    /// Reads `path` like [`Self::load`], or without one the embedded
    /// defaults with the environment overrides applied.
    pub fn load_or_default(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            Some(p) => Self::load(p),
            None => {
                let mut cfg = Self::default();
                cfg.apply_env();
                Ok(cfg)
            }
        }
    }

    /// Parses TOML without environment overrides.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies `PANELFLOW_BROKERS`, `PANELFLOW_LEVER_URL`, `PANELFLOW_OUT`,
    /// `PANELFLOW_METRICS_LISTEN`.
    pub fn apply_env(&mut self) {
        if let Ok(v) = std::env::var("PANELFLOW_BROKERS") {
            self.kafka.brokers = v;
        }
        if let Ok(v) = std::env::var("PANELFLOW_LEVER_URL") {
            self.lever.base_url = v;
        }
        if let Ok(v) = std::env::var("PANELFLOW_OUT") {
            self.sinks.parquet_dir = PathBuf::from(v);
        }
        if let Ok(v) = std::env::var("PANELFLOW_METRICS_LISTEN") {
            self.metrics.listen = Some(v).filter(|v| !v.is_empty());
        }
    }

    /// Short hash of the effective config, recorded on every output row.
    pub fn config_hash(&self) -> String {
        let text = toml::to_string(self).unwrap_or_default();
        hex::encode(&Sha256::digest(text.as_bytes())[..8])
    }
}

impl From<&PipelineConfig> for crate::ingest::IngestConfig {
    fn from(cfg: &PipelineConfig) -> Self {
        Self {
            ingest: cfg.ingest.clone(),
            kafka: cfg.kafka.clone(),
            lever_trigger_stages: cfg.lever.trigger_stages.clone(),
        }
    }
}

impl From<PipelineConfig> for crate::ingest::IngestConfig {
    fn from(cfg: PipelineConfig) -> Self {
        Self::from(&cfg)
    }
}

impl From<&PipelineConfig> for crate::ingest::lever_poll::PollConfig {
    fn from(cfg: &PipelineConfig) -> Self {
        Self {
            lever_poll: cfg.lever_poll.clone(),
            kafka: cfg.kafka.clone(),
            lever: cfg.lever.clone(),
            sinks: cfg.sinks.clone(),
        }
    }
}

impl From<&PipelineConfig> for crate::briefing::BriefingConfig {
    fn from(cfg: &PipelineConfig) -> Self {
        Self {
            briefing: cfg.briefing.clone(),
            phase: cfg.pipeline.phase,
            pipeline: format!("{}@{}", cfg.pipeline.name, cfg.pipeline.version),
            config_hash: cfg.config_hash(),
            notice: cfg.writeback.notice.clone(),
            perform_as: cfg.lever.perform_as.clone(),
            parquet_dir: cfg.sinks.parquet_dir.clone(),
            governance: cfg.governance.clone(),
            aggregates_dir: cfg
                .briefing
                .aggregates_dir
                .clone()
                .unwrap_or_else(|| cfg.review.aggregates_dir.clone()),
            competencies: cfg.analysis.competencies.clone(),
        }
    }
}

impl From<&PipelineConfig> for crate::review::server::ReviewConfig {
    fn from(cfg: &PipelineConfig) -> Self {
        Self {
            review: cfg.review.clone(),
            governance: cfg.governance.clone(),
            phase: cfg.pipeline.phase,
            lever_api_key_env: cfg.lever.api_key_env.clone(),
            config_hash: cfg.config_hash(),
        }
    }
}

impl From<PipelineConfig> for crate::review::server::ReviewConfig {
    fn from(cfg: PipelineConfig) -> Self {
        Self::from(&cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_dataflows_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dataflows");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                PipelineConfig::from_toml(&std::fs::read_to_string(&path).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 1);
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(PipelineConfig::from_toml("[kafka]\nbrokerz = \"x\"\n").is_err());
    }

    #[test]
    fn hash_changes_with_content() {
        let a = PipelineConfig::default();
        let mut b = PipelineConfig::default();
        b.pipeline.version = "2".into();
        assert_ne!(a.config_hash(), b.config_hash());
    }
}
