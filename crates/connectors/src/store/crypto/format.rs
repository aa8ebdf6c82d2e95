//! The sealed value's format and what it binds: the prefix, the PII
//! columns of each table and the associated data.

/// Prefix of every encrypted value (format version 1).
pub const PREFIX: &str = "pfenc:v1:";
/// Default environment variable holding the key ring.
pub const DEFAULT_KEY_ENV: &str = "PANELFLOW_PII_KEY";
/// Length of a key in bytes (AES-256).
pub const KEY_LEN: usize = 32;
pub(super) const NONCE_LEN: usize = 12;
pub(super) const AAD_LABEL: &[u8] = b"panelflow-pii-v1";

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
