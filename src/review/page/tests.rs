use chrono::Utc;
use serde_json::json;

use super::interview::is_video;
use super::*;
use crate::review::auth::{Principal, Role};
use panelflow_connectors::store::queue::ReviewItem;
use panelflow_core::writeback::{Route, WritePlan};

fn item() -> ReviewItem {
    let plan = WritePlan {
        phase: panelflow_core::writeback::Phase::Review,
        opportunity_id: "opp-1".into(),
        correlation_id: "corr-1".into(),
        note: Some(
            "Summary <b>\nScores (overall 3.5/4): Craft 4/4\npanelflow-correlation-id: corr-1"
                .into(),
        ),
        add_tags: vec![],
        remove_tags: vec![],
        stage: None,
        feedback: None,
        perform_as: None,
        route: Route::Review {
            reasons: vec!["phase_review".into(), "flag:no_answer".into()],
        },
    };
    let summary = json!({
        "interview_transcript_summary": "Candidate <script>alert(1)</script> discussed Python.",
        "answers": [{"media_index": 0, "question_id": "q1", "question": "Why us?", "text": "I love it",
                     "start": 1.5, "end": 9.0, "tone": {"words_per_minute": 150.0}}],
        "highlights": {"strengths": [{"question_id": "q1", "at": 1.5, "text": "Craft: a measured result", "quote": "I build things"}],
                       "concerns": [], "red_flags": [{"kind": "no_answer", "question_id": "q1", "text": "x"}]},
        "flags": [{"name": "long_silences", "severity": "info", "figures": {"pause_s": 3.0}}],
        "sentiment": "positive", "sentiment_score": 0.8,
        "scores": [{"competency": "craft", "name": "Craft", "score": 4, "confidence": 0.9, "criteria_met": ["depth"]}],
        "overall_score": 3.5
    });
    ReviewItem::new(
        "generic:i1",
        "1",
        "corr-1",
        "cand-1",
        "opp-1",
        plan,
        summary,
    )
    .with_media(vec![
        "http://127.0.0.1:1/a.wav".into(),
        "javascript:alert(1)".into(),
    ])
}

fn who(role: Role) -> Principal {
    Principal {
        name: "u<x>".into(),
        role,
        groups: vec![],
        policy: role.default_policy(),
    }
}

#[test]
fn hiring_manager_view_and_page_hold_no_scores() {
    let it = item();
    let hm = who(Role::HiringManager);
    let view = item_view(
        &it,
        &hm.policy,
        Utc::now(),
        Some(&json!({"panel": [{"ai_score": 3.9}]})),
    );
    let json_text = view.to_string();
    for gone in [
        "overall_score",
        "\"scores\"",
        "Craft 4/4",
        "calibration",
        "ai_score",
    ] {
        assert!(!json_text.contains(gone), "{gone} in {json_text}");
    }
    assert_eq!(view["can_decide"], false);
    let html = interview_page(&view, (&hm, "tok"));
    assert!(!html.contains("id=\"scores\"") && !html.contains("Craft 4/4"));
    assert!(!html.contains("id=\"approve\""));
    assert!(
        html.contains("long_silences"),
        "flags are shown to hiring managers"
    );

    let rec = who(Role::Recruiter);
    let view = item_view(&it, &rec.policy, Utc::now(), None);
    let html = interview_page(&view, (&rec, "tok"));
    assert!(html.contains("id=\"overall-score\">3.50"));
    assert!(html.contains("Craft 4/4"));
    assert!(html.contains("id=\"no-calibration\""));
    assert!(html.contains("id=\"approve\"") && html.contains("id=\"approve-edited\""));
    assert!(html.contains("value=\"tok\""));
}

#[test]
fn text_is_escaped_and_only_http_media_is_played() {
    let it = item();
    let rec = who(Role::Recruiter);
    let html = interview_page(&item_view(&it, &rec.policy, Utc::now(), None), (&rec, "t"));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("u&lt;x&gt;"));
    assert!(!html.contains("javascript:"));
    assert!(html.contains("<audio id=\"player\""));
    assert!(html.contains("data-t=\"1.50\""));
    // The marker line is not shown for editing.
    assert!(!html.contains("panelflow-correlation-id"));
}

#[test]
fn flags_hidden_role_sees_no_flag_reasons() {
    let it = item();
    let mut p = Role::Recruiter.default_policy();
    p.see_flags = false;
    let v = item_view(&it, &p, Utc::now(), None);
    let t = v.to_string();
    assert!(
        !t.contains("no_answer") && !t.contains("long_silences"),
        "{t}"
    );
    assert_eq!(v["can_edit"], false);
    assert!(v["plan"].get("note").is_none());
}

#[test]
fn helpers() {
    assert_eq!(clock(75.9), "1:15");
    assert_eq!(clock(3725.0), "1:02:05");
    assert_eq!(waited(59), "59 s");
    assert_eq!(waited(3 * 3600 + 5 * 60), "3 h 05 min");
    assert!(is_video("https://x/y.mp4?sig=1"));
    assert!(!is_video("https://x/y.wav"));
    assert_eq!(note_body("a\nb\npanelflow-correlation-id: c\n"), "a\nb");
}
