//! `[ingest]`, what the receiver needs of a pipeline, and its errors.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use panelflow_connectors::kafka::{KafkaIoError, KafkaSection};
use panelflow_connectors::lever::LeverSection;
use panelflow_connectors::store::replay::ReplayError;
use panelflow_core::webhook::ReplayKey;

/// `[ingest]`: the webhook receiver.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    /// Webhooks whose signed time is older than this are refused as replays.
    pub max_age_s: u64,
    /// Largest webhook body accepted; at most half the broker's
    /// `message.max.bytes` (checked at start).
    pub max_body_bytes: usize,
    /// Per-source secrets; `PANELFLOW_<SOURCE>_SECRET` overrides.
    pub secrets: BTreeMap<String, String>,
    /// Data region of each source's tenant (data residency), when the
    /// payloads do not state one.
    pub regions: BTreeMap<String, String>,
    /// The replay store and the tombstones of erased interviews: a folder
    /// every replica of the receiver shares (a shared volume), and that
    /// `panelflow erase` writes to.
    pub state_dir: PathBuf,
    /// How long the body of a delivery without a signed time (Hireflix, a
    /// path token) is remembered.
    pub unsigned_replay_window_s: u64,
    /// Sources whose webhooks may authenticate with a secret path token
    /// (`/webhooks/<source>/<secret>`); none by default.
    pub path_token_sources: Vec<String>,
    /// Check a Lever delivery's ids against Lever's API (needs `[lever]`
    /// credentials); without it a Lever body's unsigned data is trusted.
    pub verify_lever: bool,
    /// Requests handled at once; more are answered 503.
    pub max_concurrent_requests: usize,
    /// Longest a request may take, body included (a slow upload is 408).
    pub request_timeout_s: u64,
    /// Environment variable holding the token that shows `/healthz`'s details.
    pub health_token_env: String,
}

impl std::fmt::Debug for IngestSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets.
        f.debug_struct("IngestSection")
            .field("max_age_s", &self.max_age_s)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("regions", &self.regions)
            .field("state_dir", &self.state_dir)
            .field("path_token_sources", &self.path_token_sources)
            .field("verify_lever", &self.verify_lever)
            .finish_non_exhaustive()
    }
}

impl Default for IngestSection {
    fn default() -> Self {
        Self {
            max_age_s: 300,
            max_body_bytes: 256 << 10,
            secrets: BTreeMap::new(),
            regions: BTreeMap::new(),
            state_dir: PathBuf::from("out/ingest"),
            unsigned_replay_window_s: 30 * 24 * 3600,
            path_token_sources: Vec::new(),
            verify_lever: true,
            max_concurrent_requests: 64,
            request_timeout_s: 30,
            health_token_env: "PANELFLOW_INGEST_HEALTH_TOKEN".into(),
        }
    }
}

impl IngestSection {
    /// The secret for a source: `PANELFLOW_<SOURCE>_SECRET`, else the config.
    pub fn secret_for(&self, source: &str) -> Option<String> {
        let var = format!("PANELFLOW_{}_SECRET", source.to_ascii_uppercase());
        std::env::var(var)
            .ok()
            .or_else(|| self.secrets.get(source).cloned())
    }

    /// How long a delivery's replay key is remembered.
    pub fn replay_ttl_s(&self, key: &ReplayKey) -> u64 {
        if key.signed_time {
            let skew = u64::try_from(panelflow_core::webhook::generic::FUTURE_SKEW_S).unwrap_or(60);
            self.max_age_s.saturating_add(skew)
        } else {
            self.unsigned_replay_window_s
        }
    }
}

/// What the receiver needs of a pipeline: `[ingest]`, `[kafka]` and
/// `[lever] trigger_stages` (the pipeline config converts into it).
#[derive(Debug, Clone, Default)]
pub struct IngestConfig {
    /// `[ingest]`.
    pub ingest: IngestSection,
    /// `[kafka]`: the producer and the topics.
    pub kafka: KafkaSection,
    /// `[lever] trigger_stages`, for Lever's stage-change webhooks.
    pub lever_trigger_stages: Vec<String>,
    /// `[lever]`: the API a Lever delivery's ids are checked against.
    pub lever: LeverSection,
}

/// Errors starting the receiver.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The Kafka producer could not be created.
    #[error(transparent)]
    Kafka(#[from] KafkaIoError),
    /// The listener failed.
    #[error("http server failed: {0}")]
    Io(#[from] std::io::Error),
    /// The replay store could not be opened.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The configuration is unsafe or inconsistent.
    #[error("[ingest]: {0}")]
    Config(String),
}

/// The broker's largest message, as `[kafka.properties] message.max.bytes`
/// sets it (librdkafka's default otherwise).
pub(super) fn message_max_bytes(kafka: &KafkaSection) -> usize {
    kafka
        .properties
        .get("message.max.bytes")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1_000_000)
}

/// Refuses limits that cannot hold: a body limit the broker could not take
/// once normalized (an event may be as large as its body again), or no
/// concurrency or time at all.
pub(super) fn check_limits(cfg: &IngestConfig) -> Result<(), IngestError> {
    let i = &cfg.ingest;
    let broker = message_max_bytes(&cfg.kafka);
    if i.max_body_bytes == 0 || i.max_body_bytes > broker / 2 {
        return Err(IngestError::Config(format!(
            "max_body_bytes = {} must be between 1 and half the broker's message.max.bytes ({broker})",
            i.max_body_bytes
        )));
    }
    if i.max_concurrent_requests == 0 || i.request_timeout_s == 0 {
        return Err(IngestError::Config(
            "max_concurrent_requests and request_timeout_s must be at least 1".into(),
        ));
    }
    Ok(())
}
