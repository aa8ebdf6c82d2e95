//! Pipeline configuration (`dataflows/*.toml`). Every field has an embedded
//! default so `panelflow run` works with no file; environment variables
//! override the deployment-specific parts (brokers, URLs, secrets).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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

/// The rollout phase of a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Summaries only; no scores, tags or stage moves in Lever.
    #[default]
    Pilot,
    /// Everything waits for a recruiter's approval.
    Review,
    /// Writes directly, except low-confidence results.
    Automate,
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
    pub ingest: IngestSection,
    /// Media fetching limits.
    pub media: MediaSection,
    /// Speech model and voice activity.
    pub speech: SpeechSection,
    /// Lever API.
    pub lever: LeverSection,
    /// Output sinks.
    pub sinks: SinksSection,
    /// The analysis: embeddings, skills vocabulary, thresholds.
    pub analysis: crate::analysis::AnalysisSection,
    /// Rubrics per job family (`[rubrics.<family>]`); the built-in set
    /// (`dataflows/rubrics.toml`) unless the file defines its own. Their
    /// `questions` are also the question set per job family that the context
    /// stage falls back to.
    pub rubrics: crate::analysis::rubric::Rubrics,
    /// The context stage: Lever cache, provider APIs for fresh media URLs.
    pub context: ContextSection,
    /// What may be written to Lever in this phase, and when.
    pub writeback: crate::writeback::WritebackSection,
    /// The review queue and page.
    pub review: crate::review::ReviewSection,
    /// Audit log, residency, PII at rest, erasure.
    pub governance: crate::governance::GovernanceSection,
    /// `panelflow poll-lever`: human scorecards, decisions and EEO answers
    /// read from Lever for the aggregates.
    pub lever_poll: crate::sources::lever_poll::LeverPollSection,
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

/// Kafka connection and topics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSection {
    /// `bootstrap.servers`; `PANELFLOW_BROKERS` overrides.
    pub brokers: String,
    /// Topic of normalized `InterviewCompleted` events.
    pub topic: String,
    /// Topic for events that could not be processed, with the reason.
    pub dead_letter_topic: String,
    /// Topic the analysis publishes its AI scores to, one message per
    /// analysed interview (`schemas/aggregates/score.schema.json`), read by
    /// the aggregates; empty: not published.
    pub scores_topic: String,
    /// Topic of human ratings (`schemas/aggregates/rating.schema.json`):
    /// the platforms' rating webhooks and the Lever poller's scorecards.
    pub ratings_topic: String,
    /// Topic of decisions (stage advances, archives) from the Lever poller.
    pub decisions_topic: String,
    /// Topic of self-reported demographics (Lever's EEO answers) from the
    /// Lever poller; only the aggregates read it.
    pub demographics_topic: String,
    /// Consumer group of `panelflow run`.
    pub group_id: String,
    /// Partitions to create when the topic is missing.
    pub partitions: i32,
    /// Extra librdkafka properties (SASL, TLS, ...), passed through as is.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaSection {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:19092".into(),
            topic: "interviews.completed".into(),
            dead_letter_topic: "interviews.deadletter".into(),
            scores_topic: "panelflow.scores".into(),
            ratings_topic: "panelflow.ratings".into(),
            decisions_topic: "panelflow.decisions".into(),
            demographics_topic: "panelflow.demographics".into(),
            group_id: "panelflow".into(),
            partitions: 4,
            properties: BTreeMap::new(),
        }
    }
}

/// Webhook receiver.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    /// Webhooks whose `triggeredAt` is older than this are refused as replays.
    pub max_age_s: u64,
    /// Largest webhook body accepted.
    pub max_body_bytes: usize,
    /// Per-source secrets; `PANELFLOW_<SOURCE>_SECRET` overrides.
    pub secrets: BTreeMap<String, String>,
    /// Data region of each source's tenant (data residency), when the
    /// payloads do not state one.
    pub regions: BTreeMap<String, String>,
}

impl Default for IngestSection {
    fn default() -> Self {
        Self {
            max_age_s: 300,
            max_body_bytes: 1 << 20,
            secrets: BTreeMap::new(),
            regions: BTreeMap::new(),
        }
    }
}

/// Media fetching limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSection {
    /// Largest media file fetched.
    pub max_bytes: u64,
    /// Longest recording analysed, in seconds.
    pub max_duration_s: f64,
    /// Connect time-out.
    pub connect_timeout_s: u64,
    /// Whole-download time-out.
    pub timeout_s: u64,
    /// Allow loopback and private addresses (tests, the demo); off in production.
    pub allow_private_networks: bool,
}

impl Default for MediaSection {
    fn default() -> Self {
        Self {
            max_bytes: 2 << 30,
            max_duration_s: 3.0 * 3600.0,
            connect_timeout_s: 10,
            timeout_s: 600,
            allow_private_networks: false,
        }
    }
}

/// Speech model and voice activity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpeechSection {
    /// Folder of the converted models; empty = the set-up cache.
    pub models_dir: Option<PathBuf>,
    /// ONNX Runtime intra-op threads per session (0 = runtime default).
    pub threads: usize,
    /// Longest voice segment sent to the model, seconds.
    pub max_segment_s: f32,
    /// Interviews a worker transcribes together, their voice segments
    /// sharing decoder batches (more: throughput; fewer: latency).
    pub batch_interviews: usize,
}

impl Default for SpeechSection {
    fn default() -> Self {
        Self {
            models_dir: None,
            threads: 1,
            max_segment_s: 20.0,
            batch_interviews: 4,
        }
    }
}

/// Lever API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeverSection {
    /// API base, e.g. `https://api.lever.co/v1`; `PANELFLOW_LEVER_URL` overrides.
    pub base_url: String,
    /// Name of the environment variable holding the API key.
    pub api_key_env: String,
    /// Lever user the notes are written as (`perform_as`), if any.
    pub perform_as: Option<String>,
    /// Write notes at all (off = Parquet only).
    pub write_notes: bool,
    /// Attempts for a request answered 429/5xx before giving up.
    pub max_attempts: u32,
    /// Stages (ids, or names when the webhook carries them) whose
    /// `candidateStageChange` triggers analysis; empty = every stage change.
    /// Lever's webhook names the stage by id (`GET /stages` lists them).
    pub trigger_stages: Vec<String>,
    /// Requests per second allowed to the whole process (Lever: 10).
    pub rate_per_s: f64,
    /// Burst allowed (Lever: 20).
    pub burst: f64,
    /// OAuth 2.0 (refresh-token grant) instead of the API key, when present.
    pub oauth: Option<LeverOAuthSection>,
}

impl Default for LeverSection {
    fn default() -> Self {
        Self {
            base_url: "https://api.lever.co/v1".into(),
            api_key_env: "PANELFLOW_LEVER_API_KEY".into(),
            perform_as: None,
            write_notes: true,
            max_attempts: 6,
            trigger_stages: Vec::new(),
            rate_per_s: crate::lever::ratelimit::LEVER_RATE_PER_S,
            burst: crate::lever::ratelimit::LEVER_BURST,
            oauth: None,
        }
    }
}

/// `[lever.oauth]`: the refresh-token grant. Secrets come from the
/// environment, never from the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeverOAuthSection {
    /// The token endpoint (Lever: `https://auth.lever.co/oauth/token`).
    pub token_url: String,
    /// Environment variable holding the client id.
    pub client_id_env: String,
    /// Environment variable holding the client secret.
    pub client_secret_env: String,
    /// Environment variable holding the refresh token.
    pub refresh_token_env: String,
    /// Where a rotated refresh token is kept across restarts.
    pub refresh_token_file: Option<PathBuf>,
    /// The `audience` parameter, when the app needs one.
    pub audience: Option<String>,
}

impl Default for LeverOAuthSection {
    fn default() -> Self {
        Self {
            token_url: crate::lever::oauth::LEVER_TOKEN_URL.into(),
            client_id_env: "PANELFLOW_LEVER_CLIENT_ID".into(),
            client_secret_env: "PANELFLOW_LEVER_CLIENT_SECRET".into(),
            refresh_token_env: "PANELFLOW_LEVER_REFRESH_TOKEN".into(),
            refresh_token_file: None,
            audience: None,
        }
    }
}

/// `[context]`: how the context stage reads Lever and the platforms.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextSection {
    /// How long a fetched posting, requisition, contact or opportunity is
    /// reused, seconds.
    pub cache_ttl_s: u64,
    /// Most objects kept in the cache.
    pub cache_max_entries: usize,
    /// Fetch the candidate's contact.
    pub fetch_contact: bool,
    /// Fetch the requisition.
    pub fetch_requisition: bool,
    /// A signed media URL expiring within this many seconds counts as expired.
    pub expiry_margin_s: u64,
    /// Per platform (`willo`, `sparkhire`, `hirevue`, `hireflix`), the API
    /// that returns its interview with fresh media URLs.
    pub providers: BTreeMap<String, ProviderApiSection>,
}

impl Default for ContextSection {
    fn default() -> Self {
        Self {
            cache_ttl_s: 300,
            cache_max_entries: 10_000,
            fetch_contact: true,
            fetch_requisition: true,
            expiry_margin_s: 30,
            providers: BTreeMap::new(),
        }
    }
}

/// How a platform's API is asked for an interview (`[context.providers.<source>]`).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderApiSection {
    /// URL with `{ref}` standing for the event's `source_ref`.
    pub url: String,
    /// `GET` (default) or `POST`.
    pub method: Option<String>,
    /// JSON body for `POST` (e.g. a GraphQL query), `{ref}` substituted.
    pub body: Option<String>,
    /// JSON pointer to the interview object in the answer (default: the whole answer).
    pub pointer: Option<String>,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// How the key is sent: `authorization` (the raw header), `basic`
    /// (user name), `bearer`, or `x-api-key`.
    pub auth: String,
}

/// Output sinks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinksSection {
    /// Root of the Parquet dataset; `PANELFLOW_OUT` overrides.
    pub parquet_dir: PathBuf,
}

impl Default for SinksSection {
    fn default() -> Self {
        Self {
            parquet_dir: PathBuf::from("out/parquet"),
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

    /// Parses TOML without environment overrides.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Applies `PANELFLOW_BROKERS`, `PANELFLOW_LEVER_URL`, `PANELFLOW_OUT`.
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
    }

    /// The secret for a source: `PANELFLOW_<SOURCE>_SECRET`, else the config.
    pub fn secret_for(&self, source: &str) -> Option<String> {
        let var = format!("PANELFLOW_{}_SECRET", source.to_ascii_uppercase());
        std::env::var(var)
            .ok()
            .or_else(|| self.ingest.secrets.get(source).cloned())
    }

    /// Short hash of the effective config, recorded on every output row.
    pub fn config_hash(&self) -> String {
        let text = toml::to_string(self).unwrap_or_default();
        hex::encode(&Sha256::digest(text.as_bytes())[..8])
    }

    /// The models folder in effect.
    pub fn models_dir(&self) -> PathBuf {
        self.speech
            .models_dir
            .clone()
            .unwrap_or_else(crate::paths::models_dir)
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
