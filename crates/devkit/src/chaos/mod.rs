//! The chaos run: interviews of short synthetic media through `panelflow
//! ingest` → Tansu → `panelflow run --workers N` (both real processes),
//! while the runner is SIGKILLed at random moments and started again with
//! the same config and group, the broker is restarted once, the Lever
//! emulator answers 503 to everything for a while and loses a share of
//! note replies after storing the note, and one media host accepts
//! connections and never answers. Then it checks what must hold and
//! prints the counts ([`Report`]): one `interviews` row and one note per
//! interview (or, for the dead host, a `failed` row naming the time-out
//! after its retries ran out), no scorecard, tag or stage move twice, the
//! dead-letter topic holding exactly the permanent failures, and how long
//! each restart took to get its partitions back.
//!
//! `benches/chaos.sh` runs the full setting; `tests/it/chaos.rs` a small one.
//! [`backlog`] measures the runner's peak memory over a large backlog;
//! [`scale`] runs several runners of one group side by side (`tests/it/scale.rs`,
//! `benches/scale.sh`).

mod backlog;
mod checks;
mod fixtures;
mod options;
mod procs;
mod run;
mod scale;

pub use self::backlog::{backlog, BacklogReport};
pub use self::checks::read_topic;
pub use self::options::{ChaosOptions, Report};
pub use self::run::run;
pub use self::scale::{scale, LeverRecord, ScaleOptions, ScaleReport};
