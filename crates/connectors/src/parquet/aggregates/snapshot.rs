//! The compacted current state of an aggregate, rewritten whole.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::arrow_rows::ArrowRows;
use super::columns::{snapshot_columns, RowSink, TableRow};
use super::error::AggregatesSinkError;
use super::layout::Layout;
use super::writer::write_atomic;

/// The compacted current state of one aggregate.
pub struct Snapshot<R: TableRow> {
    path: PathBuf,
    rows: BTreeMap<R, isize>,
    durable: bool,
}

impl<R: TableRow> Snapshot<R> {
    /// An empty snapshot of `R` in `layout`.
    pub fn new(layout: &Layout) -> Self {
        Self {
            path: layout.snapshot_file(R::TABLE),
            rows: BTreeMap::new(),
            durable: true,
        }
    }
    /// Applies one change.
    pub fn apply(&mut self, row: R, diff: isize) {
        let entry = self.rows.entry(row);
        match entry {
            std::collections::btree_map::Entry::Occupied(mut e) => {
                *e.get_mut() += diff;
                if *e.get() == 0 {
                    e.remove();
                }
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                if diff != 0 {
                    e.insert(diff);
                }
            }
        }
    }
    /// The current rows (each repeated by its count; a negative count, which
    /// consistent input never produces, is left out).
    pub fn rows(&self) -> Vec<R> {
        self.rows
            .iter()
            .flat_map(|(r, n)| std::iter::repeat_n(r.clone(), (*n).max(0) as usize))
            .collect()
    }
    /// Number of distinct rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// Rewrites the snapshot file atomically, as of `time`.
    pub fn write(&self, time: u64) -> Result<PathBuf, AggregatesSinkError> {
        let mut buf = ArrowRows::new(R::TABLE, &snapshot_columns(R::columns()));
        for row in self.rows() {
            row.write(&mut buf);
            buf.i64(time as i64);
            buf.end_row();
        }
        let batch = buf.take_batch()?;
        write_atomic(
            &self.path,
            R::TABLE,
            &batch,
            &[("panelflow.as_of_time", time.to_string())],
            self.durable,
        )?;
        Ok(self.path.clone())
    }
}
