//! `panelflow erase CANDIDATE_ID`: see [`crate::ops::erase`].

use std::path::PathBuf;

use anyhow::Context;

use crate::aggregates::runner::RunnerConfig;
use crate::ops::erase::{self, EraseTargets, Retraction};
use panelflow_connectors::store::crypto::PiiKeys;

/// Arguments of `panelflow erase`.
#[derive(Debug, clap::Args)]
pub struct EraseArgs {
    /// The Lever candidate (contact) id to erase.
    pub candidate_id: String,
    /// Pipeline config (folders, key ring, Kafka); embedded defaults otherwise.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `panelflow aggregate`'s config (its output folder, Kafka and topics);
    /// `[governance] aggregates_config` otherwise.
    #[arg(long)]
    pub aggregates_config: Option<PathBuf>,
    /// Do not publish retractions to the aggregates' topics.
    #[arg(long)]
    pub no_retract: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `panelflow erase`.
pub fn run(args: &EraseArgs) -> anyhow::Result<()> {
    let cfg = crate::config::PipelineConfig::load_or_default(args.config.as_deref())?;
    let agg_path = args
        .aggregates_config
        .clone()
        .or_else(|| cfg.governance.aggregates_config.clone());
    let agg = match &agg_path {
        Some(p) => Some(RunnerConfig::load(Some(p))?),
        None => None,
    };
    let targets = EraseTargets::from_config(&cfg, agg.as_ref());
    let keys = PiiKeys::load(&cfg.governance).context("PII key ring (for the erasure hash)")?;
    let (kafka, topics) = match &agg {
        Some(a) => (a.kafka.clone(), a.topics.clone()),
        None => (cfg.kafka.clone(), Default::default()),
    };
    let publish = |r: &[Retraction]| erase::publish_retractions(&kafka, &topics, r);
    let retract = cfg.governance.retract_aggregates && !args.no_retract;
    let report = erase::erase(
        &targets,
        &keys,
        &args.candidate_id,
        "cli:erase",
        retract.then_some(&publish as erase::Publisher<'_>),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "erased candidate (hash {}): {} interviews, {} rows from {} files, {} audit lines, {} review files",
            report.candidate_hash,
            report.interviews,
            report.total_rows(),
            report.files_rewritten,
            report.audit_lines_removed,
            report.review_files_removed
        );
        for (table, n) in &report.rows_removed {
            println!("  {table}: {n} rows");
        }
        if report.retractions > 0 {
            match &report.retraction_error {
                None => println!(
                    "  aggregates: {} retractions published",
                    report.retractions_published
                ),
                Some(e) => println!(
                    "  aggregates: {} retractions NOT published ({e}); rerun erase once the broker is up",
                    report.retractions
                ),
            }
        }
        println!(
            "  {} references in other records replaced by [erased]; {} interviews tombstoned against replays",
            report.references_redacted, report.tombstones
        );
        println!("  not reached:");
        for what in &report.not_reached {
            println!("    - {what}");
        }
        println!(
            "    - (the aggregates' input topics keep records for rebuilds, where the retractions cancel them)"
        );
    }
    Ok(())
}
