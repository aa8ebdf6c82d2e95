//! The feedback routes: `GET` shows a decided candidate's draft, `POST`
//! saves the (edited) draft to Lever as a secret note.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::compose::{compose, decision};
use super::draft::{Draft, DraftError, Kind};
use super::host::FeedbackHost;
use super::render::{draft_html, message, page};
use crate::review::page::path_segment;
use panelflow_connectors::store::audit::AuditEvent;
use panelflow_connectors::store::queue::ReviewItem;
use panelflow_models::analysis::summary::Summary;

/// The first line of every saved draft note.
pub const NOTE_TITLE: &str = "Feedback draft (not sent)";
/// The marker a saved draft note ends with: `panelflow-feedback-draft: INTERVIEW SHA`.
pub const NOTE_MARKER: &str = "panelflow-feedback-draft: ";
/// Longest draft accepted from the page.
const MAX_DRAFT_CHARS: usize = 10_000;

/// The feedback routes, for the review server's router.
pub fn routes<H: FeedbackHost>() -> Router<Arc<H>> {
    Router::new().route("/feedback/{id}", get(view::<H>).post(save::<H>))
}

fn sha12(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

/// The item, its decision and its draft.
struct Prepared {
    item: ReviewItem,
    decision: Option<String>,
    draft: Result<Draft, DraftError>,
}

fn prepare<H: FeedbackHost>(host: &H, id: &str) -> Result<Prepared, (StatusCode, String)> {
    let item = host
        .queue()
        .get(id)
        .map_err(|e| {
            tracing::error!(error = %e, "review queue unreadable");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The review queue could not be read.".to_owned(),
            )
        })?
        .ok_or_else(|| {
            (
                StatusCode::NOT_FOUND,
                format!("No interview {id} in the review queue."),
            )
        })?;
    let summary: Option<Summary> = serde_json::from_value(item.summary.clone()).ok();
    let decision = match host.lever() {
        Some(client) => match client.get_opportunity(&item.opportunity_id) {
            Ok(opp) => decision(&opp, item.enqueued_at.timestamp_millis()),
            Err(e) => {
                tracing::warn!(error = %e, opportunity_id = %item.opportunity_id, "opportunity unreadable");
                return Err((
                    StatusCode::BAD_GATEWAY,
                    "Lever could not be read to see the candidate's decision; try again.".into(),
                ));
            }
        },
        None => None,
    };
    let draft = summary
        .as_ref()
        .ok_or(DraftError::NoAnalysis)
        .and_then(compose);
    Ok(Prepared {
        item,
        decision,
        draft,
    })
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") && !v.contains("text/html"))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(error = %e, "feedback handler failed");
            None
        }
    }
}

async fn view<H: FeedbackHost>(
    State(host): State<Arc<H>>,
    connected: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let as_json = wants_json(&headers);
    let ip = connected.map(|c| c.0 .0.ip());
    let c = match Arc::clone(&host)
        .signed_in(headers.clone(), ip, as_json)
        .await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (h, id2) = (Arc::clone(&host), id.clone());
    let Some(prepared) = blocking(move || prepare(h.as_ref(), &id2)).await else {
        return message(
            host.as_ref(),
            StatusCode::INTERNAL_SERVER_ERROR,
            &c,
            as_json,
            "The request failed.",
        );
    };
    let p = match prepared {
        Ok(p) => p,
        Err((status, text)) => return message(host.as_ref(), status, &c, as_json, &text),
    };
    let Some(decision) = p.decision.clone() else {
        return message(
            host.as_ref(),
            StatusCode::OK,
            &c,
            as_json,
            "No decision yet: a feedback draft is made once Lever shows the candidate advanced or archived.",
        );
    };
    let draft = match &p.draft {
        Ok(d) => d,
        Err(e) => return message(host.as_ref(), StatusCode::OK, &c, as_json, &e.to_string()),
    };
    let text = draft.text();
    host.record(&[AuditEvent::step(
        &p.item.correlation_id,
        &p.item.interview_id,
        "feedback_draft",
        "ok",
    )
    .by(c.who.name.clone())
    .for_candidate(p.item.candidate_id.clone())
    .with_detail(json!({
        "decision": decision,
        "draft_sha": sha12(&text),
        "strengths": draft.items.iter().filter(|i| i.kind == Kind::Strength).count(),
        "areas": draft.items.iter().filter(|i| i.kind == Kind::Development).count(),
        "questions": draft.items.iter().filter_map(|i| i.question_id.clone()).collect::<Vec<_>>(),
    }))]);
    if as_json {
        return host.secure(
            (
                StatusCode::OK,
                axum::Json(
                    json!({"interview_id": p.item.interview_id, "decision": decision,
                                  "draft": draft, "text": text}),
                ),
            )
                .into_response(),
        );
    }
    let saved = query.contains_key("saved");
    page(
        host.as_ref(),
        StatusCode::OK,
        &c,
        "Feedback draft",
        &draft_html(&p.item, &decision, draft, &text, &c, saved),
    )
}

async fn save<H: FeedbackHost>(
    State(host): State<Arc<H>>,
    connected: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let as_json = wants_json(&headers);
    let ip = connected.map(|c| c.0 .0.ip());
    let c = match Arc::clone(&host)
        .signed_in(headers.clone(), ip, as_json)
        .await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if !host.csrf_ok(&c, form.get("csrf").map(String::as_str).unwrap_or("")) {
        return message(
            host.as_ref(),
            StatusCode::FORBIDDEN,
            &c,
            as_json,
            "The form's security token is missing or expired; reload the page and try again.",
        );
    }
    if !c.who.policy.can_decide {
        return message(
            host.as_ref(),
            StatusCode::FORBIDDEN,
            &c,
            as_json,
            "Your role may not save feedback drafts.",
        );
    }
    let text = form
        .get("draft")
        .map(|s| s.replace("\r\n", "\n").trim().to_owned())
        .unwrap_or_default();
    if text.is_empty() || text.chars().count() > MAX_DRAFT_CHARS {
        return message(
            host.as_ref(),
            StatusCode::BAD_REQUEST,
            &c,
            as_json,
            &format!("The draft must hold between 1 and {MAX_DRAFT_CHARS} characters."),
        );
    }
    let (h, id2, who) = (Arc::clone(&host), id.clone(), c.who.name.clone());
    let result = blocking(move || -> Result<(String, Value), (StatusCode, String)> {
        let p = prepare(h.as_ref(), &id2)?;
        let decision = p.decision.ok_or((
            StatusCode::CONFLICT,
            "No decision yet in Lever: nothing was saved.".to_owned(),
        ))?;
        let client = h.lever().ok_or((
            StatusCode::SERVICE_UNAVAILABLE,
            "Lever is not configured for the review server: nothing was saved.".to_owned(),
        ))?;
        let original = p.draft.as_ref().map(Draft::text).unwrap_or_default();
        let prefix = format!("{NOTE_MARKER}{} ", p.item.interview_id);
        let marker = format!("{prefix}{}", sha12(&text));
        let note = format!("{NOTE_TITLE}\n\n{text}\n\n{marker}");
        let lever_err = |e: panelflow_connectors::lever::client::LeverError| {
            tracing::warn!(error = %e, "feedback draft not saved to Lever");
            (
                StatusCode::BAD_GATEWAY,
                format!("Lever refused the note: {e}"),
            )
        };
        let opp = &p.item.opportunity_id;
        let written = client
            .ensure_note(opp, &marker, &note, true, None)
            .map_err(lever_err)?;
        // The earlier drafts of this interview go: one current draft.
        let mut removed = 0;
        for n in client.list_notes(opp).map_err(lever_err)? {
            let ours = n.value_text.lines().any(|l| l.trim().starts_with(&prefix));
            if ours && n.id != written.note_id() {
                client.delete_note(opp, &n.id, None).map_err(lever_err)?;
                removed += 1;
            }
        }
        let detail = json!({
            "decision": decision,
            "note_id": written.note_id(),
            "edited": text != original.trim(),
            "draft_sha": sha12(original.trim()),
            "saved_sha": sha12(&text),
            "chars": text.chars().count(),
            "earlier_drafts_removed": removed,
            "sent_to_candidate": false,
        });
        h.record(&[AuditEvent::step(
            &p.item.correlation_id,
            &p.item.interview_id,
            "feedback_draft_saved",
            "ok",
        )
        .by(who)
        .for_candidate(p.item.candidate_id.clone())
        .with_detail(detail.clone())]);
        Ok((p.item.interview_id, detail))
    })
    .await;
    match result {
        Some(Ok((iid, detail))) => {
            tracing::info!(interview_id = %iid, "feedback draft saved to Lever");
            if as_json {
                return host.secure((StatusCode::OK, axum::Json(detail)).into_response());
            }
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) =
                HeaderValue::from_str(&format!("/feedback/{}?saved=1", path_segment(&iid)))
            {
                r.headers_mut().insert(header::LOCATION, v);
            }
            host.secure(r)
        }
        Some(Err((status, text))) => message(host.as_ref(), status, &c, as_json, &text),
        None => message(
            host.as_ref(),
            StatusCode::INTERNAL_SERVER_ERROR,
            &c,
            as_json,
            "The request failed.",
        ),
    }
}
