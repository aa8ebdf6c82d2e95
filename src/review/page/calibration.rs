//! The panel's calibration figures for a candidate, read from the
//! aggregates snapshots.

use std::path::Path;

use serde_json::{json, Map, Value};

use panelflow_connectors::parquet::aggregates::{read_rows, Cell, Rows, SNAPSHOT_DIR};
use panelflow_connectors::parquet::storage;

fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Str(s) => json!(s),
        Cell::I64(i) => json!(i),
        Cell::F64(f) => json!(f),
        Cell::Bool(b) => json!(b),
    }
}

fn row_json(rows: &Rows, row: &[Cell]) -> Value {
    let mut m = Map::new();
    for (i, name) in rows.columns.iter().enumerate() {
        if name == "as_of_time" {
            continue;
        }
        m.insert(
            name.clone(),
            row.get(i).map(cell_json).unwrap_or(Value::Null),
        );
    }
    Value::Object(m)
}

/// The panel's calibration for a candidate from the aggregates snapshots
/// under `dir` (`panel_view` rows of the candidate, and the
/// `reviewer_calibration` of its panelists, overall and for the posting);
/// `None` when there is no snapshot or no row for the candidate.
pub fn load_calibration(
    dir: &Path,
    candidate_id: &str,
    posting_id: Option<&str>,
) -> Result<Option<Value>, panelflow_connectors::parquet::aggregates::AggregatesSinkError> {
    let root = if storage::is_dir(&dir.join(SNAPSHOT_DIR))? {
        dir.to_path_buf()
    } else if storage::is_dir(&dir.join("aggregates").join(SNAPSHOT_DIR))? {
        dir.join("aggregates")
    } else {
        return Ok(None);
    };
    let panel_path = root.join(SNAPSHOT_DIR).join("panel_view.parquet");
    if !storage::exists(&panel_path)? {
        return Ok(None);
    }
    let panel = read_rows(&panel_path)?;
    let mine: Vec<&Vec<Cell>> = panel
        .rows
        .iter()
        .filter(|r| panel.get(r, "candidate_id").as_str() == Some(candidate_id))
        .filter(|r| posting_id.is_none_or(|p| panel.get(r, "posting_id").as_str() == Some(p)))
        .collect();
    if mine.is_empty() {
        return Ok(None);
    }
    let mut reviewers: Vec<String> = mine
        .iter()
        .filter_map(|r| panel.get(r, "ratings").as_str())
        .flat_map(|s| s.split(';'))
        .filter_map(|pair| pair.split_once('=').map(|(who, _)| who.trim().to_owned()))
        .filter(|w| !w.is_empty())
        .collect();
    reviewers.sort();
    reviewers.dedup();
    let cal_path = root.join(SNAPSHOT_DIR).join("reviewer_calibration.parquet");
    let mut cal_rows = Vec::new();
    if storage::exists(&cal_path)? {
        let cal = read_rows(&cal_path)?;
        for r in &cal.rows {
            let who = cal.get(r, "reviewer_id").as_str().unwrap_or_default();
            let kind = cal.get(r, "scope_kind").as_str().unwrap_or_default();
            let scope = cal.get(r, "scope").as_str();
            let in_scope =
                kind == "all" || (kind == "posting" && scope.is_some() && scope == posting_id);
            if in_scope && reviewers.iter().any(|x| x == who) {
                cal_rows.push(row_json(&cal, r));
            }
        }
    }
    Ok(Some(json!({
        "panel": mine.iter().map(|r| row_json(&panel, r)).collect::<Vec<_>>(),
        "reviewers": cal_rows,
    })))
}
