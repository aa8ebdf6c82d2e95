//! The hiring manager's briefing and the candidate's feedback draft, on real
//! parts: the Lever emulator (scorecards through `POST /feedback`, files
//! through multipart uploads), the Parquet sink with its key ring, the
//! aggregates' calibration snapshot, `pdftotext` (Debian's poppler-utils)
//! on the uploaded PDF, the review server over HTTP and headless Chromium
//! through chromedriver. Every server listens on 127.0.0.1 and is stopped
//! by its test.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use panelflow::aggregates::calibration::{CalibrationRow, ReviewerScope};
use panelflow::aggregates::records::{Sym, F64};
use panelflow::briefing::{replace, BriefingConfig, BriefingError};
use panelflow::config::PipelineConfig;
use panelflow::review::auth::{
    hash_token_with, Authenticator, ReviewUser, Role, MIN_TOKEN_HASH_ITERATIONS,
};
use panelflow::review::feedback::{self, denied_words, uncited_sentences, Kind};
use panelflow::review::server::{spawn, ReviewApp};
use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient};
use panelflow_connectors::parquet::aggregates::{Layout, Snapshot};
use panelflow_connectors::parquet::{InterviewRow, ParquetSink};
use panelflow_connectors::store::audit::AuditLog;
use panelflow_connectors::store::queue::{ReviewItem, ReviewQueue};
use panelflow_core::writeback::Phase;
use panelflow_devkit::emulator::{spawn as spawn_lever, EmulatorConfig, EmulatorHandle};
use panelflow_models::analysis::summary::Summary;
use serde_json::{json, Value};
use support::browser::Browser;
use support::LEVER_KEY;

const OPP: &str = "opp-brief-1";
const RITA: &str = "rita-feedback-token-81c4";

fn lever(dir: &Path) -> EmulatorHandle {
    spawn_lever(EmulatorConfig {
        data_dir: dir.to_path_buf(),
        api_key: LEVER_KEY.into(),
        rate_per_s: 10.0,
        burst: 20.0,
    })
    .expect("Lever emulator")
}

fn client(base: &str) -> LeverClient {
    LeverClient::new(
        base,
        LeverAuth::ApiKey(LEVER_KEY.into()),
        ClientOptions {
            max_attempts: 4,
            base_backoff: Duration::from_millis(20),
            ..ClientOptions::default()
        },
    )
    .expect("Lever client")
}

/// panelflow's analysis of the one-way interview, as the pipeline lands it.
fn summary(interview: &str, candidate: &str, opportunity: &str) -> Summary {
    serde_json::from_value(json!({
        "schema_version": 1, "interview_id": interview, "candidate_id": candidate,
        "opportunity_id": opportunity, "correlation_id": format!("corr-{interview}"),
        "pipeline": {"name": "review", "version": "3", "config_hash": "c0ffee12"},
        "duration_s": 140.0, "words": 260, "words_per_minute": 140.0, "transcription_confidence": 0.9,
        "transcript": "…", "interview_transcript_summary": "Strengths — problem solving.",
        "answers": [
            {"media_index": 0, "question_id": "q-bug", "question": "Tell us about the hardest production problem you solved.",
             "duration_s": 60.0, "text": "Our checkout latency spiked during a sale. I traced it to a lock in the inventory service and I rewrote the reservation path. The p99 latency fell from nine hundred to one hundred and twenty milliseconds.",
             "segments": [
                {"start": 2.0, "end": 9.0, "text": "Our checkout latency spiked during a sale.", "confidence": 0.92},
                {"start": 9.5, "end": 21.0, "text": "I traced it to a lock in the inventory service and I rewrote the reservation path.", "confidence": 0.91},
                {"start": 61.0, "end": 72.0, "text": "The p99 latency fell from nine hundred to one hundred and twenty milliseconds.", "confidence": 0.9}],
             "start": 2.0, "end": 72.0, "answered": true,
             "digest": {"sentences": [{"text": "I traced it to a lock in the inventory service and I rewrote the reservation path.", "start": 9.5, "end": 21.0}],
                        "key_facts": [{"kind": "quantity", "text": "one hundred and twenty milliseconds", "at": 61.0},
                                      {"kind": "tool", "text": "inventory service", "at": 9.5}]}},
            {"media_index": 0, "question_id": "q-team", "question": "Describe a disagreement with a colleague and how you handled it.",
             "duration_s": 40.0, "text": "We disagreed on the rollout plan. I listened to her concerns and we agreed on a staged rollout that shipped on time.",
             "segments": [
                {"start": 80.0, "end": 86.0, "text": "We disagreed on the rollout plan.", "confidence": 0.9},
                {"start": 86.5, "end": 97.0, "text": "I listened to her concerns and we agreed on a staged rollout that shipped on time.", "confidence": 0.9}],
             "start": 80.0, "end": 97.0, "answered": true},
            {"media_index": 0, "question_id": "q-customer", "question": "Tell us about a time you went out of your way for a customer.",
             "duration_s": 20.0, "text": "I usually try to help customers when they need it. Our customer satisfaction score was good.",
             "segments": [
                {"start": 100.0, "end": 106.0, "text": "I usually try to help customers when they need it.", "confidence": 0.88},
                {"start": 106.5, "end": 110.0, "text": "Our customer satisfaction score was good.", "confidence": 0.88}],
             "start": 100.0, "end": 110.0, "answered": true}
        ],
        "analysis_completion_time": "2026-11-20T10:00:00Z",
        "models": [{"name": "moonshine-base-en", "version": "0.1.4", "sha256": "00"}],
        "highlights": {"strengths": [], "concerns": [], "red_flags": []},
        "scores": [
            {"competency": "problem_solving", "name": "Problem solving", "question_id": "q-bug", "score": 3, "level": 3.3,
             "criteria_met": ["measured", "own_actions", "specific_situation"], "criteria_missing": [],
             "evidence": [{"feature": "measured", "text": "The p99 latency fell from nine hundred to one hundred and twenty milliseconds.", "at": 61.0},
                          {"feature": "own_actions", "text": "I traced it to a lock in the inventory service and I rewrote the reservation path.", "at": 9.5}],
             "features": {"specific_situation": [1.0, 0.4], "own_actions": [0.8, 0.3], "outcome": [1.0, 0.2], "measured": [1.0, 0.5], "details": [0.7, 0.1]},
             "confidence": 0.84, "low_confidence": false, "weight": 1.0, "model_version": "evidence-ordinal@20261206"},
            {"competency": "collaboration", "name": "Collaboration and conflict", "question_id": "q-team", "score": 3, "level": 3.0,
             "criteria_met": ["own_actions", "outcome"], "criteria_missing": ["measured"],
             "evidence": [{"feature": "outcome", "text": "I listened to her concerns and we agreed on a staged rollout that shipped on time.", "at": 86.5}],
             "features": {"specific_situation": [1.0, 0.3], "own_actions": [0.7, 0.2], "outcome": [1.0, 0.3], "measured": [0.0, -0.1], "details": [0.2, 0.0]},
             "confidence": 0.78, "low_confidence": false, "weight": 1.0, "model_version": "evidence-ordinal@20261206"},
            {"competency": "customer_focus", "name": "Customer focus", "question_id": "q-customer", "score": 2, "level": 1.8,
             "criteria_met": [], "criteria_missing": ["generic"],
             "evidence": [{"feature": "generic", "text": "Our customer satisfaction score was good.", "at": 106.5},
                          {"feature": "generic", "text": "I usually try to help customers when they need it.", "at": 100.0}],
             "features": {"specific_situation": [0.0, -0.3], "own_actions": [0.2, -0.1], "outcome": [0.0, -0.2], "measured": [0.0, -0.1], "details": [0.0, 0.0], "generic": [0.9, -0.4]},
             "confidence": 0.71, "low_confidence": false, "weight": 1.0, "model_version": "evidence-ordinal@20261206"}
        ],
        "overall_score": 2.67,
        "analysis": {"complete": true, "embeddings": true, "analysis_ms": 20.0, "scoring_model": "evidence-ordinal@20261206"}
    }))
    .expect("a Summary")
}

/// The analysed interview in the `interviews` table, encrypted as the sink writes it.
fn land_summary(cfg: &PipelineConfig, s: &Summary) {
    let sink = ParquetSink::open_for(&cfg.sinks.parquet_dir, &cfg.governance).expect("sink");
    let mut row = InterviewRow::example(&s.interview_id, &s.pipeline.version);
    row.candidate_id = s.candidate_id.clone();
    row.opportunity_id = s.opportunity_id.clone();
    row.correlation_id = s.correlation_id.clone();
    row.summary_json = Some(serde_json::to_string(s).unwrap());
    sink.write_batch(&[row], &[]).expect("landed");
}

/// A panelist's scorecard, submitted through Lever's API.
fn scorecard(c: &LeverClient, user: &str, problem_solving: i64, comment: &str, overall: &str) {
    c.add_feedback(
        OPP,
        user,
        json!({"baseTemplateId": "tmpl-onsite", "interview": "iv-onsite", "panel": "panel-1",
               "fieldValues": [
                   {"id": "f-skills", "value": [{"score": problem_solving, "comment": comment},
                                                {"score": 3, "comment": "Explained the staged rollout clearly."},
                                                {"score": null}]},
                   {"id": "f-overall", "value": overall},
                   {"id": "f-notes", "value": format!("Notes from {user}.")}]}),
    )
    .expect("scorecard accepted");
}

fn seed_lever(lever: &EmulatorHandle) {
    lever
        .add_opportunities(vec![
            json!({"id": OPP, "name": "Riley Quinn", "contact": "cand-brief-1",
            "headline": "Backend engineer", "stage": "stage-debrief",
            "applications": ["app-1"]}),
        ])
        .unwrap();
    let add = |kind: &str, items: Value| {
        lever
            .add_resources(kind, items.as_array().unwrap().clone())
            .unwrap();
    };
    add(
        "stages",
        json!([{"id": "stage-screen", "text": "Phone screen"}, {"id": "stage-debrief", "text": "Debrief"}]),
    );
    add(
        "feedback_templates",
        json!([{"id": "tmpl-onsite", "text": "Onsite interview", "fields": [
        {"id": "f-skills", "type": "scorecard", "text": "Skills", "required": true,
         "scores": [{"text": "Problem solving", "description": ""}, {"text": "Communication", "description": ""},
                    {"text": "Leadership and influence", "description": ""}]},
        {"id": "f-overall", "type": "score-system", "text": "Overall recommendation", "required": true},
        {"id": "f-notes", "type": "textarea", "text": "Notes", "required": false}]}]),
    );
    add(
        "interviews",
        json!([{"id": "iv-onsite", "opportunityId": OPP, "panel": "panel-1",
        "subject": "Onsite: system design", "interviewers": [
            {"id": "u-pat", "name": "Pat Panelist", "email": "pat@example.com", "feedbackTemplate": "tmpl-onsite"},
            {"id": "u-sam", "name": "Sam Skeptic", "email": "sam@example.com", "feedbackTemplate": "tmpl-onsite"},
            {"id": "u-kim", "name": "Kim Keen", "email": "kim@example.com", "feedbackTemplate": "tmpl-onsite"}],
        "date": 1_764_000_000_000i64, "duration": 60, "feedbackTemplate": "tmpl-onsite", "stage": "stage-debrief",
        "canceledAt": null}]),
    );
    add(
        "panels",
        json!([{"id": "panel-1", "opportunityId": OPP, "applications": ["app-1"], "canceledAt": null,
        "start": 1_764_000_000_000i64, "end": 1_764_003_600_000i64, "timezone": "UTC", "note": "Onsite loop",
        "interviews": [{"id": "iv-onsite", "subject": "Onsite: system design"}]}]),
    );
    add(
        "resumes",
        json!([{"id": "res-1", "opportunityId": OPP, "createdAt": 1_763_000_000_000i64,
        "file": {"name": "riley.pdf", "ext": ".pdf", "downloadUrl": "/resumes/res-1/download", "uploadedAt": 1_763_000_000_000i64, "status": "processed", "size": 2048},
        "parsedData": {
            "positions": [
                {"org": "Shopwise", "title": "Senior Backend Engineer", "summary": "Checkout and inventory.", "location": "Berlin", "start": {"year": 2021, "month": 3}},
                {"org": "Ledgerly", "title": "Backend Engineer", "summary": "", "start": {"year": 2017, "month": 9}, "end": {"year": 2021, "month": 2}}],
            "schools": [{"org": "TU Delft", "degree": "MSc", "field": "Computer Science", "start": {"year": 2015}, "end": {"year": 2017}}]}}]),
    );
}

/// The calibration the aggregates hold: Pat rates 0.6 above their panels.
fn seed_calibration(dir: &Path) {
    std::fs::create_dir_all(dir.join("snapshot")).unwrap();
    let mut snap = Snapshot::<CalibrationRow>::new(&Layout::new(dir));
    for (who, leniency, co_rated) in [("u-pat", 0.6, 14), ("u-sam", -0.1, 9)] {
        snap.apply(
            CalibrationRow {
                reviewer: Sym::from(who),
                scope: ReviewerScope::All,
                ratings: co_rated,
                mean: F64(3.0),
                std: F64(0.7),
                extreme_share: F64(0.2),
                co_rated,
                leniency: Some(F64(leniency)),
                agreement_panel: Some(F64(0.5)),
                ai_compared: 0,
                ai_offset: None,
                agreement_ai: None,
            },
            1,
        );
    }
    snap.write(1).unwrap();
}

fn pipeline(dir: &Path, lever: &EmulatorHandle) -> PipelineConfig {
    let mut cfg = PipelineConfig::default();
    cfg.pipeline.phase = Phase::Review;
    cfg.lever.base_url = lever.base_url();
    cfg.lever.perform_as = Some("u-panelflow".into());
    cfg.sinks.parquet_dir = dir.join("parquet");
    cfg.review.aggregates_dir = dir.join("aggregates");
    cfg.review.queue_dir = dir.join("review");
    cfg.governance.audit_dir = dir.join("audit");
    cfg.briefing.stages = vec!["Debrief".into()];
    cfg.briefing.competencies = vec!["communication".into()];
    cfg
}

fn briefing_notes(lever: &EmulatorHandle) -> Vec<Value> {
    lever
        .notes(OPP)
        .into_iter()
        .filter(|n| {
            n["text"]
                .as_str()
                .unwrap_or("")
                .contains("panelflow-briefing-id: ")
        })
        .collect()
}

fn writes(lever: &EmulatorHandle) -> usize {
    lever
        .requests()
        .unwrap()
        .iter()
        .filter(|r| r.method != "GET")
        .count()
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pdf_text(bytes: &[u8], dir: &Path) -> String {
    let path = dir.join("briefing.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| {
            panic!("pdftotext (Debian's poppler-utils; bash scripts/setup.sh) is needed: {e}")
        });
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    words(&String::from_utf8_lossy(&out.stdout))
}

/// A candidate with a one-way interview and two panelists' scorecards (4
/// and 2 on problem solving) gets one briefing file and one secret note
/// naming the divergence with both sides' evidence; the PDF holds every
/// section; a replay writes nothing; a third scorecard replaces the
/// briefing (one current file and one current note afterwards), and a
/// replay of that writes nothing either. Other stages and the pilot phase
/// get none.
#[test]
fn briefing_names_the_divergence_is_replaced_by_a_new_scorecard_and_replays_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lever = lever(&dir.path().join("lever"));
    seed_lever(&lever);
    let cfg = pipeline(dir.path(), &lever);
    seed_calibration(&cfg.review.aggregates_dir);
    land_summary(&cfg, &summary("generic:brief-iv-1", "cand-brief-1", OPP));
    let c = client(&lever.base_url());
    scorecard(
        &c,
        "u-pat",
        4,
        "Walked us through the lock contention and the fix, with numbers.",
        "4 - Strong Hire",
    );
    scorecard(
        &c,
        "u-sam",
        2,
        "Could not say how the fix was verified under load.",
        "2 - No Hire",
    );
    let bcfg = BriefingConfig::from(&cfg);

    let (first, briefing) = replace::brief(&c, &bcfg, OPP, "test").expect("briefing");
    assert!(first.file_written && first.note_written, "{first:?}");
    assert_eq!((first.files_removed, first.notes_removed), (0, 0));
    let files = lever.files(OPP);
    assert_eq!(files.len(), 1, "{files:#?}");
    assert_eq!(
        files[0]["name"],
        json!(format!("panelflow-briefing-{}.pdf", first.fingerprint))
    );
    let notes = briefing_notes(&lever);
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0]["secret"],
        json!(true),
        "the briefing note is secret"
    );
    let note = words(notes[0]["text"].as_str().unwrap());
    for expected in [
        "Problem solving — the views diverge",
        "Pat Panelist rated 4 (strong yes); Sam Skeptic rated 2 (no)",
        "Where they diverge: Pat Panelist saw a strong yes (4) and Sam Skeptic a no (2).",
        "“Walked us through the lock contention and the fix, with numbers.”",
        "“Could not say how the fix was verified under load.”",
        "panelflow: “The p99 latency fell from nine hundred to one hundred and twenty milliseconds.” (one-way interview, “Tell us about the hardest production problem you solved.”, at 1:01)",
        "Riley Quinn — Senior Backend Engineer at Shopwise (since 2021).",
        "MSc in Computer Science, TU Delft",
        "Pat Panelist is known to rate 0.6 above the rest of the panel (14 co-rated ratings)",
        "Leadership and influence: no panelist rating and no recorded answer.",
        "Communication",
        "ask Pat Panelist which example convinced them and Sam Skeptic what was missing",
        "AI-generated by panelflow and advisory only",
        "moonshine-base-en 0.1.4",
        "review@3 (config c0ffee12)",
    ] {
        assert!(note.contains(expected), "the note lacks {expected:?}:\n{note}");
    }
    let b = briefing.expect("composed");
    assert_eq!(
        b.text(),
        notes[0]["text"].as_str().unwrap(),
        "the note is the briefing's text"
    );

    // The PDF, opened: every section, the divergence and both sides' evidence.
    let bytes = lever
        .file_bytes(first.file_id.as_deref().unwrap())
        .expect("the uploaded PDF");
    assert!(bytes.starts_with(b"%PDF-"));
    let pdf = pdf_text(&bytes, dir.path());
    for expected in [
        "Debrief briefing — Riley Quinn",
        "THE CANDIDATE",
        "COMPETENCIES: THE PANEL AND PANELFLOW SIDE BY SIDE",
        "OVERALL RECOMMENDATIONS",
        "NO EVIDENCE YET",
        "QUESTIONS TO PROBE IN THE DEBRIEF",
        "CALIBRATION CONTEXT",
        "ABOUT THIS BRIEFING",
        "Problem solving — the views diverge",
        "Where they diverge: Pat Panelist saw a strong yes (4) and Sam Skeptic a no (2).",
        "“Could not say how the fix was verified under load.”",
        "“The p99 latency fell from nine hundred to one hundred and twenty milliseconds.”",
        "is known to rate 0.6 above the rest of the panel",
    ] {
        let expected = expected.to_string();
        let found =
            pdf.contains(&expected) || pdf.to_uppercase().contains(&expected.to_uppercase());
        assert!(found, "the PDF lacks {expected:?}:\n{pdf}");
    }

    // A replay writes nothing.
    let before = writes(&lever);
    let (again, _) = replace::brief(&c, &bcfg, OPP, "test").unwrap();
    assert!(!again.wrote(), "{again:?}");
    assert_eq!(again.fingerprint, first.fingerprint);
    assert_eq!(writes(&lever), before, "a replay wrote to Lever");

    // A third scorecard replaces the briefing.
    scorecard(
        &c,
        "u-kim",
        3,
        "Solid debugging; would like more on testing.",
        "3 - Hire",
    );
    let (third, _) = replace::brief(&c, &bcfg, OPP, "test").unwrap();
    assert_ne!(third.fingerprint, first.fingerprint);
    assert!(third.file_written && third.note_written, "{third:?}");
    assert_eq!(
        (third.files_removed, third.notes_removed),
        (1, 1),
        "{third:?}"
    );
    let files = lever.files(OPP);
    assert_eq!(files.len(), 1, "exactly one current file: {files:#?}");
    assert_eq!(files[0]["id"], json!(third.file_id.clone().unwrap()));
    let notes = briefing_notes(&lever);
    assert_eq!(notes.len(), 1, "exactly one current note");
    assert!(notes[0]["text"]
        .as_str()
        .unwrap()
        .contains("Kim Keen rated 3 (yes)"));
    assert!(
        lever
            .file_bytes(first.file_id.as_deref().unwrap())
            .is_none(),
        "the earlier file is gone"
    );
    let before = writes(&lever);
    let (replay, _) = replace::brief(&c, &bcfg, OPP, "test").unwrap();
    assert!(!replay.wrote());
    assert_eq!(writes(&lever), before);

    // The watch round finds it current; every briefing is in the audit log.
    let round = replace::round(&c, &bcfg, "test").unwrap();
    assert_eq!(
        (
            round.opportunities,
            round.written,
            round.current,
            round.failed
        ),
        (1, 0, 1, 0)
    );
    let audit = AuditLog::open(&cfg.governance.audit_dir)
        .unwrap()
        .read_all()
        .unwrap();
    assert!(audit.iter().filter(|e| e.step == "briefing").count() >= 5);

    // Not at a debrief stage: nothing; the pilot phase: off unless enabled.
    lever
        .add_opportunities(vec![
            json!({"id": "opp-early", "name": "Early Stage", "stage": "stage-screen"}),
        ])
        .unwrap();
    let (skipped, none) = replace::brief(&c, &bcfg, "opp-early", "test").unwrap();
    assert!(skipped.skipped.is_some() && none.is_none());
    assert!(lever.files("opp-early").is_empty());
    let mut pilot = bcfg.clone();
    pilot.phase = Phase::Pilot;
    assert!(matches!(
        replace::brief(&c, &pilot, OPP, "test"),
        Err(BriefingError::Disabled(Phase::Pilot))
    ));
}

fn users() -> Vec<ReviewUser> {
    vec![ReviewUser {
        name: "rita".into(),
        role: Role::Recruiter,
        groups: vec!["pilot".into()],
        token_hash: Some(hash_token_with(RITA, MIN_TOKEN_HASH_ITERATIONS)),
        token_sha256: None,
        token_env: None,
    }]
}

fn enqueue(cfg: &PipelineConfig, queue: &ReviewQueue, s: &Summary) -> ReviewItem {
    let plan = panelflow::writeback::plan(cfg, s);
    let item = ReviewItem::new(
        &s.interview_id,
        &cfg.pipeline.version,
        &s.correlation_id,
        &s.candidate_id,
        &s.opportunity_id,
        plan,
        serde_json::to_value(s).unwrap(),
    );
    assert!(queue.enqueue(item.clone()).unwrap());
    item
}

/// The review page's feedback draft in headless Chromium for an archived
/// candidate: strengths and areas tied to their answers, a screenshot, the
/// recruiter's edit saved as a secret "Feedback draft (not sent)" note in
/// the emulator, the draft and the edit in the audit log; a candidate
/// without a decision gets no draft.
#[test]
fn feedback_draft_is_edited_in_chromium_and_saved_as_a_secret_note() {
    let browser = Browser::start();
    let dir = tempfile::tempdir().unwrap();
    let lever = lever(&dir.path().join("lever"));
    lever
        .add_opportunities(vec![
            json!({"id": OPP, "name": "Riley Quinn", "contact": "cand-brief-1",
                   "archived": {"reason": "reason-hired-elsewhere", "archivedAt": 1_900_000_000_000i64}}),
            json!({"id": "opp-open", "name": "Open Candidate", "contact": "cand-open"}),
        ])
        .unwrap();
    let mut cfg = pipeline(dir.path(), &lever);
    cfg.review.users = users();
    let queue = ReviewQueue::open(&cfg.review.queue_dir).unwrap();
    let decided = enqueue(&cfg, &queue, &summary("generic:fb-1", "cand-brief-1", OPP));
    let open = enqueue(
        &cfg,
        &queue,
        &summary("generic:fb-open", "cand-open", "opp-open"),
    );

    let auth = Authenticator::new(
        &cfg.review,
        b"feedback-test-session-secret-of-32-bytes".to_vec(),
    )
    .unwrap();
    let app = ReviewApp::new(&cfg, auth, Some(client(&lever.base_url()))).unwrap();
    let server = spawn(app, "127.0.0.1:0".parse().unwrap()).unwrap();
    let b = &browser;
    b.goto(&format!("{}/queue", server.url()));
    b.type_into(&b.find("#token"), RITA);
    b.click(&b.find("#sign-in"));
    b.wait_until(Duration::from_secs(10), "the signed-in queue", |b| {
        !b.find_all("#who").is_empty()
    });

    // No decision yet: no draft.
    b.goto(&format!("{}/feedback/{}", server.url(), open.interview_id));
    assert!(b.text(&b.find("#message")).contains("No decision yet"));

    // From the interview's page to its feedback draft, as a recruiter goes.
    b.goto(&format!(
        "{}/interviews/{}",
        server.url(),
        decided.interview_id
    ));
    b.click(&b.find("#feedback-link"));
    assert!(b.text(&b.find("#decision")).starts_with("archived"));
    let strengths = b.find_all("li.strength");
    let areas = b.find_all("li.area");
    assert!(
        (2..=4).contains(&strengths.len()),
        "{} strengths",
        strengths.len()
    );
    assert!((1..=3).contains(&areas.len()), "{} areas", areas.len());
    let page_text = b.text(&b.find("main"));
    assert!(page_text.contains("“The p99 latency fell from nine hundred to one hundred and twenty milliseconds.” at 1:01"), "{page_text}");
    assert!(
        denied_words(&page_text.replace("Feedback draft", "")).is_empty(),
        "{page_text}"
    );
    let shot = b.screenshot();
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 10_000,
        "a real screenshot"
    );
    let shot_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("feedback-draft.png");
    std::fs::write(&shot_path, &shot).unwrap();

    // The recruiter edits the draft in the page and saves it.
    let area = b.find("#draft");
    b.type_into(
        &area,
        "\n- Thank you for the clear example of the staged rollout.",
    );
    b.click(&b.find("#save-draft"));
    b.wait_until(Duration::from_secs(10), "the saved page", |b| {
        !b.find_all("#saved").is_empty()
    });
    let notes = lever.notes(OPP);
    assert_eq!(notes.len(), 1, "{notes:#?}");
    let note = notes[0]["text"].as_str().unwrap();
    assert!(note.starts_with("Feedback draft (not sent)\n"), "{note}");
    assert!(note.contains("Thank you for the clear example of the staged rollout."));
    assert!(
        note.contains("(Your answer to “Tell us about the hardest production problem you solved.”")
    );
    assert_eq!(notes[0]["secret"], json!(true));
    let audit = AuditLog::open(&cfg.governance.audit_dir)
        .unwrap()
        .read_all()
        .unwrap();
    let drafted = audit.iter().filter(|e| e.step == "feedback_draft").count();
    let saved: Vec<_> = audit
        .iter()
        .filter(|e| e.step == "feedback_draft_saved")
        .collect();
    assert!(drafted >= 1);
    assert_eq!(saved.len(), 1);
    let detail = &saved[0].detail;
    assert_eq!(detail["edited"], json!(true));
    assert_eq!(detail["sent_to_candidate"], json!(false));
    // panelflow wrote a note and nothing else: no e-mail, no other write.
    let other: Vec<_> = lever
        .requests()
        .unwrap()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/notes"))
        .collect();
    assert!(other.is_empty(), "{other:#?}");
    drop(browser);
    server.stop();
}

/// No draft holds a denied word and every sentence of a draft cites an
/// answer: over the fixture (whose quotes hold "score") and over real
/// analyses of the development split's answers, one draft per candidate.
#[test]
fn no_feedback_draft_holds_a_denied_word_and_every_sentence_cites_an_answer() {
    let mut summaries = vec![summary("generic:deny-1", "c1", "o1")];
    summaries.extend(devset_summaries());
    let mut drafted = 0;
    for s in &summaries {
        let Ok(d) = feedback::compose(s) else {
            continue;
        };
        drafted += 1;
        let text = d.text();
        assert_eq!(
            denied_words(&text),
            Vec::<String>::new(),
            "{}:\n{text}",
            s.interview_id
        );
        assert_eq!(
            uncited_sentences(&text),
            Vec::<String>::new(),
            "{}:\n{text}",
            s.interview_id
        );
        let strengths = d.items.iter().filter(|i| i.kind == Kind::Strength).count();
        let areas = d
            .items
            .iter()
            .filter(|i| i.kind == Kind::Development)
            .count();
        assert!(
            (2..=4).contains(&strengths) && (1..=3).contains(&areas),
            "{text}"
        );
        assert!(
            !text.contains("customer satisfaction score"),
            "a quote with a denied word was used"
        );
    }
    assert!(
        drafted * 2 >= summaries.len(),
        "only {drafted} of {} drafted",
        summaries.len()
    );
}

/// Summaries of the development split's answers, analysed from their
/// reference texts (one recording per candidate, one answer per question).
fn devset_summaries() -> Vec<Summary> {
    use panelflow_core::event::InterviewCompleted;
    use panelflow_models::analysis::analyzer::{Analyzer, Context};
    use panelflow_models::analysis::summary::PipelineRef;
    use panelflow_models::speech::{Segment, Transcript};

    let split = panelflow_models::analysis::splits::load_split(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/devset"),
    )
    .expect("the development split");
    let cfg = PipelineConfig::default();
    let mut analyzer = Analyzer::from_sections(&cfg.analysis, &cfg.roles, &cfg.speech)
        .expect("analysis models (run bash scripts/setup.sh)");
    let mut by_candidate: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
    for a in &split.answers {
        by_candidate
            .entry(a.candidate_id.as_str())
            .or_default()
            .push(a);
    }
    let pipeline = PipelineRef {
        name: "dev".into(),
        version: "1".into(),
        config_hash: "dev".into(),
    };
    let mut out = Vec::new();
    for (candidate, answers) in by_candidate {
        let media: Vec<_> = answers
            .iter()
            .map(|a| {
                let mut t = 0.5;
                let segments: Vec<Segment> = a
                    .reference_text
                    .split_inclusive(['.', '?', '!'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        let len = s.split_whitespace().count() as f64 * 0.4;
                        let seg = Segment {
                            start: t,
                            end: t + len,
                            text: s.to_owned(),
                            confidence: 0.9,
                        };
                        t += len + 0.3;
                        seg
                    })
                    .collect();
                let text = segments
                    .iter()
                    .map(|s| s.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                (
                    Some(a.question.id.clone()),
                    Some(a.question.text.clone()),
                    Transcript {
                        duration_s: t,
                        language: "en".into(),
                        model: "reference".into(),
                        segments,
                        text,
                    },
                )
            })
            .collect();
        let questions: Vec<_> = answers.iter().map(|a| a.question.clone()).collect();
        let event = InterviewCompleted::new(
            "generic",
            &format!("dev:{candidate}"),
            candidate,
            "opp-dev",
            vec![],
        );
        let mut s = Summary::build(&event, &pipeline, media, analyzer.models().to_vec());
        let audio = vec![Vec::new(); s.answers.len()];
        analyzer.analyze(
            &mut s,
            &audio,
            &Context {
                questions: &questions,
                questions_from: Some("platform"),
                posting: None,
                role: None,
            },
        );
        out.push(s);
    }
    assert!(
        out.len() >= 10,
        "{} candidates in the development split",
        out.len()
    );
    out
}
