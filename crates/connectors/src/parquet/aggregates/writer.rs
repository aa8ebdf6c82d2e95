//! The atomic writer: one record batch as one Parquet file, put whole.

use std::path::Path;

use arrow::array::RecordBatch;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::error::AggregatesSinkError;
use super::layout::SCHEMA_VERSION;
use crate::parquet::storage;

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
    let bytes =
        crate::parquet::writer::encode(batch, props(table, metadata)).map_err(|source| {
            AggregatesSinkError::Parquet {
                op: "write",
                path: path.to_path_buf(),
                source,
            }
        })?;
    storage::put(path, bytes, durable)?;
    Ok(())
}
