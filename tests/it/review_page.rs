//! The recruiters' review page on real parts: the review server over HTTP,
//! the Lever emulator, and — for the user's path — headless Chromium through
//! chromedriver (W3C WebDriver), fed by the real pipeline (Tansu → timely →
//! Moonshine → the review queue) in the `review` phase.
//!
//! Every server listens on 127.0.0.1 and is stopped by its test.

use crate::support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use panelflow::aggregates::panel::PanelRow;
use panelflow::aggregates::records::{Sym, F64};
use panelflow::config::PipelineConfig;
use panelflow::review::auth::{hash_token_with, Authenticator, ReviewUser, Role};
use panelflow::review::server::{spawn, ReviewApp, ServerHandle};
use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient};
use panelflow_connectors::parquet::aggregates::{Layout, Snapshot};
use panelflow_connectors::store::audit::AuditLog;
use panelflow_connectors::store::queue::{ReviewItem, ReviewQueue, ReviewStatus};
use panelflow_core::writeback::Phase;
use panelflow_devkit::emulator::EmulatorHandle;
use panelflow_models::analysis::summary::Summary;
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::browser::Browser;
use support::*;

pub(crate) const RITA: &str = "rita-review-token-7f3a";
pub(crate) const HANK: &str = "hank-review-token-19c2";
const OLGA: &str = "olga-review-token-55d0";
const LONG: Duration = Duration::from_secs(300);
/// The servers' session-signing secret (32 bytes at least).
pub const REVIEW_SECRET: &[u8] = b"review-test-secret-of-32-bytes-at-least";
/// The player's state, read in the page.
const PLAYER_STATE: &str = "var p=document.getElementById('player');return {src:p.currentSrc,ready:p.readyState,\
    network:p.networkState,time:p.currentTime,error:p.error&&p.error.code,seeked:p.getAttribute('data-seeked')};";

pub(crate) fn users() -> Vec<ReviewUser> {
    let user = |name: &str, role: Role, groups: &[&str], token: &str| ReviewUser {
        name: name.into(),
        role,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        token_hash: Some(hash_token_with(token, 100_000)),
        token_sha256: None,
        token_env: None,
    };
    vec![
        user("rita", Role::Recruiter, &["pilot"], RITA),
        user("hank", Role::HiringManager, &["pilot"], HANK),
        // A recruiter outside the pilot group.
        user("olga", Role::Recruiter, &[], OLGA),
    ]
}

fn lever_client(base_url: &str, attempts: u32) -> LeverClient {
    LeverClient::new(
        base_url,
        LeverAuth::ApiKey(LEVER_KEY.into()),
        ClientOptions {
            max_attempts: attempts,
            base_backoff: Duration::from_millis(20),
            ..ClientOptions::default()
        },
    )
    .expect("Lever client")
}

fn start_review(cfg: &PipelineConfig, lever: LeverClient) -> ServerHandle {
    let auth = Authenticator::new(&cfg.review, REVIEW_SECRET.to_vec()).expect("users");
    let app = ReviewApp::new(cfg.clone(), auth, Some(lever)).expect("review app");
    spawn(app, "127.0.0.1:0".parse().unwrap()).expect("review server")
}

fn note_texts(lever: &EmulatorHandle, opportunity: &str) -> Vec<String> {
    lever
        .notes(opportunity)
        .iter()
        .map(|n| n.to_string())
        .collect()
}

/// The user's path, end to end: the pipeline (review phase) puts an analysed
/// interview in the queue and writes nothing to Lever; a recruiter signs in
/// in Chromium, sees the queue, opens the interview, seeks the recording
/// from an answer's timestamp and clicks approve — and only then is the
/// note in the Lever emulator.
#[test]
fn recruiter_approves_in_chromium_and_only_then_the_note_is_in_lever() {
    // Fail fast (before the pipeline runs) when there is no browser.
    let browser = Browser::start();

    let stack = Stack::start();
    let mut cfg = stack.cfg.clone();
    cfg.pipeline.phase = Phase::Review;
    cfg.review.queue_dir = stack.dir.path().join("review");
    cfg.review.aggregates_dir = stack.dir.path().join("aggregates");
    cfg.governance.audit_dir = stack.dir.path().join("audit");
    cfg.review.users = users();
    // The development override: these servers speak plain http on 127.0.0.1.
    cfg.review.secure_cookie = false;

    let it = interview("swe-01");
    let run = stack.run(&cfg, 1);
    assert_eq!(stack.post_interview(&it), 202);
    run.wait(LONG, |s| {
        s.transcribed.load(Ordering::Relaxed) + s.failed.load(Ordering::Relaxed) >= 1
    });
    run.stop();

    let queue = ReviewQueue::open(&cfg.review.queue_dir).unwrap();
    let items = queue.list().unwrap();
    assert_eq!(items.len(), 1, "one queued item: {items:#?}");
    let item = items[0].clone();
    assert_eq!(item.status, ReviewStatus::Pending);
    assert!(
        item.reasons.iter().any(|r| r == "phase_review"),
        "{:?}",
        item.reasons
    );
    assert_eq!(item.opportunity_id, it.opportunity_id);
    assert!(!item.media_urls.is_empty(), "the recording's link is kept");
    assert!(
        stack.lever.notes(&it.opportunity_id).is_empty(),
        "the review phase writes nothing before approval: {:?}",
        note_texts(&stack.lever, &it.opportunity_id)
    );

    let server = start_review(&cfg, lever_client(&stack.lever.base_url(), 4));
    let b = &browser;

    // Not signed in: the sign-in form.
    b.goto(&format!("{}/queue", server.url()));
    let token = b.find("#token");
    b.type_into(&token, RITA);
    b.click(&b.find("#sign-in"));
    // The sign-in form is served at /queue too: wait for the session itself.
    b.wait_until(Duration::from_secs(10), "the signed-in queue", |b| {
        b.url().ends_with("/queue") && b.cookies().iter().any(|c| c["name"] == "panelflow_session")
    });
    let session = b
        .cookies()
        .into_iter()
        .find(|c| c["name"] == "panelflow_session")
        .expect("a session cookie");
    assert_eq!(session["httpOnly"], true, "{session}");
    assert_eq!(session["sameSite"], "Strict", "{session}");
    assert!(b.text(&b.find("#who")).contains("rita (recruiter)"));

    // The queue lists the interview; open it.
    let row = format!("tr.item[data-interview-id=\"{}\"]", item.interview_id);
    b.find(&row);
    assert!(
        !b.text(&b.find(&format!("{row} td.waiting"))).is_empty(),
        "waiting time shown"
    );
    b.click(&b.find(&format!("{row} a.open")));
    b.wait_until(Duration::from_secs(10), "the interview page", |b| {
        b.url().contains("/interviews/")
    });
    assert!(b.text(&b.find("#status")).contains("pending"));

    // Summary parts a recruiter reads.
    let answers = b.find_all("#answers tr.answer");
    assert!(!answers.is_empty(), "per-question answers shown");
    b.find("#quotes");
    b.find("#scores");
    b.find("#flags");
    assert!(b.text(&b.find("#note")).contains("AI-generated"));
    assert!(b
        .text(&b.find("#no-calibration"))
        .contains("No calibration data yet"));

    // An answer's timestamp seeks the player.
    // (the last answer's: well into the recording, so a seek is visible)
    b.find("#quotes button.seek");
    let seek = b
        .find_all("#answers button.seek")
        .pop()
        .expect("answers carry timestamps");
    let t: f64 = b
        .execute(
            "return arguments[0].getAttribute('data-t');",
            vec![json!({"element-6066-11e4-a52e-4f735466cecf": seek})],
        )
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(t > 1.0, "a later answer starts after 1 s: {t}");
    b.click(&seek);
    // The page's handler points the player at the answer's recording and
    // time. (The test stack's media server sends no byte ranges, so the
    // browser cannot seek within it; the seek itself is checked below
    // against a host that honours ranges, as recording hosts do.)
    let st = b.execute(PLAYER_STATE, vec![]);
    assert_eq!(st["seeked"], format!("{t:.2}"), "{st}");
    assert!(item.media_urls.iter().any(|u| st["src"] == *u), "{st}");
    assert!(
        stack.lever.notes(&it.opportunity_id).is_empty(),
        "opening the page writes nothing"
    );

    // Approve.
    b.click(&b.find("#approve"));
    b.wait_until(Duration::from_secs(30), "the approval to be written", |b| {
        b.find_all("#status [data-status=written]").len() == 1
    });
    assert!(b
        .text(&b.find("#decisions"))
        .contains("approve by rita (recruiter)"));
    assert!(b.text(&b.find("#write-report")).contains("(new)"));
    assert!(
        b.find_all("#approve").is_empty(),
        "no second approval offered"
    );

    let notes = stack.lever.notes(&it.opportunity_id);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let value = notes[0]["text"].as_str().unwrap_or_default();
    assert!(value.contains(&item.correlation_id), "{value}");
    assert!(value.contains("AI-generated"), "{value}");
    assert_eq!(notes[0]["secret"], true, "a private note: {}", notes[0]);

    // Recorded in the item and in the audit log.
    let stored = queue.get(&item.interview_id).unwrap().unwrap();
    assert_eq!(stored.status, ReviewStatus::Written);
    assert_eq!(stored.decisions.len(), 1);
    assert_eq!(stored.decisions[0].user, "rita");
    assert_eq!(stored.decisions[0].action, "approve");
    assert!(stored.write_report.as_ref().unwrap().note_created);
    let story = AuditLog::open(&cfg.governance.audit_dir)
        .unwrap()
        .for_interview(&item.interview_id)
        .unwrap();
    let approve = story
        .iter()
        .find(|e| e.step == "review_approve")
        .expect("approval audited");
    assert_eq!(approve.actor, "rita");
    assert!(story
        .iter()
        .any(|e| e.step == "lever_write" && e.outcome == "ok" && e.actor == "rita"));

    // Timestamps seek the recording: the same interview's page with its
    // recording on a host that serves byte ranges.
    let host = support::browser::RangeFileServer::start(&datasets());
    let mut seekable = item.clone();
    seekable.interview_id = format!("{}-seek", item.interview_id);
    seekable.media_urls = vec![host.url("interviews/swe-01.mp4")];
    assert!(queue.enqueue(seekable.clone()).unwrap());
    b.goto(&format!(
        "{}/interviews/{}",
        server.url(),
        panelflow::review::page::path_segment(&seekable.interview_id)
    ));
    let seek = b
        .find_all("#answers button.seek")
        .pop()
        .expect("timestamps");
    b.click(&seek);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let st = b.execute(PLAYER_STATE, vec![]);
        let at = st["time"].as_f64().unwrap_or(-1.0);
        if st["ready"].as_u64().unwrap_or(0) >= 1 && (t - 0.05..t + 5.0).contains(&at) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the player did not seek to {t}: {st}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(host);

    // Signing out ends the session.
    b.click(&b.find("#sign-out"));
    b.wait_until(Duration::from_secs(10), "the sign-in page", |b| {
        b.url().ends_with("/login")
    });
    b.goto(&format!("{}/queue", server.url()));
    b.find("#token");

    drop(browser);
    server.stop();
}

/// A realistic analysed interview (the summary object the analysis writes).
fn summary(interview: &str, candidate: &str, opportunity: &str) -> Summary {
    serde_json::from_value(json!({
        "schema_version": 1, "interview_id": interview, "candidate_id": candidate,
        "opportunity_id": opportunity, "correlation_id": format!("corr-{interview}"),
        "pipeline": {"name": "review-test", "version": "7", "config_hash": "abc123"},
        "duration_s": 51.6, "words": 140, "words_per_minute": 162.0, "transcription_confidence": 0.91,
        "transcript": "I have been a backend engineer for six years. I want to join because of the mission.",
        "interview_transcript_summary": "Candidate discussed six years of experience with Python and Go.",
        "answers": [
            {"media_index": 0, "question_id": "swe-q1", "question": "Tell us about yourself.", "duration_s": 14.0,
             "text": "I have been a backend engineer for six years, mostly writing Python and Go.",
             "segments": [{"start": 0.5, "end": 15.2, "text": "I have been a backend engineer for six years", "confidence": 0.93}],
             "start": 0.5, "end": 15.2, "answered": true, "flags": ["high_confidence"]},
            {"media_index": 0, "question_id": "swe-q4", "question": "Why do you want to join our team?", "duration_s": 9.0,
             "text": "I want to join because of the mission.",
             "segments": [{"start": 40.0, "end": 49.0, "text": "I want to join because of the mission", "confidence": 0.9}],
             "start": 40.0, "end": 49.0, "answered": true}
        ],
        "analysis_completion_time": "2026-11-26T10:00:00Z",
        "models": [{"name": "moonshine-base-en", "version": "1", "sha256": "00"}],
        "sentiment_score": 0.71, "sentiment": "positive",
        "key_skills_matched": [{"skill": "python", "count": 1, "mentions": [
            {"question_id": "swe-q1", "media_index": 0, "at": 0.5, "quote": "mostly writing Python and Go", "heard": "Python", "exact": true}]}],
        "skills_missing": ["kubernetes"], "skills_requested": ["python", "kubernetes"],
        "flags": [{"name": "long_silences", "question_id": "swe-q4", "severity": "info",
                   "figures": {"longest_pause_s": 3.4, "threshold_s": 3.0}}],
        "unanswered_questions": [],
        "highlights": {
            "strengths": [{"competency": "technical_depth", "question_id": "swe-q1", "at": 0.5, "text": "Role-specific expertise: a specific situation", "quote": "I have been a backend engineer for six years."}],
            "concerns": [{"competency": "motivation", "question_id": "swe-q4", "at": 40.0, "text": "Motivation and role fit: no specific situation", "quote": "I want to join because of the mission."}],
            "red_flags": []
        },
        "scores": [
            {"competency": "technical_depth", "name": "Technical depth", "question_id": "swe-q1", "score": 3,
             "criteria_share": 0.7, "criteria_met": ["years_of_experience"], "evidence": [], "adjustments": [],
             "confidence": 0.82, "low_confidence": false, "weight": 1.0},
            {"competency": "motivation", "name": "Motivation", "question_id": "swe-q4", "score": 4,
             "criteria_share": 0.9, "criteria_met": ["mission_fit"], "evidence": [], "adjustments": [],
             "confidence": 0.77, "low_confidence": false, "weight": 1.0}
        ],
        "overall_score": 3.5,
        "analysis": {"complete": true, "job_family": "software_engineering", "embeddings": false, "analysis_ms": 12.0}
    }))
    .expect("a Summary")
}

/// Puts an item in the queue the way the pipeline does.
pub(crate) fn enqueue(
    cfg: &PipelineConfig,
    queue: &ReviewQueue,
    id: &str,
    candidate: &str,
    opportunity: &str,
) -> ReviewItem {
    let s = summary(id, candidate, opportunity);
    let plan = panelflow::writeback::plan(cfg, &s);
    let item = ReviewItem::new(
        id,
        &cfg.pipeline.version,
        &s.correlation_id,
        candidate,
        opportunity,
        plan,
        serde_json::to_value(&s).unwrap(),
    )
    .with_posting(
        Some("posting-swe".into()),
        Some("Backend Engineer".into()),
        None,
    )
    .with_media(vec!["http://127.0.0.1:9/interviews/swe-01.mp4".into()]);
    assert!(queue.enqueue(item.clone()).unwrap());
    item
}

fn get(http: &Client, url: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = http.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().unwrap();
    (r.status(), r.text().unwrap())
}

fn csrf_of(html: &str) -> String {
    let at =
        html.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Roles, CSRF, conflicts, failures and the pilot gate, over real HTTP
/// against the real server and the Lever emulator.
#[test]
fn roles_csrf_conflicts_and_pilot_gating_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let lever_dir = dir.path().join("lever");
    let lever = support::dataset_lever(&lever_dir);

    let mut cfg = PipelineConfig::default();
    cfg.pipeline.phase = Phase::Review;
    cfg.pipeline.version = "7".into();
    cfg.review.queue_dir = dir.path().join("review");
    cfg.review.aggregates_dir = dir.path().join("aggregates");
    cfg.governance.audit_dir = dir.path().join("audit");
    cfg.review.users = users();
    // The development override: these servers speak plain http on 127.0.0.1.
    cfg.review.secure_cookie = false;
    let queue = ReviewQueue::open(&cfg.review.queue_dir).unwrap();
    let (a, b, c) = (
        interview("swe-01"),
        interview("sales-01"),
        interview("support-01"),
    );
    let approve_me = enqueue(
        &cfg,
        &queue,
        "generic:approve-me",
        &a.candidate_id,
        &a.opportunity_id,
    );
    let reject_me = enqueue(
        &cfg,
        &queue,
        "generic:reject-me",
        &b.candidate_id,
        &b.opportunity_id,
    );
    let edit_me = enqueue(
        &cfg,
        &queue,
        "generic:edit-me",
        &c.candidate_id,
        &c.opportunity_id,
    );

    // The panel's calibration for the first candidate, as the aggregates write it.
    let layout = Layout::new(&cfg.review.aggregates_dir);
    std::fs::create_dir_all(cfg.review.aggregates_dir.join("snapshot")).unwrap();
    let mut panel = Snapshot::<PanelRow>::new(&layout);
    panel.apply(
        PanelRow {
            posting: Sym::from("posting-swe"),
            candidate: Sym::from(a.candidate_id.as_str()),
            competency: Sym::from("technical_depth"),
            panelists: 2,
            ratings: "interviewer-ann=3;interviewer-bob=4".into(),
            rating_mean: F64(3.5),
            dispersion: Some(F64(0.5)),
            rating_range: 1,
            ai_score: Some(F64(3.0)),
            ai_scores: 1,
            ai_minus_panel: Some(F64(-0.5)),
        },
        1,
    );
    panel.write(1).unwrap();

    let server = start_review(&cfg, lever_client(&lever.base_url(), 4));
    let base = server.url();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = |id: &str| {
        format!(
            "{base}/interviews/{}",
            panelflow::review::page::path_segment(id)
        )
    };
    let api = |id: &str| {
        format!(
            "{base}/api/interviews/{}",
            panelflow::review::page::path_segment(id)
        )
    };

    // Not signed in.
    let (st, body) = get(&http, &format!("{base}/queue"), None);
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(body.contains("id=\"token\""));
    assert_eq!(
        get(&http, &format!("{base}/api/queue"), Some("wrong-token")).0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&http, &api(&approve_me.interview_id), None).0,
        StatusCode::UNAUTHORIZED
    );

    // A recruiter sees scores, flags and the panel's calibration.
    let (st, body) = get(&http, &api(&approve_me.interview_id), Some(RITA));
    assert_eq!(st, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["summary"]["overall_score"], 3.5);
    assert_eq!(v["summary"]["scores"].as_array().unwrap().len(), 2);
    assert_eq!(v["summary"]["flags"][0]["name"], "long_silences");
    assert_eq!(
        v["calibration"]["panel"][0]["ratings"],
        "interviewer-ann=3;interviewer-bob=4"
    );
    assert!(v["plan"]["note"]
        .as_str()
        .unwrap()
        .contains("Technical depth 3/4"));
    let (st, html) = get(&http, &page(&approve_me.interview_id), Some(RITA));
    assert_eq!(st, StatusCode::OK);
    for present in [
        "id=\"scores\"",
        "Overall score",
        "Technical depth",
        "id=\"panel\"",
        "interviewer-ann=3",
        "long_silences",
    ] {
        assert!(html.contains(present), "recruiter page lacks {present}");
    }

    // A hiring manager receives no score anywhere: not in the JSON, not in the HTML.
    let (st, body) = get(&http, &api(&approve_me.interview_id), Some(HANK));
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, html) = get(&http, &page(&approve_me.interview_id), Some(HANK));
    assert_eq!(st, StatusCode::OK);
    let (_, queue_json) = get(&http, &format!("{base}/api/queue"), Some(HANK));
    for text in [&body, &html, &queue_json] {
        for absent in [
            "overall_score",
            "\"scores\"",
            "id=\"scores\"",
            "Overall score",
            "3/4",
            "Technical depth",
            "criteria_met",
            "calibration",
            "ai_score",
            "interviewer-ann",
            "Scores",
        ] {
            assert!(
                !text.contains(absent),
                "hiring manager received {absent:?}:\n{text}"
            );
        }
    }
    let hv: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        hv["summary"]["flags"][0]["name"], "long_silences",
        "flags are the hiring manager's by default"
    );
    assert_eq!(hv["can_decide"], false);
    assert!(!html.contains("id=\"approve\""));
    let r = http
        .post(format!("{}/approve", page(&approve_me.interview_id)))
        .bearer_auth(HANK)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(lever.notes(&a.opportunity_id).is_empty());

    // Unknown interview.
    assert_eq!(
        get(&http, &page("generic:nope"), Some(RITA)).0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&http, &api("generic:nope"), Some(RITA)).0,
        StatusCode::NOT_FOUND
    );

    // Sign in with the form: an HttpOnly, SameSite=Strict cookie.
    let r = http
        .post(format!("{base}/login"))
        .form(&[("token", "not-a-token")])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http
        .post(format!("{base}/login"))
        .form(&[("token", RITA)])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let with_cookie = |url: &str| http.get(url).header("cookie", &cookie).send().unwrap();
    let html = with_cookie(&page(&approve_me.interview_id)).text().unwrap();
    let csrf = csrf_of(&html);

    // A form without its CSRF token is refused, and writes nothing.
    let r = http
        .post(format!("{}/approve", page(&approve_me.interview_id)))
        .header("cookie", &cookie)
        .form(&[("comment", "looks good")])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(format!("{}/approve", page(&approve_me.interview_id)))
        .header("cookie", &cookie)
        .form(&[("csrf", "0123456789abcdef0123456789abcdef")])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(lever.notes(&a.opportunity_id).is_empty());

    // Approve: the note is written; approving again is a conflict that writes nothing.
    let r = http
        .post(format!("{}/approve", page(&approve_me.interview_id)))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("comment", "looks good")])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(lever.notes(&a.opportunity_id).len(), 1);
    let r = http
        .post(format!("{}/reject", page(&approve_me.interview_id)))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body = r.text().unwrap();
    assert!(body.contains("already written by rita"), "{body}");
    assert_eq!(lever.notes(&a.opportunity_id).len(), 1);
    let stored = queue.get(&approve_me.interview_id).unwrap().unwrap();
    assert_eq!(stored.status, ReviewStatus::Written);
    assert_eq!(stored.decisions[0].comment.as_deref(), Some("looks good"));

    // Reject writes nothing to Lever.
    let r = http
        .post(format!("{}/reject", page(&reject_me.interview_id)))
        .bearer_auth(RITA)
        .form(&[("comment", "not a fit")])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let rv: Value = r.json().unwrap();
    assert_eq!(rv["status"], "rejected");
    assert!(lever.notes(&b.opportunity_id).is_empty());
    assert_eq!(
        queue.get(&reject_me.interview_id).unwrap().unwrap().status,
        ReviewStatus::Rejected
    );

    // Edit, then approve: the recruiter's text is what Lever gets (still
    // findable by its correlation marker).
    let r = http
        .post(format!("{}/edit", page(&edit_me.interview_id)))
        .bearer_auth(RITA)
        .form(&[(
            "note",
            "Strong backend candidate; discussed payments at scale.\r\nRecommend a panel.",
        )])
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text());
    let notes = lever.notes(&c.opportunity_id);
    assert_eq!(notes.len(), 1);
    let text = notes[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "Strong backend candidate; discussed payments at scale.\nRecommend a panel."
        ),
        "{text}"
    );
    assert!(text.contains(&edit_me.correlation_id));
    assert!(
        !text.contains("Technical depth"),
        "the generated note was replaced"
    );

    // Audit: who did what.
    let audit = AuditLog::open(&cfg.governance.audit_dir)
        .unwrap()
        .read_all()
        .unwrap();
    for (step, id) in [
        ("review_approve", &approve_me.interview_id),
        ("review_reject", &reject_me.interview_id),
        ("review_edit", &edit_me.interview_id),
    ] {
        assert!(
            audit
                .iter()
                .any(|e| e.step == step && &e.interview_id == id && e.actor == "rita"),
            "{step} for {id} not audited"
        );
    }
    server.stop();

    // A write that fails is recorded with its reason, and can be retried.
    let retry_me = enqueue(
        &cfg,
        &queue,
        "generic:retry-me",
        &interview("data-01").candidate_id,
        &interview("data-01").opportunity_id,
    );
    let down = start_review(&cfg, lever_client("http://127.0.0.1:9/v1", 1));
    let r = http
        .post(format!(
            "{}/interviews/{}/approve",
            down.url(),
            panelflow::review::page::path_segment(&retry_me.interview_id)
        ))
        .bearer_auth(RITA)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let fv: Value = r.json().unwrap();
    assert_eq!(fv["status"], "write_failed", "{fv}");
    assert!(
        fv["write_error"].as_str().unwrap().contains("lever_note"),
        "{fv}"
    );
    assert_eq!(fv["can_retry"], true);
    down.stop();
    let server = start_review(&cfg, lever_client(&lever.base_url(), 4));
    let r = http
        .post(format!(
            "{}/interviews/{}/retry",
            server.url(),
            panelflow::review::page::path_segment(&retry_me.interview_id)
        ))
        .bearer_auth(RITA)
        .send()
        .unwrap();
    let rv: Value = r.json().unwrap();
    assert_eq!(rv["status"], "written", "{rv}");
    assert_eq!(lever.notes(&interview("data-01").opportunity_id).len(), 1);
    server.stop();

    // Pilot phase: results for the pilot group only.
    let mut pilot = cfg.clone();
    pilot.pipeline.phase = Phase::Pilot;
    let server = start_review(&pilot, lever_client(&lever.base_url(), 4));
    let base = server.url();
    assert_eq!(
        get(&http, &format!("{base}/queue"), Some(OLGA)).0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&http, &format!("{base}/api/queue"), Some(OLGA)).0,
        StatusCode::FORBIDDEN
    );
    let (st, body) = get(
        &http,
        &format!("{base}/api/interviews/generic%3Aapprove-me"),
        Some(OLGA),
    );
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(
        !body.contains("backend engineer"),
        "no result leaks in the refusal"
    );
    let r = http
        .post(format!("{base}/interviews/generic%3Aretry-me/approve"))
        .bearer_auth(OLGA)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (st, body) = get(&http, &format!("{base}/api/queue"), Some(RITA));
    assert_eq!(st, StatusCode::OK);
    let q: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(q["recent"].as_array().unwrap().len(), 4, "{q}");
    let (st, html) = get(&http, &format!("{base}/queue?sort=posting"), Some(RITA));
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("<strong id=\"sort-posting\">"));
    server.stop();
    drop(lever);
}
