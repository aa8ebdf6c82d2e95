//! Where the Parquet datasets live: a local folder or an S3-compatible
//! object store, behind one set of blocking calls that the sinks and every
//! reader use.
//!
//! # Locations
//! A dataset's root is configured as before (`[sinks] parquet_dir`,
//! `[output] dir`, `PANELFLOW_OUT`, `--out`) and may be
//! - a plain path (`out/parquet`, `/var/lib/panelflow/parquet`),
//! - a `file://` URL (`file:///var/lib/panelflow/parquet`), or
//! - an S3 URL (`s3://bucket/prefix`, also `s3a://`), served through the
//!   [`object_store`] crate.
//!
//! It stays a [`Path`](std::path::Path) in the configuration and in the APIs (an S3 URL is a
//! valid path string, and `join` appends keys to it), so callers keep
//! building file and folder names as they did; only this module looks at
//! the scheme.
//!
//! # Credentials and endpoint
//! From the environment, as every AWS tool reads them: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) for an S3-compatible server
//! (MinIO, Ceph, R2, moto), web identity and container credentials. A plain
//! `http://` endpoint is allowed without `AWS_ALLOW_HTTP` (a local server);
//! path-style requests are used unless `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`
//! says otherwise. [`register`] installs a store for a bucket explicitly
//! (tests, or credentials from elsewhere).
//!
//! # Atomicity
//! A reader never sees part of a file. On object storage an object appears
//! whole when its single `PUT` completes; locally a file is written to a
//! hidden temporary file in its final folder (`.part-…​.tmp`), fsynced,
//! renamed into place and the folder fsynced. [`put_if_absent`] creates an
//! object only when none exists (S3 `If-None-Match: *`; locally a hard link,
//! which fails when the name is taken) — what the key index of the
//! interviews table claims keys with.
//!
//! ```
//! use panelflow_connectors::parquet::storage;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("t/date=2026-01-01/part-1.parquet");
//! storage::put(&file, b"PAR1".to_vec(), true)?;
//! assert!(!storage::put_if_absent(&file, b"other".to_vec())?, "the name is taken");
//! assert_eq!(storage::get(&file)?.as_deref(), Some(&b"PAR1"[..]));
//! let files = storage::list_files(&dir.path().join("t"))?;
//! assert_eq!(files.len(), 1);
//! assert!(storage::is_object_store(std::path::Path::new("s3://bucket/prefix")));
//! # Ok(()) }
//! ```

mod error;
mod local;
mod location;
mod ops;

pub use error::StorageError;
pub use local::{TEMP_PREFIX, TEMP_SUFFIX};
pub use location::{is_object_store, register, s3_from_env, s3_with_options, Location};
pub use ops::{
    delete, delete_tree, ensure_dir, exists, get, is_dir, is_hidden, list_files, put,
    put_if_absent, read, FileEntry,
};

#[cfg(test)]
mod tests;
