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

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::storage::{self, StorageError};

/// Version of the aggregates' table contracts, stored in each file's metadata.
pub const SCHEMA_VERSION: &str = "1";
/// Folder of the input tables.
pub const INPUTS_DIR: &str = "inputs";
/// Folder of the change logs.
pub const CHANGELOG_DIR: &str = "changelog";
/// Folder of the snapshots.
pub const SNAPSHOT_DIR: &str = "snapshot";

/// Errors writing or reading the aggregates' Parquet files.
#[derive(Debug, thiserror::Error)]
pub enum AggregatesSinkError {
    /// Reaching the folder or the object store failed.
    #[error("aggregates sink: {0}")]
    Storage(#[from] StorageError),
    /// A file-system operation failed.
    #[error("aggregates sink: {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Writing or reading Parquet failed.
    #[error("aggregates sink: {op} {}: {source}", path.display())]
    Parquet {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ParquetError,
    },
    /// Building a record batch failed (a bug: a row wrote the wrong cells).
    #[error("aggregates sink: building the {table} batch: {source}")]
    Arrow {
        /// The table.
        table: String,
        /// Why.
        #[source]
        source: ArrowError,
    },
    /// A file does not have the columns expected.
    #[error("aggregates sink: {}: {reason}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

// ---------------------------------------------------------------------------
// Columns and rows.

/// A column's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    /// UTF-8 string (DuckDB `VARCHAR`).
    Utf8,
    /// 64-bit integer (DuckDB `BIGINT`).
    Int64,
    /// 64-bit float (DuckDB `DOUBLE`).
    Float64,
    /// Boolean (DuckDB `BOOLEAN`).
    Boolean,
}

impl ColType {
    /// The Arrow type.
    pub fn arrow(self) -> DataType {
        match self {
            ColType::Utf8 => DataType::Utf8,
            ColType::Int64 => DataType::Int64,
            ColType::Float64 => DataType::Float64,
            ColType::Boolean => DataType::Boolean,
        }
    }

    /// The DuckDB type analysts see.
    pub fn duckdb(self) -> &'static str {
        match self {
            ColType::Utf8 => "VARCHAR",
            ColType::Int64 => "BIGINT",
            ColType::Float64 => "DOUBLE",
            ColType::Boolean => "BOOLEAN",
        }
    }
}

/// A column of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Name.
    pub name: &'static str,
    /// Type.
    pub ty: ColType,
    /// Whether it may be null.
    pub nullable: bool,
}

impl Column {
    /// A column.
    pub const fn new(name: &'static str, ty: ColType, nullable: bool) -> Self {
        Self { name, ty, nullable }
    }
}

/// Where a row writes its cells, in column order.
pub trait RowSink {
    /// A string cell.
    fn str(&mut self, v: &str);
    /// A nullable string cell.
    fn opt_str(&mut self, v: Option<&str>);
    /// An integer cell.
    fn i64(&mut self, v: i64);
    /// A nullable integer cell.
    fn opt_i64(&mut self, v: Option<i64>);
    /// A float cell.
    fn f64(&mut self, v: f64);
    /// A nullable float cell.
    fn opt_f64(&mut self, v: Option<f64>);
    /// A boolean cell.
    fn bool(&mut self, v: bool);
}

/// One cell, as collected by [`TableRow::cells`] and read back by [`read_rows`].
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Null.
    Null,
    /// String.
    Str(String),
    /// Integer.
    I64(i64),
    /// Float.
    F64(f64),
    /// Boolean.
    Bool(bool),
}

impl Cell {
    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Cell::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The number (integer or float), if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::I64(v) => Some(*v as f64),
            Cell::F64(v) => Some(*v),
            _ => None,
        }
    }
    /// The integer, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::I64(v) => Some(*v),
            _ => None,
        }
    }
    /// The boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Cell::Bool(v) => Some(*v),
            _ => None,
        }
    }
}

impl RowSink for Vec<Cell> {
    fn str(&mut self, v: &str) {
        self.push(Cell::Str(v.to_string()));
    }
    fn opt_str(&mut self, v: Option<&str>) {
        self.push(v.map_or(Cell::Null, |s| Cell::Str(s.to_string())));
    }
    fn i64(&mut self, v: i64) {
        self.push(Cell::I64(v));
    }
    fn opt_i64(&mut self, v: Option<i64>) {
        self.push(v.map_or(Cell::Null, Cell::I64));
    }
    fn f64(&mut self, v: f64) {
        self.push(Cell::F64(v));
    }
    fn opt_f64(&mut self, v: Option<f64>) {
        self.push(v.map_or(Cell::Null, Cell::F64));
    }
    fn bool(&mut self, v: bool) {
        self.push(Cell::Bool(v));
    }
}

/// A row of an output table.
pub trait TableRow: Clone + Ord + std::fmt::Debug + 'static {
    /// The table's name (folder and file name).
    const TABLE: &'static str;
    /// The columns that identify a row of the current state.
    const KEY: &'static [&'static str];
    /// The columns, in order.
    fn columns() -> Vec<Column>;
    /// Writes the cells, in column order.
    fn write<S: RowSink>(&self, out: &mut S);
    /// The cells as values.
    fn cells(&self) -> Vec<Cell> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

enum ColBuilder {
    Utf8(StringBuilder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
}

/// Builds the Arrow arrays of a table row by row.
pub struct ArrowRows {
    table: String,
    schema: SchemaRef,
    cols: Vec<ColBuilder>,
    at: usize,
    rows: usize,
}

impl ArrowRows {
    /// An empty buffer for `columns` of `table`.
    pub fn new(table: &str, columns: &[Column]) -> Self {
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| Field::new(c.name, c.ty.arrow(), c.nullable))
            .collect();
        let mut me = Self {
            table: table.to_string(),
            schema: Arc::new(Schema::new(fields)),
            cols: Vec::new(),
            at: 0,
            rows: 0,
        };
        me.reset();
        me
    }

    fn reset(&mut self) {
        self.cols = self
            .schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 => ColBuilder::Utf8(StringBuilder::new()),
                DataType::Int64 => ColBuilder::Int64(Int64Builder::new()),
                DataType::Float64 => ColBuilder::Float64(Float64Builder::new()),
                _ => ColBuilder::Boolean(BooleanBuilder::new()),
            })
            .collect();
        self.at = 0;
        self.rows = 0;
    }

    /// Ends the current row.
    pub fn end_row(&mut self) {
        debug_assert_eq!(
            self.at,
            self.cols.len(),
            "{}: row wrote {} of {} cells",
            self.table,
            self.at,
            self.cols.len()
        );
        self.at = 0;
        self.rows += 1;
    }

    /// Rows buffered.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The schema.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Takes the buffered rows as a record batch, leaving the buffer empty.
    pub fn take_batch(&mut self) -> Result<RecordBatch, AggregatesSinkError> {
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    ColBuilder::Utf8(b) => Arc::new(b.finish()),
                    ColBuilder::Int64(b) => Arc::new(b.finish()),
                    ColBuilder::Float64(b) => Arc::new(b.finish()),
                    ColBuilder::Boolean(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.at = 0;
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(|source| {
            AggregatesSinkError::Arrow {
                table: self.table.clone(),
                source,
            }
        })
    }

    fn next(&mut self) -> Option<&mut ColBuilder> {
        let c = self.cols.get_mut(self.at);
        self.at += 1;
        c
    }
}

impl RowSink for ArrowRows {
    fn str(&mut self, v: &str) {
        if let Some(ColBuilder::Utf8(b)) = self.next() {
            b.append_value(v)
        }
    }
    fn opt_str(&mut self, v: Option<&str>) {
        if let Some(ColBuilder::Utf8(b)) = self.next() {
            b.append_option(v)
        }
    }
    fn i64(&mut self, v: i64) {
        if let Some(ColBuilder::Int64(b)) = self.next() {
            b.append_value(v)
        }
    }
    fn opt_i64(&mut self, v: Option<i64>) {
        if let Some(ColBuilder::Int64(b)) = self.next() {
            b.append_option(v)
        }
    }
    fn f64(&mut self, v: f64) {
        if let Some(ColBuilder::Float64(b)) = self.next() {
            b.append_value(v)
        }
    }
    fn opt_f64(&mut self, v: Option<f64>) {
        if let Some(ColBuilder::Float64(b)) = self.next() {
            b.append_option(v)
        }
    }
    fn bool(&mut self, v: bool) {
        if let Some(ColBuilder::Boolean(b)) = self.next() {
            b.append_value(v)
        }
    }
}

// ---------------------------------------------------------------------------
// Files.

/// The folders of one aggregates dataset.
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The dataset at `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
    /// Its root.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// Folder of an input table.
    pub fn input_dir(&self, table: &str) -> PathBuf {
        self.root.join(INPUTS_DIR).join(table)
    }
    /// Folder of an aggregate's change log.
    pub fn changelog_dir(&self, table: &str) -> PathBuf {
        self.root.join(CHANGELOG_DIR).join(table)
    }
    /// File of an aggregate's snapshot.
    pub fn snapshot_file(&self, table: &str) -> PathBuf {
        self.root
            .join(SNAPSHOT_DIR)
            .join(format!("{table}.parquet"))
    }
    /// Glob of an input table, for DuckDB.
    pub fn input_glob(&self, table: &str) -> String {
        format!("{}/*.parquet", self.input_dir(table).display())
    }
    /// Glob of a change log, for DuckDB.
    pub fn changelog_glob(&self, table: &str) -> String {
        format!("{}/*.parquet", self.changelog_dir(table).display())
    }
}

fn props(table: &str, extra: &[(&str, String)]) -> WriterProperties {
    let mut kv = vec![
        KeyValue::new("panelflow.table".to_string(), table.to_string()),
        KeyValue::new(
            "panelflow.schema_version".to_string(),
            SCHEMA_VERSION.to_string(),
        ),
    ];
    kv.extend(
        extra
            .iter()
            .map(|(k, v)| KeyValue::new(k.to_string(), v.clone())),
    );
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(64 * 1024))
        .set_created_by(format!("panelflow {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(kv))
        .build()
}

/// Writes `batch` to `path` atomically ([`storage::put`]; locally fsyncing
/// file and folder when `durable`).
pub fn write_atomic(
    path: &Path,
    table: &str,
    batch: &RecordBatch,
    metadata: &[(&str, String)],
    durable: bool,
) -> Result<(), AggregatesSinkError> {
    let bytes = super::encode(batch, props(table, metadata)).map_err(|source| {
        AggregatesSinkError::Parquet {
            op: "write",
            path: path.to_path_buf(),
            source,
        }
    })?;
    storage::put(path, bytes, durable)?;
    Ok(())
}

/// Columns of a change log or input table: the row's columns, then `time` and `diff`.
pub fn logged_columns(columns: Vec<Column>) -> Vec<Column> {
    let mut cols = columns;
    cols.push(Column::new("time", ColType::Int64, false));
    cols.push(Column::new("diff", ColType::Int64, false));
    cols
}

/// Columns of a snapshot: the row's columns, then `as_of_time`.
pub fn snapshot_columns(columns: Vec<Column>) -> Vec<Column> {
    let mut cols = columns;
    cols.push(Column::new("as_of_time", ColType::Int64, false));
    cols
}

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

// ---------------------------------------------------------------------------
// Reading back (the audit report, tools, tests).

/// A table read back: column names and rows of cells.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Rows {
    /// Index of a column.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
    /// A cell by row and column name.
    pub fn get<'a>(&'a self, row: &'a [Cell], name: &str) -> &'a Cell {
        self.col(name)
            .and_then(|i| row.get(i))
            .unwrap_or(&Cell::Null)
    }
}

/// Reads a Parquet file, or every `*.parquet` file of a folder, into cells
/// (a folder or an object-store prefix; none there reads as no rows).
pub fn read_rows(path: &Path) -> Result<Rows, AggregatesSinkError> {
    let files: Vec<PathBuf> = if storage::exists(path)? {
        vec![path.to_path_buf()]
    } else {
        storage::list_files(path)?
            .into_iter()
            .map(|f| f.path)
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect()
    };
    let mut out = Rows::default();
    for file in files {
        let f = storage::read(&file)?;
        let pq = |op, source| AggregatesSinkError::Parquet {
            op,
            path: file.clone(),
            source,
        };
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .map_err(|e| pq("read", e))?
            .build()
            .map_err(|e| pq("read", e))?;
        for batch in reader {
            let batch = batch.map_err(|e| AggregatesSinkError::BadFile {
                path: file.clone(),
                reason: e.to_string(),
            })?;
            let names: Vec<String> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            if out.columns.is_empty() {
                out.columns = names.clone();
            } else if out.columns != names {
                return Err(AggregatesSinkError::BadFile {
                    path: file.clone(),
                    reason: format!("columns {names:?} differ from {:?}", out.columns),
                });
            }
            for r in 0..batch.num_rows() {
                let mut row = Vec::with_capacity(batch.num_columns());
                for c in 0..batch.num_columns() {
                    row.push(cell_at(batch.column(c), r));
                }
                out.rows.push(row);
            }
        }
    }
    Ok(out)
}

fn cell_at(array: &ArrayRef, row: usize) -> Cell {
    use arrow::array::{Array, BooleanArray, Float64Array, Int64Array, StringArray};
    if array.is_null(row) {
        return Cell::Null;
    }
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<StringArray>() {
        Cell::Str(a.value(row).to_string())
    } else if let Some(a) = any.downcast_ref::<Int64Array>() {
        Cell::I64(a.value(row))
    } else if let Some(a) = any.downcast_ref::<Float64Array>() {
        Cell::F64(a.value(row))
    } else if let Some(a) = any.downcast_ref::<BooleanArray>() {
        Cell::Bool(a.value(row))
    } else {
        Cell::Null
    }
}
