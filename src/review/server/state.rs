//! The app state: what the server works with ([`ReviewApp`]), its
//! configuration, and recording decisions and Lever write-backs.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde_json::json;

use crate::review::auth::{AuthError, Authenticator, Principal, SignInLimiter};
use crate::review::ReviewSection;
use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::store::audit::{AuditEvent, AuditLog};
use panelflow_connectors::store::queue::{
    ReviewDecision, ReviewError, ReviewItem, ReviewQueue, ReviewStatus,
};
use panelflow_connectors::store::GovernanceSection;
use panelflow_core::writeback::Phase;

/// Errors starting the review server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The users' configuration is wrong.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The queue folder could not be opened.
    #[error(transparent)]
    Queue(#[from] ReviewError),
    /// The audit log could not be opened.
    #[error(transparent)]
    Audit(#[from] panelflow_connectors::store::audit::AuditError),
    /// Binding or serving failed.
    #[error("review server {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// What the review server needs of a pipeline: `[review]`, `[governance]`
/// (the audit log and the key ring), the phase, where Lever's key is read
/// from, and the config hash its audit events carry.
#[derive(Debug, Clone, Default)]
pub struct ReviewConfig {
    /// `[review]`.
    pub review: ReviewSection,
    /// `[governance]`.
    pub governance: GovernanceSection,
    /// `[pipeline] phase`.
    pub phase: Phase,
    /// `[lever] api_key_env`, named when Lever is not configured.
    pub lever_api_key_env: String,
    /// The pipeline config's hash.
    pub config_hash: String,
}

/// What the server works with.
pub struct ReviewApp {
    pub(super) cfg: ReviewConfig,
    pub(super) queue: ReviewQueue,
    pub(super) auth: Authenticator,
    pub(super) audit: AuditLog,
    pub(super) lever: Option<LeverClient>,
    /// One Lever write-back at a time from this server (look-before-write
    /// is then race-free between an approval and a retry).
    pub(super) write_lock: Mutex<()>,
    /// Failed sign-ins per address.
    pub(super) limiter: SignInLimiter,
}

impl std::fmt::Debug for ReviewApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewApp")
            .field("queue", &self.queue)
            .field("auth", &self.auth)
            .field("lever", &self.lever.is_some())
            .finish_non_exhaustive()
    }
}

impl ReviewApp {
    /// The app for `cfg`: its queue (`[review] queue_dir`), users, audit log
    /// (`[governance] audit_dir`) and the Lever client approvals write with
    /// (`None`: approvals fail with a clear reason, and can be retried).
    pub fn new(
        cfg: impl Into<ReviewConfig>,
        auth: Authenticator,
        lever: Option<LeverClient>,
    ) -> Result<Self, ServeError> {
        let cfg: ReviewConfig = cfg.into();
        let queue = ReviewQueue::open_for(&cfg.review.queue_dir, &cfg.governance)?;
        let audit = AuditLog::open(&cfg.governance.audit_dir)?;
        // Revocations live beside the queue (not a `.json`: no candidate data).
        let auth = if auth.has_revocations() {
            auth
        } else {
            auth.with_revocations(&cfg.review.queue_dir.join(".review-sessions"))
        };
        if !cfg.review.secure_cookie {
            tracing::warn!(
                "[review] secure_cookie = false: the session cookie goes over plain http (development only)"
            );
        }
        Ok(Self {
            cfg,
            queue,
            auth,
            audit,
            lever,
            write_lock: Mutex::new(()),
            limiter: SignInLimiter::default(),
        })
    }

    /// The queue.
    pub fn queue(&self) -> &ReviewQueue {
        &self.queue
    }

    pub(super) fn record(&self, events: &[AuditEvent]) {
        if let Err(e) = self.audit.append(events) {
            tracing::error!(error = %e, "review audit events not recorded");
        }
    }

    /// Writes an approved item's plan to Lever and stores the outcome.
    fn write_back(&self, item: &ReviewItem, actor: &str) -> Result<ReviewItem, ReviewError> {
        let _one_at_a_time = self
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let plan = item.effective_plan();
        let started = Utc::now();
        let outcome = match &self.lever {
            _ if plan.is_empty() => {
                Ok(panelflow_connectors::lever::writeback::WriteReport::default())
            }
            Some(client) => panelflow_connectors::lever::writeback::apply(client, &plan)
                .map_err(|e| e.to_string()),
            None => Err(format!(
                "Lever is not configured for the review server (set ${} or [lever.oauth])",
                self.cfg.lever_api_key_env
            )),
        };
        let event = AuditEvent::step(
            &item.correlation_id,
            &item.interview_id,
            "lever_write",
            if outcome.is_ok() { "ok" } else { "failed" },
        )
        .timed(started, Utc::now())
        .by(actor)
        .for_candidate(item.candidate_id.clone())
        .with_config_hash(self.cfg.config_hash.clone())
        .with_detail(match &outcome {
            Ok(r) => json!({"via": "review", "pipeline_version": item.pipeline_version,
                            "opportunity_id": plan.opportunity_id, "report": r}),
            Err(reason) => json!({"via": "review", "pipeline_version": item.pipeline_version,
                                  "opportunity_id": plan.opportunity_id, "reason": reason}),
        });
        self.record(&[event]);
        match &outcome {
            Ok(_) => {
                tracing::info!(interview_id = %item.interview_id, "approved item written to Lever")
            }
            Err(_) => {
                tracing::warn!(interview_id = %item.interview_id, "approved item not written to Lever")
            }
        }
        self.queue.record_write(&item.interview_id, outcome)
    }

    /// Records `action` by `who` on an interview, then (approve, edit,
    /// retry) writes it to Lever.
    pub fn decide(
        &self,
        interview_id: &str,
        action: &str,
        who: &Principal,
        note: Option<String>,
        comment: Option<String>,
    ) -> Result<ReviewItem, ReviewError> {
        let item = if action == "retry" {
            self.queue.begin_retry(interview_id)?
        } else {
            let mut d = ReviewDecision::now(action, &who.name, who.role.as_str());
            d.edited_note = note;
            d.comment = comment;
            self.queue.decide(interview_id, d)?
        };
        let event = AuditEvent::step(
            &item.correlation_id,
            &item.interview_id,
            &format!("review_{action}"),
            "ok",
        )
        .by(who.name.clone())
        .for_candidate(item.candidate_id.clone())
        .with_detail(json!({
            "role": who.role.as_str(),
            "pipeline_version": item.pipeline_version,
            "status": item.status,
            "note_edited": action == "edit",
        }));
        self.record(&[event]);
        tracing::info!(interview_id, action, user = %who.name, "review decision");
        if item.status == ReviewStatus::Approved {
            return self.write_back(&item, &who.name);
        }
        Ok(item)
    }

    /// Writes items left `approved` by an interrupted server (apply looks
    /// before it writes, so nothing is written twice).
    pub fn resume_interrupted(&self) {
        let items = match self.queue.latest() {
            Ok(items) => items,
            Err(e) => {
                tracing::error!(error = %e, "review queue unreadable");
                return;
            }
        };
        for item in items
            .into_iter()
            .filter(|i| i.status == ReviewStatus::Approved)
        {
            tracing::info!(interview_id = %item.interview_id, "resuming an interrupted write-back");
            if let Err(e) = self.write_back(&item, "review:resume") {
                tracing::error!(error = %e, "resuming the write-back failed");
            }
        }
    }
}

pub(super) type AppState = Arc<ReviewApp>;
