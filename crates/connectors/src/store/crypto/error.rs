//! The PII encryption's error type.

use std::path::PathBuf;

use super::format::DEFAULT_KEY_ENV;

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
