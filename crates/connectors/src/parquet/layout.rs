//! The dataset's layout and limits: the tables' folders, the partition
//! column, the schema version, row-group bounds and the key index's timings.

use std::time::Duration;

/// Folder (under the sink's root) of the `interviews` table.
pub const INTERVIEWS_DIR: &str = "interviews";
/// Folder (under the sink's root) of the `segments` table.
pub const SEGMENTS_DIR: &str = "segments";
/// Folder (under the sink's root) of the `responses` table (answers per question).
pub const RESPONSES_DIR: &str = "responses";
/// Folder (under the sink's root) of the `scores` table (rubric scores).
pub const SCORES_DIR: &str = "scores";
/// Folder (under the sink's root) of the `audit` table (the audit log's events).
pub const AUDIT_DIR: &str = "audit";
/// Folder (under the sink's root) of the key index (hidden from readers).
pub const KEYS_DIR: &str = "_keys";
/// Name of the Hive partition column (`date=YYYY-MM-DD`).
pub const PARTITION_COLUMN: &str = "date";
/// Version of the tables' column contract, stored in each file's key-value metadata.
pub const SCHEMA_VERSION: &str = "1";
/// Most rows in one row group.
pub const MAX_ROW_GROUP_ROWS: usize = 64 * 1024;
/// Most (estimated, encoded) bytes in one row group.
pub const MAX_ROW_GROUP_BYTES: usize = 128 * 1024 * 1024;
/// Temporary files older than this, left by a crashed writer, are removed at open.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);
/// How long a claim in the key index holds off other writers: a writer
/// commits its claimed keys within seconds, so a claim this old whose file
/// is missing belongs to a writer that died, and is taken over.
pub const CLAIM_LEASE: Duration = Duration::from_secs(60);
/// Most keys a sink remembers as committed (a cache: past it, it starts over).
pub const KEY_CACHE: usize = 200_000;

pub(super) const KEY_COLUMNS: [&str; 2] = ["interview_id", "pipeline_version"];
pub(super) const READ_BATCH_ROWS: usize = 8192;
