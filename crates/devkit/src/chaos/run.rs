//! The chaos run itself: the faults driven (kills, a broker restart, a
//! Lever outage) while the interviews go through.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{json, Value};

use crate::broker::{free_port, Broker};
use crate::emulator::{self, EmulatorConfig, EmulatorHandle};
use crate::media_server::MediaServer;

use super::checks::{count_what_held, rows};
use super::fixtures::{config, post, scrape, synth_media, Setting};
use super::options::{ChaosOptions, Report, LEVER_KEY};
use super::procs::{dead_host, start_ingest, Rng, Runner};

/// Runs the chaos run (see the module docs) and reports what held.
pub fn run(o: &ChaosOptions) -> anyhow::Result<Report> {
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&o.out);
    std::fs::create_dir_all(&o.out)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ started.elapsed().as_nanos() as u64 | 1);
    let media_dir = o.out.join("media");
    let answers = synth_media(&media_dir)?;
    let media = MediaServer::start(&media_dir)?;
    let dead_port = dead_host()?;
    let mut broker = Broker::start(&o.out.join("broker"), None)?;
    let lever_dir = o.out.join("lever");
    let total = o.interviews;
    let opps: Vec<Value> = (0..total)
        .map(|i| json!({"id": format!("chaos-opp-{i}"), "name": format!("Candidate {i}"),
            "contact": format!("chaos-contact-{i}"), "stage": "applicant-new", "tags": [], "stageChanges": []}))
        .collect();
    std::fs::create_dir_all(&lever_dir)?;
    std::fs::write(
        lever_dir.join("opportunities.json"),
        serde_json::to_vec(&opps)?,
    )?;
    let lever: EmulatorHandle = emulator::spawn(EmulatorConfig {
        api_key: LEVER_KEY.into(),
        rate_per_s: 400.0,
        burst: 400.0,
        ..EmulatorConfig::new(&lever_dir)
    })?;
    lever.lose_note_replies(o.lost_reply_percent);
    let metrics_port = free_port()?;
    let cfg_path = o.out.join("pipeline.toml");
    std::fs::write(
        &cfg_path,
        config(
            &Setting::of_chaos(o, metrics_port),
            &broker.bootstrap(),
            &lever.base_url(),
            "",
        ),
    )?;
    let ingest = start_ingest(&o.panelflow, &cfg_path, &o.out.join("ingest.log"))?;
    let client = &ingest.client;

    // Every interview through ingest (retried while the broker is away).
    let dead_from = total - o.dead_host_interviews.min(total);
    let webhook = |i: usize| {
        let url = if i >= dead_from {
            format!("http://127.0.0.1:{dead_port}/never/{i}.wav")
        } else {
            media.url(&answers[i % answers.len()])
        };
        // A signed time, as the receiver requires; the same body on every
        // retry of one delivery (a platform resends what it sent).
        json!({"event": "interview.completed",
            "timestamp": chrono::Utc::now().timestamp_millis(), "data": {
            "candidateId": format!("chaos-cand-{i}"),
            "opportunityId": format!("chaos-opp-{i}"),
            "interviewId": format!("chaos-{i}"),
            "mediaUrl": url,
        }})
    };
    let ingest_url = &ingest.generic_url;
    let post_all = |from: usize, to: usize| -> anyhow::Result<()> {
        for i in from..to {
            let deadline = Instant::now() + Duration::from_secs(120);
            let body = webhook(i);
            loop {
                let status = post(client, ingest_url, &body);
                // 200: a redelivery of what was stored (the reply was lost).
                if status == 202 || status == 200 {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("ingest answered {status} for interview {i} for 2 minutes");
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        Ok(())
    };
    // Half before the runner starts (a backlog), half while it runs.
    post_all(0, total / 2)?;
    let logs = o.out.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut runner = Runner::new(&o.panelflow, &cfg_path, o.workers, &logs, "chaos-runner");
    let mut report = Report {
        interviews: total,
        dead_host_interviews: o.dead_host_interviews.min(total),
        ..Report::default()
    };
    let assigned_after = |since: Instant, runner: &mut Runner| -> anyhow::Result<f64> {
        let deadline = since + Duration::from_secs(120);
        loop {
            let n = scrape(
                client,
                metrics_port,
                "panelflow_rebalances_total",
                "kind=\"assign\"",
            )
            .unwrap_or(0.0);
            if n >= 1.0 {
                return Ok(since.elapsed().as_secs_f64());
            }
            if !runner.alive() {
                bail!("the runner exited; see {}", o.out.join("logs").display());
            }
            if Instant::now() > deadline {
                bail!("the restarted runner got no partitions in 120 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let t0 = runner.start()?;
    let first = assigned_after(t0, &mut runner)?;
    tracing::info!(seconds = first, "runner assigned");
    post_all(total / 2, total)?;

    let done = |rows: &[panelflow_connectors::parquet::InterviewRow]| {
        rows.iter()
            .map(|r| r.interview_id.as_str())
            .collect::<BTreeSet<_>>()
            .len()
            >= total
    };
    let mut outage_started: Option<Instant> = None;
    let mut outage_over = o.lever_outage.is_zero();
    let mut broker_done = !o.restart_broker;
    while report.kills < o.kills {
        let wait = rng.between(
            o.max_between_kills_s as f64 / 3.0,
            o.max_between_kills_s as f64,
        );
        let until = Instant::now() + Duration::from_secs_f64(wait);
        while Instant::now() < until {
            if let Some(at) = outage_started {
                if !outage_over && at.elapsed() >= o.lever_outage {
                    lever.inject_faults(503, 0)?;
                    outage_over = true;
                    tracing::info!("Lever outage over");
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if started.elapsed() > o.deadline {
            bail!("deadline passed after {} kills", report.kills);
        }
        runner.kill();
        report.kills += 1;
        if report.kills == 1 && !o.lever_outage.is_zero() {
            lever.inject_faults(503, u32::MAX)?;
            outage_started = Some(Instant::now());
            tracing::info!("Lever outage started");
        }
        if !broker_done && report.kills == o.kills / 2 {
            broker.restart()?;
            report.broker_restarts += 1;
            broker_done = true;
        }
        let t = runner.start()?;
        let s = assigned_after(t, &mut runner)?;
        tracing::info!(kill = report.kills, seconds = s, "runner restarted");
        report.restart_assigned_s.push(s);
    }
    // Let it finish: every interview written (the dead host's after its retries).
    loop {
        if let Some(at) = outage_started {
            if !outage_over && at.elapsed() >= o.lever_outage {
                lever.inject_faults(503, 0)?;
                outage_over = true;
            }
        }
        if outage_over && done(&rows(&o.out)) {
            break;
        }
        if started.elapsed() > o.deadline {
            break;
        }
        if !runner.alive() {
            bail!("the runner exited; see {}", o.out.join("logs").display());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    runner.terminate();
    lever.lose_note_replies(0.0);

    // What held.
    count_what_held(&o.out, total, dead_from, &lever, &broker, &mut report)?;
    report.restart_worst_s = report
        .restart_assigned_s
        .iter()
        .copied()
        .fold(0.0, f64::max);
    report.wall_s = started.elapsed().as_secs_f64();
    broker.stop()?;
    Ok(report)
}
