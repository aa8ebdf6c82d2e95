//! The review page's HTML, rendered on the server from a *view* of an item:
//! [`item_view`] builds that view for one role (scores, flags and the
//! calibration figures left out where the role may not see them), and the
//! renderers only ever read the view, so what a role may not see is never
//! sent — in the HTML or in the JSON.
//!
//! ```
//! use panelflow::review::page::esc;
//! assert_eq!(esc("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
//! ```

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::auth::{Principal, RolePolicy};
use panelflow_connectors::parquet::aggregates::{read_rows, Cell, Rows, SNAPSHOT_DIR};
use panelflow_connectors::parquet::storage;
use panelflow_connectors::store::queue::{ReviewItem, ReviewStatus};
use panelflow_core::writeback::MARKER_PREFIX;

/// Escapes text for HTML content and quoted attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The strings of the array at `key` of `v`, HTML-escaped (none when absent).
fn escaped_strs(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(esc)
        .collect()
}

/// Percent-encodes an id for one path segment of a link.
///
/// ```
/// assert_eq!(panelflow::review::page::path_segment("generic:a b/c"), "generic%3Aa%20b%2Fc");
/// ```
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `m:ss` (or `h:mm:ss`) of a time in seconds.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).floor() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A waiting time for people: `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`.
pub fn waited(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h {:02} min", s / 3600, (s / 60) % 60),
        _ => format!("{} d {} h", s / 86400, (s / 3600) % 24),
    }
}

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

fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Str(s) => json!(s),
        Cell::I64(i) => json!(i),
        Cell::F64(f) => json!(f),
        Cell::Bool(b) => json!(b),
    }
}

fn row_json(rows: &Rows, row: &[Cell]) -> Value {
    let mut m = Map::new();
    for (i, name) in rows.columns.iter().enumerate() {
        if name == "as_of_time" {
            continue;
        }
        m.insert(
            name.clone(),
            row.get(i).map(cell_json).unwrap_or(Value::Null),
        );
    }
    Value::Object(m)
}

/// The panel's calibration for a candidate from the aggregates snapshots
/// under `dir` (`panel_view` rows of the candidate, and the
/// `reviewer_calibration` of its panelists, overall and for the posting);
/// `None` when there is no snapshot or no row for the candidate.
pub fn load_calibration(
    dir: &Path,
    candidate_id: &str,
    posting_id: Option<&str>,
) -> Result<Option<Value>, panelflow_connectors::parquet::aggregates::AggregatesSinkError> {
    let root = if storage::is_dir(&dir.join(SNAPSHOT_DIR))? {
        dir.to_path_buf()
    } else if storage::is_dir(&dir.join("aggregates").join(SNAPSHOT_DIR))? {
        dir.join("aggregates")
    } else {
        return Ok(None);
    };
    let panel_path = root.join(SNAPSHOT_DIR).join("panel_view.parquet");
    if !storage::exists(&panel_path)? {
        return Ok(None);
    }
    let panel = read_rows(&panel_path)?;
    let mine: Vec<&Vec<Cell>> = panel
        .rows
        .iter()
        .filter(|r| panel.get(r, "candidate_id").as_str() == Some(candidate_id))
        .filter(|r| posting_id.is_none_or(|p| panel.get(r, "posting_id").as_str() == Some(p)))
        .collect();
    if mine.is_empty() {
        return Ok(None);
    }
    let mut reviewers: Vec<String> = mine
        .iter()
        .filter_map(|r| panel.get(r, "ratings").as_str())
        .flat_map(|s| s.split(';'))
        .filter_map(|pair| pair.split_once('=').map(|(who, _)| who.trim().to_owned()))
        .filter(|w| !w.is_empty())
        .collect();
    reviewers.sort();
    reviewers.dedup();
    let cal_path = root.join(SNAPSHOT_DIR).join("reviewer_calibration.parquet");
    let mut cal_rows = Vec::new();
    if storage::exists(&cal_path)? {
        let cal = read_rows(&cal_path)?;
        for r in &cal.rows {
            let who = cal.get(r, "reviewer_id").as_str().unwrap_or_default();
            let kind = cal.get(r, "scope_kind").as_str().unwrap_or_default();
            let scope = cal.get(r, "scope").as_str();
            let in_scope =
                kind == "all" || (kind == "posting" && scope.is_some() && scope == posting_id);
            if in_scope && reviewers.iter().any(|x| x == who) {
                cal_rows.push(row_json(&cal, r));
            }
        }
    }
    Ok(Some(json!({
        "panel": mine.iter().map(|r| row_json(&panel, r)).collect::<Vec<_>>(),
        "reviewers": cal_rows,
    })))
}

const STYLE: &str = r#"
body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1rem;align-items:center}
header a{color:#fff}header .who{margin-left:auto}
main{padding:1rem 1.5rem;max-width:70rem}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1.2rem}
th,td{border:1px solid #d8dce3;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eef0f4}
section{background:#fff;border:1px solid #d8dce3;padding:.6rem 1rem;margin:.8rem 0}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.6rem;background:#dde3ee}
.pending{background:#ffe9a8}.written{background:#c9f0cf}.rejected{background:#f6c9c9}
.write_failed{background:#f6b0a0}.approved{background:#cde2ff}
.error{color:#a11}.muted{color:#667}
textarea{width:100%;min-height:12rem;font:inherit}
button{font:inherit;padding:.3rem .8rem;cursor:pointer}
.seek{font-family:ui-monospace,monospace;padding:.05rem .4rem}
pre{white-space:pre-wrap}
form.inline{display:inline}
"#;

const SCRIPT: &str = r#"(function(){
var p=document.getElementById('player');
if(!p)return;
document.addEventListener('click',function(e){
 var b=e.target.closest('button.seek');if(!b)return;
 e.preventDefault();
 var src=b.getAttribute('data-src');var t=parseFloat(b.getAttribute('data-t'))||0;
 var go=function(){try{p.currentTime=t;}catch(x){}p.setAttribute('data-seeked',String(t));var r=p.play();if(r&&r.catch)r.catch(function(){});};
 if(src&&p.getAttribute('src')!==src){p.setAttribute('src',src);p.load();p.addEventListener('loadedmetadata',go,{once:true});p.setAttribute('data-seeked',String(t));}
 else{go();}
});
})();"#;

/// The page's stylesheet (served at `/static/review.css`).
pub fn stylesheet() -> &'static str {
    STYLE
}

/// The page's script (served at `/static/review.js`): timestamps seek the player.
pub fn script() -> &'static str {
    SCRIPT
}

/// A whole page around `body`.
pub fn layout(title: &str, who: Option<(&Principal, &str)>, body: &str) -> String {
    let mut h = String::with_capacity(body.len() + 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — panelflow review</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/static/review.css\"></head><body><header><strong>panelflow review</strong>",
        esc(title)
    );
    if let Some((p, csrf)) = who {
        let _ = write!(
            h,
            "<a href=\"/queue\">Queue</a><span class=\"who\" id=\"who\">{} ({})</span>\
             <form class=\"inline\" method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\" id=\"sign-out\">Sign out</button></form>",
            esc(&p.name),
            esc(p.role.as_str()),
            esc(csrf)
        );
    }
    let _ = write!(
        h,
        "</header><main>{body}</main><script src=\"/static/review.js\"></script></body></html>"
    );
    h
}

/// The sign-in form, with an optional message.
pub fn login_page(message: Option<&str>) -> String {
    let msg = message
        .map(|m| format!("<p class=\"error\" id=\"message\">{}</p>", esc(m)))
        .unwrap_or_default();
    layout(
        "Sign in",
        None,
        &format!(
            "<h1>Sign in</h1>{msg}<form method=\"post\" action=\"/login\">\
             <label for=\"token\">Access token</label> \
             <input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" required> \
             <button type=\"submit\" id=\"sign-in\">Sign in</button></form>"
        ),
    )
}

/// A page with one message (errors, refusals).
pub fn message_page(title: &str, message: &str, who: Option<(&Principal, &str)>) -> String {
    layout(
        title,
        who,
        &format!(
            "<h1>{}</h1><p class=\"error\" id=\"message\">{}</p><p><a href=\"/queue\">Back to the queue</a></p>",
            esc(title),
            esc(message)
        ),
    )
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn status_badge(status: &str) -> String {
    format!(
        "<span class=\"badge {0}\" data-status=\"{0}\">{1}</span>",
        esc(status),
        esc(&status.replace('_', " "))
    )
}

fn posting_label(v: &Value) -> String {
    let title = s(v, "posting_title");
    let id = s(v, "posting_id");
    match (title.is_empty(), id.is_empty()) {
        (false, _) => title.to_owned(),
        (true, false) => id.to_owned(),
        _ => "—".to_owned(),
    }
}

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

fn is_video(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    [".mp4", ".webm", ".mov", ".mkv", ".m4v"]
        .iter()
        .any(|e| path.ends_with(e))
}

/// Media URL of an answer's media index (falls back to the first).
fn media_for<'a>(media: &'a [&'a str], index: Option<u64>) -> &'a str {
    index
        .and_then(|i| media.get(i as usize).copied())
        .or_else(|| media.first().copied())
        .unwrap_or("")
}

fn seek_button(media: &str, at: f64) -> String {
    format!(
        "<button type=\"button\" class=\"seek\" data-src=\"{}\" data-t=\"{at:.2}\" title=\"Play from {}\">{}</button>",
        esc(media),
        clock(at),
        clock(at)
    )
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "—".into())
}

/// One interview's page from its view (see [`item_view`]).
pub fn interview_page(view: &Value, who: (&Principal, &str)) -> String {
    let csrf = who.1;
    let id = s(view, "interview_id");
    let summary = view.get("summary").unwrap_or(&Value::Null);
    let media: Vec<&str> = view
        .get("media_urls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let answers: Vec<&Value> = summary
        .get("answers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    // Question id → media index of its answer (quotes name the question).
    let media_of_question = |qid: Option<&str>| -> Option<u64> {
        let qid = qid?;
        answers
            .iter()
            .find(|a| a.get("question_id").and_then(Value::as_str) == Some(qid))
            .and_then(|a| a.get("media_index").and_then(Value::as_u64))
    };

    let mut b = String::new();
    let _ = write!(
        b,
        "<p><a href=\"/queue\">← Queue</a> · <a id=\"feedback-link\" href=\"/feedback/{}\">Feedback draft</a></p>\
         <h1 id=\"interview-id\">{}</h1>\
         <p>Status: <span id=\"status\">{}</span> · Candidate <code>{}</code> · Opportunity <code>{}</code> · \
         Posting {} · Job family {} · Pipeline version {} · Waiting {}</p>",
        path_segment(id),
        esc(id),
        status_badge(s(view, "status")),
        esc(s(view, "candidate_id")),
        esc(s(view, "opportunity_id")),
        esc(&posting_label(view)),
        esc(if s(view, "job_family").is_empty() { "—" } else { s(view, "job_family") }),
        esc(s(view, "pipeline_version")),
        esc(&waited(view.get("waiting_s").and_then(Value::as_i64).unwrap_or(0))),
    );
    let reasons: Vec<String> = escaped_strs(view, "reasons");
    if !reasons.is_empty() {
        let _ = write!(
            b,
            "<p id=\"reasons\">Held for review: {}</p>",
            reasons.join(", ")
        );
    }
    if let Some(f) = view.get("failure").and_then(Value::as_str) {
        let _ = write!(
            b,
            "<p class=\"error\" id=\"failure\">The interview could not be analysed: {}</p>",
            esc(f)
        );
    }
    b.push_str("<p class=\"muted\">AI-generated and advisory: verify against the recording before deciding.</p>");

    // Player.
    b.push_str("<section id=\"recording\"><h2>Recording</h2>");
    if let Some(first) = media.first() {
        let tag = if is_video(first) { "video" } else { "audio" };
        let _ = write!(
            b,
            "<{tag} id=\"player\" controls preload=\"metadata\" src=\"{}\"></{tag}>",
            esc(first)
        );
        if media.len() > 1 {
            b.push_str("<p>Parts: ");
            for (i, m) in media.iter().enumerate() {
                let _ = write!(
                    b,
                    "<button type=\"button\" class=\"seek\" data-src=\"{}\" data-t=\"0\">{}</button> ",
                    esc(m),
                    i + 1
                );
            }
            b.push_str("</p>");
        }
    } else {
        b.push_str("<p class=\"muted\">No recording link.</p>");
    }
    b.push_str("</section>");

    // Summary and key quotes.
    if summary.is_object() {
        let extract = s(summary, "interview_transcript_summary");
        if !extract.is_empty() {
            let _ = write!(
                b,
                "<section id=\"summary\"><h2>Summary</h2><p>{}</p></section>",
                esc(extract)
            );
        }
        let h = summary.get("highlights").unwrap_or(&Value::Null);
        b.push_str("<section id=\"quotes\"><h2>Strengths and concerns</h2>");
        // Present only for roles that may see scores: both come from them.
        for (key, title) in [("strengths", "Strengths"), ("concerns", "Concerns")] {
            let Some(points) = h.get(key).and_then(Value::as_array) else {
                continue;
            };
            let _ = write!(b, "<h3>{title}</h3>");
            if points.is_empty() {
                b.push_str("<p class=\"muted\">None.</p>");
                continue;
            }
            let _ = write!(b, "<ul id=\"{key}\">");
            for q in points {
                let qid = q.get("question_id").and_then(Value::as_str);
                let seek = num(q, "at")
                    .map(|at| seek_button(media_for(&media, media_of_question(qid)), at))
                    .unwrap_or_default();
                let quote = match s(q, "quote") {
                    "" => String::new(),
                    quote => format!(" — “{}”", esc(quote)),
                };
                let _ = write!(
                    b,
                    "<li class=\"quote\">{seek} {}{quote}</li>",
                    esc(s(q, "text"))
                );
            }
            b.push_str("</ul>");
        }
        if let Some(red) = h.get("red_flags").and_then(Value::as_array) {
            b.push_str("<h3>Red flags</h3>");
            if red.is_empty() {
                b.push_str("<p class=\"muted\">None.</p>");
            } else {
                b.push_str("<ul id=\"red_flags\">");
                for r in red {
                    let qid = r.get("question_id").and_then(Value::as_str);
                    let at = num(r, "at").or_else(|| {
                        answers
                            .iter()
                            .find(|a| {
                                qid.is_some() && a.get("question_id").and_then(Value::as_str) == qid
                            })
                            .and_then(|a| num(a, "start"))
                    });
                    let seek = at
                        .map(|t| seek_button(media_for(&media, media_of_question(qid)), t))
                        .unwrap_or_default();
                    let _ = write!(
                        b,
                        "<li class=\"quote\">{seek} <strong>{}</strong>: {}</li>",
                        esc(&s(r, "kind").replace('_', " ")),
                        esc(s(r, "text"))
                    );
                }
                b.push_str("</ul>");
            }
        }
        b.push_str("</section>");

        // Answers.
        b.push_str("<section id=\"answers\"><h2>Answers</h2>");
        if answers.is_empty() {
            b.push_str("<p class=\"muted\">No answers.</p>");
        } else {
            b.push_str("<table><thead><tr><th>Question</th><th>Answer</th><th>Time</th>");
            let show_tone = answers
                .iter()
                .any(|a| a.get("tone").is_some() || a.get("sentiment").is_some());
            if show_tone {
                b.push_str("<th>Sentiment / tone</th>");
            }
            b.push_str("</tr></thead><tbody>");
            for a in &answers {
                let m = media_for(&media, a.get("media_index").and_then(Value::as_u64));
                let time = match (num(a, "start"), num(a, "end")) {
                    (Some(st), Some(en)) => format!("{}–{}", seek_button(m, st), esc(&clock(en))),
                    (Some(st), None) => seek_button(m, st),
                    _ => "—".into(),
                };
                let q = match (s(a, "question"), s(a, "question_id")) {
                    ("", "") => "—".to_owned(),
                    ("", qid) => qid.to_owned(),
                    (q, _) => q.to_owned(),
                };
                let _ = write!(
                    b,
                    "<tr class=\"answer\"><td>{}</td><td>{}</td><td>{time}</td>",
                    esc(&q),
                    esc(s(a, "text"))
                );
                if show_tone {
                    let mut bits = Vec::new();
                    if let Some(sent) = a.get("sentiment") {
                        let label = sent.get("label").and_then(Value::as_str).unwrap_or("");
                        bits.push(format!("sentiment {}", esc(label)));
                    }
                    if let Some(tone) = a.get("tone").and_then(Value::as_object) {
                        for (k, v) in tone.iter().take(4) {
                            if let Some(x) = v.as_f64() {
                                bits.push(format!("{} {x:.1}", esc(k)));
                            }
                        }
                    }
                    if let Some(fl) = a.get("flags").and_then(Value::as_array) {
                        for f in fl.iter().filter_map(Value::as_str) {
                            bits.push(format!("<span class=\"badge\">{}</span>", esc(f)));
                        }
                    }
                    let _ = write!(b, "<td>{}</td>", bits.join("<br>"));
                }
                b.push_str("</tr>");
            }
            b.push_str("</tbody></table>");
        }
        b.push_str("</section>");

        // Sentiment and flags.
        if summary.get("flags").is_some() || summary.get("sentiment").is_some() {
            b.push_str("<section id=\"flags\"><h2>Sentiment and tone flags</h2>");
            if let Some(label) = summary.get("sentiment").and_then(Value::as_str) {
                let _ = write!(
                    b,
                    "<p>Overall sentiment: <strong>{}</strong> ({})</p>",
                    esc(label),
                    fmt_opt(num(summary, "sentiment_score"), 2)
                );
            }
            let flags: Vec<&Value> = summary
                .get("flags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .collect();
            if flags.is_empty() {
                b.push_str("<p class=\"muted\">No flags.</p>");
            } else {
                b.push_str("<table><thead><tr><th>Flag</th><th>Severity</th><th>Question</th><th>Figures</th><th>Evidence</th></tr></thead><tbody>");
                for f in flags {
                    let figures: Vec<String> = f
                        .get("figures")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| format!("{} {}", esc(k), fmt_opt(v.as_f64(), 2)))
                        .collect();
                    let _ = write!(
                        b,
                        "<tr class=\"flag\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(s(f, "name")),
                        esc(s(f, "severity")),
                        esc(s(f, "question_id")),
                        figures.join(", "),
                        esc(s(f, "evidence"))
                    );
                }
                b.push_str("</tbody></table>");
            }
            b.push_str("</section>");
        }

        // Skills.
        let skills: Vec<String> = summary
            .get("key_skills_matched")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("skill").and_then(Value::as_str))
            .map(esc)
            .collect();
        let missing: Vec<String> = escaped_strs(summary, "skills_missing");
        let _ = write!(
            b,
            "<section id=\"skills\"><h2>Skills</h2><p>Matched: {}</p><p>Not mentioned: {}</p></section>",
            if skills.is_empty() { "—".into() } else { skills.join(", ") },
            if missing.is_empty() { "—".into() } else { missing.join(", ") }
        );

        // Scores: present in the view only for roles that see them.
        if let Some(scores) = summary.get("scores").and_then(Value::as_array) {
            let _ = write!(
                b,
                "<section id=\"scores\"><h2>Scores</h2><p>Overall score: <strong id=\"overall-score\">{}</strong> / 4</p>",
                fmt_opt(num(summary, "overall_score"), 2)
            );
            b.push_str("<table><thead><tr><th>Competency</th><th>Score</th><th>Confidence</th><th>Criteria met</th></tr></thead><tbody>");
            for sc in scores {
                let name = if s(sc, "name").is_empty() {
                    s(sc, "competency")
                } else {
                    s(sc, "name")
                };
                let low = sc.get("low_confidence").and_then(Value::as_bool) == Some(true);
                let met: Vec<String> = escaped_strs(sc, "criteria_met");
                let _ = write!(
                    b,
                    "<tr class=\"score\"><td>{}</td><td>{}/4</td><td>{}{}</td><td>{}</td></tr>",
                    esc(name),
                    fmt_opt(num(sc, "score"), 0),
                    fmt_opt(num(sc, "confidence"), 2),
                    if low { " (low)" } else { "" },
                    met.join(", ")
                );
            }
            b.push_str("</tbody></table></section>");
        }
    }

    // Calibration: in the view only for roles that see scores.
    if let Some(cal) = view.get("calibration") {
        b.push_str("<section id=\"calibration\"><h2>Panel calibration</h2>");
        if cal.is_null() {
            b.push_str("<p class=\"muted\" id=\"no-calibration\">No calibration data yet for this candidate.</p>");
        } else {
            b.push_str("<table id=\"panel\"><thead><tr><th>Posting</th><th>Competency</th><th>Panelists</th><th>Ratings</th>\
                        <th>Mean</th><th>Dispersion</th><th>AI score</th><th>AI − panel</th></tr></thead><tbody>");
            for r in cal
                .get("panel")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(s(r, "posting_id")),
                    esc(s(r, "competency")),
                    fmt_opt(num(r, "panelists"), 0),
                    esc(&s(r, "ratings").replace(';', "; ")),
                    fmt_opt(num(r, "rating_mean"), 2),
                    fmt_opt(num(r, "dispersion"), 2),
                    fmt_opt(num(r, "ai_score"), 2),
                    fmt_opt(num(r, "ai_minus_panel"), 2),
                );
            }
            b.push_str("</tbody></table>");
            let reviewers: Vec<&Value> = cal
                .get("reviewers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .collect();
            if !reviewers.is_empty() {
                b.push_str("<table id=\"reviewers\"><thead><tr><th>Reviewer</th><th>Scope</th><th>Ratings</th><th>Mean</th>\
                            <th>Leniency</th><th>Agreement (panel)</th><th>Agreement (AI)</th></tr></thead><tbody>");
                for r in reviewers {
                    let _ = write!(
                        b,
                        "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(s(r, "reviewer_id")),
                        esc(s(r, "scope_kind")),
                        esc(s(r, "scope")),
                        fmt_opt(num(r, "ratings"), 0),
                        fmt_opt(num(r, "mean"), 2),
                        fmt_opt(num(r, "leniency"), 2),
                        fmt_opt(num(r, "agreement_panel"), 2),
                        fmt_opt(num(r, "agreement_ai"), 2),
                    );
                }
                b.push_str("</tbody></table>");
            }
        }
        b.push_str("</section>");
    }

    // What would be written to Lever.
    let plan = view.get("plan").unwrap_or(&Value::Null);
    b.push_str("<section id=\"lever\"><h2>For Lever</h2>");
    match plan.get("note").and_then(Value::as_str) {
        Some(note) => {
            let _ = write!(
                b,
                "<h3>Private note</h3><pre id=\"note\">{}</pre>",
                esc(note)
            );
        }
        None if plan.get("note_hidden").and_then(Value::as_bool) == Some(true) => {
            b.push_str("<p class=\"muted\">The note holds figures your role does not see.</p>");
        }
        None => b.push_str("<p class=\"muted\">No note.</p>"),
    }
    let list = |key: &str| -> String {
        let v: Vec<String> = plan
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(esc)
            .collect();
        if v.is_empty() {
            "—".into()
        } else {
            v.join(", ")
        }
    };
    let _ = write!(
        b,
        "<p>Tags to add: {} · to remove: {} · stage move: {}</p>",
        list("add_tags"),
        list("remove_tags"),
        esc(plan.get("stage").and_then(Value::as_str).unwrap_or("none"))
    );
    if let Some(card) = plan.get("scorecard").filter(|c| !c.is_null()) {
        let _ = write!(
            b,
            "<p>Scorecard (template {}): {} fields</p>",
            esc(s(card, "base_template_id")),
            card.get("field_values")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        );
    }
    b.push_str("</section>");

    // Decisions and the write-back.
    let decisions: Vec<&Value> = view
        .get("decisions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    b.push_str("<section id=\"history\"><h2>Decisions</h2>");
    if decisions.is_empty() {
        b.push_str("<p class=\"muted\">None yet.</p>");
    } else {
        b.push_str("<ul id=\"decisions\">");
        for d in decisions {
            let comment = s(d, "comment");
            let _ = write!(
                b,
                "<li class=\"decision\">{} by <strong>{}</strong> ({}) at {}{}{}</li>",
                esc(s(d, "action")),
                esc(s(d, "user")),
                esc(s(d, "role")),
                esc(s(d, "at")),
                if d.get("note_edited").and_then(Value::as_bool) == Some(true)
                    || d.get("edited_note").is_some_and(|n| !n.is_null())
                {
                    " — note edited"
                } else {
                    ""
                },
                if comment.is_empty() {
                    String::new()
                } else {
                    format!(" — “{}”", esc(comment))
                },
            );
        }
        b.push_str("</ul>");
    }
    if let Some(report) = view.get("write_report").filter(|r| !r.is_null()) {
        let _ = write!(
            b,
            "<p id=\"write-report\">Written to Lever: note {} ({}), tags added {}, stage moved {}, scorecard {}</p>",
            esc(s(report, "note_id")),
            if report.get("note_created").and_then(Value::as_bool) == Some(true) { "new" } else { "already there" },
            report.get("tags_added").and_then(Value::as_array).map_or(0, Vec::len),
            report.get("stage_moved").and_then(Value::as_bool).unwrap_or(false),
            esc(s(report, "feedback_id")),
        );
    }
    if let Some(err) = view.get("write_error").and_then(Value::as_str) {
        let _ = write!(
            b,
            "<p class=\"error\" id=\"write-error\">Writing to Lever failed: {}</p>",
            esc(err)
        );
    }
    b.push_str("</section>");

    // Actions.
    let action = |name: &str| format!("/interviews/{}/{name}", path_segment(id));
    let hidden = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(csrf)
    );
    if view.get("can_decide").and_then(Value::as_bool) == Some(true) {
        b.push_str("<section id=\"decide\"><h2>Decide</h2>");
        let _ = write!(
            b,
            "<form method=\"post\" action=\"{}\" id=\"approve-form\">{hidden}\
             <label>Comment (optional) <input type=\"text\" name=\"comment\" maxlength=\"500\"></label> \
             <button type=\"submit\" id=\"approve\">Approve and write to Lever</button></form>",
            action("approve")
        );
        if view.get("can_edit").and_then(Value::as_bool) == Some(true) {
            let _ = write!(
                b,
                "<form method=\"post\" action=\"{}\" id=\"edit-form\">{hidden}<h3>Edit the note, then approve</h3>\
                 <textarea name=\"note\" id=\"edit-note\" required>{}</textarea>\
                 <button type=\"submit\" id=\"approve-edited\">Approve with this note</button></form>",
                action("edit"),
                esc(plan.get("note").and_then(Value::as_str).unwrap_or(""))
            );
        }
        let _ = write!(
            b,
            "<form method=\"post\" action=\"{}\" id=\"reject-form\">{hidden}\
             <label>Why (optional) <input type=\"text\" name=\"comment\" maxlength=\"500\"></label> \
             <button type=\"submit\" id=\"reject\">Reject (nothing is written)</button></form></section>",
            action("reject")
        );
    } else if view.get("can_retry").and_then(Value::as_bool) == Some(true) {
        let _ = write!(
            b,
            "<section id=\"decide\"><form method=\"post\" action=\"{}\">{hidden}\
             <button type=\"submit\" id=\"retry\">Retry writing to Lever</button></form></section>",
            action("retry")
        );
    }
    layout(id, Some(who), &b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::auth::Role;
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
}
