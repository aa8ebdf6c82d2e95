//! `panelflow ingest`: the webhook receiver.
//!
//! Routes:
//! - `POST /webhooks/{source}`: one [`WebhookSource`] per platform (`lever`,
//!   `generic`, `willo`, `sparkhire`, `hirevue`, `hireflix`, and whatever is
//!   registered with [`AppState::with_sources`]); an unknown source is 404;
//! - `POST /webhooks/{source}/{token}`: the same, with a secret path token,
//!   only for the sources listed in `[ingest] path_token_sources` (a path
//!   token signs nothing and puts the secret in URLs): 404 for the others;
//! - `GET /healthz`: 200 `{status: "ok", ready}` (`ready`: the broker answered
//!   the last probe and the topic exists). With `Authorization: Bearer
//!   <$PANELFLOW_INGEST_HEALTH_TOKEN>` it adds the broker's addresses, the
//!   last probe's error and the counters. The broker is probed in the
//!   background every few seconds, never per request.
//!
//! Answers to a webhook:
//!
//! | outcome | status | body |
//! | --- | --- | --- |
//! | produced and acknowledged by the broker | 202 | `{status: "accepted", interviewId, correlationId, partition, offset}` |
//! | a rating webhook, its ratings acknowledged on the ratings topic | 202 | `{status: "accepted", ratings: N}` |
//! | the same delivery again (same Lever token or body, same body) | 200 | `{status: "duplicate"}` — nothing produced |
//! | well-signed, but an event panelflow does not act on | 204 | — |
//! | malformed payload (bad JSON, nesting deeper than 128, missing or empty ids, wrong types, non-http(s) media) | 400 | `{error: reason}` |
//! | bad or missing signature; no secret configured for the source (fails closed); no signed time | 401 | `{error}` |
//! | stale or future `triggeredAt`/`timestamp` (a replay) | 401 | `{error}` |
//! | a Lever token (or a body) already used, with another body: a replay | 401 | `{error}` |
//! | a Lever delivery whose ids Lever's API contradicts | 401 | `{error}` |
//! | unknown source; path token for a source not allowed one | 404 | `{error}` |
//! | request not received in `request_timeout_s` (a slow upload) | 408 | `{error}` |
//! | an interview that was erased (tombstoned) | 410 | `{error}` |
//! | body larger than `ingest.max_body_bytes` | 413 | `{error}` |
//! | more than `max_concurrent_requests` at once | 503 | `{error}`, `Retry-After` |
//! | broker or Lever unreachable, or no acknowledgement within the time-out | 503 | `{error}` |
//!
//! Replays: every accepted delivery claims its [`ReplayKey`] (Lever's
//! single-use token, else the body's hash) in the replay store under
//! `[ingest] state_dir`, which every replica shares; the claim lasts the
//! age window plus the skew for deliveries with a signed time, and
//! `unsigned_replay_window_s` for the others (Hireflix, path tokens). A
//! delivery that is not stored (503) gives its claim back, so the platform's
//! retry goes through. Stale deliveries are 401, not 400: for Lever the
//! signature covers only the token and the time, so the age check is part
//! of authenticating the request, and a replay is refused like a forgery.
//!
//! Lever's body is not signed beyond the token and the time, so its ids are
//! hints checked against Lever's API (`[ingest] verify_lever`, on by
//! default): the opportunity must exist, the candidate is the opportunity's
//! `contact` as Lever has it, and a stage change must show in the
//! opportunity's stage or its stage changes.
//!
//! Logs carry ids only (source, interview id, correlation id, payload hash),
//! never payload text.

// librdkafka's `KafkaError` is large; so are errors carrying it (as in rdkafka).
#![allow(clippy::result_large_err)]

pub mod lever_poll;

mod accept;
mod config;
mod healthz;
mod lever_check;
mod response;
mod routes;
mod serve;
mod state;

pub use self::accept::event_region;
pub use self::config::{IngestConfig, IngestError, IngestSection};
pub use self::routes::router;
pub use self::serve::{serve, serve_state, serve_with_shutdown};
pub use self::state::AppState;
