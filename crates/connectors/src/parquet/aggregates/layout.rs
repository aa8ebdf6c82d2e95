//! The folders of an aggregates dataset.

use std::path::{Path, PathBuf};

/// Version of the aggregates' table contracts, stored in each file's metadata.
pub const SCHEMA_VERSION: &str = "1";
/// Folder of the input tables.
pub const INPUTS_DIR: &str = "inputs";
/// Folder of the change logs.
pub const CHANGELOG_DIR: &str = "changelog";
/// Folder of the snapshots.
pub const SNAPSHOT_DIR: &str = "snapshot";

/// The folders of one aggregates dataset.
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The dataset at `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
    /// Its root.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// Folder of an input table.
    pub fn input_dir(&self, table: &str) -> PathBuf {
        self.root.join(INPUTS_DIR).join(table)
    }
    /// Folder of an aggregate's change log.
    pub fn changelog_dir(&self, table: &str) -> PathBuf {
        self.root.join(CHANGELOG_DIR).join(table)
    }
    /// File of an aggregate's snapshot.
    pub fn snapshot_file(&self, table: &str) -> PathBuf {
        self.root
            .join(SNAPSHOT_DIR)
            .join(format!("{table}.parquet"))
    }
    /// Glob of an input table, for DuckDB.
    pub fn input_glob(&self, table: &str) -> String {
        format!("{}/*.parquet", self.input_dir(table).display())
    }
    /// Glob of a change log, for DuckDB.
    pub fn changelog_glob(&self, table: &str) -> String {
        format!("{}/*.parquet", self.changelog_dir(table).display())
    }
}
