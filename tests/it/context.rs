//! The context stage (`panelflow::pipeline::context`) against the Lever
//! emulator: one cache and one token bucket shared by two worker threads,
//! Lever's rate limit kept under bursts, the question-set precedence, media
//! found through Lever (interview, links, notes across pages), expired signed
//! URLs refreshed once through the platform's API then `media_expired`, and
//! OAuth 2.0's refresh-token flow.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use panelflow::config::PipelineConfig;
use panelflow::pipeline::resolve::{LeverContext, QuestionSetSource};
use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient, LeverError};
use panelflow_connectors::lever::context::ProviderApiSection;
use panelflow_connectors::lever::oauth::{OAuthConfig, OAuthSession};
use panelflow_connectors::lever::ratelimit::TokenBucket;
use panelflow_core::event::{InterviewCompleted, MediaItem};
use panelflow_core::webhook::Verdict;
use panelflow_devkit::emulator::{self, EmulatorConfig, EmulatorHandle};
use serde_json::{json, Value};

const KEY: &str = "context-test-key";

fn emulator_at(rate_per_s: f64, burst: f64) -> (tempfile::TempDir, EmulatorHandle) {
    let dir = tempfile::tempdir().unwrap();
    let emu = emulator::spawn(EmulatorConfig {
        data_dir: dir.path().to_path_buf(),
        api_key: KEY.into(),
        rate_per_s,
        burst,
    })
    .unwrap();
    (dir, emu)
}

fn client(emu: &EmulatorHandle, limiter: Arc<TokenBucket>) -> LeverClient {
    let opts = ClientOptions {
        limiter,
        base_backoff: Duration::from_millis(100),
        ..ClientOptions::default()
    };
    LeverClient::new(&emu.base_url(), LeverAuth::ApiKey(KEY.into()), opts).unwrap()
}

fn datasets() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets")
}

/// The dataset's postings, the first with two open application questions,
/// the third (Customer Support) with none.
fn postings() -> Vec<Value> {
    let mut ps: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(datasets().join("lever_postings.json")).unwrap(),
    )
    .unwrap();
    ps.truncate(3);
    ps[2]["customQuestions"] = json!([]);
    ps[0]["customQuestions"] = json!([{ "id": "cq-eng", "text": "Engineering questions", "fields": [
        { "type": "multiple-choice", "text": "Are you authorized to work in the US?" },
        { "type": "textarea", "id": "pq-1", "text": "Walk us through a system you designed." },
        { "type": "textarea", "id": "pq-2", "text": "What would you improve in it today?" }
    ]}]);
    ps
}

fn requisitions(ps: &[Value]) -> Vec<Value> {
    ps.iter()
        .enumerate()
        .map(|(i, p)| {
            json!({"id": format!("req-{i}"), "requisitionCode": p["requisitionCodes"][0], "name": p["text"],
                   "headcountTotal": 2, "status": "open"})
        })
        .collect()
}

/// `n` opportunities, each with its contact and one application to posting
/// `i % 3`; one event per opportunity carrying its recording.
fn seed(emu: &EmulatorHandle, n: usize) -> Vec<InterviewCompleted> {
    let ps = postings();
    emu.add_resources("postings", ps.clone()).unwrap();
    emu.add_resources("requisitions", requisitions(&ps))
        .unwrap();
    let mut opps = Vec::new();
    let mut apps = Vec::new();
    let mut contacts = Vec::new();
    let mut events = Vec::new();
    for i in 0..n {
        let (opp, app, contact) = (
            format!("opp-{i}"),
            format!("app-{i}"),
            format!("contact-{i}"),
        );
        let posting = ps[i % 3]["id"].as_str().unwrap();
        opps.push(json!({"id": opp, "name": format!("Candidate {i}"), "contact": contact, "applications": [app]}));
        apps.push(json!({"id": app, "type": "posting", "opportunityId": opp, "candidateId": contact, "posting": posting}));
        contacts.push(json!({"id": contact, "name": format!("Candidate {i}"), "emails": [format!("c{i}@example.com")]}));
        events.push(InterviewCompleted::new(
            "generic",
            &format!("int-{i}"),
            &contact,
            &opp,
            vec![MediaItem {
                url: format!("https://media.example/{i}.mp4"),
                question_id: None,
                question_text: None,
                expires_at: None,
            }],
        ));
    }
    emu.add_opportunities(opps).unwrap();
    emu.add_resources("applications", apps).unwrap();
    emu.add_resources("contacts", contacts).unwrap();
    events
}

fn count(emu: &EmulatorHandle, pred: impl Fn(&str) -> bool) -> u64 {
    emu.request_counts()
        .iter()
        .filter(|(k, _)| pred(k))
        .map(|(_, n)| n)
        .sum()
}

/// Resolves `events` on two threads sharing `ctx`; returns how long it took.
fn resolve_on_two_workers(ctx: &Arc<LeverContext>, events: Vec<InterviewCompleted>) -> Duration {
    let started = Instant::now();
    let events = Arc::new(events);
    let threads: Vec<_> = (0..2)
        .map(|w| {
            let (ctx, events) = (ctx.clone(), events.clone());
            std::thread::spawn(move || {
                for e in events.iter().skip(w).step_by(2) {
                    let r = ctx
                        .resolve(e)
                        .unwrap_or_else(|err| panic!("{}: {err}", e.interview_id));
                    assert!(
                        r.posting.is_some() && r.contact.is_some() && r.requisition.is_some(),
                        "{}",
                        e.interview_id
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("worker");
    }
    started.elapsed()
}

#[test]
fn two_hundred_interviews_for_three_postings_read_each_posting_once() {
    // The emulator's limit scaled up 20× (and the client's bucket with it) so
    // the 400-odd requests take seconds; the 10/s case is tested below.
    let (_dir, emu) = emulator_at(200.0, 20.0);
    let events = seed(&emu, 200);
    let lever = client(&emu, Arc::new(TokenBucket::new(200.0, 20.0)));
    let ctx = Arc::new(LeverContext::new(&PipelineConfig::default(), Some(lever)));
    resolve_on_two_workers(&ctx, events);

    let postings_read = count(&emu, |k| {
        k.starts_with("GET /v1/postings/") && !k.ends_with("/apply")
    });
    let forms_read = count(&emu, |k| {
        k.starts_with("GET /v1/postings/") && k.ends_with("/apply")
    });
    assert!(
        postings_read <= 3,
        "{postings_read} posting fetches: {:?}",
        emu.request_counts()
    );
    assert_eq!(postings_read, 3);
    assert!(forms_read <= 3, "{forms_read}");
    assert!(count(&emu, |k| k.starts_with("GET /v1/requisitions")) <= 3);
    assert_eq!(
        count(&emu, |k| k.starts_with("GET /v1/opportunities/")),
        200
    );
    assert_eq!(count(&emu, |k| k.starts_with("GET /v1/contacts/")), 200);
    let stats = ctx.stats();
    assert_eq!(stats.posting_fetches, 3, "{stats:?}");
    assert!(stats.cache_hits >= 2 * 197, "{stats:?}");
    assert_eq!(emu.stats().rate_limited, 0, "no 429 answered");
}

#[test]
fn a_burst_of_500_events_on_two_workers_is_never_answered_429() {
    let (_dir, emu) = emulator_at(100.0, 20.0);
    let events = seed(&emu, 500);
    let lever = client(&emu, Arc::new(TokenBucket::new(100.0, 20.0)));
    let ctx = Arc::new(LeverContext::new(&PipelineConfig::default(), Some(lever)));
    let took = resolve_on_two_workers(&ctx, events);
    let stats = emu.stats();
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert!(stats.accepted >= 1000, "{stats:?}");
    // The shared bucket paced the burst: ≥ (requests − burst) / rate.
    let min = Duration::from_secs_f64((stats.accepted as f64 - 20.0) / 100.0);
    assert!(took >= min.mul_f64(0.95), "{took:?} < {min:?}");
}

#[test]
fn lever_documented_limit_holds_with_two_workers_and_fails_without_a_shared_bucket() {
    // Lever's own numbers: 10 requests per second, bursts of 20.
    let (_dir, emu) = emulator_at(10.0, 20.0);
    let events = seed(&emu, 25);
    let lever = client(&emu, Arc::new(TokenBucket::lever_default()));
    let ctx = Arc::new(LeverContext::new(&PipelineConfig::default(), Some(lever)));
    resolve_on_two_workers(&ctx, events);
    assert_eq!(emu.stats().rate_limited, 0, "{:?}", emu.stats());

    // The control: a bucket per worker lets twice the rate through, and the
    // emulator answers 429 (which the client then honours).
    let (_dir2, emu2) = emulator_at(10.0, 20.0);
    emu2.add_opportunities(vec![json!({"id": "o"})]).unwrap();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let c = client(&emu2, Arc::new(TokenBucket::lever_default()));
            std::thread::spawn(move || {
                for _ in 0..15 {
                    c.get_opportunity("o").unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(
        emu2.stats().rate_limited > 0,
        "the control must trip the limit: {:?}",
        emu2.stats()
    );
}

fn resolved(
    ctx: &LeverContext,
    e: &InterviewCompleted,
) -> panelflow::pipeline::resolve::ResolvedContext {
    ctx.resolve(e)
        .unwrap_or_else(|err| panic!("{}: {err} ({})", e.interview_id, err.code()))
}

#[test]
fn question_set_comes_from_the_platform_then_the_posting_then_a_role() {
    let (_dir, emu) = emulator_at(10_000.0, 10_000.0);
    let events = seed(&emu, 4);
    let ps = postings();
    let lever = client(&emu, Arc::new(TokenBucket::new(10_000.0, 10_000.0)));
    // A pipeline role for support postings; none for engineering.
    let cfg = PipelineConfig::from_toml(
        r#"
        [roles.customer_support]
        match = ["customer support"]
        questions = [
          { id = "sup-q1", text = "Tell us about your customer support experience." },
          { id = "sup-q2", text = "Tell us about a time you turned an unhappy customer around." },
        ]
        "#,
    )
    .unwrap();
    let ctx = LeverContext::new(&cfg, Some(lever.clone()));

    // The platform names its questions (per-answer media): they win.
    let mut provider = events[0].clone();
    provider.media = (1..=2)
        .map(|q| MediaItem {
            url: format!("https://m.example/{q}.mp4"),
            question_id: Some(format!("willo-q{q}")),
            question_text: Some(format!("Platform question {q}")),
            expires_at: None,
        })
        .collect();
    let r = resolved(&ctx, &provider);
    assert_eq!(r.question_set, QuestionSetSource::Provider);
    assert_eq!(
        r.questions
            .iter()
            .map(|q| q.id.as_str())
            .collect::<Vec<_>>(),
        ["willo-q1", "willo-q2"]
    );
    assert!(
        r.analysis().questions.is_empty(),
        "per-answer media name their own questions"
    );

    // A single recording for the first posting: its application questions.
    let r = resolved(&ctx, &events[0]);
    assert_eq!(
        r.question_set,
        QuestionSetSource::Posting,
        "{:?}",
        r.questions
    );
    assert_eq!(
        r.questions
            .iter()
            .map(|q| q.id.as_str())
            .collect::<Vec<_>>(),
        ["pq-1", "pq-2"]
    );
    assert_eq!(
        r.posting.as_ref().map(|p| p.id.as_str()),
        ps[0]["id"].as_str()
    );
    assert_eq!(
        r.analysis().questions.len(),
        2,
        "a single recording is cut by the question list"
    );
    assert_eq!(r.role, None, "no role matches an engineering posting");

    // The third posting (Customer Support) has no questions: the role's.
    let r = resolved(&ctx, &events[2]);
    assert_eq!(r.question_set, QuestionSetSource::Role);
    assert_eq!(r.role.as_deref(), Some("customer_support"));
    assert_eq!(r.questions.first().map(|q| q.id.as_str()), Some("sup-q1"));
    assert!(r
        .requisition
        .as_ref()
        .is_some_and(|q| q["requisitionCode"] == "OPS-331"));

    // Per-answer media with ids only get their texts from the role's set.
    let mut ids_only = events[2].clone();
    ids_only.media = vec![MediaItem {
        url: "https://m.example/a.mp4".into(),
        question_id: Some("sup-q2".into()),
        question_text: None,
        expires_at: None,
    }];
    let r = resolved(&ctx, &ids_only);
    assert_eq!(r.question_set, QuestionSetSource::Provider);
    assert!(
        r.media[0]
            .question_text
            .as_deref()
            .is_some_and(|t| t.contains("unhappy customer")),
        "{:?}",
        r.media
    );

    // Without a role, a posting without questions gives none: nothing is
    // guessed.
    let plain = LeverContext::new(&PipelineConfig::default(), Some(lever));
    let r = resolved(&plain, &events[2]);
    assert_eq!(r.question_set, QuestionSetSource::None);
    assert!(r.questions.is_empty() && r.role.is_none());

    // Without Lever, the platform's questions or nothing.
    let offline = LeverContext::new(&PipelineConfig::default(), None);
    let r = resolved(&offline, &events[1]);
    assert_eq!(r.question_set, QuestionSetSource::None);
    assert!(r.posting.is_none());
}

#[test]
fn recordings_are_found_on_the_lever_interview_the_opportunity_and_its_notes() {
    let (_dir, emu) = emulator_at(10_000.0, 10_000.0);
    let lever = client(&emu, Arc::new(TokenBucket::new(10_000.0, 10_000.0)));
    emu.add_opportunities(vec![
        json!({"id": "opp-int", "contact": "c1"}),
        json!({"id": "opp-link", "contact": "c2", "links": ["https://github.com/x", "https://cdn.example/rec/42.webm"]}),
        json!({"id": "opp-mail", "contact": "c3"}),
        json!({"id": "opp-none", "contact": "c4"}),
    ])
    .unwrap();
    emu.add_resources(
        "interviews",
        vec![json!({"id": "lever-int-1", "opportunityId": "opp-int", "subject": "One-way video interview",
                    "note": "Recording: https://us02web.zoom.us/rec/share/AbC123 (passcode in the invite)",
                    "location": "https://zoom.us/j/99999"})],
    )
    .unwrap();
    // 120 notes, so the listing takes two pages; the e-mail logged from the
    // dropbox is the last one, and panelflow's own note is never read for links.
    for i in 0..119 {
        lever
            .add_note("opp-mail", &format!("call notes {i}"), true, None)
            .unwrap();
    }
    lever
        .add_note(
            "opp-mail",
            "summary https://cdn.example/own.mp4\npanelflow-correlation-id: x",
            true,
            None,
        )
        .unwrap();
    lever
        .add_note("opp-mail", "Fwd: Your interview recording is ready\n<a href=\"https://cdn.example/r/7.mp4?sig=a&amp;b=2\">watch</a>", false, None)
        .unwrap();
    let ctx = LeverContext::new(&PipelineConfig::default(), Some(lever));
    let lever_event = |event: &str, opp: &str, id: &str| {
        let mut e = InterviewCompleted::new("lever", id, opp, opp, vec![]);
        e.source_event = Some(event.into());
        e
    };

    let r = resolved(
        &ctx,
        &lever_event("interviewCreated", "opp-int", "lever-int-1"),
    );
    assert_eq!(
        r.media.iter().map(|m| m.url.as_str()).collect::<Vec<_>>(),
        ["https://us02web.zoom.us/rec/share/AbC123"]
    );
    let r = resolved(
        &ctx,
        &lever_event(
            "candidateStageChange",
            "opp-link",
            "opp-link:candidateStageChange",
        ),
    );
    assert_eq!(r.media[0].url, "https://cdn.example/rec/42.webm");
    let r = resolved(
        &ctx,
        &lever_event(
            "candidateStageChange",
            "opp-mail",
            "opp-mail:candidateStageChange",
        ),
    );
    assert_eq!(
        r.media.iter().map(|m| m.url.as_str()).collect::<Vec<_>>(),
        ["https://cdn.example/r/7.mp4?sig=a&b=2"]
    );
    assert!(emu
        .request_counts()
        .keys()
        .any(|k| k.starts_with("GET /v1/opportunities/opp-mail/notes")));

    let err = ctx
        .resolve(&lever_event("candidateStageChange", "opp-none", "x"))
        .unwrap_err();
    assert_eq!(err.code(), "no_media", "{err}");
    let err = ctx
        .resolve(&lever_event("candidateStageChange", "opp-missing", "y"))
        .unwrap_err();
    assert_eq!(err.code(), "lever_not_found", "{err}");
}

/// A stand-in for a platform's API: answers `GET /participants/{key}/` with
/// the participant held in `body`, counting calls and checking the key.
struct FakePlatform {
    addr: std::net::SocketAddr,
    body: Arc<Mutex<Value>>,
    calls: Arc<AtomicU64>,
    _rt: tokio::runtime::Runtime,
}

fn fake_platform(api_key: &'static str) -> FakePlatform {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    let body = Arc::new(Mutex::new(Value::Null));
    let calls = Arc::new(AtomicU64::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    type St = (Arc<Mutex<Value>>, Arc<AtomicU64>);
    let app = axum::Router::new()
        .route(
            "/participants/{key}/",
            axum::routing::get(
                move |State((body, calls)): State<St>,
                      Path(key): Path<String>,
                      headers: HeaderMap| async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(api_key) {
                        return (
                            StatusCode::UNAUTHORIZED,
                            axum::Json(json!({"detail": "bad key"})),
                        );
                    }
                    let mut b = body.lock().unwrap().clone();
                    b["key"] = json!(key);
                    (StatusCode::OK, axum::Json(b))
                },
            ),
        )
        .with_state((body.clone(), calls.clone()));
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FakePlatform {
        addr,
        body,
        calls,
        _rt: rt,
    }
}

#[test]
fn expired_signed_urls_are_refreshed_once_then_the_event_fails_media_expired() {
    const ENV: &str = "PANELFLOW_TEST_CONTEXT_WILLO_KEY";
    const API_KEY: &str = "willo-integration-key";
    // Set once, by this test only.
    unsafe { std::env::set_var(ENV, API_KEY) };
    let platform = fake_platform(API_KEY);
    let mut cfg = PipelineConfig::default();
    cfg.context.providers.insert(
        "willo".into(),
        ProviderApiSection {
            url: format!("http://{}/participants/{{ref}}/", platform.addr),
            api_key_env: ENV.into(),
            auth: "authorization".into(),
            ..ProviderApiSection::default()
        },
    );
    let ctx = LeverContext::new(&cfg, None);

    // The sample delivery, whose signed URLs expired at 11:00 on 2025-03-01.
    let sample = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/webhooks/willo.json"),
    )
    .unwrap();
    let sent_at = chrono::DateTime::parse_from_rfc3339("2025-03-01T10:00:30Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let Ok(Verdict::Accept(event)) = panelflow_core::webhook::willo::parse(&sample, 300, sent_at)
    else {
        panic!()
    };
    assert!(event.media.iter().all(|m| m.expires_at.is_some()));

    // The platform now serves fresh URLs (valid for an hour).
    let fresh_until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let mut participant: Value = serde_json::from_slice::<Value>(&sample).unwrap()["data"].clone();
    for r in participant["responses"].as_array_mut().unwrap() {
        let url = r["media_url"]
            .as_str()
            .unwrap()
            .replace("Signature=", "Signature=fresh");
        r["media_url"] = json!(url);
        r["media_expires_at"] = json!(fresh_until);
    }
    *platform.body.lock().unwrap() = participant.clone();
    let r = resolved(&ctx, &event);
    assert_eq!(platform.calls.load(Ordering::SeqCst), 1);
    assert_eq!(r.refreshed_media, 3);
    assert!(
        r.media.iter().all(|m| m.url.contains("Signature=fresh")),
        "{:?}",
        r.media
    );
    assert_eq!(
        r.media
            .iter()
            .map(|m| m.question_id.clone())
            .collect::<Vec<_>>(),
        event
            .media
            .iter()
            .map(|m| m.question_id.clone())
            .collect::<Vec<_>>(),
        "each answer keeps its question"
    );

    // The platform still serves expired URLs: one refresh, then media_expired.
    for r in participant["responses"].as_array_mut().unwrap() {
        r["media_expires_at"] = json!("2025-03-01T11:00:00Z");
    }
    *platform.body.lock().unwrap() = participant;
    let err = ctx.resolve(&event).unwrap_err();
    assert_eq!(err.code(), "media_expired", "{err}");
    assert_eq!(
        platform.calls.load(Ordering::SeqCst),
        2,
        "refreshed exactly once"
    );

    // A platform without a configured API: media_expired at once.
    let mut other = event.clone();
    other.source = "sparkhire".into();
    let err = ctx.resolve(&other).unwrap_err();
    assert_eq!(err.code(), "media_expired");
    assert!(
        err.to_string().contains("context.providers.sparkhire"),
        "{err}"
    );
    assert_eq!(platform.calls.load(Ordering::SeqCst), 2);
    assert_eq!(ctx.stats().media_expired, 2);

    // Media the platform never sent: read from its API by `source_ref`.
    let mut bare = event.clone();
    bare.media.clear();
    let mut fresh = serde_json::from_slice::<Value>(&sample).unwrap()["data"].clone();
    for r in fresh["responses"].as_array_mut().unwrap() {
        r["media_expires_at"] = json!(fresh_until);
    }
    *platform.body.lock().unwrap() = fresh;
    let r = resolved(&ctx, &bare);
    assert_eq!(r.media.len(), 3);
    assert_eq!(platform.calls.load(Ordering::SeqCst), 3);
}

#[test]
fn oauth_refresh_token_flow_with_rotation_and_a_401_retry() {
    let (dir, emu) = emulator_at(10_000.0, 10_000.0);
    emu.add_opportunities(vec![json!({"id": "opp-1"})]).unwrap();
    emu.enable_oauth(
        "panelflow-app",
        "app-secret",
        "rt-initial",
        Duration::from_secs(3600),
        true,
    )
    .unwrap();
    let token_file = dir.path().join("lever-refresh-token");
    let oauth = |refresh: &str| OAuthConfig {
        token_url: emu.token_url(),
        client_id: "panelflow-app".into(),
        client_secret: "app-secret".into(),
        refresh_token: refresh.into(),
        audience: None,
        refresh_token_file: Some(token_file.clone()),
        timeout: Duration::from_secs(5),
    };
    let session = Arc::new(OAuthSession::new(oauth("rt-initial")).unwrap());
    let opts = ClientOptions {
        limiter: Arc::new(TokenBucket::new(10_000.0, 10_000.0)),
        ..ClientOptions::default()
    };
    let lever = LeverClient::new(
        &emu.base_url(),
        LeverAuth::OAuth(session.clone()),
        opts.clone(),
    )
    .unwrap();

    // Two threads at once: one refresh.
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let l = lever.clone();
            std::thread::spawn(move || l.get_opportunity("opp-1").unwrap())
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!((emu.oauth_grants(), session.refreshes()), (1, 1));
    let rotated = std::fs::read_to_string(&token_file).unwrap();
    assert!(
        rotated.starts_with("emu-rt-"),
        "the rotated refresh token is kept: {rotated}"
    );

    // Lever stops accepting the token: one 401, a refresh, the call succeeds.
    emu.revoke_access_tokens();
    assert_eq!(lever.get_opportunity("opp-1").unwrap()["id"], "opp-1");
    assert_eq!(emu.oauth_grants(), 2);
    assert_eq!(emu.stats().unauthorized, 1);
    assert!(emu
        .requests()
        .unwrap()
        .iter()
        .all(|r| r.auth_user.starts_with("oauth:")));

    // The spent initial token is refused (without the saved file)…
    let spent = OAuthConfig {
        refresh_token_file: None,
        ..oauth("rt-initial")
    };
    let stale = LeverClient::new(
        &emu.base_url(),
        LeverAuth::OAuth(Arc::new(OAuthSession::new(spent).unwrap())),
        opts.clone(),
    )
    .unwrap();
    match stale.get_opportunity("opp-1") {
        Err(LeverError::Auth { source, .. }) => {
            assert!(source.to_string().contains("invalid_grant"), "{source}")
        }
        other => panic!("expected an OAuth error, got {other:?}"),
    }
    // …and a restart picks up the saved, newest one.
    let restarted = OAuthSession::new(oauth("rt-initial")).unwrap();
    let again =
        LeverClient::new(&emu.base_url(), LeverAuth::OAuth(Arc::new(restarted)), opts).unwrap();
    again.get_opportunity("opp-1").unwrap();

    // The pipeline builds the same from `[lever.oauth]` and the environment.
    let mut cfg = PipelineConfig::default();
    cfg.lever.base_url = emu.base_url();
    cfg.lever.oauth = Some(panelflow_connectors::lever::LeverOAuthSection {
        token_url: emu.token_url(),
        client_id_env: "PANELFLOW_TEST_CONTEXT_OAUTH_ID".into(),
        client_secret_env: "PANELFLOW_TEST_CONTEXT_OAUTH_SECRET".into(),
        refresh_token_env: "PANELFLOW_TEST_CONTEXT_OAUTH_REFRESH".into(),
        refresh_token_file: Some(token_file.clone()),
        audience: None,
    });
    unsafe {
        std::env::set_var("PANELFLOW_TEST_CONTEXT_OAUTH_ID", "panelflow-app");
        std::env::set_var("PANELFLOW_TEST_CONTEXT_OAUTH_SECRET", "app-secret");
    }
    let from_cfg = cfg
        .lever
        .client(Arc::new(TokenBucket::lever_default()))
        .unwrap()
        .expect("a client");
    let ctx = LeverContext::new(&cfg, Some(from_cfg));
    let e = InterviewCompleted::new(
        "generic",
        "i",
        "opp-1",
        "opp-1",
        vec![MediaItem {
            url: "https://m.example/x.mp4".into(),
            question_id: None,
            question_text: None,
            expires_at: None,
        }],
    );
    assert!(resolved(&ctx, &e).opportunity.is_some());
    let grants: BTreeMap<&str, u64> = [("grants", emu.oauth_grants())].into();
    assert_eq!(grants["grants"], 4, "one refresh per session");
}
