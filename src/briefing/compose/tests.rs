use super::panel::verdict;
use super::*;
use crate::briefing::gather::Gathered;
use crate::briefing::BriefingConfig;
use chrono::{DateTime, Utc};
use serde_json::json;
use serde_json::Value;

fn form(user: &str, name: &str, score: i64, comment: &str) -> Value {
    json!({"id": format!("fb-{user}"), "user": user, "text": "Technical interview",
           "completedAt": 1, "fields": [
        {"type": "scorecard", "text": "Skills",
         "scores": [{"text": "Problem solving"}, {"text": "Customer focus"}],
         "value": [{"score": score, "comment": comment}, {"score": null}]},
        {"type": "textarea", "text": "Notes", "value": format!("{name}'s notes")}
    ]})
}

#[test]
fn diverging_panelists_are_named_with_their_evidence() {
    let g = Gathered {
        opportunity: json!({"id": "opp-1", "name": "Ada Candidate"}),
        interviews: vec![json!({"id": "iv-1", "subject": "Onsite",
            "interviewers": [{"id": "u-1", "name": "Pat"}, {"id": "u-2", "name": "Sam"}]})],
        feedback: vec![
            form("u-1", "Pat", 4, "Clear trade-offs"),
            form("u-2", "Sam", 2, "Vague on the fix"),
        ],
        resumes: vec![json!({"id": "r1", "createdAt": 1, "parsedData": {
            "positions": [{"org": "Acme", "title": "Engineer", "start": {"year": 2018, "month": 1}}],
            "schools": [{"org": "State U", "degree": "BSc", "field": "Physics"}]}})],
        ..Gathered::default()
    };
    let cfg = BriefingConfig {
        notice: "advisory".into(),
        ..BriefingConfig::default()
    };
    let now = DateTime::parse_from_rfc3339("2026-01-15T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let b = compose(&g, &cfg, "fp", now);
    let text = b.text();
    assert!(
        text.contains("Problem solving — the views diverge"),
        "{text}"
    );
    assert!(
        text.contains("“Clear trade-offs”") && text.contains("“Vague on the fix”"),
        "{text}"
    );
    assert!(
        text.contains("Customer focus: no panelist rating"),
        "{text}"
    );
    assert!(text.contains("Engineer at Acme (since 2018)"), "{text}");
    assert!(
        text.contains("About 8 years of experience across 1 role"),
        "{text}"
    );
    assert!(text.ends_with("panelflow-briefing-id: opp-1/fp\n"));
    assert_eq!(b.competencies[0].verdict, Verdict::Diverge);
}

#[test]
fn verdicts() {
    let p = |r| PanelView {
        reviewer_id: "u".into(),
        name: "u".into(),
        rating: r,
        evidence: None,
        interview: None,
    };
    assert_eq!(verdict(&[p(3), p(4)], &[]), Verdict::Agree);
    assert_eq!(verdict(&[p(3), p(2)], &[]), Verdict::Diverge);
    assert_eq!(verdict(&[p(4), p(2)], &[]), Verdict::Diverge);
    assert_eq!(verdict(&[p(1)], &[]), Verdict::Single);
    assert_eq!(clock(71.4), "1:11");
}
