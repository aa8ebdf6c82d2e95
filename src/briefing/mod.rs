//! The hiring manager's briefing: before a debrief, one document per
//! candidate that brings together every recorded interview (panelflow's
//! summaries from Parquet), every panelist's Lever scorecard, the
//! interviews and panels Lever scheduled and the résumé Lever parsed —
//! attached to the opportunity as a PDF file and as a secret note with the
//! same content in text, and replaced (never duplicated) when a scorecard
//! or an interview arrives.
//!
//! - [`gather`]: what is read — `GET /opportunities/:id`, `/interviews`,
//!   `/panels`, `/feedback`, `/resumes` (`parsedData`: positions, schools),
//!   the `interviews` table's summaries (decrypted with the pipeline's key
//!   ring) and the aggregates' `reviewer_calibration` snapshot;
//! - [`compose`]: the briefing itself — the candidate in three lines, per
//!   competency each panelist's rating beside panelflow's advisory view with
//!   where they agree or diverge and the quotes behind each, what nobody has
//!   evidence for, questions to probe, calibration context, the advisory
//!   line and the versions — as sections both renderings share;
//! - [`pdf`]: the PDF rendering (`pdf-writer`, the standard Helvetica fonts);
//! - [`replace`]: the write to Lever, looked up before it is made: the
//!   briefing's fingerprint (a hash of everything it was built from) names
//!   its file and marks its note, so a replay writes nothing, and a new
//!   scorecard or interview writes the new version and then removes the
//!   earlier file and note. `panelflow brief --watch` keeps every
//!   opportunity at a debrief stage current this way.
//!
//! A briefing is written only where `[briefing]` allows it: by default in
//! the review and automate phases, in the pilot phase only with `enabled =
//! true`; and only for opportunities at one of `[briefing] stages`.

pub mod compose;
pub mod gather;
pub mod pdf;
pub mod replace;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use panelflow_connectors::lever::client::LeverError;
use panelflow_connectors::store::GovernanceSection;
use panelflow_core::writeback::Phase;
use panelflow_models::analysis::competency::Competency;

/// `[briefing]`: the hiring manager's briefing.
///
/// ```
/// use panelflow_core::writeback::Phase;
/// let b = panelflow::briefing::BriefingSection::default();
/// assert!(!b.allowed_in(Phase::Pilot));
/// assert!(b.allowed_in(Phase::Review));
/// let on: panelflow::briefing::BriefingSection =
///     toml::from_str("enabled = true\nstages = [\"Debrief\"]").unwrap();
/// assert!(on.allowed_in(Phase::Pilot));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BriefingSection {
    /// Write briefings. Unset: on in the review and automate phases, off in
    /// the pilot phase.
    pub enabled: Option<bool>,
    /// The debrief stages (Lever stage ids or names) at which a briefing is
    /// written; empty: every stage.
    pub stages: Vec<String>,
    /// Competencies (ids of the library or of `[[analysis.competencies]]`)
    /// the panel is expected to assess besides those on its scorecards:
    /// named in the briefing when nobody has evidence for them yet.
    pub competencies: Vec<String>,
    /// A panelist whose ratings sit at least this far (rating points) from
    /// the rest of their panels is named in the calibration context.
    pub leniency_threshold: f64,
    /// Fewest co-rated ratings behind a leniency that is named.
    pub min_co_rated: i64,
    /// The aggregates dataset (holding `snapshot/`); default
    /// `[review] aggregates_dir`.
    pub aggregates_dir: Option<PathBuf>,
    /// Seconds between the rounds of `panelflow brief --watch`.
    pub interval_s: u64,
}

impl Default for BriefingSection {
    fn default() -> Self {
        Self {
            enabled: None,
            stages: Vec::new(),
            competencies: Vec::new(),
            leniency_threshold: 0.5,
            min_co_rated: 3,
            aggregates_dir: None,
            interval_s: 300,
        }
    }
}

impl BriefingSection {
    /// Whether the section is all defaults (then it is left out of the
    /// config hash, which stays what it was before the section existed).
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }

    /// Whether briefings are written in `phase`.
    pub fn allowed_in(&self, phase: Phase) -> bool {
        self.enabled.unwrap_or(phase != Phase::Pilot)
    }
}

/// What the briefing needs of a pipeline (composed in `config.rs`).
#[derive(Debug, Clone, Default)]
pub struct BriefingConfig {
    /// `[briefing]`.
    pub briefing: BriefingSection,
    /// `[pipeline] phase`.
    pub phase: Phase,
    /// `[pipeline]` name and version, `name@version`.
    pub pipeline: String,
    /// The pipeline config's hash.
    pub config_hash: String,
    /// `[writeback] notice`: the advisory line.
    pub notice: String,
    /// `[lever] perform_as`: the Lever user panelflow writes as.
    pub perform_as: Option<String>,
    /// `[sinks] parquet_dir`: where the summaries are.
    pub parquet_dir: PathBuf,
    /// `[governance]`: the key ring of the summaries and the audit log.
    pub governance: GovernanceSection,
    /// The aggregates dataset read for calibration.
    pub aggregates_dir: PathBuf,
    /// `[[analysis.competencies]]`: the pipeline's own competencies.
    pub competencies: Vec<Competency>,
}

/// Why a briefing could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum BriefingError {
    /// `[briefing]` does not allow briefings in this phase.
    #[error("briefings are off in the {0:?} phase (set [briefing] enabled = true to write them)")]
    Disabled(Phase),
    /// A Lever request failed.
    #[error(transparent)]
    Lever(#[from] LeverError),
    /// The summaries could not be read.
    #[error("reading panelflow's summaries: {0}")]
    Parquet(#[from] panelflow_connectors::parquet::ParquetSinkError),
    /// The calibration snapshot could not be read.
    #[error("reading the calibration snapshot {path}: {reason}")]
    Calibration {
        /// The snapshot file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The audit log could not be written.
    #[error(transparent)]
    Audit(#[from] panelflow_connectors::store::audit::AuditError),
}

/// The briefing's format version: part of its fingerprint, so a new
/// format replaces the briefings written in the old one.
pub const FORMAT: &str = "briefing-1";

/// A Lever reference as an id: a string, or an object's `id`.
pub fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}
