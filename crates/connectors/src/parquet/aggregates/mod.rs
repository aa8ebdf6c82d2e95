//! The aggregates' Parquet output: the input tables, an append-only change
//! log per aggregate and a compacted snapshot per aggregate.
//!
//! # Layout
//! ```text
//! ROOT/inputs/<table>/part-<seq>-w<worker>-<uuid>.parquet      scores, interview_signals, ratings,
//!                                                              decisions, demographics, questions
//! ROOT/changelog/<aggregate>/part-<seq>-<uuid>.parquet         (columns…, time, diff)
//! ROOT/snapshot/<aggregate>.parquet                            current rows (+ as_of_time)
//! ```
//! `ROOT` is a folder or an object-store URL (`s3://bucket/prefix`, see
//! [`super::storage`]). Every file appears whole or not at all — one `PUT`
//! on object storage; locally a hidden temporary file (`.part-….tmp`) in its
//! final folder, fsynced, then renamed into place — so readers globbing
//! `*.parquet` never see half a file; a snapshot is replaced in one step. The columns of every table are documented for analysts in
//! `schemas/aggregates/tables/<table>.json` (a test holds the code to them).
//!
//! Change-log and input rows carry `time` (the dataflow's logical time: ms
//! since the epoch in `panelflow aggregate`, the round in tests) and `diff`
//! (`+1` a row appears, `−1` it goes away). The current state of a table is
//! `select cols… from read_parquet('ROOT/changelog/T/*.parquet') group by cols…
//! having sum(diff) > 0`, which is what the snapshot holds.
//!
//! ```
//! use panelflow_connectors::parquet::aggregates::{Cell, Column, ColType, RowSink, TableRow, ChangeLog, Snapshot, Layout};
//! #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
//! struct Count { key: String, n: i64 }
//! impl TableRow for Count {
//!     const TABLE: &'static str = "counts";
//!     const KEY: &'static [&'static str] = &["key"];
//!     fn columns() -> Vec<Column> {
//!         vec![Column::new("key", ColType::Utf8, false), Column::new("n", ColType::Int64, false)]
//!     }
//!     fn write<S: RowSink>(&self, out: &mut S) { out.str(&self.key); out.i64(self.n); }
//! }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let layout = Layout::new(dir.path());
//! let mut log = ChangeLog::<Count>::new(&layout, 0, true);
//! let mut snap = Snapshot::<Count>::new(&layout);
//! for (row, diff) in [(Count { key: "a".into(), n: 1 }, 1), (Count { key: "a".into(), n: 1 }, -1), (Count { key: "a".into(), n: 2 }, 1)] {
//!     log.push(&row, 7, diff);
//!     snap.apply(row, diff);
//! }
//! assert!(log.flush()?.is_some());
//! snap.write(7)?;
//! assert_eq!(snap.rows(), vec![Count { key: "a".into(), n: 2 }]);
//! assert_eq!(Count { key: "b".into(), n: 3 }.cells(), vec![Cell::Str("b".into()), Cell::I64(3)]);
//! # Ok(()) }
//! ```

mod arrow_rows;
mod changelog;
mod columns;
mod error;
mod layout;
mod read;
mod snapshot;
mod writer;

pub use arrow_rows::ArrowRows;
pub use changelog::{ChangeLog, LogWriter};
pub use columns::{logged_columns, snapshot_columns, Cell, ColType, Column, RowSink, TableRow};
pub use error::AggregatesSinkError;
pub use layout::{Layout, CHANGELOG_DIR, INPUTS_DIR, SCHEMA_VERSION, SNAPSHOT_DIR};
pub use read::{read_rows, Rows};
pub use snapshot::Snapshot;
pub use writer::write_atomic;
