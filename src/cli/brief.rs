//! `panelflow brief OPPORTUNITY_ID` and `panelflow brief --watch`: the
//! hiring manager's briefing ([`crate::briefing`]) made current for one
//! opportunity, or in rounds for every opportunity at a debrief stage.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::briefing::{replace, BriefingConfig};
use crate::config::PipelineConfig;
use panelflow_connectors::lever::ratelimit::TokenBucket;

/// Arguments of `panelflow brief`.
#[derive(Debug, clap::Args)]
pub struct BriefArgs {
    /// The Lever opportunity to brief (omit with --watch).
    #[arg(required_unless_present = "watch")]
    pub opportunity_id: Option<String>,
    /// Keep every opportunity at a debrief stage current, a round every
    /// `[briefing] interval_s`.
    #[arg(long, conflicts_with = "opportunity_id")]
    pub watch: bool,
    /// With --watch: one round, then exit.
    #[arg(long, requires = "watch")]
    pub once: bool,
    /// Also write the PDF here (as uploaded).
    #[arg(long, conflicts_with = "watch")]
    pub pdf: Option<PathBuf>,
    /// Pipeline config (phase, `[briefing]`, Lever, folders); embedded defaults otherwise.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs `panelflow brief`.
pub fn run(args: &BriefArgs) -> anyhow::Result<()> {
    let cfg = PipelineConfig::load_or_default(args.config.as_deref())?;
    let limiter = Arc::new(TokenBucket::new(cfg.lever.rate_per_s, cfg.lever.burst));
    let client = cfg.lever.client(limiter)?.with_context(|| {
        format!(
            "the briefing reads and writes Lever: set ${}",
            cfg.lever.api_key_env
        )
    })?;
    let bcfg = BriefingConfig::from(&cfg);
    if args.watch {
        let every = Duration::from_secs(cfg.briefing.interval_s.max(1));
        loop {
            let r = replace::round(&client, &bcfg, "cli:brief")?;
            println!(
                "briefings: {} opportunities at a debrief stage, {} written or replaced, {} current, {} failed",
                r.opportunities, r.written, r.current, r.failed
            );
            if args.once {
                return Ok(());
            }
            std::thread::sleep(every);
        }
    }
    let id = args
        .opportunity_id
        .as_deref()
        .context("an opportunity id is needed")?;
    let (report, briefing) = replace::brief(&client, &bcfg, id, "cli:brief")?;
    if let Some(reason) = &report.skipped {
        println!("{id}: no briefing — {reason}");
        return Ok(());
    }
    if let (Some(path), Some(b)) = (&args.pdf, &briefing) {
        std::fs::write(path, crate::briefing::pdf::render(b))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "{id}: briefing {} {} (file {}, note {}; {} earlier file(s) and {} note(s) removed)",
        report.fingerprint,
        if report.wrote() {
            "written"
        } else {
            "already current"
        },
        report.file_id.as_deref().unwrap_or("-"),
        report.note_id.as_deref().unwrap_or("-"),
        report.files_removed,
        report.notes_removed
    );
    Ok(())
}
