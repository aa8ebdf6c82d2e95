//! Rendering: the draft's page and the feedback pages' messages (HTML or
//! JSON).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::draft::{Draft, Kind};
use super::host::{FeedbackHost, SignedIn};
use crate::review::page::{clock, esc, layout, path_segment};
use panelflow_connectors::store::queue::ReviewItem;

pub(super) fn page<H: FeedbackHost>(
    host: &H,
    status: StatusCode,
    c: &SignedIn,
    title: &str,
    body: &str,
) -> Response {
    host.secure(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            layout(title, Some((&c.who, c.csrf.as_str())), body),
        )
            .into_response(),
    )
}

pub(super) fn message<H: FeedbackHost>(
    host: &H,
    status: StatusCode,
    c: &SignedIn,
    as_json: bool,
    text: &str,
) -> Response {
    if as_json {
        return host.secure((status, axum::Json(json!({"message": text}))).into_response());
    }
    page(
        host,
        status,
        c,
        "Feedback draft",
        &format!(
            "<h1>Feedback draft</h1><p class=\"error\" id=\"message\">{}</p>",
            esc(text)
        ),
    )
}

pub(super) fn draft_html(
    item: &ReviewItem,
    decision: &str,
    draft: &Draft,
    text: &str,
    c: &SignedIn,
    saved: bool,
) -> String {
    let mut b = String::new();
    b.push_str("<h1>Feedback draft</h1>");
    b.push_str(&format!(
        "<p class=\"meta\">Interview <a href=\"/interviews/{}\">{}</a> · decision in Lever: <strong id=\"decision\">{}</strong></p>",
        path_segment(&item.interview_id),
        esc(&item.interview_id),
        esc(decision)
    ));
    if saved {
        b.push_str("<p class=\"ok\" id=\"saved\">Saved to Lever as a secret note “Feedback draft (not sent)”.</p>");
    }
    b.push_str("<p class=\"notice\" id=\"not-sent\">panelflow never sends this to the candidate. Edit it here; saving keeps it in Lever as a secret note for you to send in your own words.</p>");
    for (kind, title) in [
        (Kind::Strength, "Strengths"),
        (Kind::Development, "Areas for development"),
    ] {
        b.push_str(&format!("<h2>{title}</h2><ul class=\"draft\">"));
        for i in draft.items.iter().filter(|i| i.kind == kind) {
            let cite = match (&i.quote, i.at) {
                (Some(q), Some(at)) => format!("“{}” at {}", esc(q), clock(at)),
                (Some(q), None) => format!("“{}”", esc(q)),
                _ => "no answer was recorded".to_owned(),
            };
            b.push_str(&format!(
                "<li class=\"{}\">{}<br><span class=\"cite\">Your answer to “{}”: {cite}</span></li>",
                if kind == Kind::Strength { "strength" } else { "area" },
                esc(&i.sentence),
                esc(&i.question)
            ));
        }
        b.push_str("</ul>");
    }
    let can_save = c.who.policy.can_decide;
    b.push_str(&format!(
        "<form method=\"post\" action=\"/feedback/{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"draft\">Edit the draft</label><textarea id=\"draft\" name=\"draft\" rows=\"14\">{}</textarea>\
         {}</form>",
        path_segment(&item.interview_id),
        esc(&c.csrf),
        esc(text),
        if can_save {
            "<button type=\"submit\" id=\"save-draft\">Save to Lever as a secret note (not sent)</button>"
        } else {
            "<p class=\"meta\">Your role may read this draft but not save it.</p>"
        }
    ));
    b
}
