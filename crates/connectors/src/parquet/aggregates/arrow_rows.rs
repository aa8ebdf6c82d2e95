//! Building the Arrow arrays of a table row by row.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::columns::{Column, RowSink};
use super::error::AggregatesSinkError;

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
