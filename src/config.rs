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
    /// Computed over [`Self::without_secrets`]: the hash is public (every
    /// Parquet row carries it), so it must not let anyone test a guess of
    /// a secret, and rotating a secret does not change the pipeline.
    pub fn config_hash(&self) -> String {
        let text = toml::to_string(&self.without_secrets()).unwrap_or_default();
        hex::encode(&Sha256::digest(text.as_bytes())[..8])
    }

    /// The config with every secret it may hold replaced by `<secret>`:
    /// the webhook secrets of `[ingest.secrets]`, the review users' token
    /// hashes, and the `[kafka.properties]` whose names say they are
    /// credentials (passwords, SASL/JAAS settings, keys, tokens). Which
    /// secrets are set stays visible; their values do not.
    ///
    /// ```
    /// let mut cfg = panelflow::config::PipelineConfig::default();
    /// cfg.ingest.secrets.insert("lever".into(), "s3cr3t".into());
    /// cfg.kafka.properties.insert("sasl.password".into(), "hunter2".into());
    /// let text = toml::to_string(&cfg.without_secrets()).unwrap();
    /// assert!(!text.contains("s3cr3t") && !text.contains("hunter2"));
    /// ```
    pub fn without_secrets(&self) -> Self {
        const SECRET: &str = "<secret>";
        let mut c = self.clone();
        for v in c.ingest.secrets.values_mut() {
            *v = SECRET.into();
        }
        for (k, v) in c.kafka.properties.iter_mut() {
            let k = k.to_ascii_lowercase();
            if ["password", "secret", "jaas", "token", "key", "credential"]
                .iter()
                .any(|w| k.contains(w))
            {
                *v = SECRET.into();
            }
        }
        for u in &mut c.review.users {
            u.redact_secrets();
        }
        c
    }
}

impl From<&PipelineConfig> for crate::ingest::IngestConfig {
    fn from(cfg: &PipelineConfig) -> Self {
        Self {
            ingest: cfg.ingest.clone(),
            kafka: cfg.kafka.clone(),
            lever_trigger_stages: cfg.lever.trigger_stages.clone(),
            lever: cfg.lever.clone(),
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
    fn hash_ignores_secrets() {
        let mut a = PipelineConfig::default();
        a.ingest.secrets.insert("lever".into(), "one".into());
        a.kafka
            .properties
            .insert("sasl.password".into(), "one".into());
        let mut b = a.clone();
        b.ingest.secrets.insert("lever".into(), "two".into());
        b.kafka
            .properties
            .insert("sasl.password".into(), "two".into());
        assert_eq!(a.config_hash(), b.config_hash());
        // Which sources have a secret still counts.
        let mut c = a.clone();
        c.ingest.secrets.insert("willo".into(), "x".into());
        assert_ne!(a.config_hash(), c.config_hash());
    }

    #[test]
    fn hash_changes_with_content() {
        let a = PipelineConfig::default();
        let mut b = PipelineConfig::default();
        b.pipeline.version = "2".into();
        assert_ne!(a.config_hash(), b.config_hash());
    }
}
