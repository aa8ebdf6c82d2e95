//! `panelflow explain INTERVIEW_ID`: see [`crate::ops::explain`].

use std::path::PathBuf;

/// Arguments of `panelflow explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Interview id (or correlation id).
    pub interview_id: String,
    /// Pipeline config (folders); embedded defaults otherwise.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print the story as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `panelflow explain`.
pub fn run(args: &ExplainArgs) -> anyhow::Result<()> {
    let cfg = crate::config::PipelineConfig::load_or_default(args.config.as_deref())?;
    let targets = crate::ops::erase::EraseTargets::from_config(&cfg, None);
    let story =
        crate::ops::explain::story(&targets.parquet_dir, &targets.audit_dir, &args.interview_id)?;
    if story.events.is_empty() && story.rows.is_empty() {
        anyhow::bail!(
            "nothing recorded about interview {} (looked in {} and {})",
            args.interview_id,
            targets.parquet_dir.display(),
            targets.audit_dir.display()
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&story)?);
    } else {
        print!("{}", crate::ops::explain::render(&story));
    }
    Ok(())
}
