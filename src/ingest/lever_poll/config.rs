//! `[lever_poll]` and what else of a pipeline's config the poller needs.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use panelflow_connectors::kafka::KafkaSection;
use panelflow_connectors::lever::LeverSection;
use panelflow_connectors::parquet::SinksSection;

/// `[lever_poll]`: the Lever poller.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeverPollSection {
    /// Seconds between rounds.
    pub interval_s: u64,
    /// What was published (and the cursors); default
    /// `<parquet_dir>/../lever_poll/state.json`.
    pub state_file: Option<PathBuf>,
    /// On the first round, how far back to look (days).
    pub lookback_days: u64,
    /// Each round re-reads this many seconds before the last one's start,
    /// so a change saved while a round ran is not missed.
    pub overlap_s: u64,
    /// Read Lever's EEO answers (`/eeo/responses/pii`).
    pub eeo: bool,
    /// The stage (id or name) candidates are assessed in; a stage after it
    /// is an advance. Empty: the last of `[lever] trigger_stages`.
    pub assessed_stage: String,
    /// Stages (ids or names) that always count as an advance.
    pub advance_stages: Vec<String>,
    /// Lever users whose feedback is not a human rating (besides
    /// `[lever] perform_as`, panelflow's own).
    pub exclude_users: Vec<String>,
    /// An opportunity stays *in flight* this many days after the poller
    /// first saw it: its feedback is read again now and then even when the
    /// opportunity itself did not change.
    pub in_flight_days: u64,
    /// In-flight opportunities read again per round (the least recently
    /// read first), on top of those Lever lists as updated.
    pub revisit_per_round: usize,
}

impl Default for LeverPollSection {
    fn default() -> Self {
        Self {
            interval_s: 60,
            state_file: None,
            lookback_days: 30,
            overlap_s: 60,
            eeo: true,
            assessed_stage: String::new(),
            advance_stages: Vec::new(),
            exclude_users: Vec::new(),
            in_flight_days: 30,
            revisit_per_round: 50,
        }
    }
}

/// What the poller needs of a pipeline: `[lever_poll]`, `[kafka]` (the
/// topics it publishes to), `[lever]` (panelflow's own user, the trigger
/// stages) and `[sinks]` (beside which its state is kept by default).
#[derive(Debug, Clone, Default)]
pub struct PollConfig {
    /// `[lever_poll]`.
    pub lever_poll: LeverPollSection,
    /// `[kafka]`.
    pub kafka: KafkaSection,
    /// `[lever]`.
    pub lever: LeverSection,
    /// `[sinks]`.
    pub sinks: SinksSection,
}
