//! `panelflow serve`: the review page over HTTP (axum, server-rendered).
//!
//! | route | what |
//! |---|---|
//! | `GET /login`, `POST /login` | sign-in with a token → session cookie |
//! | `POST /logout` | ends the session (revoked server-side); `everywhere=1`: every session of the user |
//! | `POST /api/users/{name}/revoke-sessions` | an admin ends every session of a user |
//! | `GET /queue?sort=waiting\|posting` | pending items, and recent results |
//! | `GET /interviews/{id}` | one interview |
//! | `POST /interviews/{id}/approve\|edit\|reject\|retry` | decide (forms: CSRF token) |
//! | `GET /api/queue`, `GET /api/interviews/{id}` | the same as JSON |
//! | `GET`, `POST /feedback/{id}` | the feedback draft of a decided candidate ([`super::feedback`]) |
//! | `GET /healthz` | liveness |
//!
//! Every results route needs a signed-in user (cookie or `Authorization:
//! Bearer`): 401 without one; 403 for a role that may not decide, a form
//! without its CSRF token, or — in the pilot phase — a user outside the
//! pilot group. An unknown interview is 404; deciding twice is 409. Failed
//! sign-ins (form or bearer) from one address lock it out for a while: 429
//! with `Retry-After`. Every route is behind the concurrency limit and the
//! request time-out of [`crate::limits`] and a body limit
//! (`[review] max_body_bytes`).
//!
//! What a role may not see never leaves the server: the summary is redacted
//! ([`RolePolicy::redact_summary`](super::auth::RolePolicy::redact_summary)),
//! and so are an edited note (`decisions[].edited_note`), the scorecard and
//! the calibration, in the HTML and the JSON alike. The CSP's `media-src`
//! names only the origins of the interview's own recordings (among
//! `[review] media_hosts` when set).
//!
//! Approving (or editing and approving) runs the item's plan through
//! [`panelflow_connectors::lever::writeback::apply`] against Lever before the answer is sent; the
//! item becomes `written`, or `write_failed` with the reason (and a retry
//! button). Each decision and each write is recorded in the item and in the
//! audit log.

mod caller;
mod decisions;
mod headers;
mod responses;
mod router;
mod sign_in;
mod state;
mod views;

pub use self::router::{router, serve, spawn, ServerHandle};
pub use self::state::{ReviewApp, ReviewConfig, ServeError};
