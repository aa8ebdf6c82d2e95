//! Append-only logs: the [`LogWriter`] of the input tables and the
//! [`ChangeLog`] of an aggregate.

use std::marker::PhantomData;
use std::path::PathBuf;

use super::arrow_rows::ArrowRows;
use super::columns::{logged_columns, Column, RowSink, TableRow};
use super::error::AggregatesSinkError;
use super::layout::Layout;
use super::writer::write_atomic;

/// An append-only log of `(row, time, diff)` written as Parquet files.
pub struct LogWriter {
    table: String,
    dir: PathBuf,
    rows: ArrowRows,
    tag: String,
    seq: u64,
    durable: bool,
}

impl LogWriter {
    /// A log of `table` (with `columns`, to which `time` and `diff` are
    /// added) in `dir`; `tag` goes into file names (e.g. the worker).
    pub fn new(table: &str, dir: PathBuf, columns: Vec<Column>, tag: &str, durable: bool) -> Self {
        Self {
            table: table.to_string(),
            dir,
            rows: ArrowRows::new(table, &logged_columns(columns)),
            tag: tag.to_string(),
            seq: 0,
            durable,
        }
    }

    /// The row buffer: write the row's cells, then call [`LogWriter::end`].
    pub fn rows(&mut self) -> &mut ArrowRows {
        &mut self.rows
    }

    /// Ends a row with its time and diff.
    pub fn end(&mut self, time: u64, diff: isize) {
        self.rows.i64(time as i64);
        self.rows.i64(diff as i64);
        self.rows.end_row();
    }

    /// Rows waiting to be written.
    pub fn pending(&self) -> usize {
        self.rows.len()
    }

    /// Writes the buffered rows as one file (nothing when empty).
    pub fn flush(&mut self) -> Result<Option<PathBuf>, AggregatesSinkError> {
        if self.rows.is_empty() {
            return Ok(None);
        }
        self.write_file()
    }

    /// Writes a file even when nothing is buffered, if this writer has
    /// written none yet: readers then find the table (empty) and its columns.
    pub fn flush_or_touch(&mut self) -> Result<Option<PathBuf>, AggregatesSinkError> {
        if self.rows.is_empty() && self.seq > 0 {
            return Ok(None);
        }
        self.write_file()
    }

    fn write_file(&mut self) -> Result<Option<PathBuf>, AggregatesSinkError> {
        let batch = self.rows.take_batch()?;
        self.seq += 1;
        let path = self.dir.join(format!(
            "part-{:020}-{}{:06}-{}.parquet",
            now_ms(),
            self.tag,
            self.seq,
            uuid::Uuid::new_v4().simple()
        ));
        write_atomic(&path, &self.table, &batch, &[], self.durable)?;
        tracing::debug!(table = %self.table, rows = batch.num_rows(), path = %path.display(), "log file written");
        Ok(Some(path))
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The change log of one aggregate.
pub struct ChangeLog<R: TableRow> {
    log: LogWriter,
    _row: PhantomData<R>,
}

impl<R: TableRow> ChangeLog<R> {
    /// The change log of `R` in `layout`; `worker` tags the file names.
    pub fn new(layout: &Layout, worker: usize, durable: bool) -> Self {
        Self {
            log: LogWriter::new(
                R::TABLE,
                layout.changelog_dir(R::TABLE),
                R::columns(),
                &format!("w{worker}-"),
                durable,
            ),
            _row: PhantomData,
        }
    }
    /// Appends one change.
    pub fn push(&mut self, row: &R, time: u64, diff: isize) {
        row.write(self.log.rows());
        self.log.end(time, diff);
    }
    /// Changes waiting to be written.
    pub fn pending(&self) -> usize {
        self.log.pending()
    }
    /// Writes the buffered changes as one file.
    pub fn flush(&mut self) -> Result<Option<PathBuf>, AggregatesSinkError> {
        self.log.flush()
    }
}
