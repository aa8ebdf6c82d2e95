//! The whole way on real parts: signed webhooks → ingest → Tansu (Kafka) →
//! timely (2 workers) → Moonshine on ONNX Runtime → Parquet (read back by
//! DuckDB) + private notes in the Lever emulator; failures dead-lettered;
//! replays and crashes write nothing twice.

use crate::support;

use std::collections::BTreeSet;
use std::time::Duration;

use panelflow_devkit::dataset::DemoInterview;
use panelflow_models::analysis::wer::wer;
use serde_json::Value;
use support::*;

const LONG: Duration = Duration::from_secs(300);

fn notes_for(stack: &Stack, opportunity: &str) -> Vec<Value> {
    stack.lever.notes(opportunity)
}

#[test]
fn interviews_flow_to_parquet_and_lever_with_two_workers() {
    let stack = Stack::start();
    let good = ["swe-01", "sales-01", "swe-02", "support-02"];
    for id in good {
        assert_eq!(stack.post_interview(&interview(id)), 202, "{id}");
    }
    // Corrupt media on an opportunity of its own: a failed row, a dead letter, no note.
    let corrupt = DemoInterview {
        interview_id: "corrupt-1".into(),
        candidate_id: "cand-corrupt".into(),
        opportunity_id: interview("data-01").opportunity_id,
        media: vec![("bad/corrupt.mp4".into(), None, None)],
    };
    assert_eq!(stack.post_interview(&corrupt), 202);
    // Media that is not there at all.
    let missing = DemoInterview {
        interview_id: "missing-1".into(),
        candidate_id: "cand-missing".into(),
        opportunity_id: interview("data-01").opportunity_id,
        media: vec![("interviews/no-such-file.mp4".into(), None, None)],
    };
    assert_eq!(stack.post_interview(&missing), 202);

    let run = stack.run(&stack.cfg, 2);
    run.wait(LONG, |s| {
        s.transcribed.load(std::sync::atomic::Ordering::Relaxed)
            + s.failed.load(std::sync::atomic::Ordering::Relaxed)
            >= 6
    });
    run.stop();

    // Parquet, as an analyst reads it.
    let rows = stack.duckdb(
        "select interview_id, pipeline_version, outcome, failure_reason, duration_s, words, words_per_minute, transcript, \
         model_name, model_sha256, correlation_id, config_hash, media_count, lever_note_id, summary_json, date \
         from {interviews} order by interview_id",
    );
    // PII at rest: DuckDB sees sealed transcripts; decrypt as the crate does.
    let keys = panelflow_connectors::store::crypto::PiiKeys::load(&stack.cfg.governance).unwrap();
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|mut r| {
            let row = r.as_object_mut().unwrap();
            panelflow_connectors::store::crypto::decrypt_json_row(&keys, "interviews", row)
                .unwrap();
            r
        })
        .collect();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["interview_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "corrupt-1",
            "missing-1",
            "sales-01",
            "support-02",
            "swe-01",
            "swe-02"
        ]
    );
    for r in &rows {
        let id = r["interview_id"].as_str().unwrap();
        assert_eq!(r["pipeline_version"], "e2e-1");
        assert_eq!(r["model_name"], "moonshine-base-en");
        assert_eq!(r["model_sha256"].as_str().unwrap().len(), 64);
        assert!(
            r["date"].as_str().is_some_and(|d| d.len() == 10),
            "date partition on {id}"
        );
        if good.contains(&id) {
            assert_eq!(r["outcome"], "transcribed", "{id}: {r}");
            let transcript = r["transcript"].as_str().unwrap();
            let error = wer(&reference(id), transcript);
            assert!(error < 0.3, "{id}: WER {error:.3} — {transcript}");
            let wpm = r["words_per_minute"].as_f64().unwrap();
            assert!((100.0..220.0).contains(&wpm), "{id}: {wpm} wpm");
            assert!(
                r["lever_note_id"].as_str().is_some(),
                "{id} has its note id"
            );
            let summary: Value = serde_json::from_str(r["summary_json"].as_str().unwrap()).unwrap();
            assert_eq!(summary["correlation_id"], r["correlation_id"]);
            assert!(summary["analysis_completion_time"].as_str().is_some());
        } else {
            assert_eq!(r["outcome"], "failed", "{id}");
            assert!(r["transcript"].is_null());
        }
    }
    let reason = |id: &str| {
        rows.iter().find(|r| r["interview_id"] == id).unwrap()["failure_reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        // A box inside its moov states 1.8 GB: refused before the demuxer.
        reason("corrupt-1").contains("media_corrupt"),
        "{}",
        reason("corrupt-1")
    );
    assert!(
        reason("missing-1").contains("HTTP 404"),
        "{}",
        reason("missing-1")
    );

    // Segments: per answer for the per-question interview, timed, joined by key.
    let segs = stack.duckdb(
        "select s.interview_id, s.question_id, s.start_s, s.end_s, s.text from {segments} s \
         join {interviews} i using (interview_id, pipeline_version) where s.interview_id = 'support-02' order by media_index, segment_index",
    );
    let questions: BTreeSet<&str> = segs
        .iter()
        .filter_map(|s| s["question_id"].as_str())
        .collect();
    assert_eq!(
        questions.len(),
        4,
        "support-02 answers four questions: {questions:?}"
    );
    assert!(segs
        .iter()
        .all(|s| s["end_s"].as_f64() > s["start_s"].as_f64()));

    // Lever: one private note per good interview, carrying its correlation id; none for failures.
    for id in good {
        let it = interview(id);
        let notes = notes_for(&stack, &it.opportunity_id);
        assert_eq!(notes.len(), 1, "{id}: {notes:?}");
        let text = notes[0].to_string();
        let row = rows.iter().find(|r| r["interview_id"] == id).unwrap();
        assert!(
            text.contains(row["correlation_id"].as_str().unwrap()),
            "{id}: note lacks correlation id"
        );
        assert_eq!(notes[0]["secret"], true, "{id}: note must be private");
    }
    assert!(notes_for(&stack, &interview("data-01").opportunity_id).is_empty());

    // The aggregates' input: one AI score message per analysed interview,
    // valid for the aggregates, keyed by candidate; none for failures.
    let scores = support::read_topic(&stack.cfg.kafka.brokers, &stack.cfg.kafka.scores_topic);
    let scored: BTreeSet<&str> = scores
        .iter()
        .filter_map(|m| m["interview_id"].as_str())
        .collect();
    assert_eq!(scored, BTreeSet::from(good), "{scores:?}");
    for m in &scores {
        let payload = serde_json::to_vec(m).unwrap();
        let (record, diff) =
            panelflow::aggregates::records::decode(panelflow_core::topics::Topic::Scores, &payload)
                .unwrap_or_else(|e| panic!("{m}: {e}"));
        assert_eq!(diff, 1);
        assert!(matches!(
            record,
            panelflow::aggregates::records::InputRecord::Score(_)
        ));
        // The scoring model's version and the pipeline's.
        let version = m["model_version"].as_str().unwrap_or_default();
        assert!(
            version.starts_with("evidence-ordinal@") && version.ends_with("/pe2e-1"),
            "{version}"
        );
        assert!(!m["competencies"].as_array().unwrap().is_empty());
    }

    // Dead letters: one per failure, with stage and reason.
    let dead = stack.dead_letters();
    let dead_ids: BTreeSet<&str> = dead
        .iter()
        .filter_map(|d| d["interview_id"].as_str())
        .collect();
    assert_eq!(
        dead_ids,
        BTreeSet::from(["corrupt-1", "missing-1"]),
        "{dead:?}"
    );
    assert!(dead
        .iter()
        .all(|d| d["reason"].as_str().is_some_and(|r| !r.is_empty()) && d["stage"] == "media"));

    // Every offset was committed once the sinks were durable.
    assert_eq!(stack.uncommitted(&stack.cfg.kafka.group_id), 0);
}

#[test]
fn duplicate_delivery_and_full_replay_write_one_row_and_one_note() {
    let stack = Stack::start();
    let it = interview("data-02");
    // The same webhook delivered twice.
    assert_eq!(stack.post_interview(&it), 202);
    assert_eq!(stack.post_interview(&it), 202);
    let run = stack.run(&stack.cfg, 2);
    run.wait(LONG, |_| run.processed() >= 2);
    run.stop();
    assert_eq!(
        stack.duckdb("select count(*) as n from {interviews}")[0]["n"],
        1
    );
    assert_eq!(notes_for(&stack, &it.opportunity_id).len(), 1);

    // A restart that replays the whole topic (a new consumer group reads
    // from the beginning, as after losing every committed offset).
    let mut replay = stack.cfg.clone();
    replay.kafka.group_id = "panelflow-e2e-replay".into();
    let run = stack.run(&replay, 1);
    run.wait(LONG, |s| {
        s.duplicates.load(std::sync::atomic::Ordering::Relaxed) >= 2
    });
    run.stop();
    assert_eq!(
        stack.duckdb("select count(*) as n from {interviews}")[0]["n"],
        1
    );
    assert!(
        stack.duckdb("select count(distinct segment_index) as n from {segments}")[0]["n"]
            .as_i64()
            .unwrap_or(0)
            > 0
    );
    assert_eq!(notes_for(&stack, &it.opportunity_id).len(), 1);
}

#[test]
fn private_network_media_is_refused_unless_allowed() {
    let stack = Stack::start();
    let it = interview("data-02");
    assert_eq!(stack.post_interview(&it), 202);
    let mut strict = stack.cfg.clone();
    strict.media.allow_private_networks = false;
    let run = stack.run(&strict, 1);
    run.wait(LONG, |s| {
        s.failed.load(std::sync::atomic::Ordering::Relaxed) >= 1
    });
    run.stop();
    let rows = stack.duckdb("select outcome, failure_reason from {interviews}");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["outcome"], "failed");
    assert!(
        rows[0]["failure_reason"]
            .as_str()
            .unwrap()
            .contains("media_forbidden_address"),
        "{rows:?}"
    );
    assert!(notes_for(&stack, &it.opportunity_id).is_empty());
    assert_eq!(stack.dead_letters().len(), 1);
}

#[test]
fn lever_outage_is_retried_and_writes_one_note() {
    let stack = Stack::start();
    let it = interview("support-02");
    // The next requests fail as a Lever outage would: 503s then 429s.
    stack.lever.inject_faults(503, 2).unwrap();
    assert_eq!(stack.post_interview(&it), 202);
    let run = stack.run(&stack.cfg, 1);
    run.wait(LONG, |_| run.processed() >= 1);
    run.stop();
    let rows = stack.duckdb("select outcome, lever_note_id from {interviews}");
    assert_eq!(rows[0]["outcome"], "transcribed", "{rows:?}");
    assert_eq!(notes_for(&stack, &it.opportunity_id).len(), 1);
    // The two 503s were answered (and retried), then the note went through.
    assert_eq!(stack.lever.stats().faulted, 2);
}

/// `panelflow run` as users start it, in the automate phase, killed with
/// SIGKILL in the middle of the work and started again: every interview ends
/// up with exactly one row, one note, one scorecard, one stage move and its
/// tag once.
#[test]
fn a_killed_run_restarts_without_losing_or_doubling_anything() {
    let stack = Stack::start();
    let ids = ["swe-01", "sales-01", "data-01", "support-01"];
    for id in ids {
        assert_eq!(stack.post_interview(&interview(id)), 202);
    }
    // The restart uses the same config and the same consumer group, as an
    // operator's would: static membership gets its partitions back within
    // seconds (Tansu once kept the killed member's group formed with no
    // assignment at all).
    // The automate phase writes the most: note, scorecard, tags, stage move.
    let mut cfg = stack.cfg.clone();
    cfg.pipeline.phase = panelflow_core::writeback::Phase::Automate;
    cfg.lever.perform_as = Some("user-panelflow-bot".into());
    cfg.writeback.min_confidence = 0.0;
    cfg.writeback.extreme_sentiment = 1.5;
    cfg.writeback.review_on_flags.clear();
    cfg.analysis.low_confidence = 0.0;
    cfg.writeback.tags = vec![panelflow_core::writeback::TagRule {
        tag: "ai:scored".into(),
        min_overall: Some(1.0),
        ..Default::default()
    }];
    cfg.writeback.stage = Some(panelflow_core::writeback::StageRule {
        to_stage: "stage-phone-screen".into(),
        min_overall: 0.0,
        min_confidence: 0.0,
    });
    cfg.writeback.feedback = Some(panelflow_core::writeback::FeedbackTemplate {
        base_template_id: "tmpl-ai-screen".into(),
        fields: [
            "engineering_experience",
            "problem_solving",
            "sales_track_record",
            "deal_execution",
            "support_experience",
            "customer_recovery",
        ]
        .iter()
        .map(|c| (c.to_string(), format!("field-{c}")))
        .collect(),
        overall_field: Some("field-overall".into()),
        notes_field: "field-notes".into(),
    });
    let restart_cfg = cfg.clone();
    let config = stack.dir.path().join("pipeline.toml");
    std::fs::write(&config, toml::to_string(&cfg).unwrap()).unwrap();
    let log_path = |n: u32| stack.dir.path().join(format!("run-{n}.log"));
    let start = |n: u32| {
        std::process::Command::new(env!("CARGO_BIN_EXE_panelflow"))
            .args(["run", "--workers", "1", "--config"])
            .arg(&config)
            .env("PANELFLOW_LEVER_API_KEY", LEVER_KEY)
            .env("PANELFLOW_INSTANCE_ID", "e2e-killed-runner")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(log_path(n)).unwrap())
            .spawn()
            .unwrap()
    };
    let log_tail = |n: u32| {
        let text = std::fs::read_to_string(log_path(n)).unwrap_or_default();
        text.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    };
    let notes = || {
        ids.iter()
            .map(|id| notes_for(&stack, &interview(id).opportunity_id).len())
            .sum::<usize>()
    };
    // Progress is polled with the sink's own reader (DuckDB refuses an empty glob).
    let rows = || {
        panelflow_connectors::parquet::ParquetSink::open(&stack.cfg.sinks.parquet_dir)
            .and_then(|s| s.read_interviews())
            .map(|r| r.len() as u64)
            .unwrap_or(0)
    };

    let mut first = start(1);
    let deadline = std::time::Instant::now() + LONG;
    while notes() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no note written:\n{}",
            log_tail(1)
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "run exited early:\n{}",
            log_tail(1)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    first.kill().unwrap(); // SIGKILL: no draining, no final commit
    first.wait().unwrap();
    let (notes_at_kill, rows_at_kill) = (notes(), rows());
    assert!(
        notes_at_kill >= 1 && rows_at_kill < ids.len() as u64,
        "killed too late: {notes_at_kill} notes, {rows_at_kill} rows"
    );

    let mut second = start(2);
    let restarted = std::time::Instant::now();
    // Consuming again within 30 s: the next row lands (or, if the first run
    // had read everything, the restart's log says its partitions are back).
    let consuming = || {
        rows() > rows_at_kill
            || std::fs::read_to_string(log_path(2))
                .unwrap_or_default()
                .lines()
                .any(|l| l.contains("consumer group rebalance") && l.contains("\"assign\""))
    };
    while !consuming() {
        assert!(
            restarted.elapsed() < Duration::from_secs(30),
            "the restart in the same group did not consume within 30 s:\n{}",
            log_tail(2)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let deadline = std::time::Instant::now() + LONG;
    while rows() < ids.len() as u64 {
        assert!(
            std::time::Instant::now() < deadline,
            "restart did not finish ({} rows):\n{}",
            rows(),
            log_tail(2)
        );
        assert!(
            second.try_wait().unwrap().is_none(),
            "restart exited early:\n{}",
            log_tail(2)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // SIGTERM: drain and commit.
    unsafe { libc_kill(second.id() as i32, 15) };
    assert!(second.wait().unwrap().success(), "{}", log_tail(2));

    assert_eq!(
        stack.duckdb("select count(*) as n from {interviews}")[0]["n"],
        ids.len() as u64
    );
    assert_eq!(
        stack.duckdb("select count(distinct interview_id) as n from {interviews}")[0]["n"],
        ids.len() as u64
    );
    for id in ids {
        let opp = interview(id).opportunity_id;
        assert_eq!(notes_for(&stack, &opp).len(), 1, "{id}: one note");
        assert_eq!(stack.lever.feedback(&opp).len(), 1, "{id}: one scorecard");
        let o = stack.lever.opportunity(&opp).expect("opportunity");
        let moves = o["stageChanges"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter(|c| c["toStageId"] == "stage-phone-screen")
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(moves, 1, "{id}: one stage move");
        let tags: Vec<&str> = o["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            tags.iter().filter(|t| **t == "ai:scored").count(),
            1,
            "{id}: {tags:?}"
        );
    }
    assert_eq!(stack.uncommitted(&restart_cfg.kafka.group_id), 0);

    // The AI scores reached the aggregates once per interview, whatever the
    // kill made the pipeline send twice.
    let sent = support::read_topic(&stack.cfg.kafka.brokers, &stack.cfg.kafka.scores_topic);
    assert!(sent.len() >= ids.len(), "{sent:?}");
    let mut agg = panelflow::aggregates::runner::RunnerConfig::default();
    agg.kafka.brokers = stack.cfg.kafka.brokers.clone();
    agg.output.dir = stack.dir.path().join("aggregates");
    agg.output.durable = false;
    let stats = panelflow::aggregates::runner::run(&agg, 1, true, Some(LONG)).unwrap();
    assert_eq!(
        stats.redelivered.load(std::sync::atomic::Ordering::Relaxed) as usize,
        sent.len() - ids.len()
    );
    let inputs =
        panelflow_connectors::parquet::aggregates::Layout::new(&agg.output.dir).input_dir("scores");
    let held = support::duckdb_json(&format!(
        "select interview_id, competency, sum(diff) as n from read_parquet('{}/**/*.parquet') group by all",
        inputs.display()
    ));
    let interviews: BTreeSet<&str> = held
        .iter()
        .filter_map(|r| r["interview_id"].as_str())
        .collect();
    assert_eq!(interviews.len(), ids.len(), "{held:?}");
    assert!(
        held.iter().all(|r| r["n"] == 1),
        "each competency score held once: {held:?}"
    );
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
