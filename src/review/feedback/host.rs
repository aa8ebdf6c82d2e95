//! What the feedback routes need of the review server ([`FeedbackHost`]),
//! and the signed-in caller it gives them.

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::Response;

use crate::review::auth::Principal;
use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::store::audit::AuditEvent;
use panelflow_connectors::store::queue::ReviewQueue;

/// What the feedback routes need of the review server (implemented by
/// [`ReviewApp`](crate::review::server::ReviewApp)).
pub trait FeedbackHost: Send + Sync + 'static {
    /// The signed-in caller who may see results, or the response that says
    /// why not (HTML or JSON).
    #[allow(clippy::result_large_err)]
    fn signed_in(
        self: Arc<Self>,
        headers: HeaderMap,
        ip: Option<std::net::IpAddr>,
        as_json: bool,
    ) -> impl std::future::Future<Output = Result<SignedIn, Response>> + Send;
    /// Whether `token` is the session's CSRF token (always, for a bearer token).
    fn csrf_ok(&self, caller: &SignedIn, token: &str) -> bool;
    /// The review queue.
    fn queue(&self) -> &ReviewQueue;
    /// The Lever client, when configured.
    fn lever(&self) -> Option<&LeverClient>;
    /// Appends to the audit log.
    fn record(&self, events: &[AuditEvent]);
    /// The page's security headers on a response.
    fn secure(&self, resp: Response) -> Response;
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who.
    pub who: Principal,
    /// The session's CSRF token (empty for a bearer token).
    pub csrf: String,
    /// The session nonce (`None` for a bearer token).
    pub nonce: Option<String>,
}
