//! The sink itself: opening a dataset (and clearing a crashed writer's
//! temporary files), its root, globs and key ring.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tracing::{info, warn};

use super::error::ParquetSinkError;
use super::layout::{
    AUDIT_DIR, INTERVIEWS_DIR, RESPONSES_DIR, SCORES_DIR, SEGMENTS_DIR, STALE_TEMP_AGE,
};
use super::rows::Key;
use super::storage;
use crate::store::crypto::PiiKeys;
use crate::store::GovernanceSection;

/// Writes the `interviews`, `segments`, `responses`, `scores` and `audit`
/// tables under one root (a folder or an object-store prefix).
///
/// Thread-safe: `write_batch` takes `&self`; concurrent calls are serialised.
#[derive(Debug)]
pub struct ParquetSink {
    pub(super) root: PathBuf,
    /// This sink's name in the claims it makes.
    pub(super) writer: String,
    /// Keys seen committed, and whether their latest row is `failed`
    /// (bounded by [`KEY_CACHE`](super::layout::KEY_CACHE)).
    pub(super) known: Mutex<HashMap<Key, bool>>,
    /// Key ring of the PII columns: `Some` encrypts on write and decrypts on read.
    pub(super) keys: Option<Arc<PiiKeys>>,
}

impl ParquetSink {
    /// Opens (creating if needed) the dataset at `root` — a folder, a
    /// `file://` or an `s3://bucket/prefix` URL — and, on a local folder,
    /// removes temporary files older than [`STALE_TEMP_AGE`] left by
    /// crashed writers. Nothing is listed or read: the duplicate check asks
    /// the key index per new key.
    ///
    /// PII columns are encrypted with the key ring of the default
    /// `[governance]` section (`PANELFLOW_PII_KEY`, else the generated
    /// development key file): see [`crate::store::crypto`]. A pipeline
    /// with its own `[governance]` opens with [`Self::open_for`].
    pub fn open(root: &Path) -> Result<Self, ParquetSinkError> {
        Self::open_for(root, &GovernanceSection::default())
    }

    /// [`Self::open`] at `root` (`[sinks] parquet_dir`) with the key ring of
    /// a `[governance]` section (none when `encrypt_pii = false`).
    pub fn open_for(root: &Path, governance: &GovernanceSection) -> Result<Self, ParquetSinkError> {
        let keys = PiiKeys::from_config(governance)?;
        Self::open_with_keys(root, keys)
    }

    /// [`Self::open`] with an explicit key ring: `Some` encrypts the PII
    /// columns on write and decrypts them on read; `None` writes them in
    /// plain text (and refuses to read encrypted values).
    pub fn open_with_keys(
        root: &Path,
        keys: Option<Arc<PiiKeys>>,
    ) -> Result<Self, ParquetSinkError> {
        let root = match storage::Location::parse(root)? {
            storage::Location::Local(p) => p,
            storage::Location::Object { .. } => root.to_path_buf(),
        };
        for table in [INTERVIEWS_DIR, SEGMENTS_DIR, RESPONSES_DIR, SCORES_DIR] {
            storage::ensure_dir(&root.join(table))?;
        }
        if !storage::is_object_store(&root) {
            for table in [
                INTERVIEWS_DIR,
                SEGMENTS_DIR,
                RESPONSES_DIR,
                SCORES_DIR,
                AUDIT_DIR,
            ] {
                remove_stale_temps(&root.join(table));
            }
        }
        let writer = format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        info!(root = %root.display(), writer = %writer, "parquet sink opened");
        Ok(ParquetSink {
            root,
            writer,
            known: Mutex::new(HashMap::new()),
            keys,
        })
    }

    /// The dataset's root (a folder, or an object-store URL).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Glob of the committed `interviews` files, for `read_parquet(..., hive_partitioning=true)`.
    ///
    /// ```no_run
    /// # let sink = panelflow_connectors::parquet::ParquetSink::open(std::path::Path::new("/tmp/p")).unwrap();
    /// println!("duckdb -c \"select * from read_parquet('{}', hive_partitioning=true)\"",
    ///          sink.interviews_glob());
    /// ```
    pub fn interviews_glob(&self) -> String {
        format!("{}/{INTERVIEWS_DIR}/**/*.parquet", self.root.display())
    }

    /// Glob of the committed `segments` files.
    pub fn segments_glob(&self) -> String {
        format!("{}/{SEGMENTS_DIR}/**/*.parquet", self.root.display())
    }

    /// Glob of the committed `responses` files.
    pub fn responses_glob(&self) -> String {
        format!("{}/{RESPONSES_DIR}/**/*.parquet", self.root.display())
    }

    /// Glob of the committed `scores` files.
    pub fn scores_glob(&self) -> String {
        format!("{}/{SCORES_DIR}/**/*.parquet", self.root.display())
    }

    /// Glob of the committed `audit` files.
    pub fn audit_glob(&self) -> String {
        format!("{}/{AUDIT_DIR}/**/*.parquet", self.root.display())
    }

    /// The key ring in use (`None`: PII columns are written in plain text).
    pub fn keys(&self) -> Option<&Arc<PiiKeys>> {
        self.keys.as_ref()
    }
}

/// Removes this sink's temporary files older than [`STALE_TEMP_AGE`] under a
/// local `dir` (best effort: a failure is logged).
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && !storage::is_hidden(&name) {
            remove_stale_temps(&path);
        } else if kind.is_file()
            && name.starts_with(storage::TEMP_PREFIX)
            && name.ends_with(storage::TEMP_SUFFIX)
        {
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok());
            if age.is_some_and(|a| a > STALE_TEMP_AGE) {
                match std::fs::remove_file(&path) {
                    Ok(()) => warn!(path = %path.display(), "removed a stale temporary file"),
                    Err(e) => {
                        warn!(path = %path.display(), error = %e, "cannot remove a stale temporary file")
                    }
                }
            }
        }
    }
}
