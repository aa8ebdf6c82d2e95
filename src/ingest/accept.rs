//! The producer path: an accepted event (or ratings) published to Kafka.

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use panelflow_connectors::kafka::KafkaIoError;
use panelflow_core::event::InterviewCompleted;

use super::config::IngestSection;
use super::lever_check::{check_with_lever, LeverCheck};
use super::response::error_response;
use super::state::{AppState, Inner};

/// An accepted interview: not erased, its Lever ids checked, produced.
pub(super) async fn accept(
    state: &AppState,
    source: &'static str,
    mut event: InterviewCompleted,
) -> Response {
    let inner = &state.inner;
    if inner.replay.is_tombstoned(&event.interview_id) {
        inner.counters.erased.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(source, correlation_id = %event.correlation_id, "delivery of an erased interview refused");
        return error_response(
            StatusCode::GONE,
            "this interview was erased; it is not accepted again",
        );
    }
    if source == panelflow_core::webhook::lever::SOURCE && inner.cfg.ingest.verify_lever {
        let Some(client) = inner.lever.0.clone() else {
            inner.counters.unavailable.fetch_add(1, Ordering::Relaxed);
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "Lever deliveries are checked against Lever's API, which is not configured here",
            );
        };
        let checked = tokio::task::spawn_blocking(move || {
            let r = check_with_lever(&client, &mut event);
            drop(client);
            (r, event)
        })
        .await;
        let (result, checked_event) = match checked {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = %e, "Lever check failed");
                return error_response(StatusCode::SERVICE_UNAVAILABLE, "retry later");
            }
        };
        event = checked_event;
        match result {
            Ok(()) => {}
            Err(LeverCheck::Refused(why)) => {
                inner.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source, correlation_id = %event.correlation_id, reason = %why, "Lever delivery contradicted by Lever");
                return error_response(StatusCode::UNAUTHORIZED, why);
            }
            Err(LeverCheck::Unavailable(why)) => {
                inner.counters.unavailable.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(source, reason = %why, "Lever delivery not checked");
                return error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Lever could not be asked about this delivery; retry later",
                );
            }
        }
    }
    event.region = event_region(&event, &inner.cfg.ingest);
    let topic = &inner.cfg.kafka.topic;
    match inner.producer.produce_event(topic, &event).await {
        Ok((partition, offset)) => {
            inner.counters.accepted.fetch_add(1, Ordering::Relaxed);
            panelflow_connectors::metrics::EVENTS_IN
                .with_label_values(&["ingest", topic.as_str()])
                .inc();
            tracing::info!(
                source,
                interview_id = %event.interview_id,
                correlation_id = %event.correlation_id,
                payload_sha256 = %event.payload_sha256,
                partition,
                offset,
                "interview accepted"
            );
            (
                StatusCode::ACCEPTED,
                Json(json!({
                    "status": "accepted",
                    "interviewId": event.interview_id,
                    "correlationId": event.correlation_id,
                    "partition": partition,
                    "offset": offset,
                })),
            )
                .into_response()
        }
        Err(e) => {
            inner.counters.unavailable.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                source,
                interview_id = %event.interview_id,
                correlation_id = %event.correlation_id,
                error = %e,
                "event not acknowledged by the broker"
            );
            let status = match e {
                KafkaIoError::Serialize { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            error_response(status, "event not stored, retry later")
        }
    }
}

/// Publishes a rating webhook's ratings, keyed by candidate, and answers
/// 202 once all are acknowledged, else 503: the platform retries, and the
/// aggregates drop the ratings they already hold.
pub(super) async fn publish_ratings(
    inner: &Inner,
    source: &str,
    ratings: &[panelflow_core::wire::RatingMessage],
) -> Response {
    let topic = &inner.cfg.kafka.ratings_topic;
    if topic.is_empty() {
        inner.counters.ignored.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            source,
            "ratings webhook ignored: no ratings topic configured"
        );
        return StatusCode::NO_CONTENT.into_response();
    }
    for rating in ratings {
        if let Err(e) = inner
            .producer
            .produce_json(topic, rating.candidate_id.as_str(), rating)
            .await
        {
            inner.counters.unavailable.fetch_add(1, Ordering::Relaxed);
            tracing::error!(source, error = %e, "rating not acknowledged by the broker");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "ratings not stored, retry later",
            );
        }
    }
    inner.counters.accepted.fetch_add(1, Ordering::Relaxed);
    tracing::info!(source, ratings = ratings.len(), "ratings accepted");
    (
        StatusCode::ACCEPTED,
        Json(json!({ "status": "accepted", "ratings": ratings.len() })),
    )
        .into_response()
}

/// The region an accepted event belongs to: the payload's own `region` (or
/// `data_region`) when it states one, else the region configured for its
/// source (`[ingest.regions]`), else none (the deployment's). The dataflow
/// refuses events of other regions.
///
/// ```
/// let mut ingest = panelflow::ingest::IngestSection::default();
/// ingest.regions.insert("willo".into(), "eu".into());
/// let e = panelflow_core::event::InterviewCompleted::new("willo", "i", "c", "o", vec![]);
/// assert_eq!(panelflow::ingest::event_region(&e, &ingest).as_deref(), Some("eu"));
/// ```
pub fn event_region(
    event: &panelflow_core::event::InterviewCompleted,
    ingest: &IngestSection,
) -> Option<String> {
    ["region", "data_region", "dataRegion"]
        .iter()
        .find_map(|k| event.unknown_fields.get(*k).and_then(|v| v.as_str()))
        .map(|r| r.trim().to_ascii_lowercase())
        .filter(|r| !r.is_empty())
        .or_else(|| event.region.clone())
        .or_else(|| ingest.regions.get(&event.source).cloned())
}
