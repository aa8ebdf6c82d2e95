//! What a chaos run is asked to do, and what it reports.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub(super) const SECRET: &str = "chaos-generic-secret";
pub(super) const LEVER_KEY: &str = "chaos-lever-key";
pub(super) const GROUP: &str = "panelflow-chaos";
pub(super) const STAGE: &str = "stage-phone-screen";
pub(super) const TAG: &str = "ai:scored";

/// What to do to the pipeline.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// The `panelflow` binary (built with the `dev` feature).
    pub panelflow: PathBuf,
    /// Where everything is written (cleared first).
    pub out: PathBuf,
    /// Interviews with good media.
    pub interviews: usize,
    /// Of which on the media host that never answers.
    pub dead_host_interviews: usize,
    /// SIGKILLs of the runner, at random moments while there is work.
    pub kills: usize,
    /// Longest run between two kills, seconds (uniform from a third of it).
    pub max_between_kills_s: u64,
    /// Lever answers 503 to everything for this long, starting after the
    /// first kill.
    pub lever_outage: Duration,
    /// Percent of note replies lost after the note was stored.
    pub lost_reply_percent: f64,
    /// Restart the broker once, mid-run.
    pub restart_broker: bool,
    /// Timely workers of the runner.
    pub workers: usize,
    /// `[kafka] retry_delays_s` (short, so the dead host's retries run out
    /// within the run).
    pub retry_delays_s: Vec<u64>,
    /// Give up after this long.
    pub deadline: Duration,
}

/// What the run showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Interviews posted.
    pub interviews: usize,
    /// Of which on the dead media host.
    pub dead_host_interviews: usize,
    /// SIGKILLs done.
    pub kills: usize,
    /// Broker restarts done.
    pub broker_restarts: usize,
    /// Seconds from each (re)start of the runner to its partitions being
    /// assigned (polling again), one per start after a kill.
    pub restart_assigned_s: Vec<f64>,
    /// The worst of them.
    pub restart_worst_s: f64,
    /// Interviews with exactly one `interviews` row.
    pub one_row: usize,
    /// Interviews with no row.
    pub missing_rows: usize,
    /// Interviews with more than one row.
    pub duplicate_rows: usize,
    /// Rows `transcribed`.
    pub transcribed: usize,
    /// Rows `failed`.
    pub failed: usize,
    /// Dead-host interviews whose failed row names the time-out after the retries ran out.
    pub dead_host_failed_timeout: usize,
    /// Transcribed interviews with exactly one note carrying their correlation id.
    pub one_note: usize,
    /// Interviews with more than one note.
    pub duplicate_notes: usize,
    /// Transcribed interviews with no note.
    pub missing_notes: usize,
    /// Scorecards written (at most one per interview).
    pub scorecards: usize,
    /// Interviews with more than one scorecard.
    pub duplicate_scorecards: usize,
    /// Opportunities holding the rule tag more than once.
    pub duplicate_tags: usize,
    /// Opportunities moved to the stage more than once.
    pub duplicate_stage_moves: usize,
    /// Stage moves made.
    pub stage_moves: usize,
    /// Records on the dead-letter topic.
    pub dead_letter_records: usize,
    /// Distinct interviews on it.
    pub dead_letter_interviews: usize,
    /// Whether those are exactly the interviews with a failed row.
    pub dead_letters_are_the_failures: bool,
    /// Note replies the emulator lost on purpose.
    pub lost_replies: u64,
    /// Requests the emulator failed with 503 on purpose.
    pub lever_503s: u64,
    /// "missed heartbeat" evictions in the broker's log.
    pub broker_evictions: usize,
    /// Seconds the whole run took.
    pub wall_s: f64,
}

impl Report {
    /// Whether every promise held.
    pub fn holds(&self) -> bool {
        self.missing_rows == 0
            && self.duplicate_rows == 0
            && self.duplicate_notes == 0
            && self.missing_notes == 0
            && self.duplicate_scorecards == 0
            && self.duplicate_tags == 0
            && self.duplicate_stage_moves == 0
            && self.dead_host_failed_timeout == self.dead_host_interviews
            && self.dead_letters_are_the_failures
            && self.restart_worst_s < 30.0
    }
}
