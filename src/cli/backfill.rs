//! `panelflow backfill`: see [`crate::ops::backfill`].

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};

use crate::ops::backfill::{self, BACKFILL_HEADER};
use panelflow_connectors::kafka::publisher::{Outgoing, Publisher};
use panelflow_connectors::parquet::ParquetSink;
use panelflow_connectors::store::audit::{AuditEvent, AuditLog};

/// Arguments of `panelflow backfill`.
#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    /// Replay interviews received on or after this date (YYYY-MM-DD, UTC) or time (RFC 3339).
    #[arg(long, required_unless_present = "rediscover")]
    pub since: Option<String>,
    /// Only interviews of these postings (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub postings: Vec<String>,
    /// Interviews replayed per minute at most; `[governance] backfill_rate_per_min` otherwise.
    #[arg(long)]
    pub rate: Option<f64>,
    /// The NEWER pipeline's config: its topic, version and dataset.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print what would be replayed, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Candidate rediscovery: tag past candidates matching this posting's skills.
    #[arg(long)]
    pub rediscover: Option<String>,
    /// Skills of the posting for --rediscover (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub skills: Vec<String>,
    /// Skills that must match for --rediscover.
    #[arg(long, default_value_t = 1)]
    pub min_match: usize,
}

fn parse_since(s: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("--since {s}: not YYYY-MM-DD or RFC 3339"))?;
    Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

/// Runs `panelflow backfill`.
pub fn run(args: &BackfillArgs) -> anyhow::Result<()> {
    let cfg = crate::config::PipelineConfig::load_or_default(args.config.as_deref())?;
    let sink = ParquetSink::open_for(&cfg.sinks.parquet_dir, &cfg.governance)?;
    let audit_dir = std::env::var_os("PANELFLOW_AUDIT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cfg.governance.audit_dir.clone());
    let log = AuditLog::open(&audit_dir)?;
    let actor = format!("cli:backfill@{}", cfg.pipeline.version);
    if let Some(posting) = &args.rediscover {
        anyhow::ensure!(!args.skills.is_empty(), "--rediscover needs --skills a,b,c");
        let found = backfill::rediscover(&sink, &args.skills, args.min_match)?;
        let tag = backfill::talent_pool_tag(posting);
        println!("{} past candidates match {posting}'s skills", found.len());
        if args.dry_run || found.is_empty() {
            for f in &found {
                println!("  {} {:?}", f.opportunity_id, f.matched);
            }
            return Ok(());
        }
        let limiter =
            std::sync::Arc::new(panelflow_connectors::lever::ratelimit::TokenBucket::new(
                cfg.lever.rate_per_s,
                cfg.lever.burst,
            ));
        let client = cfg
            .lever
            .client(limiter)?
            .context("no Lever client configured (set the API key)")?;
        for f in &found {
            client
                .add_tags(&f.opportunity_id, std::slice::from_ref(&tag))
                .with_context(|| format!("tagging {}", f.opportunity_id))?;
            log.append(&[AuditEvent::step("", "", "lever_tags", "ok")
                .by(actor.clone())
                .for_candidate(f.candidate_id.clone())
                .with_detail(serde_json::json!({"opportunity_id": f.opportunity_id,
                    "tags": [tag], "reason": "rediscovery", "matched": f.matched}))])?;
            println!("  tagged {} {tag}", f.opportunity_id);
        }
        return Ok(());
    }
    let since = parse_since(args.since.as_deref().unwrap_or_default())?;
    let sel = backfill::select_from(&sink, since, &args.postings, &cfg.pipeline.version)?;
    println!(
        "backfill to {}@{} on {}: {} interviews to replay ({} already done, {} without a stored event)",
        cfg.pipeline.name,
        cfg.pipeline.version,
        cfg.kafka.topic,
        sel.replays.len(),
        sel.already_done,
        sel.without_event
    );
    if args.dry_run || sel.replays.is_empty() {
        return Ok(());
    }
    let rate = args.rate.unwrap_or(cfg.governance.backfill_rate_per_min);
    anyhow::ensure!(rate > 0.0, "--rate must be positive");
    let publisher =
        Publisher::connect(&cfg.kafka, &[&cfg.kafka.topic]).map_err(anyhow::Error::msg)?;
    let sent = backfill::replay(&sel.replays, rate, cfg.governance.backfill_burst, |r| {
        publisher.send_one(&Outgoing {
            topic: cfg.kafka.topic.clone(),
            key: r.key.clone(),
            payload: r.event.to_string().into_bytes(),
            headers: vec![(BACKFILL_HEADER.into(), cfg.pipeline.version.clone())],
        })
    })
    .map_err(anyhow::Error::msg)?;
    log.append(&[AuditEvent::step("", "", "backfill", "ok")
        .by(actor)
        .with_config_hash(cfg.config_hash())
        .with_detail(
            serde_json::json!({"since": since.to_rfc3339(), "postings": args.postings,
            "replayed": sent, "rate_per_min": rate, "topic": cfg.kafka.topic}),
        )])?;
    println!("replayed {sent} interviews; run `panelflow run --config` with the newer config to process them");
    Ok(())
}
