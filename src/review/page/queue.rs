//! The queue view: pending items and recent results.

use std::fmt::Write as _;

use serde_json::Value;

use super::escape::{esc, escaped_strs, path_segment, waited};
use super::layout::{layout, posting_label, s, status_badge};
use crate::review::auth::Principal;

/// The queue page from queue rows (already sorted).
pub fn queue_page(
    pending: &[Value],
    recent: &[Value],
    sort: &str,
    who: (&Principal, &str),
) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Review queue</h1><p>{} waiting. Sort by: {} · {}</p>",
        pending.len(),
        if sort == "posting" {
            "<a id=\"sort-waiting\" href=\"/queue?sort=waiting\">waiting time</a>".to_owned()
        } else {
            "<strong id=\"sort-waiting\">waiting time</strong>".to_owned()
        },
        if sort == "posting" {
            "<strong id=\"sort-posting\">posting</strong>".to_owned()
        } else {
            "<a id=\"sort-posting\" href=\"/queue?sort=posting\">posting</a>".to_owned()
        },
    );
    if pending.is_empty() {
        b.push_str("<p class=\"muted\" id=\"queue-empty\">Nothing waits for review.</p>");
    } else {
        b.push_str(
            "<table id=\"queue\"><thead><tr><th>Interview</th><th>Candidate</th><th>Posting</th>\
             <th>Job family</th><th>Waiting</th><th>Why</th></tr></thead><tbody>",
        );
        for r in pending {
            row(&mut b, r, true);
        }
        b.push_str("</tbody></table>");
    }
    if !recent.is_empty() {
        b.push_str(
            "<h2>Recent results</h2><table id=\"recent\"><thead><tr><th>Interview</th><th>Candidate</th>\
             <th>Posting</th><th>Job family</th><th>Age</th><th>Status</th></tr></thead><tbody>",
        );
        for r in recent {
            row(&mut b, r, false);
        }
        b.push_str("</tbody></table>");
    }
    layout("Queue", Some(who), &b)
}

fn row(b: &mut String, r: &Value, pending: bool) {
    let id = s(r, "interview_id");
    let last = if pending {
        let reasons: Vec<String> = escaped_strs(r, "reasons");
        reasons.join(", ")
    } else {
        status_badge(s(r, "status"))
    };
    let _ = write!(
        b,
        "<tr class=\"item\" data-interview-id=\"{}\"><td><a class=\"open\" href=\"/interviews/{}\">{}</a></td>\
         <td>{}</td><td class=\"posting\">{}</td><td>{}</td><td class=\"waiting\" data-waiting-s=\"{}\">{}</td><td>{}</td></tr>",
        esc(id),
        path_segment(id),
        esc(id),
        esc(s(r, "candidate_id")),
        esc(&posting_label(r)),
        esc(s(r, "job_family")),
        r.get("waiting_s").and_then(Value::as_i64).unwrap_or(0),
        esc(&waited(r.get("waiting_s").and_then(Value::as_i64).unwrap_or(0))),
        last,
    );
}
