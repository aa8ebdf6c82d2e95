//! The backlog run: the runner's peak memory over a large backlog.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::broker::{free_port, Broker};
use crate::emulator::{self, EmulatorConfig};

use super::checks::rows;
use super::fixtures::{config, scrape, Setting};
use super::options::{ChaosOptions, GROUP, LEVER_KEY};
use super::procs::Runner;

/// What [`backlog`] measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BacklogReport {
    /// Events waiting when the runner started.
    pub events: usize,
    /// Rows written when it stopped.
    pub rows: usize,
    /// Seconds to consume them all.
    pub seconds: f64,
    /// The runner's peak resident memory (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// Its peak with a backlog of `baseline_events` (the same run's start).
    pub baseline_rss_bytes: u64,
    /// Revocations and poll time-outs its consumers saw.
    pub rebalances_revoke: f64,
    /// max.poll.interval.ms violations.
    pub poll_timeouts: f64,
    /// "missed heartbeat" evictions in the broker's log.
    pub broker_evictions: usize,
}

fn vm_hwm(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// A backlog of `events` events (each a failed fetch: the source, admission,
/// dead letters and sinks at full speed) produced before the runner starts;
/// the runner then consumes it all while its peak memory is read.
pub fn backlog(
    panelflow: &Path,
    out: &Path,
    events: usize,
    workers: usize,
) -> anyhow::Result<BacklogReport> {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out)?;
    let mut broker = Broker::start(&out.join("broker"), None)?;
    let lever = emulator::spawn(EmulatorConfig {
        api_key: LEVER_KEY.into(),
        rate_per_s: 1000.0,
        burst: 1000.0,
        ..EmulatorConfig::new(out.join("lever"))
    })?;
    let metrics_port = free_port()?;
    let o = ChaosOptions {
        panelflow: panelflow.to_path_buf(),
        out: out.to_path_buf(),
        interviews: events,
        dead_host_interviews: 0,
        kills: 0,
        max_between_kills_s: 0,
        lever_outage: Duration::ZERO,
        lost_reply_percent: 0.0,
        restart_broker: false,
        workers,
        retry_delays_s: vec![60],
        deadline: Duration::from_secs(3600),
    };
    let cfg_path = out.join("pipeline.toml");
    std::fs::write(
        &cfg_path,
        config(
            &Setting::of_chaos(&o, metrics_port),
            &broker.bootstrap(),
            &lever.base_url(),
            "",
        ),
    )?;
    // Create the topics and produce the backlog directly (as a backfill would).
    let kafka = panelflow_connectors::kafka::KafkaSection {
        brokers: broker.bootstrap(),
        group_id: GROUP.into(),
        partitions: 4,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(panelflow_connectors::kafka::ensure_topics(&kafka))?;
    let producer: rdkafka::producer::FutureProducer =
        panelflow_connectors::kafka::producer_config(&kafka).create()?;
    rt.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..events {
            let mut e = panelflow_core::event::InterviewCompleted::new(
                "generic",
                &format!("backlog-{i}"),
                &format!("cand-{i}"),
                &format!("opp-{i}"),
                vec![panelflow_core::event::MediaItem {
                    url: format!("http://127.0.0.1:{}/missing/{i}.wav", lever.addr().port()),
                    question_id: None,
                    question_text: None,
                    expires_at: None,
                }],
            );
            // About 2 KiB an event, as a webhook with its payload kept.
            e.unknown_fields
                .insert("padding".into(), "x".repeat(2000).into());
            let producer = producer.clone();
            let topic = kafka.topic.clone();
            tasks.spawn(async move {
                panelflow_connectors::kafka::produce_event(&producer, &topic, &e).await
            });
            if tasks.len() >= 500 {
                while let Some(r) = tasks.join_next().await {
                    r??;
                }
            }
        }
        while let Some(r) = tasks.join_next().await {
            r??;
        }
        anyhow::Ok(())
    })?;
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs)?;
    let mut runner = Runner::new(panelflow, &cfg_path, workers, &logs, "chaos-runner");
    let t0 = runner.start()?;
    let client = reqwest::blocking::Client::new();
    let mut baseline = 0;
    loop {
        let n = rows(out).len();
        if baseline == 0 && n > 0 {
            baseline = runner.pid().map(vm_hwm).unwrap_or(0);
        }
        if n >= events || t0.elapsed() > Duration::from_secs(3600) || !runner.alive() {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let peak = runner.pid().map(vm_hwm).unwrap_or(0);
    let report = BacklogReport {
        events,
        rows: rows(out).len(),
        seconds: t0.elapsed().as_secs_f64(),
        peak_rss_bytes: peak,
        baseline_rss_bytes: baseline,
        rebalances_revoke: scrape(
            &client,
            metrics_port,
            "panelflow_rebalances_total",
            "kind=\"revoke\"",
        )
        .unwrap_or(0.0),
        poll_timeouts: scrape(
            &client,
            metrics_port,
            "panelflow_rebalances_total",
            "poll_timeout",
        )
        .unwrap_or(0.0),
        broker_evictions: std::fs::read_to_string(broker.log_path())
            .unwrap_or_default()
            .matches("missed heartbeat")
            .count(),
    };
    runner.terminate();
    broker.stop()?;
    Ok(report)
}
