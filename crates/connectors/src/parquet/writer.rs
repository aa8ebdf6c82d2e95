//! The atomic file writer: a record batch encoded as a whole Parquet file
//! (PII columns sealed) and put in its partition in one step.

use std::path::PathBuf;

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use tracing::debug;

use super::error::ParquetSinkError;
use super::layout::{MAX_ROW_GROUP_BYTES, MAX_ROW_GROUP_ROWS, PARTITION_COLUMN, SCHEMA_VERSION};
use super::sink::ParquetSink;
use super::storage;
use crate::store::crypto;

impl ParquetSink {
    /// Writes `batch` to `root/table/date=DATE/PART` atomically and durably.
    pub(super) fn write_file(
        &self,
        table: &'static str,
        date: &str,
        part: &str,
        batch: &RecordBatch,
    ) -> Result<PathBuf, ParquetSinkError> {
        let path = self
            .root
            .join(table)
            .join(format!("{PARTITION_COLUMN}={date}"))
            .join(part);
        let sealed;
        let batch = match &self.keys {
            Some(keys) if crypto::pii_columns(table).is_some() => {
                sealed = keys.encrypt_batch(table, batch)?;
                &sealed
            }
            _ => batch,
        };
        let bytes = encode(batch, props(table)).map_err(|source| ParquetSinkError::Parquet {
            op: "write",
            path: path.clone(),
            source,
        })?;
        storage::put(&path, bytes, true)?;
        debug!(path = %path.display(), rows = batch.num_rows(), "parquet file committed");
        Ok(path)
    }
}

/// One record batch as a whole Parquet file in memory.
pub(crate) fn encode(
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<Vec<u8>, ParquetError> {
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.into_inner()
}

/// Writer settings: snappy, bounded row groups, the table named in the metadata.
pub(super) fn props(table: &str) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(MAX_ROW_GROUP_BYTES))
        .set_created_by(format!("panelflow {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("panelflow.table".to_string(), table.to_string()),
            KeyValue::new(
                "panelflow.schema_version".to_string(),
                SCHEMA_VERSION.to_string(),
            ),
        ]))
        .build()
}
