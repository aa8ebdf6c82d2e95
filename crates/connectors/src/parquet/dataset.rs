//! Any Parquet table of a deployment, row by row: finding the files, reading
//! them as JSON objects (decrypting PII columns), finding a candidate's rows
//! and rewriting a file without some rows atomically — in a folder or on
//! object storage ([`super::storage`]). Erasure and export share it; it knows no table's columns beyond `candidate_id`,
//! `interview_id` and `correlation_id`, so tables added later are covered.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int32Type, Int64Type, SchemaRef, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};

use super::storage::{self, StorageError};
use crate::store::crypto::{self, CryptoError, PiiKeys};

/// Errors reading or rewriting a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// Reaching the folder or the object store failed.
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// A file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The parquet crate failed.
    #[error("{op} {}: {source}", path.display())]
    Parquet {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow failed (filtering a batch).
    #[error("{}: {source}", path.display())]
    Arrow {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// Decrypting a PII column failed.
    #[error("{}: {source}", path.display())]
    Crypto {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: CryptoError,
    },
}

/// One committed Parquet file and the table it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableFile {
    /// Table name: the first folder under the root (`interviews`, `audit`),
    /// or two for the aggregates (`inputs/scores`, `changelog/panel_view`,
    /// `snapshot/panel_view`).
    pub table: String,
    /// The file.
    pub path: PathBuf,
}

/// Every committed `*.parquet` file under `root` (a folder or an
/// object-store URL; hidden `.`/`_` names skipped), with its table; none
/// when `root` does not exist.
pub fn parquet_files(root: &Path) -> Result<Vec<TableFile>, DatasetError> {
    let mut out: Vec<TableFile> = storage::list_files(root)?
        .into_iter()
        .filter(|f| f.path.extension().is_some_and(|e| e == "parquet"))
        .map(|f| TableFile {
            table: table_of(root, &f.path),
            path: f.path,
        })
        .collect();
    out.sort();
    Ok(out)
}

fn table_of(root: &Path, path: &Path) -> String {
    let rel: Vec<String> = path
        .strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match rel.as_slice() {
        [first, file] if first == "snapshot" => {
            format!("snapshot/{}", file.trim_end_matches(".parquet"))
        }
        [first, second, ..] if first == "inputs" || first == "changelog" => {
            format!("{first}/{second}")
        }
        [first, ..] => first.clone(),
        [] => String::new(),
    }
}

/// A whole file: its batches, schema and key-value metadata.
pub struct FileData {
    /// The Arrow schema.
    pub schema: SchemaRef,
    /// The batches.
    pub batches: Vec<RecordBatch>,
    /// The file's key-value metadata (without the embedded Arrow schema).
    pub metadata: Vec<KeyValue>,
}

/// Reads a whole Parquet file.
pub fn read_file(path: &Path) -> Result<FileData, DatasetError> {
    let file = storage::read(path)?;
    let perr = |source| DatasetError::Parquet {
        op: "read",
        path: path.to_path_buf(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(perr)?;
    let metadata = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .filter(|k| k.key != "ARROW:schema")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let schema = builder.schema().clone();
    let reader = builder.with_batch_size(8192).build().map_err(perr)?;
    let mut batches = Vec::new();
    for b in reader {
        batches.push(b.map_err(|e| DatasetError::Arrow {
            path: path.to_path_buf(),
            source: e,
        })?);
    }
    Ok(FileData {
        schema,
        batches,
        metadata,
    })
}

/// Who is looked for: a candidate, and the interviews and correlation ids
/// known to be theirs.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// The candidate id.
    pub candidate_id: String,
    /// Their interview ids.
    pub interview_ids: BTreeSet<String>,
    /// Their correlation ids.
    pub correlation_ids: BTreeSet<String>,
    /// Their Lever opportunity ids (found on their own rows): other
    /// records that name one of them refer to the candidate.
    pub opportunity_ids: BTreeSet<String>,
}

impl Subject {
    /// A subject with only the candidate id known.
    pub fn new(candidate_id: &str) -> Self {
        Self {
            candidate_id: candidate_id.to_string(),
            ..Default::default()
        }
    }

    /// Whether one JSON object (a review file, an audit line) is about the subject.
    pub fn matches_json(&self, v: &Value) -> bool {
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        s("candidate_id") == Some(self.candidate_id.as_str())
            || s("interview_id").is_some_and(|i| self.interview_ids.contains(i))
            || s("correlation_id").is_some_and(|c| self.correlation_ids.contains(c))
    }

    /// Which rows of `batch` are about the subject.
    pub fn mask(&self, batch: &RecordBatch) -> BooleanArray {
        let n = batch.num_rows();
        let mut hit = vec![false; n];
        let mut check = |name: &str, f: &dyn Fn(&str) -> bool| {
            if let Some(a) = batch
                .column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>())
            {
                for (i, h) in hit.iter_mut().enumerate() {
                    if !*h && !a.is_null(i) && f(a.value(i)) {
                        *h = true;
                    }
                }
            }
        };
        check("candidate_id", &|v| v == self.candidate_id);
        check("interview_id", &|v| self.interview_ids.contains(v));
        check("correlation_id", &|v| self.correlation_ids.contains(v));
        BooleanArray::from(hit)
    }

    /// Adds the interview and correlation ids of the rows of `batch` that
    /// name the candidate; whether any were new.
    pub fn learn(&mut self, batch: &RecordBatch) -> bool {
        let Some(cand) = batch
            .column_by_name("candidate_id")
            .and_then(|c| c.as_string_opt::<i32>())
        else {
            return false;
        };
        let mut grew = false;
        for (col, set) in [
            ("interview_id", &mut self.interview_ids),
            ("correlation_id", &mut self.correlation_ids),
            ("opportunity_id", &mut self.opportunity_ids),
        ] {
            if let Some(a) = batch
                .column_by_name(col)
                .and_then(|c| c.as_string_opt::<i32>())
            {
                for i in 0..batch.num_rows() {
                    if !cand.is_null(i)
                        && cand.value(i) == self.candidate_id
                        && !a.is_null(i)
                        && !a.value(i).is_empty()
                    {
                        grew |= set.insert(a.value(i).to_string());
                    }
                }
            }
        }
        grew
    }
}

/// Learns the subject's interview and correlation ids from every file
/// (until nothing new is found: an interview id found in one table finds
/// its correlation id in another).
pub fn discover(subject: &mut Subject, files: &[TableFile]) -> Result<(), DatasetError> {
    let mut data = Vec::with_capacity(files.len());
    for f in files {
        data.push(read_file(&f.path)?);
    }
    loop {
        let mut grew = false;
        for d in &data {
            for b in &d.batches {
                grew |= subject.learn(b);
                // Rows found by interview id give their correlation id too.
                let m = subject.mask(b);
                if m.true_count() > 0 {
                    if let Some(a) = b
                        .column_by_name("correlation_id")
                        .and_then(|c| c.as_string_opt::<i32>())
                    {
                        for i in 0..b.num_rows() {
                            if m.value(i) && !a.is_null(i) && !a.value(i).is_empty() {
                                grew |= subject.correlation_ids.insert(a.value(i).to_string());
                            }
                        }
                    }
                    if let Some(a) = b
                        .column_by_name("interview_id")
                        .and_then(|c| c.as_string_opt::<i32>())
                    {
                        for i in 0..b.num_rows() {
                            if m.value(i) && !a.is_null(i) && !a.value(i).is_empty() {
                                grew |= subject.interview_ids.insert(a.value(i).to_string());
                            }
                        }
                    }
                }
            }
        }
        if !grew {
            return Ok(());
        }
    }
}

/// The text that stands in for an erased id where another record named it.
pub const ERASED: &str = "[erased]";

/// `text` with every whole occurrence of a `needle` (not inside a longer
/// run of letters, digits, `-` or `_`) replaced by [`ERASED`]; `None` when
/// there is none. Needles shorter than 4 characters are ignored (they
/// would match too much to be ids).
///
/// ```
/// use panelflow_connectors::parquet::dataset::redact_ids;
/// let needles = vec!["cand-7".to_string()];
/// assert_eq!(redact_ids(r#"{"contact":"cand-7","x":"cand-77"}"#, &needles).as_deref(),
///            Some(r#"{"contact":"[erased]","x":"cand-77"}"#));
/// assert_eq!(redact_ids("nothing here", &needles), None);
/// ```
pub fn redact_ids(text: &str, needles: &[String]) -> Option<String> {
    let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let mut out = text.to_string();
    let mut changed = false;
    for n in needles.iter().filter(|n| n.chars().count() >= 4) {
        let mut from = 0;
        while let Some(pos) = out[from..].find(n.as_str()).map(|p| p + from) {
            let end = pos + n.len();
            let before = out[..pos].chars().next_back();
            let after = out[end..].chars().next();
            if before.is_some_and(word) || after.is_some_and(word) {
                from = end;
                continue;
            }
            out.replace_range(pos..end, ERASED);
            from = pos + ERASED.len();
            changed = true;
        }
    }
    changed.then_some(out)
}

/// Rewrites `path` with every id of `needles` that appears inside another
/// row's text ([`redact_ids`]: a detail naming the candidate as an
/// opportunity's contact, …) replaced; encrypted values are left as they
/// are (their plaintext was checked when written). Returns the values
/// changed; a file without any is not touched.
pub fn redact_references(path: &Path, needles: &[String]) -> Result<usize, DatasetError> {
    use arrow::array::StringArray;
    let data = read_file(path)?;
    let mut changed = 0;
    let mut out = Vec::with_capacity(data.batches.len());
    for b in &data.batches {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(b.num_columns());
        for col in b.columns() {
            let Some(a) = col.as_string_opt::<i32>() else {
                columns.push(col.clone());
                continue;
            };
            let mut any = false;
            let values: Vec<Option<String>> = (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        return None;
                    }
                    let v = a.value(i);
                    if crypto::is_encrypted(v) {
                        return Some(v.to_string());
                    }
                    match redact_ids(v, needles) {
                        Some(r) => {
                            any = true;
                            changed += 1;
                            Some(r)
                        }
                        None => Some(v.to_string()),
                    }
                })
                .collect();
            if any {
                columns.push(std::sync::Arc::new(StringArray::from(values)) as ArrayRef);
            } else {
                columns.push(col.clone());
            }
        }
        out.push(RecordBatch::try_new(b.schema(), columns).map_err(|source| {
            DatasetError::Arrow {
                path: path.to_path_buf(),
                source,
            }
        })?);
    }
    if changed == 0 {
        return Ok(0);
    }
    write_atomic(path, &data.schema, &out, data.metadata)?;
    Ok(changed)
}

/// The subject's rows of one file as JSON objects, PII columns decrypted
/// with `keys` (the table decides which columns are PII).
pub fn subject_rows(
    file: &TableFile,
    subject: &Subject,
    keys: Option<&PiiKeys>,
) -> Result<Vec<Map<String, Value>>, DatasetError> {
    let data = read_file(&file.path)?;
    let mut out = Vec::new();
    for b in &data.batches {
        let kept =
            filter_record_batch(b, &subject.mask(b)).map_err(|source| DatasetError::Arrow {
                path: file.path.clone(),
                source,
            })?;
        let kept = crypto::decrypt_batch(keys, &file.table, &kept).map_err(|source| {
            DatasetError::Crypto {
                path: file.path.clone(),
                source,
            }
        })?;
        out.extend(batch_to_json(&kept));
    }
    Ok(out)
}

/// Rewrites `path` without the subject's rows, atomically ([`write_atomic`]), keeping
/// its schema and key-value metadata. A file left with no rows is kept empty
/// (readers globbing a table always find a file). Returns the rows removed;
/// a file without any of the subject's rows is not touched.
pub fn remove_rows(path: &Path, subject: &Subject) -> Result<usize, DatasetError> {
    let data = read_file(path)?;
    let mut removed = 0;
    let mut kept = Vec::with_capacity(data.batches.len());
    for b in &data.batches {
        let m = subject.mask(b);
        removed += m.true_count();
        let keep = arrow::compute::not(&m).map_err(|source| DatasetError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        kept.push(
            filter_record_batch(b, &keep).map_err(|source| DatasetError::Arrow {
                path: path.to_path_buf(),
                source,
            })?,
        );
    }
    if removed == 0 {
        return Ok(0);
    }
    write_atomic(path, &data.schema, &kept, data.metadata)?;
    Ok(removed)
}

/// Writes `batches` to `path` atomically ([`storage::put`]: one `PUT`, or
/// a hidden temporary file fsynced and renamed over it).
pub fn write_atomic(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    metadata: Vec<KeyValue>,
) -> Result<(), DatasetError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("panelflow {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata((!metadata.is_empty()).then_some(metadata))
        .build();
    let perr = |op, source| DatasetError::Parquet {
        op,
        path: path.to_path_buf(),
        source,
    };
    let mut w = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props))
        .map_err(|e| perr("open writer for", e))?;
    for b in batches {
        if b.num_rows() > 0 {
            w.write(b).map_err(|e| perr("write", e))?;
        }
    }
    let bytes = w.into_inner().map_err(|e| perr("close", e))?;
    storage::put(path, bytes, true)?;
    Ok(())
}

/// A record batch as JSON objects (strings, numbers, booleans, RFC 3339
/// timestamps; other types as their debug text).
pub fn batch_to_json(batch: &RecordBatch) -> Vec<Map<String, Value>> {
    let schema = batch.schema();
    let mut rows = vec![Map::new(); batch.num_rows()];
    for (f, col) in schema.fields().iter().zip(batch.columns()) {
        for (i, row) in rows.iter_mut().enumerate() {
            row.insert(f.name().clone(), cell(col, i));
        }
    }
    rows
}

fn cell(a: &ArrayRef, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Utf8 => Value::String(a.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Value::String(a.as_string::<i64>().value(i).to_string()),
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int32 => Value::from(a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Value::from(a.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => Value::from(f64::from(a.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => Value::from(a.as_primitive::<Float64Type>().value(i)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let us = a.as_primitive::<TimestampMicrosecondType>().value(i);
            chrono::DateTime::from_timestamp_micros(us)
                .map(|t| Value::String(t.to_rfc3339()))
                .unwrap_or(Value::from(us))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let ms = a.as_primitive::<TimestampMillisecondType>().value(i);
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| Value::String(t.to_rfc3339()))
                .unwrap_or(Value::from(ms))
        }
        _ => Value::String(format!("{:?}", a.slice(i, 1))),
    }
}
