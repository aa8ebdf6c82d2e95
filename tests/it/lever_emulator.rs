//! The Lever client, note sink and emulator against each other over real
//! HTTP on 127.0.0.1. Every emulator is stopped when its handle drops at the
//! end of its test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use panelflow::writeback::note::{correlation_marker, LeverNoteSink};
use panelflow_connectors::lever::client::{
    ClientOptions, LeverAuth, LeverClient, LeverError, NoteOutcome,
};
use panelflow_connectors::lever::ratelimit::TokenBucket;
use panelflow_devkit::emulator::{spawn, EmulatorConfig, EmulatorHandle};
use serde_json::{json, Value};

const KEY: &str = "emulator-test-key";

fn config(dir: &std::path::Path) -> EmulatorConfig {
    EmulatorConfig {
        data_dir: dir.to_path_buf(),
        api_key: KEY.into(),
        rate_per_s: 10.0,
        burst: 20.0,
    }
}

/// An emulator whose rate limit does not slow tests that are not about it.
fn fast_config(dir: &std::path::Path) -> EmulatorConfig {
    EmulatorConfig {
        rate_per_s: 10_000.0,
        burst: 10_000.0,
        ..config(dir)
    }
}

fn opportunity(id: &str) -> Value {
    json!({
        "id": id,
        "name": "Ada Lovelace",
        "contact": "contact-1",
        "links": ["https://example.com/ada"],
        "tags": ["referral"],
        "stage": "lead-new",
    })
}

fn client_with(emu: &EmulatorHandle, opts: ClientOptions) -> LeverClient {
    LeverClient::new(&emu.base_url(), LeverAuth::ApiKey(KEY.into()), opts).expect("client")
}

/// A client whose own limiter is out of the way and whose back-off is short.
fn fast_client(emu: &EmulatorHandle) -> LeverClient {
    client_with(
        emu,
        ClientOptions {
            limiter: Arc::new(TokenBucket::new(10_000.0, 10_000.0)),
            base_backoff: Duration::from_millis(10),
            max_attempts: 4,
            timeout: Duration::from_secs(10),
            ..ClientOptions::default()
        },
    )
}

fn raw_http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

#[test]
fn wrong_or_missing_key_is_refused_with_401() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = spawn(fast_config(dir.path())).expect("emulator");
    emu.add_opportunities(vec![opportunity("opp-1")])
        .expect("seed");

    let wrong = LeverClient::new(
        &emu.base_url(),
        LeverAuth::ApiKey("not-the-key".into()),
        ClientOptions {
            max_attempts: 3,
            ..ClientOptions::default()
        },
    )
    .expect("client");
    match wrong.get_opportunity("opp-1") {
        Err(LeverError::Status {
            status: 401,
            ref path,
            ref body,
            ..
        }) => {
            assert_eq!(path, "/opportunities/opp-1");
            assert!(body.contains("UnauthorizedError"), "{body}");
        }
        other => panic!("expected 401, got {other:?}"),
    }

    let http = raw_http();
    let url = format!("{}/opportunities/opp-1", emu.base_url());
    let none = http.get(&url).send().expect("request");
    assert_eq!(none.status().as_u16(), 401);
    assert!(none.headers().contains_key("www-authenticate"));
    let bearer_wrong = http.get(&url).bearer_auth("nope").send().expect("request");
    assert_eq!(bearer_wrong.status().as_u16(), 401);

    // The right key works, as Basic (key as user, empty password) or Bearer.
    let good = fast_client(&emu)
        .get_opportunity("opp-1")
        .expect("opportunity");
    assert_eq!(good["name"], "Ada Lovelace");
    let bearer = LeverClient::new(
        &emu.base_url(),
        LeverAuth::Bearer(KEY.into()),
        ClientOptions::default(),
    )
    .expect("client")
    .get_opportunity("opp-1")
    .expect("bearer works");
    assert_eq!(bearer["id"], "opp-1");

    // Refused requests are not recorded; accepted ones are, without the key.
    let recorded = emu.requests().expect("requests");
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert!(recorded
        .iter()
        .all(|r| r.status == 200 && !r.auth_user.contains(KEY)));
    assert_eq!(emu.stats().unauthorized, 3);
}

#[test]
fn unknown_opportunity_is_404_in_lever_shape_and_not_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = spawn(fast_config(dir.path())).expect("emulator");
    let client = fast_client(&emu);
    match client.get_opportunity("missing") {
        Err(LeverError::Status {
            status: 404, body, ..
        }) => {
            let v: Value = serde_json::from_str(&body).expect("JSON error body");
            assert_eq!(v["code"], "ResourceNotFound");
            assert!(v["message"].as_str().is_some_and(|m| m.contains("missing")));
        }
        other => panic!("expected 404, got {other:?}"),
    }
    assert!(matches!(
        client.add_note("missing", "x", true, None),
        Err(LeverError::Status { status: 404, .. })
    ));
    assert_eq!(
        emu.requests().expect("requests").len(),
        2,
        "a 404 is answered once, never retried"
    );
}

#[test]
fn paging_over_more_than_100_notes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = spawn(fast_config(dir.path())).expect("emulator");
    emu.add_opportunities(vec![opportunity("opp-p")])
        .expect("seed");
    let client = fast_client(&emu);
    for i in 0..157 {
        client
            .add_note(
                "opp-p",
                &format!("note number {i}"),
                i % 2 == 0,
                Some("user-7"),
            )
            .expect("add note");
    }
    let notes = client.list_notes("opp-p").expect("list notes");
    assert_eq!(notes.len(), 157);
    for (i, n) in notes.iter().enumerate() {
        assert_eq!(n.value_text, format!("note number {i}"));
    }
    let mut ids: Vec<&str> = notes.iter().map(|n| n.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 157, "note ids are unique");

    // Two pages were fetched, the second with the first page's `next` token.
    let gets: Vec<_> = emu
        .requests()
        .expect("requests")
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/v1/opportunities/opp-p/notes")
        .collect();
    assert_eq!(gets.len(), 2);
    assert!(!gets[0].query.contains_key("offset"));
    assert!(gets[1].query.contains_key("offset"));

    // The raw envelope, as Lever documents it.
    let http = raw_http();
    let page: Value = http
        .get(format!(
            "{}/opportunities/opp-p/notes?limit=100",
            emu.base_url()
        ))
        .basic_auth(KEY, Some(""))
        .send()
        .expect("request")
        .json()
        .expect("json");
    assert_eq!(page["data"].as_array().map(Vec::len), Some(100));
    assert_eq!(page["hasNext"], true);
    let next = page["next"].as_str().expect("next token");
    let last: Value = http
        .get(format!("{}/opportunities/opp-p/notes", emu.base_url()))
        .query(&[("offset", next)])
        .basic_auth(KEY, Some(""))
        .send()
        .expect("request")
        .json()
        .expect("json");
    assert_eq!(last["data"].as_array().map(Vec::len), Some(57));
    assert_eq!(last["hasNext"], false);
    let stored = &last["data"][0];
    assert_eq!(stored["fields"][0]["type"], "text");
    assert_eq!(stored["fields"][0]["value"], "note number 100");
    assert_eq!(stored["user"], "user-7");
    assert_eq!(stored["secret"], true);
}

#[test]
fn a_burst_beyond_20_gets_429_but_the_limited_client_never_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = spawn(config(dir.path())).expect("emulator"); // Lever's 10 req/s, burst 20
    emu.add_opportunities(vec![opportunity("opp-r")])
        .expect("seed");

    // Raw HTTP that ignores the limit: 40 requests as fast as possible.
    let http = raw_http();
    let url = format!("{}/opportunities/opp-r", emu.base_url());
    let mut ok = 0;
    let mut limited = 0;
    let mut retry_after = None;
    let burst_started = Instant::now();
    for _ in 0..40 {
        let resp = http
            .get(&url)
            .basic_auth(KEY, Some(""))
            .send()
            .expect("request");
        match resp.status().as_u16() {
            200 => ok += 1,
            429 => {
                limited += 1;
                retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body: Value = resp.json().expect("json");
                assert_eq!(body["code"], "TooManyRequests");
            }
            s => panic!("unexpected status {s}"),
        }
    }
    assert!(limited > 0, "a burst of 40 must hit the limit (ok={ok})");
    // The burst passes, plus what refilled meanwhile (10/s, 50 ms of slack).
    let refilled = (burst_started.elapsed().as_secs_f64() * 10.0 + 0.5).floor() as u64;
    assert!(
        ok >= 20 && ok <= 20 + refilled,
        "ok={ok}, refilled={refilled}"
    );
    let secs: u64 = retry_after
        .expect("Retry-After on 429")
        .parse()
        .expect("whole seconds");
    assert!(secs >= 1);
    assert_eq!(emu.stats().rate_limited, limited);

    // Let the emulator's bucket fill up again, then go through the client
    // with the shared limiter at Lever's documented rate: 60 requests, no 429.
    std::thread::sleep(Duration::from_millis(2100));
    let before = emu.stats();
    let limiter = Arc::new(TokenBucket::lever_default());
    let opts = ClientOptions {
        limiter: Arc::clone(&limiter),
        max_attempts: 1,
        ..ClientOptions::default()
    };
    let a = client_with(&emu, opts.clone());
    let b = client_with(&emu, opts); // a second client sharing the same bucket
    let started = Instant::now();
    let threads: Vec<_> = [a, b]
        .into_iter()
        .map(|c| {
            std::thread::spawn(move || {
                for _ in 0..30 {
                    // max_attempts 1: a 429 would surface as an error here.
                    c.get_opportunity("opp-r")
                        .expect("no 429 through the shared limiter");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let took = started.elapsed();
    let after = emu.stats();
    assert_eq!(
        after.rate_limited, before.rate_limited,
        "the limited clients never got a 429"
    );
    assert_eq!(after.accepted - before.accepted, 60);
    // 20 at once, then 40 at 10/s: about 4 s.
    assert!(took >= Duration::from_millis(3800), "{took:?}");
}

#[test]
fn retries_through_injected_503s_and_gives_up_after_max_attempts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = spawn(fast_config(dir.path())).expect("emulator");
    emu.add_opportunities(vec![opportunity("opp-f")])
        .expect("seed");
    let client = fast_client(&emu); // 4 attempts, 10 ms first back-off

    // Through the HTTP endpoint: 2 faults, then success on the 3rd attempt.
    let http = raw_http();
    let armed = http
        .post(format!("{}/_emulator/faults", emu.root_url()))
        .json(&json!({ "status": 503, "count": 2 }))
        .send()
        .expect("arm faults");
    assert_eq!(armed.status().as_u16(), 200);
    let note_id = client
        .add_note("opp-f", "after two 503s", true, None)
        .expect("retried to success");
    assert!(!note_id.is_empty());
    assert_eq!(emu.stats().faulted, 2);
    assert_eq!(
        emu.notes("opp-f").len(),
        1,
        "faulted attempts wrote nothing"
    );

    // 10 faults outlast 4 attempts.
    emu.inject_faults(503, 10).expect("arm faults");
    match client.get_opportunity("opp-f") {
        Err(LeverError::RetriesExhausted {
            status: 503,
            attempts: 4,
            ref method,
            ref path,
        }) => {
            assert_eq!(method, "GET");
            assert_eq!(path, "/opportunities/opp-f");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(emu.stats().faulted, 6);

    let bad = http
        .post(format!("{}/_emulator/faults", emu.root_url()))
        .json(&json!({ "status": 404, "count": 1 }))
        .send()
        .expect("request");
    assert_eq!(
        bad.status().as_u16(),
        400,
        "only 429 and 5xx can be injected"
    );
    // A 429 with Retry-After is honoured (1 s here). Arming replaces the
    // 6 remaining 503s.
    http.post(format!("{}/_emulator/faults", emu.root_url()))
        .json(&json!({ "status": 429, "count": 1, "retry_after": 1 }))
        .send()
        .expect("arm faults");
    let started = Instant::now();
    client
        .get_opportunity("opp-f")
        .expect("succeeds after Retry-After");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn ensure_note_twice_writes_one_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = spawn(fast_config(dir.path())).expect("emulator");
    emu.add_opportunities(vec![opportunity("opp-e")])
        .expect("seed");
    let client = fast_client(&emu);
    // Some unrelated notes first, so the marker has to be searched for.
    client
        .add_note("opp-e", "a recruiter's own note", false, None)
        .expect("note");

    let marker = correlation_marker("5e0c2a1e-0000-4000-8000-000000000001");
    let text = format!("summary text\n{marker}");
    let first = client
        .ensure_note("opp-e", &marker, &text, true, Some("pf-bot"))
        .expect("first");
    let second = client
        .ensure_note("opp-e", &marker, &text, true, Some("pf-bot"))
        .expect("second");
    let NoteOutcome::Created(id) = &first else {
        panic!("first call must create: {first:?}")
    };
    assert_eq!(second, NoteOutcome::AlreadyPresent(id.clone()));

    let notes = emu.notes("opp-e");
    assert_eq!(notes.len(), 2);
    assert_eq!(
        notes
            .iter()
            .filter(|n| n["text"].as_str().is_some_and(|t| t.contains(&marker)))
            .count(),
        1
    );
    let posts = emu
        .requests()
        .expect("requests")
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/opportunities/opp-e/notes")
        .count();
    assert_eq!(posts, 2, "one recruiter note + one panelflow note");

    // The note sink: same behaviour, private, marker as the last line.
    let sink = LeverNoteSink::new(fast_client(&emu), Some("pf-bot".into()));
    let pipeline = panelflow_models::analysis::summary::PipelineRef {
        name: "pilot".into(),
        version: "1".into(),
        config_hash: "h".into(),
    };
    let event =
        panelflow_core::event::InterviewCompleted::new("generic", "i-e", "c-e", "opp-e", vec![]);
    let summary =
        panelflow_models::analysis::summary::Summary::build(&event, &pipeline, vec![], vec![]);
    let a = sink.write("opp-e", "corr-2", &summary).expect("sink write");
    let b = sink
        .write("opp-e", "corr-2", &summary)
        .expect("sink replay");
    assert!(matches!(a, NoteOutcome::Created(_)));
    assert_eq!(b, NoteOutcome::AlreadyPresent(a.note_id().to_owned()));
    let notes = emu.notes("opp-e");
    assert_eq!(notes.len(), 3);
    let note = notes
        .iter()
        .find(|n| n["id"] == a.note_id())
        .expect("sink note stored");
    assert_eq!(note["secret"], true);
    assert_eq!(note["user"], "pf-bot");
    let text = note["fields"][0]["value"].as_str().expect("text");
    assert!(text.starts_with("panelflow summary (AI-generated, advisory)"));
    assert!(text.ends_with("panelflow-correlation-id: corr-2"));
    let req = emu
        .requests()
        .expect("requests")
        .into_iter()
        .rev()
        .find(|r| r.method == "POST")
        .expect("sink's POST");
    assert_eq!(
        req.query.get("perform_as").map(String::as_str),
        Some("pf-bot")
    );
    assert_eq!(
        req.body.as_ref().and_then(|b| b.get("notifyFollowers")),
        Some(&json!(false))
    );
}

#[test]
fn restarted_emulator_keeps_its_notes_tags_stage_and_feedback() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("opportunities.json"),
        serde_json::to_vec(&json!([opportunity("opp-s"), opportunity("opp-t")])).expect("json"),
    )
    .expect("seed file");
    let marker = correlation_marker("restart-1");
    {
        let emu = spawn(fast_config(dir.path())).expect("emulator");
        let client = fast_client(&emu);
        assert_eq!(
            client.list_opportunities().expect("list").len(),
            2,
            "seeded from opportunities.json"
        );
        client
            .ensure_note("opp-s", &marker, "before restart", true, None)
            .expect("note");
        client
            .add_tags("opp-s", &["ai:strong-python".into(), "referral".into()])
            .expect("tags");
        let opp = client
            .remove_tags("opp-s", &["referral".into()])
            .expect("tags");
        assert_eq!(opp["tags"], json!(["ai:strong-python"]));
        let opp = client
            .change_stage("opp-s", "stage-phone-screen", None)
            .expect("stage");
        assert_eq!(opp["stage"], "stage-phone-screen");
        let fb = client
            .add_feedback(
                "opp-s",
                "user-9",
                json!({ "baseTemplateId": "tmpl-1", "fieldValues": [{ "id": "f1", "value": 4 }] }),
            )
            .expect("feedback");
        assert_eq!(fb["baseTemplateId"], "tmpl-1");
        // Feedback without perform_as or template is refused.
        let http = raw_http();
        let resp = http
            .post(format!("{}/opportunities/opp-s/feedback", emu.base_url()))
            .basic_auth(KEY, Some(""))
            .json(&json!({ "baseTemplateId": "tmpl-1", "fieldValues": [] }))
            .send()
            .expect("request");
        assert_eq!(resp.status().as_u16(), 400);
        // A note without `value` is refused.
        let resp = http
            .post(format!("{}/opportunities/opp-s/notes", emu.base_url()))
            .basic_auth(KEY, Some(""))
            .json(&json!({ "secret": true }))
            .send()
            .expect("request");
        assert_eq!(resp.status().as_u16(), 400);
    } // stopped here
    assert!(dir.path().join("state.json").exists());

    let emu = spawn(fast_config(dir.path())).expect("restarted emulator");
    let client = fast_client(&emu);
    let again = client
        .ensure_note("opp-s", &marker, "after restart", true, None)
        .expect("note");
    assert!(matches!(again, NoteOutcome::AlreadyPresent(_)), "{again:?}");
    let notes = client.list_notes("opp-s").expect("notes");
    assert_eq!(notes.len(), 1);
    assert!(notes[0].value_text.starts_with("before restart"));
    let opp = client.get_opportunity("opp-s").expect("opportunity");
    assert_eq!(opp["tags"], json!(["ai:strong-python"]));
    assert_eq!(opp["stage"], "stage-phone-screen");
    assert_eq!(emu.feedback("opp-s").len(), 1);
    // The request log spans both runs.
    let log = emu.requests().expect("requests");
    assert!(log
        .iter()
        .any(|r| r.path == "/v1/opportunities/opp-s/addTags"));
    assert!(
        log.iter()
            .filter(|r| r.method == "GET" && r.path == "/v1/opportunities/opp-s")
            .count()
            == 1
    );
}

#[test]
fn emulator_endpoints_for_tests_need_no_auth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emu = spawn(config(dir.path())).expect("emulator");
    let http = raw_http();
    let added: Value = http
        .post(format!("{}/_emulator/opportunities", emu.root_url()))
        .json(&json!([opportunity("opp-x"), opportunity("opp-y")]))
        .send()
        .expect("request")
        .json()
        .expect("json");
    assert_eq!(added["added"], 2);
    let bad = http
        .post(format!("{}/_emulator/opportunities", emu.root_url()))
        .json(&json!({ "name": "no id" }))
        .send()
        .expect("request");
    assert_eq!(bad.status().as_u16(), 400);
    let client = client_with(&emu, ClientOptions::default());
    let all = client.list_opportunities().expect("list");
    let ids: Vec<&str> = all.iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids, ["opp-x", "opp-y"]);
    let recorded: Vec<Value> = http
        .get(format!("{}/_emulator/requests", emu.root_url()))
        .send()
        .expect("request")
        .json()
        .expect("json");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["path"], "/v1/opportunities");
    assert_eq!(recorded[0]["query"]["limit"], "100");
    let stats: Value = http
        .get(format!("{}/_emulator/stats", emu.root_url()))
        .send()
        .expect("request")
        .json()
        .expect("json");
    assert_eq!(stats["accepted"], 1);
}
