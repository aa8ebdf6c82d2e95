//! The aggregates' human inputs from their real producers, on Tansu and the
//! Lever emulator: `panelflow poll-lever` (scorecards → ratings, stage
//! changes and archives → decisions, EEO answers → demographics, with
//! retractions when Lever changes its mind, and a crash between publishing
//! and saving the state absorbed by the aggregates), and the platforms'
//! rating webhooks (Spark Hire `InterviewRated`, Willo `new_score`) through
//! `panelflow ingest`. The aggregator then reads the topics and DuckDB finds
//! each record held once.

use crate::support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use panelflow::ingest::lever_poll::{LeverPoller, RoundStats};
use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient};
use panelflow_connectors::parquet::aggregates::Layout;
use serde_json::{json, Value};
use sha2::Sha256;

const BOT: &str = "user-panelflow-bot";
const RILEY: &str = "f923a86d-a0e6-5eec-b8ad-06a9171f5cef";
const SAM: &str = "644718dd-4672-5cb0-bdf9-d6c235339208";
const JORDAN: &str = "865c3a56-7b09-59d0-978a-2cbe50081cba";
const VIDEO_STAGE: &str = "0a259136-7f72-5edd-852c-1968e25c3818";
const ONSITE_STAGE: &str = "2260b0d3-aa09-5ab0-957e-6e1c88ae3b09";
const TEMPLATE: &str = "tpl-onsite";

fn dataset(name: &str) -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(support::datasets().join(name)).unwrap()).unwrap()
}

fn scorecard(overall: &str, communication: i64, problem_solving: i64) -> Value {
    json!({
        "baseTemplateId": TEMPLATE,
        "fieldValues": [
            {"id": "f-rating", "value": overall},
            {"id": "f-skills", "value": [{"score": communication}, {"score": problem_solving}]},
            {"id": "f-notes", "value": "Clear answers."},
        ]
    })
}

/// Sends a request to the emulator's API directly (for what the poller
/// itself never does: deleting a form, archiving).
fn lever_call(
    stack: &support::Stack,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> u16 {
    let mut req = reqwest::blocking::Client::new()
        .request(method, format!("{}{path}", stack.lever.base_url()))
        .basic_auth(support::LEVER_KEY, Some(""));
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().unwrap().status().as_u16()
}

fn round(rt: &tokio::runtime::Runtime, poller: &mut LeverPoller) -> RoundStats {
    rt.block_on(poller.round()).unwrap()
}

fn signed_post(url: &str, secret: &str, body: &Value) -> (u16, Value) {
    let raw = serde_json::to_vec(body).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&raw);
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let resp = reqwest::blocking::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("X-Panelflow-Signature", sig)
        .body(raw)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

#[test]
fn lever_poller_and_rating_webhooks_feed_the_aggregates_once() {
    let stack = support::Stack::start();
    let opps = dataset("lever_opportunities.json");
    let id = |i: usize| opps[i]["id"].as_str().unwrap().to_string();
    let contact = |i: usize| opps[i]["contact"].as_str().unwrap().to_string();
    stack
        .lever
        .add_resources("stages", dataset("lever_stages.json"))
        .unwrap();
    stack
        .lever
        .add_resources("applications", dataset("lever_applications.json"))
        .unwrap();
    stack
        .lever
        .add_resources(
            "feedback_templates",
            vec![
                json!({"id": TEMPLATE, "text": "On-site interview", "fields": [
                    {"id": "f-rating", "type": "score-system", "text": "Rating"},
                    {"id": "f-skills", "type": "scorecard", "text": "Skills",
                     "scores": [{"text": "Communication"}, {"text": "Problem solving"}]},
                    {"id": "f-notes", "type": "textarea", "text": "Notes"},
                ]}),
            ],
        )
        .unwrap();
    let client = LeverClient::new(
        &stack.lever.base_url(),
        LeverAuth::ApiKey(support::LEVER_KEY.into()),
        ClientOptions {
            limiter: Arc::new(panelflow_connectors::lever::ratelimit::TokenBucket::new(
                50.0, 50.0,
            )),
            ..ClientOptions::default()
        },
    )
    .unwrap();

    // Lever's side: two panelists' scorecards and panelflow's own on the
    // first candidate, whom a recruiter moves on; panelflow's automate phase
    // moves the second on; the third is archived; two EEO answers.
    client
        .add_feedback(&id(0), RILEY, scorecard("4 - Strong Hire", 4, 3))
        .unwrap();
    let sam_form = client
        .add_feedback(&id(0), SAM, scorecard("2 - No Hire", 2, 2))
        .unwrap();
    client
        .add_feedback(&id(0), BOT, scorecard("3 - Hire", 3, 3))
        .unwrap();
    client
        .change_stage(&id(0), ONSITE_STAGE, Some(RILEY))
        .unwrap();
    client
        .change_stage(&id(1), ONSITE_STAGE, Some(BOT))
        .unwrap();
    assert_eq!(
        lever_call(
            &stack,
            reqwest::Method::PUT,
            &format!("/opportunities/{}/archived", id(2)),
            Some(json!({"reason": "reason-not-a-fit"}))
        ),
        200
    );
    let now = chrono::Utc::now().timestamp_millis();
    stack
        .lever
        .add_resources(
            "eeo_responses",
            vec![
                json!({"id": "eeo-1", "opportunityId": id(0), "contactId": contact(0), "gender": "Female", "race": "Asian", "createdAt": now}),
                json!({"id": "eeo-2", "opportunityId": id(1), "gender": "Decline to self-identify", "race": "", "createdAt": now}),
                // An answer on an opportunity not updated lately: the poller
                // reads the opportunity for its candidate and posting.
                json!({"id": "eeo-3", "opportunityId": id(5), "gender": "Male", "race": "White", "createdAt": now}),
            ],
        )
        .unwrap();

    let mut cfg = stack.cfg.clone();
    cfg.lever.perform_as = Some(BOT.into());
    cfg.lever.trigger_stages = vec![VIDEO_STAGE.into()];
    let state = stack.dir.path().join("poll").join("state.json");
    cfg.lever_poll.state_file = Some(state.clone());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(panelflow_connectors::kafka::ensure_topics(&cfg.kafka))
        .unwrap();
    let mut poller = LeverPoller::new(&cfg, client.clone()).unwrap();

    // Round 1: 3 ratings each from Riley and Sam (none from panelflow's
    // own scorecard), 3 decisions, 3 demographics.
    let first = round(&rt, &mut poller);
    assert_eq!((first.inserted, first.retracted), (12, 0), "{first:?}");
    let ratings = support::read_topic(&cfg.kafka.brokers, &cfg.kafka.ratings_topic);
    assert_eq!(ratings.len(), 6, "{ratings:#?}");
    let reviewers: BTreeSet<&str> = ratings
        .iter()
        .filter_map(|r| r["reviewer_id"].as_str())
        .collect();
    assert_eq!(reviewers, BTreeSet::from([RILEY, SAM]));
    let riley: BTreeSet<(String, i64)> = ratings
        .iter()
        .filter(|r| r["reviewer_id"] == RILEY)
        .map(|r| {
            (
                r["competency"].as_str().unwrap().to_string(),
                r["rating"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        riley,
        BTreeSet::from([
            ("overall".into(), 4),
            ("communication".into(), 4),
            ("problem_solving".into(), 3)
        ])
    );
    for r in &ratings {
        support::schema::assert_valid("aggregates/rating.schema.json", r);
        assert_eq!(r["candidate_id"], contact(0));
        assert_eq!(r["source"], "lever_feedback");
    }
    let decisions = support::read_topic(&cfg.kafka.brokers, &cfg.kafka.decisions_topic);
    let mut by_candidate: Vec<(String, String, String)> = decisions
        .iter()
        .map(|d| {
            support::schema::assert_valid("aggregates/decision.schema.json", d);
            (
                d["candidate_id"].as_str().unwrap().to_string(),
                d["decision"].as_str().unwrap().to_string(),
                d["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    by_candidate.sort();
    let mut expected = vec![
        (contact(0), "advance".to_string(), "lever".to_string()),
        (
            contact(1),
            "advance".to_string(),
            "panelflow_triage".to_string(),
        ),
        (contact(2), "archive".to_string(), "lever".to_string()),
    ];
    expected.sort();
    assert_eq!(by_candidate, expected);
    let demographics = support::read_topic(&cfg.kafka.brokers, &cfg.kafka.demographics_topic);
    assert_eq!(demographics.len(), 3, "{demographics:?}");
    for d in &demographics {
        support::schema::assert_valid("aggregates/demographics.schema.json", d);
        assert!(
            d["posting_id"].as_str().is_some_and(|p| p != "unassigned"),
            "{d}"
        );
    }
    let candidates: BTreeSet<&str> = demographics
        .iter()
        .filter_map(|d| d["candidate_id"].as_str())
        .collect();
    assert_eq!(
        candidates,
        BTreeSet::from([
            contact(0).as_str(),
            contact(1).as_str(),
            contact(5).as_str()
        ])
    );

    // Round 2, nothing changed in Lever: nothing published.
    let second = round(&rt, &mut poller);
    assert_eq!((second.inserted, second.retracted), (0, 0), "{second:?}");

    // Lever answering 503 past the client's retries: the round fails with
    // the reason, and neither the state nor its cursor moves.
    let saved = std::fs::read(&state).unwrap();
    let impatient = LeverClient::new(
        &stack.lever.base_url(),
        LeverAuth::ApiKey(support::LEVER_KEY.into()),
        ClientOptions {
            max_attempts: 2,
            base_backoff: Duration::from_millis(20),
            limiter: Arc::new(panelflow_connectors::lever::ratelimit::TokenBucket::new(
                50.0, 50.0,
            )),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    stack.lever.inject_faults(503, 1000).unwrap();
    let failed = rt
        .block_on(LeverPoller::new(&cfg, impatient).unwrap().round())
        .unwrap_err();
    stack.lever.inject_faults(503, 0).unwrap();
    assert!(format!("{failed:#}").contains("503"), "{failed:#}");
    assert_eq!(std::fs::read(&state).unwrap(), saved);

    // Sam's scorecard is deleted and the archive undone: round 3 retracts
    // Sam's 3 ratings and the archive decision. A crash right after
    // publishing (the state file not yet replaced) makes the restarted
    // poller publish the same retractions again.
    let before_round_3 = std::fs::read(&state).unwrap();
    let sam_id = sam_form["id"].as_str().unwrap();
    assert_eq!(
        lever_call(
            &stack,
            reqwest::Method::DELETE,
            &format!("/opportunities/{}/feedback/{sam_id}", id(0)),
            None
        ),
        204
    );
    assert_eq!(
        lever_call(
            &stack,
            reqwest::Method::PUT,
            &format!("/opportunities/{}/archived", id(2)),
            Some(json!({"reason": null}))
        ),
        200
    );
    let third = round(&rt, &mut poller);
    assert_eq!((third.inserted, third.retracted), (0, 4), "{third:?}");
    std::fs::write(&state, before_round_3).unwrap();
    let mut restarted = LeverPoller::new(&cfg, client.clone()).unwrap();
    let again = round(&rt, &mut restarted);
    assert_eq!((again.inserted, again.retracted), (0, 4), "{again:?}");
    let quiet = round(&rt, &mut restarted);
    assert_eq!((quiet.inserted, quiet.retracted), (0, 0), "{quiet:?}");

    // A scorecard that does not count as an update of its opportunity (its
    // `updatedAt` stays old): the opportunity is in flight, so a later round
    // reads it again and finds the new panelist's ratings.
    client
        .add_feedback(&id(1), JORDAN, scorecard("3 - Hire", 3, 2))
        .unwrap();
    let mut unchanged = stack.lever.opportunity(&id(1)).unwrap();
    unchanged["updatedAt"] = json!(1_700_000_000_000i64);
    stack.lever.add_opportunities(vec![unchanged]).unwrap();
    let revisit = round(&rt, &mut restarted);
    assert!(revisit.revisited >= 1, "{revisit:?}");
    assert_eq!((revisit.inserted, revisit.retracted), (3, 0), "{revisit:?}");

    // A round that stopped part-way: it had noted a rating as unsettled and
    // sent it, and the scorecard was gone before the next round. The next
    // round sends the retraction, so the rating does not stay in the audits.
    let ghost: Value = json!({"diff": 1, "reviewer_id": "ghost-panelist", "candidate_id": contact(0),
        "posting_id": "unassigned", "competency": "overall", "rating": 2,
        "source": "lever_feedback", "rated_at": "2026-11-01T10:00:00+00:00"});
    let producer = panelflow_connectors::kafka::EventProducer::new(&cfg.kafka).unwrap();
    rt.block_on(producer.produce_json(&cfg.kafka.ratings_topic, &contact(0), &ghost))
        .unwrap();
    let mut saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    saved["unsettled"][format!("opp:{}", id(0))] = json!([["ratings", ghost.to_string()]]);
    std::fs::write(&state, serde_json::to_vec(&saved).unwrap()).unwrap();
    let mut after_stop = LeverPoller::new(&cfg, client.clone()).unwrap();
    let settled = round(&rt, &mut after_stop);
    assert_eq!((settled.inserted, settled.retracted), (0, 1), "{settled:?}");
    let settled_again = round(&rt, &mut after_stop);
    assert_eq!((settled_again.inserted, settled_again.retracted), (0, 0));

    // The platforms' rating webhooks, through the receiver.
    let mut rated: Value = serde_json::from_slice(
        &std::fs::read(support::datasets().join("../schemas/webhooks/sparkhire.json")).unwrap(),
    )
    .unwrap();
    rated["event"] = json!("InterviewRated");
    rated["created_at"] = json!(chrono::Utc::now().to_rfc3339());
    rated["data"]["ratings"] = json!([{"user_uuid": "sh-evaluator-1", "rating": 5}]);
    let (status, body) = signed_post(
        &format!("{}/webhooks/sparkhire", stack.ingest_url),
        support::SPARKHIRE_SECRET,
        &rated,
    );
    assert_eq!((status, &body["ratings"]), (202, &json!(1)), "{body}");
    let mut scored: Value = serde_json::from_slice(
        &std::fs::read(support::datasets().join("../schemas/webhooks/willo.json")).unwrap(),
    )
    .unwrap();
    scored["trigger"] = json!("new_score");
    scored["timestamp"] = json!(chrono::Utc::now().to_rfc3339());
    scored["data"]["scores"] = json!([
        {"user": {"key": "willo-rev-1"}, "score": 4, "criterion": "Empathy"},
        {"user": {"key": "willo-rev-2"}, "score": 2, "criterion": "Empathy"},
    ]);
    let (status, body) = signed_post(
        &format!("{}/webhooks/willo", stack.ingest_url),
        support::WILLO_SECRET,
        &scored,
    );
    assert_eq!((status, &body["ratings"]), (202, &json!(2)), "{body}");
    // A rating off the scale is refused and publishes nothing.
    scored["data"]["scores"] = json!([{"user": {"key": "willo-rev-3"}, "score": 11}]);
    let (status, _) = signed_post(
        &format!("{}/webhooks/willo", stack.ingest_url),
        support::WILLO_SECRET,
        &scored,
    );
    assert_eq!(status, 400);

    // The aggregator over the topics: the repeated retractions are dropped,
    // and DuckDB finds exactly what Lever and the platforms hold now.
    let mut agg = panelflow::aggregates::runner::RunnerConfig::default();
    agg.kafka.brokers = cfg.kafka.brokers.clone();
    agg.output.dir = stack.dir.path().join("aggregates");
    agg.output.durable = false;
    let stats =
        panelflow::aggregates::runner::run(&agg, 1, true, Some(Duration::from_secs(120))).unwrap();
    assert_eq!(
        stats.redelivered.load(std::sync::atomic::Ordering::Relaxed),
        4
    );
    let layout = Layout::new(&agg.output.dir);
    let held = support::duckdb_json(&format!(
        "select reviewer_id, source, sum(diff) as n from read_parquet('{}') group by all having sum(diff) <> 0 order by all",
        layout.input_glob("ratings")
    ));
    assert_eq!(
        held,
        vec![
            json!({"reviewer_id": JORDAN, "source": "lever_feedback", "n": 3}),
            json!({"reviewer_id": RILEY, "source": "lever_feedback", "n": 3}),
            json!({"reviewer_id": "sh-evaluator-1", "source": "sparkhire", "n": 1}),
            json!({"reviewer_id": "willo-rev-1", "source": "willo", "n": 1}),
            json!({"reviewer_id": "willo-rev-2", "source": "willo", "n": 1}),
        ]
    );
    let decided = support::duckdb_json(&format!(
        "select decision, source, sum(diff) as n from read_parquet('{}') group by all having sum(diff) <> 0 order by all",
        layout.input_glob("decisions")
    ));
    assert_eq!(
        decided,
        vec![
            json!({"decision": "advance", "source": "lever", "n": 1}),
            json!({"decision": "advance", "source": "panelflow_triage", "n": 1}),
        ]
    );
    let calibration = support::duckdb_json(&format!(
        "select reviewer_id, ratings from read_parquet('{}') where scope_kind = 'all' order by reviewer_id",
        layout.snapshot_file("reviewer_calibration").display()
    ));
    assert!(
        calibration.contains(&json!({"reviewer_id": RILEY, "ratings": 3})),
        "{calibration:?}"
    );
    assert!(
        !calibration.iter().any(|r| r["reviewer_id"] == SAM),
        "{calibration:?}"
    );
}
