//! `panelflow poll-lever`: what Lever knows about candidates after their
//! interview — human scorecards, stage advances and archives, and the
//! candidates' own EEO answers — read from Lever's API and published to the
//! aggregates' topics as ratings, decisions and demographics.
//!
//! Lever sends no webhook for a submitted scorecard, so the poller asks:
//! every `interval_s` it lists the opportunities updated since its last
//! round (`GET /opportunities?updated_at_start=…&expand=applications`),
//! reads each one's feedback (`GET /opportunities/:id/feedback`) — and
//! that of up to `revisit_per_round` opportunities *in flight* (seen in the
//! last `in_flight_days`) that were not listed, the least recently read
//! first, since a scorecard need not count as an update of its
//! opportunity — and lists
//! the EEO answers given since (`GET /eeo/responses/pii?created_at_start=…`,
//! which needs the key's EEO permission; off with `eeo = false`).
//!
//! From what Lever holds now it derives, per opportunity, the records that
//! should be in the aggregates, compares them with what it published before
//! (its state file), and publishes the difference: new records with
//! `diff: 1`, records that no longer hold (a deleted scorecard, a changed
//! answer, an archive undone) with `diff: -1`. Before sending, the records
//! about to be sent are noted as *unsettled* in the state file; after, the
//! state file is replaced with what is published (both atomically). A round
//! that stops part-way (a crash, the broker gone) leaves them unsettled, and
//! the next round that reads their opportunity sends each again the way
//! Lever has it then — an insert if it still holds, else a retraction. The
//! aggregates drop an insert they already hold and a retraction of a record
//! they do not hold, so nothing counts twice and nothing is left behind.
//!
//! - **Ratings** (`source: lever_feedback`): every completed feedback form
//!   not written by panelflow itself (`[lever] perform_as`, and
//!   `exclude_users`) gives one rating per scored field: a `score-system`
//!   field (Lever's overall 1–4, "4 - Strong Hire" … "1 - Strong No Hire")
//!   rates `overall`; a `scorecard` field rates each of its `scores` (the
//!   skill's name as a competency id, see [`slug`]); a `score` field rates
//!   the field's own text. The reviewer is the form's `user`.
//! - **Decisions**: `advance` when the opportunity reached a stage beyond
//!   the one candidates are assessed in (`assessed_stage`, else `[lever]
//!   trigger_stages`; a stage in `advance_stages` always counts), at the
//!   first such stage change; its source is `panelflow_triage` when
//!   panelflow's own user moved it (the automate phase), else `lever`.
//!   Otherwise `archive` when the opportunity is archived (the reason as
//!   `stage`). Neither: no decision yet (still assessed, not selected).
//! - **Demographics**: the latest EEO answer per opportunity (`gender` as
//!   sex, `race` as race/ethnicity; declined or empty answers are unknown).
//!   They go to their own topic, which only the aggregates read.
//!
//! The candidate is the opportunity's contact (as the platform sources
//! name it), else the opportunity; the posting is the first application's.

mod config;
mod poller;
mod read;
mod records;
mod round;
mod state;

pub use self::config::{LeverPollSection, PollConfig};
pub use self::poller::LeverPoller;
pub use self::records::field_ratings;
pub use self::state::RoundStats;

#[cfg(test)]
mod tests;
