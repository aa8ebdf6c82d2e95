//! `panelflow redrive`: see [`crate::ops::redrive`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::ops::redrive::{self, Planned, Selection, Verdict};
use panelflow_connectors::store::audit::{AuditEvent, AuditLog};

/// Arguments of `panelflow redrive`.
#[derive(Debug, clap::Args)]
pub struct RedriveArgs {
    /// Dead letters of this interview (repeatable).
    #[arg(long = "id", value_name = "INTERVIEW_ID")]
    pub ids: Vec<String>,
    /// Dead letters whose reason or failing stage contains this text, in
    /// any case (repeatable: any of them).
    #[arg(long = "reason", value_name = "TEXT")]
    pub reasons: Vec<String>,
    /// Dead letters that failed at or after this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// Dead letters that failed at or before this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub until: Option<String>,
    /// Every dead letter on the topic.
    #[arg(long, conflicts_with_all = ["ids", "reasons", "since", "until"])]
    pub all: bool,
    /// Print what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Pipeline config (Kafka: brokers, the events and dead-letter topics;
    /// the audit log); embedded defaults otherwise.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

fn parse_time(flag: &str, s: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("{flag} {s}: not an RFC 3339 time (e.g. 2026-12-07T09:00:00Z)"))
}

impl RedriveArgs {
    /// The letters these arguments choose.
    pub fn selection(&self) -> anyhow::Result<Selection> {
        let selection = Selection {
            ids: self.ids.iter().cloned().collect(),
            reasons: self.reasons.clone(),
            since: self
                .since
                .as_deref()
                .map(|s| parse_time("--since", s))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|s| parse_time("--until", s))
                .transpose()?,
            all: self.all,
        };
        selection.check()?;
        Ok(selection)
    }
}

/// One line of at most `max` characters.
fn short(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() <= max {
        line.to_string()
    } else {
        format!("{}…", line.chars().take(max).collect::<String>())
    }
}

fn describe(p: &Planned) -> String {
    format!(
        "{} interview {} ({}: {})",
        p.found.position,
        p.found.letter.interview_id,
        p.found.letter.stage,
        short(&p.found.letter.reason, 100)
    )
}

/// Runs `panelflow redrive`: one line per chosen dead letter, then a
/// summary; fails (after sending the others) when a chosen letter could not
/// be sent back whole.
pub fn run(args: &RedriveArgs) -> anyhow::Result<ExitCode> {
    let selection = args.selection()?;
    let cfg = crate::config::PipelineConfig::load_or_default(args.config.as_deref())?;
    let kafka = &cfg.kafka;
    let (plan, unreadable) = redrive::read_plan(kafka, &selection)?;
    let audit = if args.dry_run {
        None
    } else {
        let dir = std::env::var_os("PANELFLOW_AUDIT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| cfg.governance.audit_dir.clone());
        Some(AuditLog::open(&dir).with_context(|| format!("audit log in {}", dir.display()))?)
    };
    let mut skipped = 0;
    let mut superseded = 0;
    for p in &plan {
        match &p.verdict {
            Verdict::Send { key, .. } if args.dry_run => {
                println!("would send  {} → {} (key {key})", describe(p), kafka.topic)
            }
            Verdict::Send { .. } => {}
            Verdict::Skip(why) => {
                skipped += 1;
                println!("skipped     {}: {why}", describe(p));
            }
            Verdict::Superseded { by } => {
                superseded += 1;
                println!(
                    "superseded  {}: the newer dead letter {by} is sent instead",
                    describe(p)
                );
            }
        }
    }
    let actor = format!("cli:redrive@{}", cfg.pipeline.version);
    let sent = if args.dry_run {
        plan.iter()
            .filter(|p| matches!(p.verdict, Verdict::Send { .. }))
            .count()
    } else {
        let mut audit_error = None;
        let sent = redrive::send(kafka, &plan, |p| {
            if let Verdict::Send { key, .. } = &p.verdict {
                println!("sent        {} → {} (key {key})", describe(p), kafka.topic);
            }
            let event = AuditEvent::step(
                &p.found.letter.correlation_id,
                &p.found.letter.interview_id,
                "redrive",
                "ok",
            )
            .by(actor.clone())
            .with_config_hash(cfg.config_hash())
            .with_detail(serde_json::json!({
                "dead_letter": p.found.position,
                "stage": p.found.letter.stage.as_str(),
                "topic": kafka.topic,
            }));
            if let Some(log) = &audit {
                if let Err(e) = log.append(&[event]) {
                    audit_error.get_or_insert(e);
                }
            }
        })?;
        if let Some(e) = audit_error {
            tracing::error!(error = %e, "the redrive was sent but not recorded in the audit log");
        }
        sent
    };
    println!(
        "redrive{}: {} of the dead letters on {} chosen: {sent} {}, {skipped} skipped (cannot be sent back whole), {superseded} superseded by a newer letter of the same interview{}",
        if args.dry_run { " (dry run)" } else { "" },
        plan.len(),
        kafka.dead_letter_topic,
        if args.dry_run { "would be sent" } else { "sent" },
        if unreadable > 0 {
            format!("; {unreadable} records on the topic are not dead letters")
        } else {
            String::new()
        }
    );
    if skipped > 0 {
        eprintln!(
            "panelflow redrive: {skipped} chosen dead letters could not be sent back (see above)"
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: RedriveArgs,
    }

    fn parse(argv: &[&str]) -> Result<RedriveArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("redrive").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn arguments_make_a_selection() {
        let a = parse(&[
            "--id",
            "a",
            "--id",
            "b",
            "--reason",
            "Timed Out",
            "--since",
            "2026-12-01T00:00:00Z",
        ])
        .expect("parse");
        let s = a.selection().expect("selection");
        assert_eq!(s.ids.len(), 2);
        assert_eq!(s.reasons, ["Timed Out"]);
        assert!(s.since.is_some() && s.until.is_none() && !s.all);
        assert!(
            parse(&["--all"])
                .expect("all")
                .selection()
                .expect("all")
                .all
        );
    }

    #[test]
    fn a_selector_is_required_and_times_are_checked() {
        let none = parse(&["--dry-run"]).expect("parse");
        let e = none.selection().unwrap_err().to_string();
        assert!(e.contains("--id") && e.contains("--all"), "{e}");
        let bad = parse(&["--since", "yesterday"]).expect("parse");
        let e = format!("{:#}", bad.selection().unwrap_err());
        assert!(
            e.contains("--since yesterday") && e.contains("RFC 3339"),
            "{e}"
        );
        assert!(
            parse(&["--all", "--id", "a"]).is_err(),
            "--all stands alone"
        );
    }
}
