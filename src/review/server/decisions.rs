//! Decisions: approving, editing, rejecting and retrying an interview
//! (forms and JSON).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;

use super::caller::{bearer, blocking, form, wants_json, ClientIp};
use super::responses::{json_response, redirect, Failure};
use super::state::AppState;
use crate::review::page;
use panelflow_connectors::store::queue::ReviewError;

/// Longest edited note accepted.
const MAX_NOTE_CHARS: usize = 20_000;
/// Longest comment kept.
const MAX_COMMENT_CHARS: usize = 500;

pub(super) async fn decide(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let as_json = wants_json(&headers) || bearer(&headers).is_some();
    let c = match app.caller(&headers, ip).await {
        Ok(c) => c,
        Err(f) => return f.render(as_json, None),
    };
    let who = Some((&c.who, c.csrf.as_str()));
    let f = form(&body);
    if let Some(nonce) = &c.nonce {
        if !app
            .auth
            .check_csrf(nonce, f.get("csrf").map(String::as_str).unwrap_or(""))
        {
            tracing::warn!(user = %c.who.name, "review form without a valid CSRF token");
            return Failure::new(
                StatusCode::FORBIDDEN,
                "Refused",
                "The form's security token is missing or expired; reload the page and try again.",
            )
            .render(as_json, who);
        }
    }
    if let Err(f) = app.may_see_results(&c.who) {
        return f.render(as_json, who);
    }
    if !matches!(action.as_str(), "approve" | "edit" | "reject" | "retry") {
        return Failure::new(
            StatusCode::NOT_FOUND,
            "Not found",
            format!("No action {action:?}."),
        )
        .render(as_json, who);
    }
    if !c.who.policy.can_decide {
        return Failure::new(
            StatusCode::FORBIDDEN,
            "Not allowed",
            format!(
                "The {} role may not approve, edit or reject.",
                c.who.role.as_str()
            ),
        )
        .render(as_json, who);
    }
    let comment = f
        .get("comment")
        .map(|s| s.trim().chars().take(MAX_COMMENT_CHARS).collect::<String>())
        .filter(|s| !s.is_empty());
    let note = if action == "edit" {
        let text = f
            .get("note")
            .map(|s| s.replace("\r\n", "\n"))
            .unwrap_or_default();
        if text.trim().is_empty() {
            return Failure::new(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The edited note is empty.",
            )
            .render(as_json, who);
        }
        if text.chars().count() > MAX_NOTE_CHARS {
            return Failure::new(
                StatusCode::BAD_REQUEST,
                "Bad request",
                format!("The note is longer than {MAX_NOTE_CHARS} characters."),
            )
            .render(as_json, who);
        }
        Some(text)
    } else {
        None
    };
    let (app2, principal, id2, action2) =
        (Arc::clone(&app), c.who.clone(), id.clone(), action.clone());
    let result = blocking(move || {
        if action2 == "edit" {
            // Editing needs a note the role may read.
            let item = app2
                .queue
                .get(&id2)?
                .ok_or_else(|| Failure::from(ReviewError::NotFound(id2.clone())))?;
            if !page::note_visible(&item, &principal.policy) {
                return Err(Failure::new(
                    StatusCode::FORBIDDEN,
                    "Not allowed",
                    "Your role may approve or reject this note but not edit it.",
                ));
            }
        }
        app2.decide(&id2, &action2, &principal, note, comment)
            .map_err(Failure::from)
    })
    .await;
    match result {
        Ok(item) if as_json => json_response(
            StatusCode::OK,
            &page::item_view(&item, &c.who.policy, Utc::now(), None),
        ),
        Ok(_) => redirect(&format!("/interviews/{}", page::path_segment(&id))),
        Err(f) => f.render(as_json, who),
    }
}
