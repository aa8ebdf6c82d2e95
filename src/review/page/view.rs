//! The view model: what one role may see of an item ([`item_view`],
//! [`queue_row`]), which the renderers only ever read.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::review::auth::RolePolicy;
use panelflow_connectors::store::queue::{ReviewItem, ReviewStatus};
use panelflow_core::writeback::MARKER_PREFIX;

/// The note text without its correlation marker line (what a recruiter edits).
pub fn note_body(note: &str) -> String {
    note.lines()
        .filter(|l| !l.starts_with(MARKER_PREFIX))
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_owned()
}

fn http_url(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https"))
}

/// Whether the role may read the plan's note (it carries scores outside
/// the pilot phase, and sentiment and flags in every phase).
pub fn note_visible(item: &ReviewItem, policy: &RolePolicy) -> bool {
    policy.see_flags
        && (policy.see_scores || item.plan.phase == panelflow_core::writeback::Phase::Pilot)
}

/// What every view of an item shows first: who and what it is, how long it
/// has waited, its status and the reasons the role may see.
fn item_fields(item: &ReviewItem, policy: &RolePolicy, now: DateTime<Utc>) -> Map<String, Value> {
    let v = json!({
        "interview_id": item.interview_id,
        "pipeline_version": item.pipeline_version,
        "candidate_id": item.candidate_id,
        "opportunity_id": item.opportunity_id,
        "posting_id": item.posting_id,
        "posting_title": item.posting_title,
        "job_family": item.job_family,
        "enqueued_at": item.enqueued_at,
        "waiting_s": item.waiting_s(now),
        "status": item.status,
        "reasons": item.reasons.iter().filter(|r| policy.may_see_reason(r)).collect::<Vec<_>>(),
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// One queue row for a role.
pub fn queue_row(item: &ReviewItem, policy: &RolePolicy, now: DateTime<Utc>) -> Value {
    let mut row = item_fields(item, policy, now);
    row.insert("failed".into(), json!(item.failure.is_some()));
    row.insert(
        "decided_by".into(),
        json!(item.last_decision().map(|d| &d.user)),
    );
    Value::Object(row)
}

/// The decisions as a role may see them: an edited note is the note, so a
/// role the note is hidden from gets `note_edited: true` instead of its text.
fn decisions_for(item: &ReviewItem, policy: &RolePolicy) -> Value {
    let visible = note_visible(item, policy);
    Value::Array(
        item.decisions
            .iter()
            .map(|d| {
                let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    let edited = o.get("edited_note").is_some_and(|n| !n.is_null());
                    if !visible {
                        o.remove("edited_note");
                    }
                    o.insert("note_edited".into(), json!(edited));
                }
                v
            })
            .collect(),
    )
}

/// The whole view of one item for a role; `calibration` is shown only to
/// roles that see scores.
pub fn item_view(
    item: &ReviewItem,
    policy: &RolePolicy,
    now: DateTime<Utc>,
    calibration: Option<&Value>,
) -> Value {
    let plan = item.effective_plan();
    let mut plan_view = Map::new();
    if note_visible(item, policy) {
        plan_view.insert("note".into(), json!(plan.note.as_deref().map(note_body)));
    } else {
        plan_view.insert("note_hidden".into(), json!(plan.note.is_some()));
    }
    // Rule tags and a stage move are decided on scores: scores in words.
    if policy.see_scores {
        plan_view.insert("add_tags".into(), json!(plan.add_tags));
        plan_view.insert("remove_tags".into(), json!(plan.remove_tags));
        plan_view.insert("stage".into(), json!(plan.stage));
    } else {
        plan_view.insert(
            "tags_hidden".into(),
            json!(
                !plan.add_tags.is_empty() || !plan.remove_tags.is_empty() || plan.stage.is_some()
            ),
        );
    }
    if policy.see_scores {
        plan_view.insert(
            "scorecard".into(),
            json!(plan.feedback.as_ref().map(|f| json!({
                "base_template_id": f.base_template_id,
                "field_values": f.field_values,
            }))),
        );
    } else {
        plan_view.insert("scorecard_hidden".into(), json!(plan.feedback.is_some()));
    }
    let details = json!({
        "correlation_id": item.correlation_id,
        "summary": policy.redact_summary(&item.summary),
        "failure": item.failure,
        "media_urls": item.media_urls.iter().filter(|u| http_url(u)).collect::<Vec<_>>(),
        "plan": plan_view,
        "decisions": decisions_for(item, policy),
        "write_report": if policy.see_scores { json!(item.write_report) } else { Value::Null },
        "write_error": item.write_error,
        "write_attempts": item.write_attempts,
        "can_decide": policy.can_decide && item.status == ReviewStatus::Pending,
        "can_edit": policy.can_decide && item.status == ReviewStatus::Pending
            && note_visible(item, policy) && plan.note.is_some(),
        "can_retry": policy.can_decide
            && matches!(item.status, ReviewStatus::WriteFailed | ReviewStatus::Approved),
    });
    let mut view = item_fields(item, policy, now);
    if let Value::Object(details) = details {
        view.extend(details);
    }
    if policy.see_scores {
        view.insert(
            "calibration".into(),
            calibration.cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(view)
}
