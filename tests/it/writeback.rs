//! Write-back per rollout phase, against the Lever emulator with the real
//! models: what each phase writes to Lever and what it holds for review;
//! a replay writes nothing twice; 429 storms are ridden out, and a write
//! that keeps failing is dead-lettered with its reason; events of another
//! region are refused before any media is fetched.
//!
//! These drive the processor the dataflow runs per worker (`Processor`),
//! without Kafka: the broker's part (commit after the sinks, kill and
//! restart) is `tests/pipeline.rs`.

use crate::support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use panelflow::config::PipelineConfig;
use panelflow::pipeline::{Processed, Processor};
use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient};
use panelflow_connectors::lever::ratelimit::TokenBucket;
use panelflow_connectors::store::audit::AuditLog;
use panelflow_connectors::store::queue::{ReviewQueue, ReviewStatus};
use panelflow_core::event::InterviewCompleted;
use panelflow_core::outcome::Outcome;
use panelflow_core::writeback::Phase;
use panelflow_core::writeback::{FeedbackTemplate, StageRule, TagRule};
use panelflow_devkit::emulator::EmulatorHandle;
use panelflow_devkit::media_server::MediaServer;
use serde_json::Value;
use support::{datasets, interview, LEVER_KEY};

const STAGE: &str = "stage-phone-screen";
const MARKER: &str = "panelflow-correlation-id: ";

struct Bench {
    dir: tempfile::TempDir,
    lever: EmulatorHandle,
    media: MediaServer,
}

impl Bench {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let lever = support::dataset_lever(&dir.path().join("lever"));
        let media = MediaServer::start(&datasets()).expect("media server");
        Self { dir, lever, media }
    }

    /// A pipeline config of `phase` writing under this bench's folder, with
    /// rules every dataset interview can meet (`lenient`) or none can.
    fn config(&self, phase: Phase, lenient: bool) -> PipelineConfig {
        let mut cfg = PipelineConfig::default();
        support::use_built_decoder(&mut cfg);
        cfg.pipeline.name = format!("wb-{phase:?}").to_lowercase();
        cfg.pipeline.version = "wb-1".into();
        cfg.pipeline.phase = phase;
        cfg.lever.base_url = self.lever.base_url();
        cfg.lever.perform_as = Some("user-panelflow-bot".into());
        cfg.lever.max_attempts = 4;
        cfg.media.allow_private_networks = true;
        cfg.sinks.parquet_dir = self.dir.path().join("parquet");
        cfg.review.queue_dir = self.dir.path().join(format!("review-{phase:?}"));
        cfg.governance.audit_dir = self.dir.path().join("audit");
        let wb = &mut cfg.writeback;
        wb.min_confidence = if lenient { 0.0 } else { 0.99 };
        wb.extreme_sentiment = if lenient { 1.5 } else { 0.75 };
        if lenient {
            wb.review_on_flags.clear();
        }
        if lenient {
            // No score is marked low-confidence by the rubric either.
            cfg.analysis.low_confidence = 0.0;
        }
        wb.tags = vec![
            TagRule {
                tag: "ai:scored".into(),
                min_overall: Some(1.0),
                ..Default::default()
            },
            TagRule {
                tag: "ai:strong-cobol".into(),
                skill: Some("cobol".into()),
                ..Default::default()
            },
            TagRule {
                tag: "ai:needs-review".into(),
                needs_review: true,
                ..Default::default()
            },
        ];
        wb.stage = Some(StageRule {
            to_stage: STAGE.into(),
            min_overall: if lenient { 0.0 } else { 5.0 },
            min_confidence: 0.0,
        });
        let fields: BTreeMap<String, String> = [
            "engineering_experience",
            "problem_solving",
            "operational_excellence",
            "motivation",
            "support_experience",
            "customer_recovery",
            "volume_handling",
            "sales_track_record",
            "deal_execution",
            "pipeline_discipline",
        ]
        .iter()
        .map(|c| (c.to_string(), format!("field-{c}")))
        .collect();
        wb.feedback = Some(FeedbackTemplate {
            base_template_id: "tmpl-ai-screen".into(),
            fields,
            overall_field: Some("field-overall".into()),
            notes_field: "field-notes".into(),
        });
        cfg
    }

    fn client(&self) -> LeverClient {
        LeverClient::new(
            &self.lever.base_url(),
            LeverAuth::ApiKey(LEVER_KEY.into()),
            ClientOptions {
                max_attempts: 4,
                limiter: std::sync::Arc::new(TokenBucket::new(10.0, 10.0)),
                ..ClientOptions::default()
            },
        )
        .expect("client")
    }

    fn processor(&self, cfg: &PipelineConfig) -> Processor {
        Processor::new(cfg, Some(self.client())).expect("models (run bash scripts/setup.sh)")
    }

    fn event(&self, id: &str) -> InterviewCompleted {
        interview(id).event(&self.media)
    }

    fn notes(&self, opp: &str) -> Vec<String> {
        self.lever
            .notes(opp)
            .iter()
            .filter_map(|n| n.get("text").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    fn tags(&self, opp: &str) -> Vec<String> {
        self.lever
            .opportunity(opp)
            .and_then(|o| o.get("tags").cloned())
            .and_then(|t| serde_json::from_value(t).ok())
            .unwrap_or_default()
    }

    fn stage_moves(&self, opp: &str) -> usize {
        self.lever
            .opportunity(opp)
            .and_then(|o| {
                o.get("stageChanges").and_then(Value::as_array).map(|c| {
                    c.iter()
                        .filter(|c| c.get("toStageId").and_then(Value::as_str) == Some(STAGE))
                        .count()
                })
            })
            .unwrap_or(0)
    }

    /// Every request the emulator received, as (reads, writes): what one
    /// interview costs of the Lever budget (printed for the README's sizing).
    fn calls(&self, phase: &str) -> (usize, usize) {
        let requests = self.lever.requests().expect("requests");
        let writes = requests.iter().filter(|r| r.method != "GET").count();
        let counts = (requests.len() - writes, writes);
        eprintln!(
            "lever calls for one interview, {phase}: {} reads, {} writes",
            counts.0, counts.1
        );
        counts
    }

    /// Requests that changed something for `opp` (writes only).
    fn writes(&self, opp: &str) -> usize {
        self.lever
            .requests()
            .expect("requests")
            .iter()
            .filter(|r| r.method != "GET" && r.path.contains(opp))
            .count()
    }
}

fn queue(cfg: &PipelineConfig) -> ReviewQueue {
    ReviewQueue::open(&cfg.review.queue_dir).expect("queue")
}

fn audit_steps(cfg: &PipelineConfig, interview_id: &str) -> Vec<(String, String)> {
    AuditLog::open(&cfg.governance.audit_dir)
        .expect("audit")
        .for_interview(interview_id)
        .expect("read audit")
        .into_iter()
        .map(|e| (e.step, e.outcome))
        .collect()
}

/// Processes one event and checks its recording was transcribed.
fn transcribed(processor: &mut Processor, event: &InterviewCompleted) -> Processed {
    let out = processor.process(event);
    assert_eq!(
        out.interview.outcome,
        Outcome::Transcribed,
        "{:?}",
        out.interview.failure_reason
    );
    out
}

#[test]
fn pilot_writes_a_summary_note_and_nothing_else() {
    let bench = Bench::start();
    let cfg = bench.config(Phase::Pilot, true);
    let mut processor = bench.processor(&cfg);
    let event = bench.event("swe-01");
    let out = transcribed(&mut processor, &event);

    let notes = bench.notes(&event.opportunity_id);
    assert_eq!(notes.len(), 1);
    let note = &notes[0];
    assert!(
        note.contains(panelflow_core::writeback::DEFAULT_NOTICE),
        "{note}"
    );
    assert!(note.contains("Answers:"), "{note}");
    assert!(
        !note.contains("Scores"),
        "the pilot writes no scores: {note}"
    );
    assert!(note.contains(&format!("{MARKER}{}", event.correlation_id)));
    assert!(bench
        .tags(&event.opportunity_id)
        .iter()
        .all(|t| !t.starts_with("ai:")));
    assert!(bench.lever.feedback(&event.opportunity_id).is_empty());
    assert_eq!(bench.stage_moves(&event.opportunity_id), 0);
    assert!(bench.calls("pilot").1 >= 1);
    // Kept for the review page, already written.
    let item = queue(&cfg)
        .get(&event.interview_id)
        .expect("get")
        .expect("item");
    assert_eq!(item.status, ReviewStatus::Written);
    // The story for the audit log: context, media, speech, analysis, route, the write.
    let steps: Vec<(String, String)> = out
        .audit
        .iter()
        .map(|e| (e.step.clone(), e.outcome.clone()))
        .collect();
    for step in [
        "context",
        "media",
        "speech",
        "analysis",
        "route",
        "lever_write",
        "review_queue",
    ] {
        assert!(
            steps.iter().any(|(s, o)| s == step && o != "failed"),
            "{step}: {steps:?}"
        );
    }
    let models = &out
        .audit
        .iter()
        .find(|e| e.step == "speech")
        .expect("speech")
        .detail["model"];
    assert!(
        models["sha256"].as_str().is_some_and(|h| h.len() >= 16),
        "{models}"
    );
}

#[test]
fn review_phase_writes_nothing_until_approved() {
    let bench = Bench::start();
    let cfg = bench.config(Phase::Review, true);
    let mut processor = bench.processor(&cfg);
    let event = bench.event("support-01");
    let opp = event.opportunity_id.clone();
    let out = transcribed(&mut processor, &event);
    assert_eq!(
        bench.writes(&opp),
        0,
        "nothing reaches Lever before approval"
    );
    assert!(out.interview.lever_note_id.is_none());

    let item = queue(&cfg)
        .get(&event.interview_id)
        .expect("get")
        .expect("queued");
    assert_eq!(item.status, ReviewStatus::Pending);
    assert_eq!(item.reasons, vec!["phase_review".to_owned()]);
    assert!(item.plan.stage.is_none(), "no stage moves outside automate");

    // What the review page does on approval: the held plan, written.
    let report = panelflow_connectors::lever::writeback::apply(&bench.client(), &item.plan)
        .expect("approved write");
    assert!(report.note_created && report.feedback_created);
    let notes = bench.notes(&opp);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("Scores"),
        "scores are allowed after review: {}",
        notes[0]
    );
    assert!(bench.tags(&opp).contains(&"ai:scored".to_owned()));
    assert_eq!(bench.stage_moves(&opp), 0);
    bench.calls("review (processed, then approved)");
    // Approving twice (a double click, a retry) writes nothing more.
    let again =
        panelflow_connectors::lever::writeback::apply(&bench.client(), &item.plan).expect("again");
    assert!(!again.note_created && !again.feedback_created && again.tags_added.is_empty());
    assert_eq!(bench.notes(&opp).len(), 1);
    assert_eq!(bench.lever.feedback(&opp).len(), 1);
}

#[test]
fn automate_writes_directly_and_a_replay_writes_nothing_twice() {
    let bench = Bench::start();
    let cfg = bench.config(Phase::Automate, true);
    let mut processor = bench.processor(&cfg);
    let event = bench.event("sales-01");
    let opp = event.opportunity_id.clone();
    let out = transcribed(&mut processor, &event);
    assert!(out.interview.lever_note_id.is_some());

    let check = |when: &str| {
        assert_eq!(bench.notes(&opp).len(), 1, "{when}: one note");
        let feedback = bench.lever.feedback(&opp);
        assert_eq!(feedback.len(), 1, "{when}: one scorecard");
        assert_eq!(feedback[0]["user"], "user-panelflow-bot");
        assert_eq!(feedback[0]["baseTemplateId"], "tmpl-ai-screen");
        let tags = bench.tags(&opp);
        assert!(tags.contains(&"ai:scored".to_owned()), "{when}: {tags:?}");
        assert!(!tags.contains(&"ai:strong-cobol".to_owned()));
        assert!(!tags.contains(&"ai:needs-review".to_owned()));
        assert_eq!(bench.stage_moves(&opp), 1, "{when}: one stage move");
    };
    check("first run");
    let writes = bench.writes(&opp);
    bench.calls("automate");

    // A crash after the writes but before the row: the event is processed again.
    let mut restarted = bench.processor(&cfg);
    let again = restarted.process(&event);
    assert_eq!(again.interview.outcome, Outcome::Transcribed);
    assert_eq!(again.interview.lever_note_id, out.interview.lever_note_id);
    check("replay");
    assert_eq!(bench.writes(&opp), writes, "the replay only read");
}

#[test]
fn automate_holds_low_confidence_results_for_review() {
    let bench = Bench::start();
    let cfg = bench.config(Phase::Automate, false);
    let mut processor = bench.processor(&cfg);
    let event = bench.event("data-01");
    transcribed(&mut processor, &event);
    assert_eq!(bench.writes(&event.opportunity_id), 0);
    let item = queue(&cfg)
        .get(&event.interview_id)
        .expect("get")
        .expect("queued");
    assert_eq!(item.status, ReviewStatus::Pending);
    assert!(
        item.reasons.contains(&"low_confidence".to_owned()),
        "{:?}",
        item.reasons
    );
    assert!(item.plan.stage.is_none());
    assert!(item.plan.add_tags.contains(&"ai:needs-review".to_owned()));
}

#[test]
fn automate_queues_failed_media_for_review() {
    let bench = Bench::start();
    let cfg = bench.config(Phase::Automate, true);
    let mut processor = bench.processor(&cfg);
    let mut event = bench.event("swe-02");
    event.interview_id = "swe-02-missing-media".into();
    event.media.truncate(1);
    event.media[0].url = bench.media.url("no/such/recording.mp4");
    let out = processor.process(&event);
    assert_eq!(out.interview.outcome, Outcome::Failed);
    assert!(out.dead_letter.is_some());
    let item = queue(&cfg)
        .get(&event.interview_id)
        .expect("get")
        .expect("queued");
    assert_eq!(item.reasons, vec!["media_failed".to_owned()]);
    assert!(item.failure.is_some());
    assert_eq!(bench.writes(&event.opportunity_id), 0);
}

#[test]
fn a_429_storm_is_ridden_out_and_a_lasting_failure_is_dead_lettered() {
    let bench = Bench::start();
    let cfg = bench.config(Phase::Automate, true);
    let mut processor = bench.processor(&cfg);

    // A storm shorter than the retry budget: every write lands, once.
    let event = bench.event("support-02");
    let opp = event.opportunity_id.clone();
    bench.lever.inject_write_faults(429, 3).expect("arm 429s");
    let started = Instant::now();
    transcribed(&mut processor, &event);
    assert_eq!(bench.lever.stats().faulted, 3);
    assert_eq!(bench.notes(&opp).len(), 1);
    assert_eq!(bench.lever.feedback(&opp).len(), 1);
    assert_eq!(bench.stage_moves(&opp), 1);
    assert!(
        started.elapsed() > Duration::from_millis(100),
        "back-off between tries"
    );

    // A storm longer than the client's retries is transient: the interview
    // waits on the first retry topic, nothing is written, nothing failed.
    let event = bench.event("sales-02");
    let opp = event.opportunity_id.clone();
    bench
        .lever
        .inject_write_faults(429, 1000)
        .expect("arm 429s");
    let out = processor.process(&event);
    let retry = out.retry.as_ref().expect("waits on a retry topic");
    assert_eq!(retry.attempt, 1);
    assert_eq!(retry.topic, cfg.kafka.retry_tiers()[0].topic);
    assert!(retry.error.reason.contains("429"), "{}", retry.error);
    assert!(out.dead_letter.is_none());
    assert!(bench.notes(&opp).is_empty());

    // When the retry topics are used up (here: none configured) the
    // interview fails with the step and reason, is dead-lettered, and the
    // audit log says so.
    let mut last_try = cfg.clone();
    last_try.kafka.retry_delays_s = Vec::new();
    let mut processor = bench.processor(&last_try);
    let out = processor.process(&event);
    bench.lever.inject_faults(429, 0).expect("disarm");
    assert_eq!(out.interview.outcome, Outcome::Failed, "{:#?}", out.audit);
    let reason = out.interview.failure_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("lever_note") && reason.contains("429"),
        "{reason}"
    );
    let dl = out.dead_letter.expect("dead letter");
    assert_eq!(dl.stage, "lever_note");
    assert!(
        audit_steps(&cfg, &event.interview_id).is_empty(),
        "the sink writes the audit"
    );
    assert!(out
        .audit
        .iter()
        .any(|e| e.step == "lever_note" && e.outcome == "failed"));
    assert!(bench.notes(&opp).is_empty());
    // The transcript is kept: a replay after the storm writes once.
    assert!(out.interview.transcript.is_some());
    let replay = processor.process(&event);
    assert_eq!(replay.interview.outcome, Outcome::Transcribed);
    assert_eq!(bench.notes(&opp).len(), 1);
}

#[test]
fn events_of_another_region_are_refused_before_any_fetch() {
    let bench = Bench::start();
    let cfg = bench.config(Phase::Automate, true);
    assert_eq!(cfg.pipeline.region, "us");
    let mut processor = bench.processor(&cfg);
    let mut event = bench.event("swe-03");
    event.region = Some("eu".into());
    let out = processor.process(&event);
    assert_eq!(out.interview.outcome, Outcome::Failed);
    let dl = out.dead_letter.expect("dead-lettered");
    assert_eq!(dl.stage, "residency");
    assert!(dl.reason.contains("\"eu\""), "{}", dl.reason);
    assert!(out.segments.is_empty() && out.interview.transcript.is_none());
    let steps: Vec<&str> = out.audit.iter().map(|e| e.step.as_str()).collect();
    assert_eq!(steps, vec!["residency"], "nothing else ran");
    assert!(
        bench.lever.requests().expect("requests").is_empty(),
        "not even a Lever read"
    );
    // The same event of this deployment's region goes through.
    event.region = Some("US".into());
    assert_eq!(
        processor.process(&event).interview.outcome,
        Outcome::Transcribed
    );
}
