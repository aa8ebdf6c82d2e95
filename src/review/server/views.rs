//! The queue and interview views: their handlers (HTML and JSON), and
//! which recordings an interview's page may play.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};

use super::caller::{blocking, ClientIp};
use super::responses::{html, html_with_media, json_response, Failure};
use super::state::{AppState, ReviewApp};
use crate::review::auth::Principal;
use crate::review::page;
use panelflow_connectors::store::queue::{ReviewItem, ReviewStatus};

impl ReviewApp {
    /// The origins the CSP lets the page play `view`'s recordings from.
    fn media_origins(&self, view: &Value) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for u in view
            .get("media_urls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some(o) = media_origin(u) {
                if !out.contains(&o) {
                    out.push(o);
                }
            }
        }
        out
    }

    /// Whether `url` may be played: an http(s) URL whose host (or origin)
    /// is among `[review] media_hosts`, or any when none are configured.
    fn media_allowed(&self, url: &str) -> bool {
        let hosts = &self.cfg.review.media_hosts;
        let Ok(u) = url::Url::parse(url) else {
            return false;
        };
        if !matches!(u.scheme(), "http" | "https") {
            return false;
        }
        if hosts.is_empty() {
            return true;
        }
        let origin = media_origin(url).unwrap_or_default();
        let host = u.host_str().unwrap_or_default();
        hosts.iter().any(|h| {
            h.eq_ignore_ascii_case(host) || h.trim_end_matches('/').eq_ignore_ascii_case(&origin)
        })
    }

    fn calibration(&self, item: &ReviewItem) -> Option<Value> {
        match page::load_calibration(
            &self.cfg.review.aggregates_dir,
            &item.candidate_id,
            item.posting_id.as_deref(),
        ) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "calibration snapshot unreadable");
                None
            }
        }
    }
}

/// `scheme://host[:port]` of an http(s) URL (a CSP source).
fn media_origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    let origin = u.origin().ascii_serialization();
    // Only what a CSP source may hold: no spaces, quotes or semicolons.
    (!origin.contains([' ', ';', '\'', '"', ','])).then_some(origin)
}

#[derive(serde::Deserialize, Default)]
pub(super) struct SortQuery {
    sort: Option<String>,
}

fn queue_rows(
    app: &ReviewApp,
    who: &Principal,
    sort: &str,
) -> Result<(Vec<Value>, Vec<Value>), Failure> {
    let now = Utc::now();
    let mut items = app.queue.latest()?;
    let (mut pending, mut rest): (Vec<ReviewItem>, Vec<ReviewItem>) = items
        .drain(..)
        .partition(|i| i.status == ReviewStatus::Pending);
    // Oldest first = longest waiting first.
    pending.sort_by_key(|i| i.enqueued_at);
    if sort == "posting" {
        pending.sort_by(|a, b| {
            let key = |i: &ReviewItem| {
                i.posting_title
                    .clone()
                    .or_else(|| i.posting_id.clone())
                    .unwrap_or_else(|| "\u{10FFFF}".into())
                    .to_lowercase()
            };
            key(a).cmp(&key(b)).then(a.enqueued_at.cmp(&b.enqueued_at))
        });
    }
    rest.sort_by(|a, b| {
        b.updated_at
            .unwrap_or(b.enqueued_at)
            .cmp(&a.updated_at.unwrap_or(a.enqueued_at))
    });
    rest.truncate(50);
    let row = |i: &ReviewItem| page::queue_row(i, &who.policy, now);
    Ok((
        pending.iter().map(row).collect(),
        rest.iter().map(row).collect(),
    ))
}

pub(super) async fn queue_html(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(q): Query<SortQuery>,
) -> Response {
    let c = match app.reader(&headers, ip, false).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    let sort = q.sort.unwrap_or_default();
    let (app2, who) = (Arc::clone(&app), c.who.clone());
    let sort2 = sort.clone();
    match blocking(move || queue_rows(&app2, &who, &sort2)).await {
        Ok((pending, recent)) => html(
            StatusCode::OK,
            page::queue_page(&pending, &recent, &sort, (&c.who, &c.csrf)),
        ),
        Err(f) => f.render(false, Some((&c.who, &c.csrf))),
    }
}

pub(super) async fn queue_json(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(q): Query<SortQuery>,
) -> Response {
    let c = match app.reader(&headers, ip, true).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    let sort = q.sort.unwrap_or_default();
    let (app2, who) = (Arc::clone(&app), c.who.clone());
    match blocking(move || queue_rows(&app2, &who, &sort)).await {
        Ok((pending, recent)) => json_response(
            StatusCode::OK,
            &json!({"user": c.who.name, "role": c.who.role.as_str(), "pending": pending, "recent": recent}),
        ),
        Err(f) => f.render(true, None),
    }
}

async fn view_of(app: &AppState, who: &Principal, id: String) -> Result<Value, Failure> {
    let (app, policy) = (Arc::clone(app), who.policy);
    blocking(move || {
        let item = app.queue.get(&id)?.ok_or_else(|| {
            Failure::new(
                StatusCode::NOT_FOUND,
                "Not found",
                format!("No interview {id} in the review queue."),
            )
        })?;
        let calibration = if policy.see_scores {
            app.calibration(&item)
        } else {
            None
        };
        let mut view = page::item_view(&item, &policy, Utc::now(), calibration.as_ref());
        if let Some(urls) = view.get_mut("media_urls").and_then(Value::as_array_mut) {
            urls.retain(|u| u.as_str().is_some_and(|u| app.media_allowed(u)));
        }
        Ok(view)
    })
    .await
}

pub(super) async fn interview_html(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let c = match app.reader(&headers, ip, false).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match view_of(&app, &c.who, id).await {
        Ok(view) => html_with_media(
            StatusCode::OK,
            page::interview_page(&view, (&c.who, &c.csrf)),
            &app.media_origins(&view),
        ),
        Err(f) => f.render(false, Some((&c.who, &c.csrf))),
    }
}

pub(super) async fn interview_json(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let c = match app.reader(&headers, ip, true).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match view_of(&app, &c.who, id).await {
        Ok(view) => json_response(StatusCode::OK, &view),
        Err(f) => f.render(true, None),
    }
}
