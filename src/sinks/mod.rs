//! Sinks: where results land. Each is idempotent, keyed by interview id and
//! pipeline version, so a replay after a crash writes nothing twice.

pub mod aggregates_parquet;
pub mod dead_letter;
pub mod lever_note;
pub mod parquet;
