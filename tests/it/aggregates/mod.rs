//! The aggregates: incremental = from scratch = DuckDB (property test);
//! injected bias and drift are flagged, an unbiased stream is not; the
//! Kafka runner lands inputs, change logs and snapshots that DuckDB reads;
//! the tables and messages follow `schemas/aggregates/`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use differential_dataflow::input::Input;
use panelflow::aggregates::bias::BiasRow;
use panelflow::aggregates::calibration::CalibrationRow;
use panelflow::aggregates::drift::DriftRow;
use panelflow::aggregates::harness::{build, run_batch, SinkOptions};
use panelflow::aggregates::inputs::input_tables;
use panelflow::aggregates::language::{LanguageRow, PhraseList};
use panelflow::aggregates::panel::PanelRow;
use panelflow::aggregates::questions::ConsistencyRow;
use panelflow::aggregates::records::*;
use panelflow::aggregates::reference::{self, AllRows};
use panelflow::aggregates::AggregateConfig;
use panelflow_connectors::parquet::aggregates::{Cell, Layout, TableRow};
use panelflow_core::topics::Topic;
use panelflow_devkit::simulate::{generate, parse_bias, parse_drift, SimConfig};
use proptest::prelude::*;
use serde_json::Value;

const TOLERANCE: f64 = 1e-9;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

mod bias_and_drift;
mod contracts;
mod incremental;
mod kafka_runner;

// ---------------------------------------------------------------------------
// DuckDB

use crate::support::duckdb_queries as duckdb;

fn sql(name: &str, inputs: &Path, cfg: &AggregateConfig) -> String {
    std::fs::read_to_string(
        root()
            .join("schemas/aggregates/sql")
            .join(format!("{name}.sql")),
    )
    .unwrap()
    .replace("{inputs}", &inputs.display().to_string())
    .replace("{reference_weeks}", &cfg.reference_weeks.to_string())
}

// ---------------------------------------------------------------------------
// Comparing rows

fn cell_eq(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::F64(x), Cell::F64(y)) => (x - y).abs() <= TOLERANCE || x == y,
        _ => a == b,
    }
}

/// Incremental vs from scratch: same rows in the same order, floats to 1e-9.
fn same_rows<R: TableRow>(got: &[R], want: &[R]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "{}: {} rows, from scratch {}\n got {got:#?}\nwant {want:#?}",
            R::TABLE,
            got.len(),
            want.len()
        ));
    }
    for (g, w) in got.iter().zip(want) {
        let (gc, wc) = (g.cells(), w.cells());
        if gc.len() != wc.len() || !gc.iter().zip(&wc).all(|(a, b)| cell_eq(a, b)) {
            return Err(format!("{}: row differs\n got {g:?}\nwant {w:?}", R::TABLE));
        }
    }
    Ok(())
}

fn same_all(got: &AllRows, want: &AllRows) -> Result<(), String> {
    same_rows(&got.bias, &want.bias)?;
    same_rows(&got.calibration, &want.calibration)?;
    same_rows(&got.panel, &want.panel)?;
    same_rows(&got.drift, &want.drift)?;
    same_rows(&got.questions, &want.questions)?;
    same_rows(&got.language, &want.language)
}

fn json_matches(cell: &Cell, v: &Value) -> bool {
    match (cell, v) {
        (Cell::Null, Value::Null) => true,
        (Cell::Str(s), Value::String(t)) => s == t,
        (Cell::Bool(b), Value::Bool(c)) => b == c,
        (Cell::I64(i), v) => v.as_f64().is_some_and(|x| x == *i as f64),
        (Cell::F64(x), v) => v.as_f64().is_some_and(|y| (x - y).abs() <= TOLERANCE),
        _ => false,
    }
}

/// Dataflow rows vs DuckDB's, matched by key, every column to 1e-9.
fn matches_duckdb<R: TableRow>(got: &[R], duck: &[Value]) -> Result<(), String> {
    let cols = R::columns();
    let key_of_cells = |cells: &[Cell]| -> String {
        R::KEY
            .iter()
            .map(|k| {
                let i = cols.iter().position(|c| c.name == *k).unwrap();
                format!("{:?}", cells[i])
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut ours: BTreeMap<String, Vec<Cell>> = BTreeMap::new();
    for r in got {
        let cells = r.cells();
        ours.insert(key_of_cells(&cells), cells);
    }
    let mut theirs: BTreeMap<String, &Value> = BTreeMap::new();
    for v in duck {
        let cells: Vec<Cell> = cols
            .iter()
            .map(|c| match &v[c.name] {
                Value::String(s) => Cell::Str(s.clone()),
                Value::Null => Cell::Null,
                Value::Bool(b) => Cell::Bool(*b),
                Value::Number(n) if n.is_i64() => Cell::I64(n.as_i64().unwrap()),
                Value::Number(n) => Cell::F64(n.as_f64().unwrap()),
                other => Cell::Str(other.to_string()),
            })
            .collect();
        theirs.insert(key_of_cells(&cells), v);
    }
    if ours.len() != theirs.len() || ours.keys().ne(theirs.keys()) {
        return Err(format!(
            "{}: keys differ\n dataflow {:?}\n duckdb   {:?}",
            R::TABLE,
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>()
        ));
    }
    for (key, cells) in &ours {
        let v = theirs[key];
        for (c, cell) in cols.iter().zip(cells) {
            if !json_matches(cell, &v[c.name]) {
                return Err(format!(
                    "{} {key}: column {} is {cell:?} in the dataflow, {} in DuckDB",
                    R::TABLE,
                    c.name,
                    v[c.name]
                ));
            }
        }
    }
    Ok(())
}
