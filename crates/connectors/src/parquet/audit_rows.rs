//! The `audit` table: one row per [`AuditEvent`] (column contract:
//! `schemas/parquet/audit.json`). `detail` is stored as JSON text and
//! `duration_ms` is derived from the step's start and end.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use arrow::array::{
    Array, ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use chrono::{DateTime, Utc};

use super::error::ParquetSinkError;
use super::rows::{Columns, TIMESTAMP_TZ};
use crate::store::audit::AuditEvent;

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_TZ.into()))
}

/// Arrow schema of the `audit` table.
///
/// ```
/// let s = panelflow_connectors::parquet::audit_schema();
/// assert!(s.field_with_name("detail_json").is_ok());
/// ```
pub fn audit_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let s = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
            Arc::new(Schema::new(vec![
                Field::new("at", ts(), false),
                s("correlation_id", false),
                s("interview_id", false),
                s("candidate_id", true),
                s("step", false),
                Field::new("started_at", ts(), true),
                Field::new("ended_at", ts(), true),
                Field::new("duration_ms", DataType::Int64, true),
                s("outcome", false),
                s("actor", false),
                s("config_hash", false),
                s("detail_json", true),
            ]))
        })
        .clone()
}

fn times(values: impl Iterator<Item = Option<DateTime<Utc>>>) -> ArrayRef {
    let v: Vec<Option<i64>> = values.map(|t| t.map(|t| t.timestamp_micros())).collect();
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone(TIMESTAMP_TZ))
}

/// Builds the `audit` record batch.
pub(crate) fn audit_batch(rows: &[&AuditEvent]) -> Result<RecordBatch, ParquetSinkError> {
    let s = |f: &dyn Fn(&AuditEvent) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| f(r))))
    };
    let columns: Vec<ArrayRef> = vec![
        times(rows.iter().map(|r| Some(r.at))),
        s(&|r| &r.correlation_id),
        s(&|r| &r.interview_id),
        Arc::new(
            rows.iter()
                .map(|r| r.candidate_id.as_deref())
                .collect::<StringArray>(),
        ),
        s(&|r| &r.step),
        times(rows.iter().map(|r| r.started_at)),
        times(rows.iter().map(|r| r.ended_at)),
        Arc::new(
            rows.iter()
                .map(|r| match (r.started_at, r.ended_at) {
                    (Some(a), Some(b)) => Some((b - a).num_milliseconds()),
                    _ => None,
                })
                .collect::<Int64Array>(),
        ),
        s(&|r| &r.outcome),
        s(&|r| &r.actor),
        s(&|r| &r.config_hash),
        Arc::new(
            rows.iter()
                .map(|r| (!r.detail.is_null()).then(|| r.detail.to_string()))
                .collect::<StringArray>(),
        ),
    ];
    RecordBatch::try_new(audit_schema(), columns).map_err(|source| ParquetSinkError::Arrow {
        table: "audit",
        source,
    })
}

/// Decodes `audit` rows.
pub(crate) fn audit_from_batch(
    batch: &RecordBatch,
    path: &Path,
) -> Result<Vec<AuditEvent>, ParquetSinkError> {
    let c = Columns::new(batch, path);
    let bad = |name: &str, reason: &str| ParquetSinkError::BadFile {
        path: path.to_path_buf(),
        reason: format!("column `{name}`: {reason}"),
    };
    let ts_col = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|a| {
                a.as_any()
                    .downcast_ref::<arrow::array::PrimitiveArray<TimestampMicrosecondType>>()
            })
            .ok_or_else(|| bad(name, "missing or not Timestamp(µs)"))
    };
    let at = ts_col("at")?;
    let started = ts_col("started_at")?;
    let ended = ts_col("ended_at")?;
    let _ = c.ints::<Int64Type>("duration_ms")?;
    let (corr, iid, cand, step) = (
        c.req_strings("correlation_id")?,
        c.req_strings("interview_id")?,
        c.strings("candidate_id")?,
        c.req_strings("step")?,
    );
    let (outcome, actor, hash, detail) = (
        c.req_strings("outcome")?,
        c.req_strings("actor")?,
        c.req_strings("config_hash")?,
        c.strings("detail_json")?,
    );
    let time = |a: &arrow::array::PrimitiveArray<TimestampMicrosecondType>, k: usize| {
        (!a.is_null(k))
            .then(|| DateTime::<Utc>::from_timestamp_micros(a.value(k)))
            .flatten()
    };
    let mut out = Vec::with_capacity(batch.num_rows());
    for k in 0..batch.num_rows() {
        out.push(AuditEvent {
            at: time(at, k).ok_or_else(|| bad("at", "null or out of range"))?,
            correlation_id: corr.value(k).into(),
            interview_id: iid.value(k).into(),
            candidate_id: (!cand.is_null(k)).then(|| cand.value(k).to_string()),
            step: step.value(k).into(),
            started_at: time(started, k),
            ended_at: time(ended, k),
            outcome: outcome.value(k).into(),
            actor: actor.value(k).into(),
            config_hash: hash.value(k).into(),
            detail: if detail.is_null(k) {
                serde_json::Value::Null
            } else {
                serde_json::from_str(detail.value(k))
                    .map_err(|e| bad("detail_json", &format!("not JSON: {e}")))?
            },
        });
    }
    Ok(out)
}
