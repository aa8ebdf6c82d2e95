//! `panelflow export CANDIDATE_ID`: see [`crate::ops::export`].

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::aggregates::runner::RunnerConfig;
use crate::ops::erase::EraseTargets;
use panelflow_connectors::store::crypto::PiiKeys;

/// Arguments of `panelflow export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The Lever candidate (contact) id.
    pub candidate_id: String,
    /// Write the JSON here (mode 0600) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Pipeline config (folders, key ring); embedded defaults otherwise.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `panelflow aggregate`'s config (its output folder).
    #[arg(long)]
    pub aggregates_config: Option<PathBuf>,
}

/// Runs `panelflow export`.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    let cfg = crate::config::PipelineConfig::load_or_default(args.config.as_deref())?;
    let agg = match args
        .aggregates_config
        .as_ref()
        .or(cfg.governance.aggregates_config.as_ref())
    {
        Some(p) => Some(RunnerConfig::load(Some(p))?),
        None => None,
    };
    let targets = EraseTargets::from_config(&cfg, agg.as_ref());
    let keys = PiiKeys::load(&cfg.governance).context("PII key ring")?;
    let doc = crate::ops::export::export(
        &targets,
        &keys,
        &cfg.governance.notice,
        &args.candidate_id,
        "cli:export",
    )?;
    let text = serde_json::to_string_pretty(&doc)?;
    match &args.out {
        Some(path) => {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            eprintln!(
                "exported {} interviews of the candidate to {}",
                doc.interview_ids.len(),
                path.display()
            );
        }
        None => println!("{text}"),
    }
    Ok(())
}
