//! `panelflow backfill`: replays stored interviews through a newer pipeline
//! version, and candidate rediscovery.
//!
//! **Replay.** Each `interviews` row keeps the event it analysed
//! (`event_json`, encrypted at rest). [`select`] takes the newest row of each
//! interview received since a date (optionally of given postings: the
//! `posting_id` the event or its summary names), and [`replay`] republishes
//! those events to the newer pipeline's topic, marked as a backfill (the
//! `backfill` field in the event's `unknown_fields`, and the Kafka header
//! `panelflow-backfill`), at most `rate` per minute (a token bucket), with a
//! progress bar. `panelflow run --config NEWER.toml` then writes rows keyed by
//! the newer `pipeline_version` beside the old ones.
//!
//! **Rediscovery.** [`rediscover`] matches past candidates' stored skills
//! (the `skills` of their `responses` rows) against a posting's skills and
//! tags each match's opportunity `talent-pool:<posting>` in Lever (tags are
//! sets: adding twice is harmless).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;

use panelflow_connectors::lever::ratelimit::TokenBucket;
use panelflow_connectors::parquet::{InterviewRow, ParquetSink, ParquetSinkError};

/// Kafka header marking a replayed event; its value is the target pipeline version.
pub const BACKFILL_HEADER: &str = "panelflow-backfill";

/// One event to replay.
#[derive(Debug, Clone)]
pub struct Replay {
    /// Interview id.
    pub interview_id: String,
    /// The Kafka key: the opportunity id, as ingest keys events (one
    /// worker writes an opportunity's notes, tags and moves at a time),
    /// else the interview id.
    pub key: String,
    /// The pipeline version of the row it came from.
    pub from_version: String,
    /// The event, marked as a backfill.
    pub event: Value,
}

/// What [`select`] found.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Events to replay, oldest received first.
    pub replays: Vec<Replay>,
    /// Interviews skipped because their newest row has no stored event.
    pub without_event: usize,
    /// Interviews already processed by the target version.
    pub already_done: usize,
}

/// The posting of a row: `posting_id` in the event's unknown fields, or in
/// the summary.
fn posting_of(row: &InterviewRow, event: &Value) -> Option<String> {
    let from_event = event
        .pointer("/unknown_fields/posting_id")
        .or_else(|| event.get("posting_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    from_event.or_else(|| {
        let s: Value = serde_json::from_str(row.summary_json.as_deref()?).ok()?;
        ["/posting_id", "/context/posting_id", "/posting/id"]
            .iter()
            .find_map(|p| s.pointer(p).and_then(Value::as_str).map(str::to_string))
    })
}

/// Chooses the events to replay: the newest row of each interview with
/// `received_at >= since`, of `postings` when not empty, not yet processed by
/// `target_version`.
pub fn select(
    rows: &[InterviewRow],
    since: DateTime<Utc>,
    postings: &[String],
    target_version: &str,
) -> Selection {
    let mut newest: BTreeMap<&str, &InterviewRow> = BTreeMap::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for r in rows {
        if r.pipeline_version == target_version {
            done.insert(&r.interview_id);
        }
        let e = newest.entry(&r.interview_id).or_insert(r);
        if r.analysis_completion_time > e.analysis_completion_time {
            *e = r;
        }
    }
    let mut out = Selection::default();
    let mut chosen: Vec<(DateTime<Utc>, Replay)> = Vec::new();
    for (id, r) in newest {
        if r.received_at < since {
            continue;
        }
        if done.contains(id) {
            out.already_done += 1;
            continue;
        }
        let Some(mut event) = r
            .event_json
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
        else {
            out.without_event += 1;
            continue;
        };
        if !postings.is_empty() && !posting_of(r, &event).is_some_and(|p| postings.contains(&p)) {
            continue;
        }
        if let Some(obj) = event.as_object_mut() {
            let unknown = obj
                .entry("unknown_fields")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(u) = unknown.as_object_mut() {
                u.insert("backfill".into(), Value::Bool(true));
                u.insert(
                    "backfill_from".into(),
                    Value::String(r.pipeline_version.clone()),
                );
            }
        }
        chosen.push((
            r.received_at,
            Replay {
                interview_id: id.to_string(),
                key: if r.opportunity_id.is_empty() {
                    id.to_string()
                } else {
                    r.opportunity_id.clone()
                },
                from_version: r.pipeline_version.clone(),
                event,
            },
        ));
    }
    chosen.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.interview_id.cmp(&b.1.interview_id)));
    out.replays = chosen.into_iter().map(|(_, r)| r).collect();
    out
}

/// Reads the rows of `sink` (decrypting `event_json`) and selects.
pub fn select_from(
    sink: &ParquetSink,
    since: DateTime<Utc>,
    postings: &[String],
    target_version: &str,
) -> Result<Selection, ParquetSinkError> {
    Ok(select(
        &sink.read_interviews()?,
        since,
        postings,
        target_version,
    ))
}

/// Sends each replay with `send`, at most `rate_per_min` per minute (bursts
/// of `burst`), showing a progress bar on a terminal; returns how many were
/// sent. Stops at the first error.
pub fn replay(
    replays: &[Replay],
    rate_per_min: f64,
    burst: u32,
    mut send: impl FnMut(&Replay) -> Result<(), String>,
) -> Result<usize, String> {
    let bucket = TokenBucket::new((rate_per_min / 60.0).max(1e-6), f64::from(burst.max(1)));
    let bar = indicatif::ProgressBar::new(replays.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "backfill {bar:30} {pos}/{len} interviews  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut sent = 0;
    for r in replays {
        bucket.acquire();
        send(r)?;
        tracing::debug!(interview_id = %r.interview_id, from = %r.from_version, "replayed");
        sent += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(sent)
}

/// A past candidate matching a posting's skills.
#[derive(Debug, Clone, PartialEq)]
pub struct Rediscovered {
    /// Opportunity to tag.
    pub opportunity_id: String,
    /// Candidate.
    pub candidate_id: String,
    /// Skills matched (lower case).
    pub matched: Vec<String>,
}

/// Past candidates whose stored skills (their responses' `skills`) include
/// at least `min_match` of `skills` (case-insensitive), newest row per
/// interview; one entry per opportunity.
pub fn rediscover(
    sink: &ParquetSink,
    skills: &[String],
    min_match: usize,
) -> Result<Vec<Rediscovered>, ParquetSinkError> {
    let wanted: BTreeSet<String> = skills
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let rows = sink.read_interviews()?;
    // The latest row of each key (a redriven interview has a failed row
    // and, later, the one that replaced it).
    let mut by_key: BTreeMap<(String, String), &InterviewRow> = BTreeMap::new();
    for r in &rows {
        let e = by_key.entry(r.key()).or_insert(r);
        if r.analysis_completion_time > e.analysis_completion_time {
            *e = r;
        }
    }
    let mut found: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for resp in sink.read_responses()? {
        let Some(iv) = by_key.get(&resp.key()) else {
            continue;
        };
        let have: BTreeSet<String> = resp
            .skills
            .split(',')
            .map(|s| s.trim().to_lowercase())
            .filter(|s| wanted.contains(s))
            .collect();
        if have.is_empty() {
            continue;
        }
        let e = found
            .entry(iv.opportunity_id.clone())
            .or_insert_with(|| (iv.candidate_id.clone(), BTreeSet::new()));
        e.1.extend(have);
    }
    Ok(found
        .into_iter()
        .filter(|(_, (_, m))| m.len() >= min_match.max(1))
        .map(|(opportunity_id, (candidate_id, m))| Rediscovered {
            opportunity_id,
            candidate_id,
            matched: m.into_iter().collect(),
        })
        .collect())
}

/// The talent-pool tag of a posting.
pub fn talent_pool_tag(posting: &str) -> String {
    format!("talent-pool:{posting}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn row(
        id: &str,
        version: &str,
        received: i64,
        done: i64,
        event: Option<Value>,
    ) -> InterviewRow {
        let mut r = InterviewRow::example(id, version);
        r.received_at = DateTime::from_timestamp(received, 0).expect("time");
        r.analysis_completion_time = DateTime::from_timestamp(done, 0).expect("time");
        r.event_json = event.map(|e| e.to_string());
        r
    }

    #[test]
    fn newest_row_per_interview_since_a_date_not_yet_done() {
        let ev = |id: &str, posting: &str| serde_json::json!({"interview_id": id, "unknown_fields": {"posting_id": posting}});
        let rows = vec![
            row("a", "v1", 1000, 1100, Some(ev("a", "p1"))),
            row(
                "a",
                "v2",
                1000,
                1200,
                Some(
                    serde_json::json!({"interview_id": "a", "v": 2, "unknown_fields": {"posting_id": "p1"}}),
                ),
            ),
            row("b", "v1", 500, 600, Some(ev("b", "p1"))),
            row("c", "v1", 2000, 2100, None),
            row("d", "v1", 3000, 3100, Some(ev("d", "p2"))),
            row("e", "v3", 3000, 3100, Some(ev("e", "p1"))),
        ];
        let since = DateTime::from_timestamp(900, 0).expect("time");
        let s = select(&rows, since, &[], "v3");
        let ids: Vec<&str> = s.replays.iter().map(|r| r.interview_id.as_str()).collect();
        assert_eq!(ids, ["a", "d"]);
        assert_eq!(s.replays[0].event["v"], 2, "the newest row's event");
        assert_eq!(s.replays[0].event["unknown_fields"]["backfill"], true);
        assert_eq!(
            s.replays[0].key, rows[1].opportunity_id,
            "keyed by opportunity, as ingest keys events"
        );
        assert!(!s.replays[0].key.is_empty());
        assert_eq!(s.without_event, 1);
        assert_eq!(s.already_done, 1);
        let s = select(&rows, since, &["p2".to_string()], "v3");
        assert_eq!(s.replays.len(), 1);
        assert_eq!(s.replays[0].interview_id, "d");
    }

    #[test]
    fn the_rate_limit_spaces_replays() {
        let replays: Vec<Replay> = (0..4)
            .map(|i| Replay {
                interview_id: format!("i{i}"),
                key: format!("opp{i}"),
                from_version: "v1".into(),
                event: Value::Null,
            })
            .collect();
        let start = std::time::Instant::now();
        let mut at = Vec::new();
        // 600 per minute = one per 100 ms, burst 1.
        let n = replay(&replays, 600.0, 1, |_| {
            at.push(start.elapsed());
            Ok(())
        })
        .expect("replay");
        assert_eq!(n, 4);
        let total = at[3] - at[0];
        assert!(total >= Duration::from_millis(280), "{at:?}");
    }
}
