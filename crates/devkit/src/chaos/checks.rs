//! The checks and counts: what the run wrote (rows, notes, scorecards,
//! tags, stage moves, dead letters), counted into the [`Report`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::Value;

use crate::broker::Broker;
use crate::emulator::EmulatorHandle;
use panelflow_connectors::parquet::ParquetSink;

use super::options::{Report, STAGE, TAG};

/// Every record of a topic, from the beginning.
pub fn read_topic(brokers: &str, topic: &str) -> anyhow::Result<Vec<Value>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("chaos-reader-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()?;
    let meta = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut list = TopicPartitionList::new();
    let mut expected = 0;
    for t in meta.topics() {
        for p in t.partitions() {
            let (low, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
            expected += high - low;
            list.add_partition_offset(topic, p.id(), Offset::Beginning)?;
        }
    }
    consumer.assign(&list)?;
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (out.len() as i64) < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push(
                serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or(Value::Null),
            );
        }
    }
    Ok(out)
}

pub(super) fn rows(out: &Path) -> Vec<panelflow_connectors::parquet::InterviewRow> {
    ParquetSink::open(&out.join("parquet"))
        .and_then(|s| s.read_interviews())
        .unwrap_or_default()
}

/// What held: one row and one note per interview, no scorecard, tag or
/// stage move twice, the dead letters exactly the failures, and the
/// Lever and broker counts, into `report`.
pub(super) fn count_what_held(
    out: &Path,
    total: usize,
    dead_from: usize,
    lever: &EmulatorHandle,
    broker: &Broker,
    report: &mut Report,
) -> anyhow::Result<()> {
    let rows = rows(out);
    let mut by_id: BTreeMap<&str, Vec<&panelflow_connectors::parquet::InterviewRow>> =
        BTreeMap::new();
    for r in &rows {
        by_id.entry(r.interview_id.as_str()).or_default().push(r);
    }
    for i in 0..total {
        let id = format!("chaos-{i}");
        let found = by_id.get(id.as_str()).map(Vec::len).unwrap_or(0);
        match found {
            0 => report.missing_rows += 1,
            1 => report.one_row += 1,
            _ => report.duplicate_rows += 1,
        }
    }
    let mut failed_ids = BTreeSet::new();
    for r in &rows {
        if r.outcome == panelflow_core::outcome::Outcome::Failed {
            report.failed += 1;
            failed_ids.insert(r.interview_id.clone());
            let reason = r.failure_reason.clone().unwrap_or_default();
            let index: usize = r
                .interview_id
                .trim_start_matches("chaos-")
                .parse()
                .unwrap_or(0);
            if index >= dead_from && reason.contains("timed out") && reason.contains("gave up") {
                report.dead_host_failed_timeout += 1;
            }
        } else {
            report.transcribed += 1;
        }
    }
    for r in &rows {
        let opp = r.opportunity_id.as_str();
        let marker = format!("panelflow-correlation-id: {}", r.correlation_id);
        let notes = lever
            .notes(opp)
            .iter()
            .filter(|n| n.to_string().contains(&marker))
            .count();
        if r.outcome == panelflow_core::outcome::Outcome::Transcribed {
            match notes {
                0 => report.missing_notes += 1,
                1 => report.one_note += 1,
                _ => report.duplicate_notes += 1,
            }
        } else if notes > 1 {
            report.duplicate_notes += 1;
        }
        let cards = lever.feedback(opp).len();
        report.scorecards += cards.min(1);
        if cards > 1 {
            report.duplicate_scorecards += 1;
        }
        if let Some(o) = lever.opportunity(opp) {
            let tags = o["tags"]
                .as_array()
                .map(|t| t.iter().filter(|t| *t == TAG).count())
                .unwrap_or(0);
            if tags > 1 {
                report.duplicate_tags += 1;
            }
            let moves = o["stageChanges"]
                .as_array()
                .map(|c| c.iter().filter(|c| c["toStageId"] == STAGE).count())
                .unwrap_or(0);
            report.stage_moves += moves.min(1);
            if moves > 1 {
                report.duplicate_stage_moves += 1;
            }
        }
    }
    let dead = read_topic(&broker.bootstrap(), "interviews.deadletter")?;
    report.dead_letter_records = dead.len();
    let dead_ids: BTreeSet<String> = dead
        .iter()
        .filter_map(|d| d["interview_id"].as_str().map(str::to_owned))
        .collect();
    report.dead_letter_interviews = dead_ids.len();
    report.dead_letters_are_the_failures = dead_ids == failed_ids;
    let stats = lever.stats();
    report.lost_replies = stats.lost_replies;
    report.lever_503s = stats.faulted;
    let mut log = String::new();
    if let Ok(mut f) = std::fs::File::open(broker.log_path()) {
        let _ = f.read_to_string(&mut log);
    }
    report.broker_evictions = log.matches("missed heartbeat").count();
    Ok(())
}
