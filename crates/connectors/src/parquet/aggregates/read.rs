//! Reading back (the audit report, tools, tests).

use std::path::{Path, PathBuf};

use arrow::array::ArrayRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::columns::Cell;
use super::error::AggregatesSinkError;
use crate::parquet::storage;

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
