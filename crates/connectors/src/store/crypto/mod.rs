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

mod batch;
mod erasure;
mod error;
mod format;
mod ring;
mod seal;

pub use batch::{decrypt_batch, decrypt_json_row};
pub use error::CryptoError;
pub use format::{
    aad, is_encrypted, pii_columns, PiiColumns, DEFAULT_KEY_ENV, KEY_LEN, PII_TABLES, PREFIX,
};
pub use ring::{default_key_path, key_id, PiiKeys};

#[cfg(test)]
mod tests;
