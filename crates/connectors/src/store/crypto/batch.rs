//! Sealing and opening the PII columns of a whole record batch, or of one
//! row given as JSON.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int32Type, Int64Type};

use super::error::CryptoError;
use super::format::{aad, is_encrypted, pii_columns};
use super::ring::PiiKeys;

impl PiiKeys {
    /// Encrypts the PII columns of a record batch of `table` (a table without
    /// PII columns is returned unchanged; null values stay null; values
    /// already encrypted are kept).
    pub fn encrypt_batch(
        &self,
        table: &str,
        batch: &RecordBatch,
    ) -> Result<RecordBatch, CryptoError> {
        map_pii_columns(table, batch, |column, value, key| {
            if is_encrypted(value) {
                return Ok(value.to_string());
            }
            self.encrypt(value, &aad(table, column, key))
        })
    }
}

/// Decrypts the PII columns of a record batch of `table` read back from
/// Parquet. Plain values pass; an encrypted value without `keys` is an error.
pub fn decrypt_batch(
    keys: Option<&PiiKeys>,
    table: &str,
    batch: &RecordBatch,
) -> Result<RecordBatch, CryptoError> {
    let Some(spec) = pii_columns(table) else {
        return Ok(batch.clone());
    };
    let any_encrypted = spec.columns.iter().any(|c| {
        batch
            .column_by_name(c)
            .and_then(|a| a.as_string_opt::<i32>())
            .is_some_and(|a| a.iter().flatten().any(is_encrypted))
    });
    if !any_encrypted {
        return Ok(batch.clone());
    }
    map_pii_columns(table, batch, |column, value, key| match keys {
        Some(k) => k.decrypt_in(table, column, value, &aad(table, column, key)),
        None if is_encrypted(value) => Err(CryptoError::NoKeyConfigured {
            table: table.to_string(),
            column: column.to_string(),
        }),
        None => Ok(value.to_string()),
    })
}

/// Decrypts the PII fields of one row given as a JSON object (as DuckDB or
/// `panelflow export` sees it): each PII column present is decrypted with the
/// row's key columns, which must be present too (numbers as integers).
pub fn decrypt_json_row(
    keys: &PiiKeys,
    table: &str,
    row: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<(), CryptoError> {
    let Some(spec) = pii_columns(table) else {
        return Ok(());
    };
    let mut key_parts = Vec::with_capacity(spec.key.len());
    for k in spec.key {
        let part = match row.get(*k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::Null) | None => {
                if spec.columns.iter().any(|c| {
                    row.get(*c)
                        .and_then(|v| v.as_str())
                        .is_some_and(is_encrypted)
                }) {
                    return Err(CryptoError::Column {
                        table: table.to_string(),
                        column: (*k).to_string(),
                    });
                }
                return Ok(());
            }
            Some(other) => other.to_string(),
        };
        key_parts.push(part);
    }
    let parts: Vec<&str> = key_parts.iter().map(String::as_str).collect();
    for c in spec.columns {
        if let Some(serde_json::Value::String(v)) = row.get(*c) {
            let plain = keys.decrypt_in(table, c, v, &aad(table, c, &parts))?;
            row.insert((*c).to_string(), serde_json::Value::String(plain));
        }
    }
    Ok(())
}

/// Rewrites each PII column of `batch` value by value with `f(column, value, row key)`.
fn map_pii_columns(
    table: &str,
    batch: &RecordBatch,
    mut f: impl FnMut(&str, &str, &[&str]) -> Result<String, CryptoError>,
) -> Result<RecordBatch, CryptoError> {
    let Some(spec) = pii_columns(table) else {
        return Ok(batch.clone());
    };
    let schema = batch.schema();
    let missing = |column: &str| CryptoError::Column {
        table: table.to_string(),
        column: column.to_string(),
    };
    // The row keys, as strings.
    let mut key_cols: Vec<Vec<String>> = Vec::with_capacity(spec.key.len());
    for k in spec.key {
        let a = batch.column_by_name(k).ok_or_else(|| missing(k))?;
        key_cols.push(strings_of(a).ok_or_else(|| missing(k))?);
    }
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for c in spec.columns {
        let Ok(idx) = schema.index_of(c) else {
            // Older files without the column (e.g. event_json) are fine.
            continue;
        };
        let a = columns[idx]
            .as_string_opt::<i32>()
            .ok_or_else(|| missing(c))?;
        let mut out = Vec::with_capacity(a.len());
        for row in 0..a.len() {
            if a.is_null(row) {
                out.push(None);
                continue;
            }
            let key: Vec<&str> = key_cols.iter().map(|k| k[row].as_str()).collect();
            out.push(Some(f(c, a.value(row), &key)?));
        }
        columns[idx] = Arc::new(StringArray::from(out));
    }
    RecordBatch::try_new(schema, columns).map_err(|source| CryptoError::Arrow {
        table: table.to_string(),
        source,
    })
}

/// A key column's values as strings (Utf8, Int32, Int64; null → "").
fn strings_of(a: &ArrayRef) -> Option<Vec<String>> {
    let n = a.len();
    let get = |i: usize, v: String| if a.is_null(i) { String::new() } else { v };
    match a.data_type() {
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            Some((0..n).map(|i| get(i, s.value(i).to_string())).collect())
        }
        DataType::Int32 => {
            let p = a.as_primitive::<Int32Type>();
            Some((0..n).map(|i| get(i, p.value(i).to_string())).collect())
        }
        DataType::Int64 => {
            let p = a.as_primitive::<Int64Type>();
            Some((0..n).map(|i| get(i, p.value(i).to_string())).collect())
        }
        _ => None,
    }
}
