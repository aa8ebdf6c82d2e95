//! Where a deployment keeps what it knows about candidates.

use std::path::PathBuf;

/// Where a deployment keeps what it knows about candidates.
#[derive(Debug, Clone)]
pub struct EraseTargets {
    /// Root of the Parquet sink (`[sinks] parquet_dir`).
    pub parquet_dir: PathBuf,
    /// Root of the aggregates' Parquet output.
    pub aggregates_dir: PathBuf,
    /// Folder of the JSON-lines audit log.
    pub audit_dir: PathBuf,
    /// The review queue's folder, if any.
    pub review_dir: Option<PathBuf>,
    /// The receiver's replay store (`[ingest] state_dir`), for tombstones.
    pub ingest_state_dir: Option<PathBuf>,
}

impl EraseTargets {
    /// The folders of a pipeline config: `[sinks] parquet_dir`,
    /// `[governance] audit_dir` (`PANELFLOW_AUDIT_DIR` overrides) and
    /// `aggregates_dir` (or the `[output] dir` of `aggregates_config`), and
    /// `[review] queue_dir`.
    pub fn from_config(
        cfg: &crate::config::PipelineConfig,
        aggregates: Option<&crate::aggregates::runner::RunnerConfig>,
    ) -> Self {
        let audit_dir = std::env::var_os("PANELFLOW_AUDIT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| cfg.governance.audit_dir.clone());
        Self {
            parquet_dir: cfg.sinks.parquet_dir.clone(),
            aggregates_dir: aggregates
                .map(|a| a.output.dir.clone())
                .unwrap_or_else(|| cfg.governance.aggregates_dir.clone()),
            audit_dir,
            review_dir: Some(cfg.review.queue_dir.clone()),
            ingest_state_dir: Some(cfg.ingest.state_dir.clone()),
        }
    }
}
