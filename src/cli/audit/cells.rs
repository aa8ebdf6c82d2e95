//! Reading one cell of a snapshot row as text, a number or a flag.

use panelflow_connectors::parquet::aggregates::{Cell, Rows};

pub(super) fn s(rows: &Rows, row: &[Cell], col: &str) -> String {
    match rows.get(row, col) {
        Cell::Str(v) => v.clone(),
        Cell::I64(v) => v.to_string(),
        Cell::F64(v) => format!("{v:.3}"),
        Cell::Bool(v) => v.to_string(),
        Cell::Null => "—".into(),
    }
}

pub(super) fn f(rows: &Rows, row: &[Cell], col: &str) -> Option<f64> {
    rows.get(row, col).as_f64()
}

pub(super) fn b(rows: &Rows, row: &[Cell], col: &str) -> bool {
    rows.get(row, col).as_bool().unwrap_or(false)
}
