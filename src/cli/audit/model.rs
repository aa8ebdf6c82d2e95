//! The snapshots of one aggregates dataset, loaded, and the rows the report
//! singles out.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::cells::b;
use panelflow_connectors::parquet::aggregates::{read_rows, Cell, Rows, SNAPSHOT_DIR};
use panelflow_connectors::parquet::storage;

/// The snapshots of one aggregates dataset.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The dataset's folder.
    pub dir: PathBuf,
    /// `bias_audit`.
    pub bias: Rows,
    /// `reviewer_calibration`.
    pub calibration: Rows,
    /// `panel_view`.
    pub panel: Rows,
    /// `drift`.
    pub drift: Rows,
    /// `question_consistency`.
    pub questions: Rows,
    /// `interviewer_language`.
    pub language: Rows,
}

impl Audit {
    /// Reads the snapshots under `dir` (or `dir/aggregates`).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let root = if storage::is_dir(&dir.join(SNAPSHOT_DIR))? {
            dir.to_path_buf()
        } else if storage::is_dir(&dir.join("aggregates").join(SNAPSHOT_DIR))? {
            dir.join("aggregates")
        } else {
            bail!(
                "{} holds no aggregates snapshot (no snapshot/ or aggregates/snapshot/)",
                dir.display()
            );
        };
        let table = |name: &str| -> anyhow::Result<Rows> {
            let path = root.join(SNAPSHOT_DIR).join(format!("{name}.parquet"));
            if !storage::exists(&path)? {
                return Ok(Rows::default());
            }
            read_rows(&path).with_context(|| format!("reading {}", path.display()))
        };
        Ok(Self {
            dir: root.clone(),
            bias: table("bias_audit")?,
            calibration: table("reviewer_calibration")?,
            panel: table("panel_view")?,
            drift: table("drift")?,
            questions: table("question_consistency")?,
            language: table("interviewer_language")?,
        })
    }

    pub(super) fn bias_rows<'a>(
        &'a self,
        scope_kind: &'a str,
    ) -> impl Iterator<Item = &'a Vec<Cell>> + 'a {
        self.bias
            .rows
            .iter()
            .filter(move |r| self.bias.get(r, "scope_kind").as_str() == Some(scope_kind))
    }

    /// Bias rows flagged under the four-fifths rule.
    pub fn flagged(&self) -> Vec<&Vec<Cell>> {
        self.bias
            .rows
            .iter()
            .filter(|r| b(&self.bias, r, "flagged"))
            .collect()
    }

    /// Drift rows whose PSI is not stable.
    pub fn drifted(&self) -> Vec<&Vec<Cell>> {
        self.drift
            .rows
            .iter()
            .filter(|r| b(&self.drift, r, "flagged"))
            .collect()
    }
}
