//! Operations on what panelflow holds, for people with a duty to it:
//!
//! - [`erase`]: `panelflow erase CANDIDATE_ID` — every Parquet table, the audit
//!   log, the review queue, and retractions for the aggregates;
//! - [`export`]: `panelflow export CANDIDATE_ID` and the candidate notice;
//! - [`explain`]: `panelflow explain INTERVIEW_ID`;
//! - [`backfill`]: `panelflow backfill` (replays through a newer pipeline) and
//!   candidate rediscovery;
//! - [`redrive`]: `panelflow redrive` (sends chosen dead letters back through
//!   the pipeline, idempotently).

pub mod backfill;
pub mod erase;
pub mod explain;
pub mod export;
pub mod redrive;
