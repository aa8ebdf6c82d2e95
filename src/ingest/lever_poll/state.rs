//! The poller's memory between rounds (its state file) and what a round did.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RoundStats {
    /// Opportunities read.
    pub opportunities: usize,
    /// Records published with `diff: 1`.
    pub inserted: usize,
    /// Records published with `diff: -1`.
    pub retracted: usize,
    /// Of the opportunities read, those read again as in flight (not listed
    /// as updated).
    pub revisited: usize,
}

/// The records published for one opportunity (or its EEO answer), as JSON
/// with `diff` 1, each with its topic.
pub(super) type Published = BTreeSet<(Topic, String)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Topic {
    Ratings,
    Decisions,
    Demographics,
}

/// One record to send: topic, the record (JSON), diff.
pub(super) type Send = (Topic, String, i64);

/// The poller's memory between rounds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct PollState {
    /// Start of the last completed round (ms since the epoch).
    pub(super) cursor_ms: Option<i64>,
    /// Per `opp:<id>` / `eeo:<id>`: what is published now.
    pub(super) published: BTreeMap<String, Published>,
    /// Opportunities in flight: (first seen, last read), ms since the epoch.
    #[serde(default)]
    pub(super) in_flight: BTreeMap<String, (i64, i64)>,
    /// Per key, records a round set out to insert or retract and may not
    /// have (it stopped part-way): settled, either way, the next time the
    /// key is read.
    #[serde(default)]
    pub(super) unsettled: BTreeMap<String, Published>,
}
