//! Every interview source against the real parts: for each of `lever`,
//! `generic`, `willo`, `sparkhire`, `hirevue` and `hireflix`, its sample
//! payload from `schemas/webhooks/` goes through `panelflow ingest` to a Tansu
//! broker and is read back with rdkafka: valid → one event with the right
//! media list; bad signature → 401; malformed → 400; an event the source does
//! not act on → 204 (and a counter); the same delivery twice → the same
//! interview id and correlation id on both records, so the dataflow (keyed by
//! interview id) writes one row and one note.
//!
//! The last test runs a Willo multi-answer interview through `panelflow run`
//! (two timely workers, Moonshine on ONNX Runtime, Parquet read back by
//! DuckDB) and checks that the summary's answers each carry their question id.
//!
//! Needs the set-up (`bash scripts/setup.sh`): the Tansu binary, the speech
//! model, and the virtualenv's DuckDB.

#![allow(clippy::result_large_err)]

use crate::support;

use support::ingest_server::InProcessIngest;
use support::schema::{assert_valid, invalid};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use panelflow::config::PipelineConfig;
use panelflow_core::event::InterviewCompleted;
use panelflow_core::webhook::provider::sign_base64_body;
use panelflow_core::webhook::signature::{sign_body, sign_lever};
use panelflow_devkit::broker::Broker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{json, Value};

const SECRETS: [(&str, &str); 6] = [
    ("lever", "lever-signature-token-sources"),
    ("generic", "generic-secret-sources"),
    ("willo", "willo-shared-secret-3b9f1c0e7a"),
    ("sparkhire", "sparkhire-shared-secret-8d2e4f6a1b"),
    ("hirevue", "hirevue-shared-secret-5c7d9e1f3a"),
    ("hireflix", "hireflix-webhook-secret-key"),
];

fn secret(source: &str) -> &'static str {
    SECRETS
        .iter()
        .find(|(s, _)| *s == source)
        .map(|(_, k)| *k)
        .unwrap()
}

// ---------------------------------------------------------------------------
// the receiver and the topic

/// The receiver's config: replay store under `state`, Lever deliveries
/// checked against the emulator at `lever_url`, path tokens allowed for the
/// platforms that publish no signature scheme.
fn config(bootstrap: &str, state: &Path, lever_url: &str) -> PipelineConfig {
    let mut cfg = PipelineConfig::default();
    cfg.kafka.brokers = bootstrap.to_string();
    cfg.kafka.partitions = 2;
    for (s, k) in SECRETS {
        cfg.ingest.secrets.insert(s.into(), k.into());
    }
    cfg.ingest.state_dir = state.to_path_buf();
    cfg.ingest.path_token_sources = vec!["willo".into(), "sparkhire".into(), "hirevue".into()];
    cfg.lever.base_url = lever_url.to_string();
    cfg.lever.trigger_stages = vec!["stage-video-complete".into()];
    // The binary's one value of each: race-free.
    unsafe {
        std::env::set_var(&cfg.ingest.health_token_env, crate::ingest::HEALTH_TOKEN);
        std::env::set_var(&cfg.lever.api_key_env, support::LEVER_KEY);
    }
    cfg
}

/// `/healthz` with its details.
async fn health(base: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .bearer_auth(crate::ingest::HEALTH_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null)
}

/// The receiver, ready when its broker holds the topic.
async fn start_ingest(cfg: PipelineConfig) -> InProcessIngest {
    InProcessIngest::start(cfg, |base| async move {
        health(&base).await["broker"]["topicPresent"] == true
    })
    .await
}

async fn post(url: &str, body: &[u8], headers: &[(&str, String)]) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Every message of the topic: (key, partition, event, raw JSON).
fn read_topic(bootstrap: &str, topic: &str) -> Vec<(String, i32, InterviewCompleted, Value)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("sources-reader-{}", uuid::Uuid::new_v4()),
        )
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut expected = 0;
    for p in md.topics()[0].partitions() {
        let (lo, hi) = consumer
            .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
            .unwrap();
        expected += hi - lo;
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (out.len() as i64) < expected {
        assert!(
            Instant::now() < deadline,
            "read {} of {expected}",
            out.len()
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let raw: Value = serde_json::from_slice(m.payload().unwrap_or_default()).unwrap();
            let key = String::from_utf8(m.key().unwrap_or_default().to_vec()).unwrap();
            out.push((
                key,
                m.partition(),
                serde_json::from_value(raw.clone()).unwrap(),
                raw,
            ));
        }
    }
    out
}

fn sample(source: &str) -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/webhooks/{source}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339()
}

// ---------------------------------------------------------------------------
// one case per source

/// How a delivery is authenticated.
#[derive(Clone, Copy, Debug)]
enum Auth {
    /// The source's own scheme, or the shared-secret HMAC header.
    Signed,
    /// `/webhooks/<source>/<secret>`.
    PathToken,
    /// A wrong signature (or token).
    Forged,
}

struct Case {
    source: &'static str,
    /// A valid body (fresh timestamps).
    valid: Value,
    /// A well-authenticated body the source does not act on.
    ignored: Value,
    /// A well-authenticated but malformed body, and a word of the 400's reason.
    malformed: (Value, &'static str),
    /// `(url, question id)` expected on the topic, in order.
    media: Vec<(String, Option<String>)>,
    /// The interview id expected.
    interview_id: String,
    /// Whether the source takes a secret path token.
    path_token: bool,
}

/// Body and headers (and path suffix) for a delivery of `body`.
fn deliver(
    source: &str,
    body: &Value,
    auth: Auth,
) -> (Vec<u8>, Vec<(&'static str, String)>, String) {
    let key = secret(source).as_bytes();
    let wrong = b"not-the-secret".as_slice();
    let k = if matches!(auth, Auth::Forged) {
        wrong
    } else {
        key
    };
    match source {
        "lever" => {
            // Lever signs token + triggeredAt inside the body.
            let mut v = body.clone();
            let token = v["token"].as_str().unwrap().to_string();
            let at = v["triggeredAt"].to_string();
            v["signature"] = json!(sign_lever(&token, &at, k));
            (serde_json::to_vec(&v).unwrap(), vec![], String::new())
        }
        "hireflix" => {
            let raw = serde_json::to_vec(body).unwrap();
            let sig = sign_base64_body(&raw, k);
            (raw, vec![("x-hireflix-signature", sig)], String::new())
        }
        _ => {
            let raw = serde_json::to_vec(body).unwrap();
            match auth {
                Auth::PathToken => (raw, vec![], format!("/{}", secret(source))),
                Auth::Forged if source != "generic" => {
                    // A wrong path token for the shared-secret sources.
                    (raw, vec![], "/not-the-secret".to_string())
                }
                _ => {
                    let sig = sign_body(&raw, k);
                    (raw, vec![("x-panelflow-signature", sig)], String::new())
                }
            }
        }
    }
}

async fn run_case(case: Case) {
    let tmp = tempfile::tempdir().unwrap();
    let broker = tokio::task::block_in_place(|| Broker::start(tmp.path(), None))
        .expect("Tansu broker (run bash scripts/setup.sh)");
    // Lever's deliveries are checked against Lever: the sample's opportunity.
    let lever_sample = sample("lever");
    let emu = tokio::task::block_in_place(|| {
        crate::ingest::lever_with(
            &tmp.path().join("lever"),
            &[(
                lever_sample["data"]["opportunityId"].as_str().unwrap(),
                lever_sample["data"]["contactId"].as_str().unwrap(),
            )],
        )
    });
    let cfg = config(
        &broker.bootstrap(),
        &tmp.path().join("ingest"),
        &emu.base_url(),
    );
    let topic = cfg.kafka.topic.clone();
    let ingest = start_ingest(cfg).await;
    let url = |suffix: &str| format!("{}/webhooks/{}{suffix}", ingest.base, case.source);
    let src = case.source;

    // The sample and its normalized event follow their schemas.
    assert_valid(&format!("webhook_{src}.schema.json"), &case.valid);

    // 1. Valid → 202.
    let (body, headers, suffix) = deliver(src, &case.valid, Auth::Signed);
    let (status, reply) = post(&url(&suffix), &body, &headers).await;
    assert_eq!(status, 202, "{src}: {reply}");
    assert_eq!(reply["interviewId"], case.interview_id.as_str(), "{src}");

    // 2. The same delivery again (by path token where the source takes one)
    //    → 200 "duplicate", nothing produced again: the replay store knows it.
    let auth = if case.path_token {
        Auth::PathToken
    } else {
        Auth::Signed
    };
    let (body, headers, suffix) = deliver(src, &case.valid, auth);
    let (status, reply) = post(&url(&suffix), &body, &headers).await;
    assert_eq!(status, 200, "{src} duplicate ({auth:?}): {reply}");
    assert_eq!(reply["status"], "duplicate", "{src}");

    // 3. Bad signature → 401, whatever the body.
    let (body, headers, suffix) = deliver(src, &case.valid, Auth::Forged);
    let (status, reply) = post(&url(&suffix), &body, &headers).await;
    assert_eq!(status, 401, "{src} forged: {reply}");
    if case.path_token {
        // No signature and no token at all.
        let raw = serde_json::to_vec(&case.valid).unwrap();
        let (status, _) = post(&url(""), &raw, &[]).await;
        assert_eq!(status, 401, "{src} unsigned");
    }

    // 4. Malformed → 400 with the reason.
    let (bad, word) = &case.malformed;
    let (body, headers, suffix) = deliver(src, bad, Auth::Signed);
    let (status, reply) = post(&url(&suffix), &body, &headers).await;
    assert_eq!(status, 400, "{src} malformed: {reply}");
    assert!(
        reply["error"].as_str().unwrap_or_default().contains(word),
        "{src}: {reply}"
    );

    // 5. Not acted on → 204, counted per event.
    let (body, headers, suffix) = deliver(src, &case.ignored, Auth::Signed);
    let (status, reply) = post(&url(&suffix), &body, &headers).await;
    assert_eq!(status, 204, "{src} ignored: {reply}");
    let health = health(&ingest.base).await;
    let counters = &health["counters"];
    assert_eq!(counters["accepted"], 1, "{src}: {health}");
    assert_eq!(counters["duplicate"], 1, "{src}: {health}");
    assert_eq!(
        counters["unauthorized"],
        if case.path_token { 2 } else { 1 },
        "{src}: {health}"
    );
    assert_eq!(counters["malformed"], 1, "{src}: {health}");
    assert_eq!(counters["ignored"], 1, "{src}: {health}");
    let per_event = counters["ignoredEvents"].as_object().unwrap();
    assert!(
        per_event.keys().any(|k| k.starts_with(&format!("{src}/"))),
        "{src}: {health}"
    );

    // On the topic: the one accepted delivery.
    let (b, t) = (broker.bootstrap(), topic.clone());
    let records = tokio::task::spawn_blocking(move || read_topic(&b, &t))
        .await
        .unwrap();
    assert_eq!(records.len(), 1, "{src}: {records:?}");
    for (key, _, event, raw) in &records {
        assert_valid("interview_completed.schema.json", raw);
        // Keyed by opportunity (one writer per opportunity downstream).
        assert_eq!(key, &event.opportunity_id, "{src}");
        assert_eq!(event.interview_id, case.interview_id, "{src}");
        assert_eq!(event.source, src);
        let media: Vec<(String, Option<String>)> = event
            .media
            .iter()
            .map(|m| (m.url.clone(), m.question_id.clone()))
            .collect();
        assert_eq!(media, case.media, "{src}: media list");
        assert_eq!(event.payload_sha256.len(), 64);
    }
    let ids: std::collections::BTreeSet<(&str, &str)> = records
        .iter()
        .map(|(_, _, e, _)| (e.interview_id.as_str(), e.correlation_id.as_str()))
        .collect();
    assert_eq!(ids.len(), 1, "{src}: {ids:?}");
    ingest.stop().await;
    drop(emu);
}

fn lever_case() -> Case {
    let mut valid = sample("lever");
    valid["event"] = json!("interviewCreated");
    valid["triggeredAt"] = json!(chrono::Utc::now().timestamp_millis());
    valid["data"]["interviewId"] = json!("lever-int-7781");
    let mut ignored = valid.clone();
    // A stage change into a stage that is not configured to trigger analysis.
    ignored["event"] = json!("candidateStageChange");
    ignored["data"]["toStageId"] = json!("offer");
    let mut malformed = valid.clone();
    malformed["data"]
        .as_object_mut()
        .unwrap()
        .remove("opportunityId");
    Case {
        source: "lever",
        interview_id: "lever:lever-int-7781".into(),
        media: vec![], // Lever's events carry none: the context stage finds the recording.
        valid,
        ignored,
        malformed: (malformed, "opportunityId"),
        path_token: false,
    }
}

fn generic_case() -> Case {
    let mut valid = sample("generic");
    valid["timestamp"] = json!(chrono::Utc::now().timestamp_millis());
    let url = valid["data"]["mediaUrl"].as_str().unwrap().to_string();
    let mut ignored = valid.clone();
    ignored["event"] = json!("interviewStarted");
    let mut malformed = valid.clone();
    malformed["data"]["mediaUrl"] = json!("ftp://media.example.com/x.mp4");
    Case {
        source: "generic",
        interview_id: valid["data"]["interviewId"].as_str().unwrap().into(),
        media: vec![(url, None)],
        valid,
        ignored,
        malformed: (malformed, "http(s)"),
        path_token: false,
    }
}

fn willo_case() -> Case {
    let mut valid = sample("willo");
    valid["timestamp"] = json!(now_rfc3339());
    let media = valid["data"]["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["media_url"].as_str().unwrap().to_string(),
                r["question"]["key"].as_str().map(str::to_string),
            )
        })
        .collect();
    let mut ignored = valid.clone();
    ignored["trigger"] = json!("stage_change");
    let mut malformed = valid.clone();
    malformed["data"]["metadata"] = json!({"note": "no Lever ids"});
    Case {
        source: "willo",
        interview_id: format!("willo:{}", valid["data"]["key"].as_str().unwrap()),
        media,
        valid,
        ignored,
        malformed: (malformed, "Lever opportunity id"),
        path_token: true,
    }
}

fn sparkhire_case() -> Case {
    let mut valid = sample("sparkhire");
    valid["created_at"] = json!(now_rfc3339());
    let mut qs: Vec<&Value> = valid["data"]["questions"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    qs.sort_by_key(|q| q["position"].as_i64());
    let media = qs
        .iter()
        .map(|q| {
            (
                q["response"]["video_url"].as_str().unwrap().to_string(),
                q["uuid"].as_str().map(str::to_string),
            )
        })
        .collect();
    let mut ignored = valid.clone();
    ignored["event"] = json!("InterviewExpired");
    let mut malformed = valid.clone();
    malformed["data"]["questions"] = json!("three videos");
    Case {
        source: "sparkhire",
        interview_id: format!("sparkhire:{}", valid["data"]["uuid"].as_str().unwrap()),
        media,
        valid,
        ignored,
        malformed: (malformed, "must be an array"),
        path_token: true,
    }
}

fn hirevue_case() -> Case {
    let mut valid = sample("hirevue");
    valid["eventTime"] = json!(now_rfc3339());
    let media = valid["details"]["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["videoUrl"].as_str().unwrap().to_string(),
                r["questionId"].as_str().map(str::to_string),
            )
        })
        .collect();
    let mut ignored = valid.clone();
    ignored["event"] = json!("interviewScheduled");
    let mut malformed = valid.clone();
    malformed["details"]
        .as_object_mut()
        .unwrap()
        .remove("interviewId");
    Case {
        source: "hirevue",
        interview_id: format!(
            "hirevue:{}",
            valid["details"]["interviewId"].as_str().unwrap()
        ),
        media,
        valid,
        ignored,
        malformed: (malformed, "details.interviewId"),
        path_token: true,
    }
}

fn hireflix_case() -> Case {
    let valid = sample("hireflix");
    let media = valid["data"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let id = s["id"].as_str().map(str::to_string);
            s["answers"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |a| (a["url"]["mp4"].as_str().unwrap().to_string(), id.clone()))
        })
        .collect();
    let mut ignored = valid.clone();
    ignored["event"] = json!("interview.score-updated");
    let mut malformed = valid.clone();
    malformed["data"]["steps"][0]["answers"][0]["url"] = json!(42);
    Case {
        source: "hireflix",
        interview_id: format!("hireflix:{}", valid["data"]["id"].as_str().unwrap()),
        media,
        valid,
        ignored,
        malformed: (malformed, "answers[0].url"),
        path_token: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lever_source_on_tansu() {
    run_case(lever_case()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_source_on_tansu() {
    run_case(generic_case()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn willo_source_on_tansu() {
    run_case(willo_case()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sparkhire_source_on_tansu() {
    run_case(sparkhire_case()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hirevue_source_on_tansu() {
    run_case(hirevue_case()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hireflix_source_on_tansu() {
    run_case(hireflix_case()).await;
}

/// The samples, their schemas and the normalized events agree, and the
/// schemas refuse what the parsers refuse.
#[test]
fn samples_follow_their_schemas() {
    let now = chrono::Utc::now();
    for case in [
        lever_case(),
        generic_case(),
        willo_case(),
        sparkhire_case(),
        hirevue_case(),
        hireflix_case(),
    ] {
        let src = case.source;
        assert_valid(&format!("webhook_{src}.schema.json"), &sample(src));
        let (body, _, _) = deliver(src, &case.valid, Auth::Signed);
        let verdict = match src {
            "lever" => {
                panelflow_core::webhook::lever::parse(&body, secret(src).as_bytes(), 300, now)
            }
            "generic" => panelflow_core::webhook::generic::parse(
                &body,
                Some(&sign_body(&body, secret(src).as_bytes())),
                secret(src).as_bytes(),
                300,
                now,
            ),
            "willo" => panelflow_core::webhook::willo::parse(&body, 300, now),
            "sparkhire" => panelflow_core::webhook::sparkhire::parse(&body, 300, now),
            "hirevue" => panelflow_core::webhook::hirevue::parse(&body, 300, now),
            "hireflix" => panelflow_core::webhook::hireflix::parse(&body, now),
            _ => unreachable!(),
        };
        let panelflow_core::webhook::Verdict::Accept(e) =
            verdict.unwrap_or_else(|e| panic!("{src}: {e}"))
        else {
            panic!("{src}: sample not accepted")
        };
        assert_valid(
            "interview_completed.schema.json",
            &serde_json::to_value(&e).unwrap(),
        );
    }
    // Payloads without Lever ids are refused by schema and parser alike.
    let mut w = sample("willo");
    w["data"].as_object_mut().unwrap().remove("metadata");
    assert!(invalid("webhook_willo.schema.json", &w));
    let mut h = sample("hireflix");
    h["data"].as_object_mut().unwrap().remove("externalId");
    assert!(invalid("webhook_hireflix.schema.json", &h));
    let mut s = sample("sparkhire");
    s["data"]["questions"] = json!([]);
    assert!(invalid("webhook_sparkhire.schema.json", &s));
    let mut g = sample("generic");
    g["data"].as_object_mut().unwrap().remove("mediaUrl");
    assert!(invalid("webhook_generic.schema.json", &g));
    g["data"]["emailBody"] = json!("recording: https://acme.zoom.us/rec/share/abc");
    assert_valid("webhook_generic.schema.json", &g);
}

// ---------------------------------------------------------------------------
// a Willo interview through `panelflow run`

/// A Willo-style interview (one video per answered question, from
/// `datasets/interviews/support-02/q*.webm`) delivered twice through the
/// Willo webhook, then `panelflow run` with two workers: one Parquet row,
/// one Lever note, and a summary whose answers each carry their question id
/// with a transcript of that answer.
#[test]
fn willo_multi_answer_interview_runs_to_one_summary_with_question_ids() {
    let stack = support::Stack::start();
    let it = support::interview("support-02");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(support::datasets().join("manifest.json")).unwrap(),
    )
    .unwrap();
    let entry = manifest["interviews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["interview_id"] == "support-02")
        .unwrap();
    let question_text = |qid: &str| {
        entry["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == qid)
            .and_then(|q| q["text"].as_str())
            .map(str::to_string)
    };
    let responses: Vec<Value> = it
        .media
        .iter()
        .enumerate()
        .map(|(i, (path, qid, _))| {
            let qid = qid
                .clone()
                .expect("support-02 has per-answer media with question ids");
            json!({
                "key": format!("rsp_{i}"),
                "question": {"key": qid, "text": question_text(&qid)},
                "media_url": stack.media.url(path),
                "media_expires_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(),
            })
        })
        .collect();
    assert!(responses.len() >= 3, "{responses:?}");
    let body = json!({
        "trigger": "new_response",
        "timestamp": now_rfc3339(),
        "data": {
            "key": "ptc_support02",
            "interview": {"key": "int_support", "title": "Customer Support Specialist"},
            "metadata": {"lever_opportunity_id": it.opportunity_id, "lever_contact_id": it.candidate_id},
            "responses": responses,
        }
    });

    // A receiver of our own on the stack's broker, with the Willo secret.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut cfg = stack.cfg.clone();
    cfg.ingest
        .secrets
        .insert("willo".into(), secret("willo").into());
    cfg.ingest.path_token_sources = vec!["willo".into()];
    unsafe { std::env::set_var(&cfg.ingest.health_token_env, crate::ingest::HEALTH_TOKEN) };
    let ingest = rt.block_on(start_ingest(cfg));
    let raw = serde_json::to_vec(&body).unwrap();
    // Delivered twice: the second (the same body, by path token) is known
    // to the replay store and not produced again.
    for (auth, expected) in [(Auth::Signed, 202), (Auth::PathToken, 200)] {
        let (b, headers, suffix) = deliver("willo", &body, auth);
        assert_eq!(b, raw);
        let (status, reply) = rt.block_on(post(
            &format!("{}/webhooks/willo{suffix}", ingest.base),
            &b,
            &headers,
        ));
        assert_eq!(status, expected, "{reply}");
    }

    let run = stack.run(&stack.cfg, 2);
    run.wait(Duration::from_secs(600), |_| run.processed() >= 1);
    let transcribed = run.stats.transcribed.load(Ordering::Relaxed);
    run.stop();
    // Any message a consumer-group rebalance between the two workers hands
    // out again is skipped as a duplicate; the interview is processed once.
    assert_eq!(transcribed, 1, "one interview");

    let rows = stack.duckdb(
        "select interview_id, pipeline_version, source, outcome, failure_reason, media_count, summary_json from {interviews}",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    // PII at rest: the summary is sealed on disk; open it as the crate does.
    let mut rows = rows;
    let keys = panelflow_connectors::store::crypto::PiiKeys::load(&stack.cfg.governance).unwrap();
    panelflow_connectors::store::crypto::decrypt_json_row(
        &keys,
        "interviews",
        rows[0].as_object_mut().unwrap(),
    )
    .unwrap();
    let row = &rows[0];
    assert_eq!(row["interview_id"], "willo:ptc_support02");
    assert_eq!(row["source"], "willo");
    assert_eq!(row["outcome"], "transcribed", "{row}");
    assert_eq!(row["media_count"].as_i64(), Some(it.media.len() as i64));
    let summary: Value = serde_json::from_str(row["summary_json"].as_str().unwrap()).unwrap();
    let answers = summary["answers"].as_array().unwrap();
    let expected: Vec<String> = it.media.iter().filter_map(|(_, q, _)| q.clone()).collect();
    let got: Vec<String> = answers
        .iter()
        .filter_map(|a| a["question_id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        got, expected,
        "every answer carries its question id, in order"
    );
    let mut per_answer: BTreeMap<String, String> = BTreeMap::new();
    for a in answers {
        let text = a["text"].as_str().unwrap_or_default().to_string();
        assert!(
            text.split_whitespace().count() >= 5,
            "answer {} has a transcript: {text:?}",
            a["question_id"]
        );
        assert!(
            a["question"].as_str().is_some_and(|q| !q.is_empty()),
            "question text kept: {a}"
        );
        per_answer.insert(a["question_id"].as_str().unwrap().to_string(), text);
    }
    // Each answer's transcript is its own recording's (word error rate per answer).
    for ans in entry["answers"].as_array().unwrap() {
        let qid = ans["question_id"].as_str().unwrap();
        let reference = ans["reference_text"].as_str().unwrap();
        let error = panelflow_models::analysis::wer::wer(reference, &per_answer[qid]);
        assert!(error < 0.35, "{qid}: WER {error:.2}: {}", per_answer[qid]);
    }
    // Segments are joined to their question.
    let segs = stack.duckdb("select distinct question_id from {segments} order by question_id");
    assert_eq!(segs.len(), expected.len(), "{segs:?}");
    // One private note on the opportunity, whatever the redelivery.
    let notes = stack.lever.notes(&it.opportunity_id);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(stack.uncommitted(&stack.cfg.kafka.group_id), 0);
    rt.block_on(ingest.stop());
}
