//! The pipeline under poison input, lost replies and outages, on the real
//! broker and the Lever emulator: a panicking interview and an oversized
//! event are dead-lettered once while the rest goes on; a note whose reply
//! was lost is found, not written twice; a Lever outage sends interviews to
//! the retry topics until it is over, and a media host that never answers
//! fails its interview for good once the retries have run out; a dead
//! letter sent back by `panelflow redrive` is processed once.

use crate::support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use panelflow_devkit::dataset::DemoInterview;
use serde_json::{json, Value};
use support::*;

const LONG: Duration = Duration::from_secs(300);

fn dead_letters_for<'a>(dead: &'a [Value], id: &str) -> Vec<&'a Value> {
    dead.iter().filter(|d| d["interview_id"] == id).collect()
}

#[test]
fn poison_events_are_dead_lettered_once_and_the_pipeline_goes_on() {
    let stack = Stack::start();
    let good = interview("swe-01");
    assert_eq!(stack.post_interview(&good), 202);
    // The test hook (dev builds): an interview whose analysis panics.
    let poison = DemoInterview {
        interview_id: format!("{}-1", panelflow::pipeline::TEST_PANIC_MARKER),
        candidate_id: "cand-poison".into(),
        ..interview("swe-02")
    };
    assert_eq!(stack.post_interview(&poison), 202);
    // Too many media items for the interview cap below.
    let crowded = interview("support-02");
    assert_eq!(stack.post_interview(&crowded), 202);
    // A 900 KiB event, produced straight to the topic (ingest would refuse
    // it): larger than [kafka] max_event_bytes, and its dead letter must be
    // cut to fit the broker.
    let mut big = panelflow_core::event::InterviewCompleted::new(
        "generic",
        "big-event-1",
        "cand-big",
        "opp-big",
        vec![],
    );
    big.unknown_fields
        .insert("blob".into(), "x".repeat(900 * 1024).into());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let producer: rdkafka::producer::FutureProducer =
        panelflow_connectors::kafka::producer_config(&stack.cfg.kafka)
            .create()
            .unwrap();
    rt.block_on(panelflow_connectors::kafka::produce_event(
        &producer,
        &stack.cfg.kafka.topic,
        &big,
    ))
    .expect("the broker takes a 900 KiB event");

    let mut cfg = stack.cfg.clone();
    cfg.media.max_items = 2;
    let run = stack.run(&cfg, 2);
    run.wait(LONG, |s| {
        s.transcribed.load(Ordering::Relaxed) >= 1
            && s.failed.load(Ordering::Relaxed) >= 2
            && s.malformed.load(Ordering::Relaxed) >= 1
    });
    run.stop();

    let dead = stack.dead_letters();
    let panicked = dead_letters_for(&dead, &poison.interview_id);
    assert_eq!(panicked.len(), 1, "{dead:?}");
    let reason = panicked[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("panicked") && reason.contains("test hook"),
        "{reason}"
    );
    let large = dead_letters_for(&dead, "big-event-1");
    assert_eq!(large.len(), 1, "one dead letter for the large event");
    assert!(
        large[0]["reason"]
            .as_str()
            .unwrap()
            .contains("event_too_large"),
        "{}",
        large[0]["reason"]
    );
    // 900 KiB plus the dead letter's wrapper still fits the broker's 1 MB,
    // so the event is kept whole (a larger one is cut by `dead_letter::fit`,
    // shown in its doc test); either way the letter fits.
    let kept = &large[0]["event"];
    assert_eq!(kept["opportunity_id"], "opp-big", "ids kept");
    assert_eq!(
        kept["unknown_fields"]["blob"].as_str().map(str::len),
        Some(900 * 1024)
    );
    assert!(serde_json::to_vec(large[0]).unwrap().len() < 1_000_000);
    let crowded_dead = dead_letters_for(&dead, &crowded.interview_id);
    assert_eq!(crowded_dead.len(), 1);
    assert!(crowded_dead[0]["reason"]
        .as_str()
        .unwrap()
        .contains("media_too_many_items"));
    // The good interview went on: its row and its note.
    assert_eq!(stack.lever.notes(&good.opportunity_id).len(), 1);
    let rows = stack.duckdb("select interview_id, outcome from {interviews} order by interview_id");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(panelflow_connectors::metrics::render().contains("panelflow_panics_caught_total"));

    // Started again in the same group: nothing is read twice, nothing dead-lettered twice.
    let run = stack.run(&cfg, 1);
    std::thread::sleep(Duration::from_secs(10));
    run.stop();
    assert_eq!(stack.dead_letters().len(), dead.len());
    assert_eq!(stack.uncommitted(&cfg.kafka.group_id), 0);
}

#[test]
fn a_lost_note_reply_is_looked_for_before_the_write_is_declared_failed() {
    let stack = Stack::start();
    let it = interview("sales-01");
    stack.lever.lose_note_replies(100.0);
    assert_eq!(stack.post_interview(&it), 202);
    let run = stack.run(&stack.cfg, 1);
    run.wait(LONG, |_| run.processed() >= 1);
    run.stop();
    assert!(stack.lever.stats().lost_replies >= 1);
    let rows = stack.duckdb("select outcome, lever_note_id from {interviews}");
    assert_eq!(rows[0]["outcome"], "transcribed", "{rows:?}");
    let notes = stack.lever.notes(&it.opportunity_id);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(rows[0]["lever_note_id"], notes[0]["id"]);
}

#[test]
fn transient_failures_wait_on_retry_topics_and_permanent_ones_fail_now() {
    let stack = Stack::start();
    // A media host that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let it = interview("data-02");
    let mut cfg = stack.cfg.clone();
    cfg.kafka.retry_delays_s = vec![2, 25];
    cfg.media.timeout_s = 2;
    cfg.media.connect_timeout_s = 1;
    cfg.lever.max_attempts = 2;
    // Lever is down: every write fails with 503 until it is back.
    stack.lever.inject_write_faults(503, 1_000_000).unwrap();
    assert_eq!(stack.post_interview(&it), 202);
    let dead = json!({"event": "interview.completed",
        "timestamp": chrono::Utc::now().timestamp_millis(), "data": {
        "candidateId": "cand-dead", "opportunityId": interview("sales-02").opportunity_id,
        "interviewId": "dead-host-1",
        "mediaUrl": format!("http://127.0.0.1:{dead_port}/never.wav"),
    }});
    assert_eq!(stack.post(&dead), 202);
    let run = stack.run(&cfg, 1);
    run.wait(LONG, |s| s.retried.load(Ordering::Relaxed) >= 2);
    // Nothing written while Lever is down: the interview waits, not fails.
    assert!(stack.lever.notes(&it.opportunity_id).is_empty());
    stack.lever.inject_write_faults(503, 0).unwrap();
    run.wait(LONG, |s| {
        s.transcribed.load(Ordering::Relaxed) >= 1 && s.failed.load(Ordering::Relaxed) >= 1
    });
    run.stop();

    let rows = stack.duckdb(
        "select interview_id, outcome, failure_reason from {interviews} order by interview_id",
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    let data = rows
        .iter()
        .find(|r| r["interview_id"] == it.interview_id)
        .unwrap();
    assert_eq!(data["outcome"], "transcribed", "{rows:?}");
    assert_eq!(stack.lever.notes(&it.opportunity_id).len(), 1);
    let gone = rows
        .iter()
        .find(|r| r["interview_id"] == "dead-host-1")
        .unwrap();
    assert_eq!(gone["outcome"], "failed");
    let reason = gone["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("timed out") && reason.contains("gave up after 3 tries"),
        "{reason}"
    );
    // Only the permanent failure is a dead letter.
    let letters = stack.dead_letters();
    let ids: Vec<&str> = letters
        .iter()
        .filter_map(|d| d["interview_id"].as_str())
        .collect();
    assert_eq!(ids, ["dead-host-1"], "{letters:?}");
    // The retry topics held the tries.
    let tries = support::read_topic(&cfg.kafka.brokers, "interviews.completed.retry.2s");
    assert!(tries.len() >= 2, "{tries:?}");
}

/// An interview fails for good (Lever answering 503 through every retry),
/// the outage ends, and `panelflow redrive --id` sends its dead letter back:
/// one note and one `transcribed` row (beside the failed one, kept as
/// history). Redriving it again, with a restarted runner of the same group
/// (its admission preloaded from Parquet), adds nothing.
#[test]
fn a_redriven_dead_letter_is_processed_once_however_often_it_is_sent() {
    let stack = Stack::start();
    let it = interview("data-02");
    let mut cfg = stack.cfg.clone();
    cfg.kafka.retry_delays_s = vec![2];
    cfg.lever.max_attempts = 2;
    stack.lever.inject_write_faults(503, 1_000_000).unwrap();
    assert_eq!(stack.post_interview(&it), 202);
    let run = stack.run(&cfg, 1);
    run.wait(LONG, |s| s.failed.load(Ordering::Relaxed) >= 1);
    run.stop();
    let rows = stack.duckdb("select outcome, failure_reason from {interviews}");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["outcome"], "failed", "{rows:?}");
    let letters = stack.dead_letters();
    assert_eq!(
        dead_letters_for(&letters, &it.interview_id).len(),
        1,
        "{letters:?}"
    );
    assert!(stack.lever.notes(&it.opportunity_id).is_empty());

    // The outage is over; the dead letter is sent back.
    stack.lever.inject_write_faults(503, 0).unwrap();
    let config = stack.dir.path().join("pipeline.toml");
    std::fs::write(&config, toml::to_string(&cfg).unwrap()).unwrap();
    let redrive = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelflow"))
            .arg("redrive")
            .args(extra)
            .arg("--config")
            .arg(&config)
            .env_remove("PANELFLOW_BROKERS")
            .env_remove("PANELFLOW_OUT")
            .output()
            .expect("panelflow redrive");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let events_on_topic = || support::read_topic(&cfg.kafka.brokers, &cfg.kafka.topic).len();
    let before = events_on_topic();
    let dry = redrive(&["--id", &it.interview_id, "--dry-run"]);
    assert!(
        dry.contains("would send") && dry.contains("1 would be sent"),
        "{dry}"
    );
    assert_eq!(events_on_topic(), before, "a dry run sends nothing");
    let sent = redrive(&["--id", &it.interview_id]);
    assert!(sent.contains("1 sent, 0 skipped"), "{sent}");
    let records = panelflow_connectors::kafka::reader::read_to_end(
        &cfg.kafka,
        &cfg.kafka.topic,
        Duration::from_secs(30),
    )
    .expect("events topic");
    let header = |r: &panelflow_connectors::kafka::reader::TopicRecord, name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let redriven: Vec<_> = records
        .iter()
        .filter(|r| header(r, panelflow_connectors::kafka::consumer::REDRIVE_HEADER).is_some())
        .collect();
    assert_eq!(redriven.len(), 1, "{records:?}");
    assert_eq!(
        redriven[0].key.as_deref(),
        Some(it.opportunity_id.as_bytes()),
        "keyed by opportunity, as ingest keys events"
    );
    assert_eq!(
        header(
            redriven[0],
            panelflow_connectors::kafka::consumer::INTERVIEW_HEADER
        )
        .as_deref(),
        Some(it.interview_id.as_str())
    );
    assert!(header(
        redriven[0],
        panelflow_connectors::kafka::consumer::REDRIVE_HEADER
    )
    .is_some_and(|v| v.starts_with(&format!("{}/", cfg.kafka.dead_letter_topic))));

    // A fresh runner (its admission preloaded from Parquet: the key is
    // failed, so the redriven event goes through).
    let run = stack.run(&cfg, 1);
    run.wait(LONG, |s| s.transcribed.load(Ordering::Relaxed) >= 1);
    run.stop();
    let notes = stack.lever.notes(&it.opportunity_id);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let outcomes = || {
        stack
            .duckdb("select outcome from {interviews} order by analysis_completion_time")
            .iter()
            .map(|r| r["outcome"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        outcomes(),
        ["failed", "transcribed"],
        "the failed row stays as history"
    );
    // The transcript's segments once, whichever row brought them.
    let segments = stack.duckdb(
        "select count(*) as n, count(distinct (media_index, segment_index)) as d from {segments}",
    );
    assert!(segments[0]["n"].as_i64().unwrap_or(0) > 0, "{segments:?}");
    assert_eq!(segments[0]["n"], segments[0]["d"], "{segments:?}");

    // Again: the same redrive, and a restarted runner in the same group.
    let again = redrive(&["--id", &it.interview_id]);
    assert!(again.contains("1 sent"), "{again}");
    let run = stack.run(&cfg, 1);
    run.wait(LONG, |s| s.duplicates.load(Ordering::Relaxed) >= 1);
    run.stop();
    assert_eq!(
        stack.lever.notes(&it.opportunity_id).len(),
        1,
        "no second note"
    );
    assert_eq!(outcomes(), ["failed", "transcribed"], "no second row");
    assert_eq!(stack.uncommitted(&cfg.kafka.group_id), 0);
    let letters = stack.dead_letters();
    assert_eq!(
        dead_letters_for(&letters, &it.interview_id).len(),
        1,
        "{letters:?}"
    );
    // `panelflow explain` tells both rows and the redrives.
    let story = panelflow::ops::explain::story(
        &cfg.sinks.parquet_dir,
        &cfg.governance.audit_dir,
        &it.interview_id,
    )
    .expect("story");
    assert_eq!(story.rows.len(), 2);
    assert_eq!(
        story.events.iter().filter(|e| e.step == "redrive").count(),
        2
    );
}

/// The chaos run, small: the runner (a real process) SIGKILLed twice, the
/// broker restarted, Lever down for a while and losing a third of the note
/// replies, one media host dead (`benches/chaos.sh` runs the full one).
#[test]
fn chaos_small_nothing_lost_nothing_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let o = panelflow_devkit::chaos::ChaosOptions {
        panelflow: env!("CARGO_BIN_EXE_panelflow").into(),
        out: dir.path().join("chaos"),
        interviews: 12,
        dead_host_interviews: 2,
        kills: 2,
        max_between_kills_s: 12,
        lever_outage: Duration::from_secs(15),
        lost_reply_percent: 30.0,
        restart_broker: true,
        workers: 2,
        retry_delays_s: vec![5, 15, 30],
        deadline: Duration::from_secs(600),
    };
    let report = panelflow_devkit::chaos::run(&o).expect("chaos run");
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(report.holds(), "{report:?}");
    assert_eq!(report.one_row, 12);
    assert_eq!(report.dead_host_failed_timeout, 2);
}
