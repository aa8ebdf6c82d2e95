//! Columns and rows: the [`TableRow`] trait, column types, cells, and the
//! columns added to a change log or a snapshot.

use arrow::datatypes::DataType;

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

/// One cell, as collected by [`TableRow::cells`] and read back by [`read_rows`](super::read_rows).
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
