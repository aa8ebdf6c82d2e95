//! The stores on local disk besides Parquet: the audit log, the review
//! queue, and the PII key ring that seals what candidates said in both (and
//! in Parquet); configured by `[governance]`.
//!
//! - [`audit`]: the append-only JSON-lines audit log (and its events, which
//!   the Parquet sink also lands as the `audit` table);
//! - [`queue`]: the review queue (one sealed JSON file per interview and
//!   pipeline version) and the decisions recorded on it;
//! - [`crypto`]: column-level AES-256-GCM of what candidates said, with a key ring;
//! - [`replay`]: the webhook receiver's memory of used deliveries and the
//!   tombstones of erased interviews, shared by every receiver replica.

pub mod audit;
pub mod crypto;
pub mod queue;
pub mod replay;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The default candidate notice (`[governance] notice`).
pub const DEFAULT_NOTICE: &str =
    "Your recorded interview was transcribed and analysed by software \
(AI) to summarise your answers for the hiring team. The analysis is advisory: people at the \
company review it, and it does not decide on its own whether you move forward. You may ask for a \
copy of everything held about you (an export) or for its erasure by contacting the recruiting team \
that invited you to interview.";

/// `[governance]`.
///
/// ```
/// let g = panelflow_connectors::store::GovernanceSection::default();
/// assert_eq!(g.audit_dir, std::path::PathBuf::from("out/audit"));
/// assert!(g.encrypt_pii);
/// assert_eq!(g.key_env, "PANELFLOW_PII_KEY");
/// let g: panelflow_connectors::store::GovernanceSection =
///     toml::from_str("encrypt_pii = true\nkey_file = \"/run/secrets/pii.key\"").unwrap();
/// assert!(g.key_file.is_some());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GovernanceSection {
    /// Folder of the JSON-lines audit log; `PANELFLOW_AUDIT_DIR` overrides.
    pub audit_dir: PathBuf,
    /// Encrypt the PII columns of the Parquet tables (transcripts, answers,
    /// summaries, evidence quotes, the original event). On by default.
    pub encrypt_pii: bool,
    /// Key ring file: one base64 key (32 bytes) per line, the first encrypts.
    /// Unset and no key in `key_env`: a development key is generated once
    /// under the cache folder (`<cache>/keys/pii.key`, mode 0600).
    pub key_file: Option<PathBuf>,
    /// Environment variable holding the key ring (base64 keys separated by
    /// commas); it wins over `key_file`.
    pub key_env: String,
    /// The notice shown to candidates and included in their export.
    pub notice: String,
    /// Root of the aggregates' Parquet output (`panelflow aggregate`'s
    /// `[output] dir`), searched by erasure and export.
    pub aggregates_dir: PathBuf,
    /// `panelflow aggregate`'s config file: when set, its `[output] dir`,
    /// `[kafka]` and `[topics]` are used for erasure's retractions.
    pub aggregates_config: Option<PathBuf>,
    /// Publish retractions of an erased candidate's records to the
    /// aggregates' topics (when a broker answers).
    pub retract_aggregates: bool,
    /// Backfill: interviews replayed per minute at most (token bucket).
    pub backfill_rate_per_min: f64,
    /// Backfill: burst of the token bucket.
    pub backfill_burst: u32,
}

impl Default for GovernanceSection {
    fn default() -> Self {
        Self {
            audit_dir: PathBuf::from("out/audit"),
            encrypt_pii: true,
            key_file: None,
            key_env: crypto::DEFAULT_KEY_ENV.to_string(),
            notice: DEFAULT_NOTICE.to_string(),
            aggregates_dir: PathBuf::from("out/aggregates"),
            aggregates_config: None,
            retract_aggregates: true,
            backfill_rate_per_min: 30.0,
            backfill_burst: 1,
        }
    }
}
