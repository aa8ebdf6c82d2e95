//! PII at rest: column-level AES-256-GCM for what a candidate said.
//!
//! The Parquet columns that carry a candidate's words ([`PII_TABLES`]:
//! `interviews.transcript`, `interviews.summary_json`, `interviews.event_json`,
//! `segments.text`, `responses.text`, `scores.evidence_json`) are stored as
//! versioned strings
//!
//! ```text
//! pfenc:v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>
//! ```
//!
//! with a fresh random 96-bit nonce per value. The associated data binds the
//! value to its table, its column and its row's key (see [`aad`]), so a value
//! copied into another row or column fails to decrypt. Analysts' tools
//! (DuckDB, Polars) see only the opaque string; the crate's own readers
//! ([`crate::parquet::ParquetSink::read_interviews`] and friends,
//! `panelflow export`) decrypt with the key ring.
//!
//! # Keys
//! A key is 32 random bytes, written as base64. Its id is the first 8 hex
//! digits of SHA-256 over a label and the key, and every value names the key
//! that sealed it, so a **key ring** keeps older keys readable after a
//! rotation: the first key encrypts, every key decrypts. Where the ring comes
//! from ([`PiiKeys::from_config`], first match wins):
//!
//! 1. the environment variable named by `[governance] key_env`
//!    (`PANELFLOW_PII_KEY` by default): keys separated by commas or blanks;
//! 2. `[governance] key_file`: one base64 key per line (`#` comments);
//!    it must exist;
//! 3. neither: `<cache>/keys/pii.key` (see [`panelflow_core::paths::cache_dir`]),
//!    generated once with mode 0600 and a warning. That default keeps the demo
//!    and the tests working with no set-up and keeps the key out of the
//!    dataset folder, but it lives on the same machine as the data: **production
//!    deployments provision the key from their secret store** (`key_env` or a
//!    `key_file` on a mounted secret) and back it up — data sealed with a lost
//!    key is gone.
//!
//! ```
//! use panelflow_connectors::store::crypto::{aad, PiiKeys};
//! let keys = PiiKeys::from_base64(&[&PiiKeys::generate_base64()], "doc").unwrap();
//! let ad = aad("segments", "text", &["iv-1", "pilot@1", "0", "3"]);
//! let sealed = keys.encrypt("my fellow americans", &ad).unwrap();
//! assert!(sealed.starts_with("pfenc:v1:"));
//! assert_eq!(keys.decrypt(&sealed, &ad).unwrap(), "my fellow americans");
//! // The same value moved to another row does not open.
//! assert!(keys.decrypt(&sealed, &aad("segments", "text", &["iv-2", "pilot@1", "0", "3"])).is_err());
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int32Type, Int64Type};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::GovernanceSection;

/// Prefix of every encrypted value (format version 1).
pub const PREFIX: &str = "pfenc:v1:";
/// Default environment variable holding the key ring.
pub const DEFAULT_KEY_ENV: &str = "PANELFLOW_PII_KEY";
/// Length of a key in bytes (AES-256).
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const AAD_LABEL: &[u8] = b"panelflow-pii-v1";

/// Errors of the PII encryption.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The key file could not be read or created.
    #[error("PII key file {}: {source}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A key is not base64 of 32 bytes.
    #[error("PII key #{index} from {origin}: {reason}")]
    BadKey {
        /// Where the key came from (an env var or a file).
        origin: String,
        /// Position in the ring, from 1.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The key source holds no key.
    #[error("no PII key in {origin}")]
    NoKey {
        /// Where the keys were looked for.
        origin: String,
    },
    /// A value was sealed with a key that is not in the ring.
    #[error(
        "{table}.{column}: value encrypted with PII key id {key_id}, which is not in the key ring \
         (have: {have}); add that key to the ring (key file or {DEFAULT_KEY_ENV})"
    )]
    UnknownKey {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The key id named by the value.
        key_id: String,
        /// The ids of the ring.
        have: String,
    },
    /// Authentication failed: a wrong key, a tampered value, or a value moved
    /// from another row or column.
    #[error("{table}.{column}: decryption failed with key id {key_id} (wrong key, tampered value, or a value moved between rows)")]
    Decrypt {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The key id tried.
        key_id: String,
    },
    /// The value looks encrypted but is malformed.
    #[error("{table}.{column}: malformed encrypted value: {reason}")]
    Malformed {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// A value is encrypted but no key ring is configured.
    #[error("{table}.{column}: value is encrypted but no PII key is configured ([governance] encrypt_pii = false)")]
    NoKeyConfigured {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A record batch lacks a column needed to build the associated data.
    #[error("{table}: column `{column}` missing or of an unsupported type for PII encryption")]
    Column {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// Rebuilding a record batch failed.
    #[error("{table}: rebuilding the record batch: {source}")]
    Arrow {
        /// The table.
        table: String,
        /// Why.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// The cipher refused to encrypt (never for a well-formed key).
    #[error("encryption failed")]
    Encrypt,
}

/// Which columns of which Parquet table hold PII, and the row key bound into
/// the associated data.
#[derive(Debug, Clone, Copy)]
pub struct PiiColumns {
    /// The table (`interviews`, `segments`, ...).
    pub table: &'static str,
    /// Encrypted columns (Utf8).
    pub columns: &'static [&'static str],
    /// Columns whose values form the row key in the associated data.
    pub key: &'static [&'static str],
}

/// Every PII column of the Parquet sink's tables.
pub const PII_TABLES: &[PiiColumns] = &[
    PiiColumns {
        table: "interviews",
        columns: &["transcript", "summary_json", "event_json"],
        key: &["interview_id", "pipeline_version"],
    },
    PiiColumns {
        table: "segments",
        columns: &["text"],
        key: &[
            "interview_id",
            "pipeline_version",
            "media_index",
            "segment_index",
        ],
    },
    PiiColumns {
        table: "responses",
        columns: &["text"],
        key: &["interview_id", "pipeline_version", "question_index"],
    },
    PiiColumns {
        table: "scores",
        columns: &["evidence_json"],
        key: &[
            "interview_id",
            "pipeline_version",
            "competency",
            "question_id",
        ],
    },
];

/// The PII columns of `table`, if it has any.
///
/// ```
/// assert!(panelflow_connectors::store::crypto::pii_columns("segments").is_some());
/// assert!(panelflow_connectors::store::crypto::pii_columns("audit").is_none());
/// ```
pub fn pii_columns(table: &str) -> Option<&'static PiiColumns> {
    PII_TABLES.iter().find(|t| t.table == table)
}

/// The associated data of one value: a label, the table, the column and the
/// row key's parts, each length-prefixed (so no two different inputs give the
/// same bytes).
pub fn aad(table: &str, column: &str, key: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let mut put = |b: &[u8]| {
        out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        out.extend_from_slice(b);
    };
    put(AAD_LABEL);
    put(table.as_bytes());
    put(column.as_bytes());
    for k in key {
        put(k.as_bytes());
    }
    out
}

/// Whether a stored value is an encrypted one.
pub fn is_encrypted(value: &str) -> bool {
    value.starts_with(PREFIX)
}

struct KeyEntry {
    id: String,
    cipher: Aes256Gcm,
    raw: [u8; KEY_LEN],
}

/// A key ring: the first key encrypts, every key decrypts.
pub struct PiiKeys {
    keys: Vec<KeyEntry>,
    origin: String,
}

impl fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PiiKeys")
            .field("key_ids", &self.key_ids())
            .field("origin", &self.origin)
            .finish()
    }
}

/// The id of a key: 8 hex digits of SHA-256 over a label and the key.
pub fn key_id(key: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"panelflow-pii-key-id:");
    h.update(key);
    hex::encode(&h.finalize()[..4])
}

impl PiiKeys {
    /// A new random key, base64.
    pub fn generate_base64() -> String {
        let key = Aes256Gcm::generate_key(OsRng);
        B64.encode(key.as_slice())
    }

    /// A ring from base64 keys (the first encrypts); `origin` names the
    /// source in errors.
    pub fn from_base64(keys: &[&str], origin: &str) -> Result<Self, CryptoError> {
        let mut ring = Vec::new();
        for (n, k) in keys.iter().enumerate() {
            let bad = |reason: String| CryptoError::BadKey {
                origin: origin.to_string(),
                index: n + 1,
                reason,
            };
            let bytes = B64
                .decode(k.trim())
                .map_err(|e| bad(format!("not base64: {e}")))?;
            let raw: [u8; KEY_LEN] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| bad(format!("{} bytes, want {KEY_LEN}", bytes.len())))?;
            let id = key_id(&raw);
            if ring.iter().any(|e: &KeyEntry| e.id == id) {
                continue;
            }
            ring.push(KeyEntry {
                id,
                cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw)),
                raw,
            });
        }
        if ring.is_empty() {
            return Err(CryptoError::NoKey {
                origin: origin.to_string(),
            });
        }
        Ok(Self {
            keys: ring,
            origin: origin.to_string(),
        })
    }

    /// Parses a key file's text: one base64 key per line, `#` comments.
    pub fn from_key_file_text(text: &str, origin: &str) -> Result<Self, CryptoError> {
        let keys: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        Self::from_base64(&keys, origin)
    }

    /// The key ring configured by `[governance]`, or `None` when
    /// `encrypt_pii = false`. See the module docs for the sources.
    pub fn from_config(g: &GovernanceSection) -> Result<Option<Arc<Self>>, CryptoError> {
        if !g.encrypt_pii {
            return Ok(None);
        }
        Self::load(g).map(|k| Some(Arc::new(k)))
    }

    /// The key ring named by `[governance]`, whether or not new values are
    /// encrypted (erasure hashes and reading older data need it).
    pub fn load(g: &GovernanceSection) -> Result<Self, CryptoError> {
        let env = if g.key_env.is_empty() {
            DEFAULT_KEY_ENV
        } else {
            g.key_env.as_str()
        };
        if let Ok(v) = std::env::var(env) {
            if !v.trim().is_empty() {
                let keys: Vec<&str> = v
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .collect();
                return Self::from_base64(&keys, &format!("${env}"));
            }
        }
        if let Some(path) = &g.key_file {
            return Self::read_key_file(path);
        }
        Self::default_key_file(&default_key_path())
    }

    /// Reads a key file (warns when others may read it).
    pub fn read_key_file(path: &Path) -> Result<Self, CryptoError> {
        let text = std::fs::read_to_string(path).map_err(|source| CryptoError::KeyFile {
            path: path.to_path_buf(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(m) = std::fs::metadata(path) {
                if m.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(path = %path.display(), "PII key file is readable by group or others; chmod 600 it");
                }
            }
        }
        Self::from_key_file_text(&text, &path.display().to_string())
    }

    /// Reads `path`, generating it (mode 0600, one new key) when missing.
    /// Concurrent first calls agree on one key: the file appears whole, by a
    /// hard link that fails if another process made it first.
    pub fn default_key_file(path: &Path) -> Result<Self, CryptoError> {
        if !path.exists() {
            let io = |source| CryptoError::KeyFile {
                path: path.to_path_buf(),
                source,
            };
            let dir = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(io)?;
            let mut builder = tempfile::Builder::new();
            builder.prefix(".pii-key-").suffix(".tmp");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                builder.permissions(std::fs::Permissions::from_mode(0o600));
            }
            let tmp = builder.tempfile_in(dir).map_err(io)?;
            let text = format!(
                "# panelflow PII key ring, generated {}: the first key encrypts, all decrypt.\n\
                 # Development default only: production provisions keys from a secret store.\n{}\n",
                chrono::Utc::now().to_rfc3339(),
                Self::generate_base64()
            );
            std::fs::write(tmp.path(), text).map_err(io)?;
            tmp.as_file().sync_all().map_err(io)?;
            match std::fs::hard_link(tmp.path(), path) {
                Ok(()) => tracing::warn!(
                    path = %path.display(),
                    "generated a development PII key; production deployments set [governance] key_file or PANELFLOW_PII_KEY"
                ),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        Self::read_key_file(path)
    }

    /// Id of the key that encrypts.
    pub fn active_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Ids of every key in the ring, the active one first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Encrypts one value with the active key.
    pub fn encrypt(&self, plaintext: &str, aad: &[u8]) -> Result<String, CryptoError> {
        let key = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad,
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + ct.len());
        blob.extend_from_slice(nonce.as_slice());
        blob.extend_from_slice(&ct);
        Ok(format!("{PREFIX}{}:{}", key.id, B64.encode(blob)))
    }

    /// Decrypts one value (a value without the prefix is returned as it is:
    /// data written before encryption was turned on).
    pub fn decrypt(&self, value: &str, aad: &[u8]) -> Result<String, CryptoError> {
        self.decrypt_in("?", "?", value, aad)
    }

    /// [`Self::decrypt`] with the table and column named in errors.
    pub fn decrypt_in(
        &self,
        table: &str,
        column: &str,
        value: &str,
        aad: &[u8],
    ) -> Result<String, CryptoError> {
        let Some(rest) = value.strip_prefix(PREFIX) else {
            return Ok(value.to_string());
        };
        let malformed = |reason: &str| CryptoError::Malformed {
            table: table.to_string(),
            column: column.to_string(),
            reason: reason.to_string(),
        };
        let (id, b64) = rest.split_once(':').ok_or_else(|| malformed("no key id"))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| CryptoError::UnknownKey {
                table: table.to_string(),
                column: column.to_string(),
                key_id: id.to_string(),
                have: self.key_ids().join(","),
            })?;
        let blob = B64.decode(b64).map_err(|_| malformed("not base64"))?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(malformed("too short"));
        }
        let (nonce, ct) = blob.split_at(NONCE_LEN);
        let pt = key
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| CryptoError::Decrypt {
                table: table.to_string(),
                column: column.to_string(),
                key_id: id.to_string(),
            })?;
        String::from_utf8(pt).map_err(|_| malformed("plaintext is not UTF-8"))
    }

    /// A salted, keyed hash of a candidate id (16 hex digits) for records
    /// that must not hold the id itself (the erasure's audit event). The
    /// salt is derived from the active key, so whoever holds the key ring can
    /// check whether a given id was erased; nobody else can.
    pub fn erasure_hash(&self, candidate_id: &str) -> String {
        let salt = hmac_sha256(&self.keys[0].raw, b"panelflow-erasure-salt");
        hex::encode(&hmac_sha256(&salt, candidate_id.as_bytes())[..8])
    }

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

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// The default key file: `<cache>/keys/pii.key`.
pub fn default_key_path() -> PathBuf {
    panelflow_core::paths::cache_dir()
        .join("keys")
        .join("pii.key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;
    use arrow::datatypes::{Field, Schema};

    fn ring() -> PiiKeys {
        PiiKeys::from_base64(&[&PiiKeys::generate_base64()], "test").expect("ring")
    }

    #[test]
    fn nonces_differ_and_values_are_bound_to_their_row() {
        let k = ring();
        let ad = aad("responses", "text", &["iv", "v1", "0"]);
        let a = k.encrypt("hello", &ad).expect("enc");
        let b = k.encrypt("hello", &ad).expect("enc");
        assert_ne!(a, b, "a fresh nonce per value");
        assert!(!a.contains("hello"));
        assert_eq!(k.decrypt(&a, &ad).expect("dec"), "hello");
        for other in [
            aad("responses", "text", &["iv", "v1", "1"]),
            aad("segments", "text", &["iv", "v1", "0"]),
            aad("responses", "question", &["iv", "v1", "0"]),
        ] {
            assert!(matches!(
                k.decrypt(&a, &other),
                Err(CryptoError::Decrypt { .. })
            ));
        }
        // Length prefixes: ("ab","c") and ("a","bc") differ.
        assert_ne!(aad("t", "c", &["ab", "c"]), aad("t", "c", &["a", "bc"]));
    }

    #[test]
    fn a_ring_reads_old_keys_and_a_wrong_key_fails_clearly() {
        let old = PiiKeys::generate_base64();
        let new = PiiKeys::generate_base64();
        let before = PiiKeys::from_base64(&[&old], "t").expect("ring");
        let ad = aad("interviews", "transcript", &["iv", "v1"]);
        let sealed = before.encrypt("secret words", &ad).expect("enc");
        let rotated =
            PiiKeys::from_key_file_text(&format!("# ring\n{new}\n\n{old}\n"), "f").expect("ring");
        assert_eq!(rotated.key_ids().len(), 2);
        assert_ne!(rotated.active_key_id(), before.active_key_id());
        assert_eq!(
            rotated.decrypt(&sealed, &ad).expect("old key reads"),
            "secret words"
        );
        let only_new = PiiKeys::from_base64(&[&new], "t").expect("ring");
        let err = only_new
            .decrypt_in("interviews", "transcript", &sealed, &ad)
            .unwrap_err();
        assert!(matches!(err, CryptoError::UnknownKey { .. }), "{err}");
        assert!(err.to_string().contains(before.active_key_id()), "{err}");
        // Bad keys are refused with their position.
        let err = PiiKeys::from_base64(&["c2hvcnQ="], "t").unwrap_err();
        assert!(err.to_string().contains("5 bytes"), "{err}");
        // Plain (pre-encryption) values pass through.
        assert_eq!(only_new.decrypt("plain", &ad).expect("plain"), "plain");
    }

    #[test]
    fn batches_round_trip_and_keys_come_from_a_generated_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys/pii.key");
        let k = PiiKeys::default_key_file(&path).expect("generated");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = PiiKeys::default_key_file(&path).expect("read back");
        assert_eq!(k.key_ids(), again.key_ids());
        assert_eq!(k.erasure_hash("cand-1"), again.erasure_hash("cand-1"));
        assert_ne!(k.erasure_hash("cand-1"), k.erasure_hash("cand-2"));

        let schema = Arc::new(Schema::new(vec![
            Field::new("interview_id", DataType::Utf8, false),
            Field::new("pipeline_version", DataType::Utf8, false),
            Field::new("question_index", DataType::Int32, false),
            Field::new("text", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "b"])),
                Arc::new(StringArray::from(vec!["v", "v"])),
                Arc::new(Int32Array::from(vec![0, 1])),
                Arc::new(StringArray::from(vec![Some("words"), None])),
            ],
        )
        .expect("batch");
        let sealed = k.encrypt_batch("responses", &batch).expect("enc");
        let text = sealed.column(3).as_string::<i32>();
        assert!(is_encrypted(text.value(0)));
        assert!(text.is_null(1));
        let open = decrypt_batch(Some(&k), "responses", &sealed).expect("dec");
        assert_eq!(open, batch);
        assert!(matches!(
            decrypt_batch(None, "responses", &sealed),
            Err(CryptoError::NoKeyConfigured { .. })
        ));
        // The JSON view decrypts too.
        let mut row = serde_json::json!({"interview_id": "a", "pipeline_version": "v", "question_index": 0,
                                         "text": text.value(0)});
        let map = row.as_object_mut().expect("object");
        decrypt_json_row(&k, "responses", map).expect("json");
        assert_eq!(map["text"], "words");
    }
}
