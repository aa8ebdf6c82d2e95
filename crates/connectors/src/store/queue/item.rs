//! What the queue holds: a [`ReviewItem`], where it stands
//! ([`ReviewStatus`]) and the recruiters' verdicts on it ([`ReviewDecision`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use panelflow_core::writeback::{Route, WritePlan};

use crate::lever::writeback::WriteReport;

/// Where an item stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for a recruiter.
    Pending,
    /// Approved (or edited and approved); its write-back has not finished.
    Approved,
    /// Rejected: nothing is written to Lever.
    Rejected,
    /// Written to Lever (directly by the pipeline, or after approval).
    Written,
    /// The write-back failed after its retries; can be retried.
    WriteFailed,
}

impl ReviewStatus {
    /// The snake-case name (`pending`, `write_failed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Written => "written",
            ReviewStatus::WriteFailed => "write_failed",
        }
    }
}

impl std::fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A recruiter's verdict on an item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReviewDecision {
    /// `approve`, `edit` (approve with an edited note) or `reject`.
    pub action: String,
    /// Who decided (the configured user name).
    pub user: String,
    /// Their role.
    pub role: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The note text the recruiter approved instead of the generated one (`edit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_note: Option<String>,
    /// A free comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl ReviewDecision {
    /// A decision made now.
    pub fn now(action: &str, user: &str, role: &str) -> Self {
        Self {
            action: action.to_owned(),
            user: user.to_owned(),
            role: role.to_owned(),
            at: Utc::now(),
            edited_note: None,
            comment: None,
        }
    }
}

/// One analysed interview in the queue (pending review, or a direct result
/// kept so the page can show it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReviewItem {
    /// Interview id (`<source>:<id>`).
    pub interview_id: String,
    /// Pipeline version that produced it (with the interview id, the key).
    pub pipeline_version: String,
    /// Correlation id (the marker in the Lever note).
    pub correlation_id: String,
    /// Candidate (erasure removes by it).
    pub candidate_id: String,
    /// Opportunity written to.
    pub opportunity_id: String,
    /// Lever posting, when known.
    #[serde(default)]
    pub posting_id: Option<String>,
    /// Posting title, when known.
    #[serde(default)]
    pub posting_title: Option<String>,
    /// Job family of the rubric used.
    #[serde(default)]
    pub job_family: Option<String>,
    /// When it was stored.
    pub enqueued_at: DateTime<Utc>,
    /// Why it is held for review (`phase_review`, `low_confidence`, ...).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// The summary object (JSON); `null` for an interview whose media failed.
    #[serde(default)]
    pub summary: serde_json::Value,
    /// Why the interview could not be analysed, when it could not.
    #[serde(default)]
    pub failure: Option<String>,
    /// The recording(s), in media order (answers name their media index).
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// What would be written to Lever.
    pub plan: WritePlan,
    /// Where it stands.
    pub status: ReviewStatus,
    /// Recruiters' verdicts, oldest first.
    #[serde(default)]
    pub decisions: Vec<ReviewDecision>,
    /// What the write-back did.
    #[serde(default)]
    pub write_report: Option<WriteReport>,
    /// Why the last write-back failed.
    #[serde(default)]
    pub write_error: Option<String>,
    /// Write-back attempts made from the review page.
    #[serde(default)]
    pub write_attempts: u32,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl ReviewItem {
    /// A new item: status `Pending` when `plan.route` is [`Route::Review`]
    /// (its reasons are the item's), `Written` otherwise.
    pub fn new(
        interview_id: &str,
        pipeline_version: &str,
        correlation_id: &str,
        candidate_id: &str,
        opportunity_id: &str,
        plan: WritePlan,
        summary: serde_json::Value,
    ) -> Self {
        let (status, reasons) = match &plan.route {
            Route::Review { reasons } => (ReviewStatus::Pending, reasons.clone()),
            Route::Direct => (ReviewStatus::Written, Vec::new()),
        };
        let job_family = summary
            .pointer("/analysis/job_family")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        Self {
            interview_id: interview_id.to_owned(),
            pipeline_version: pipeline_version.to_owned(),
            correlation_id: correlation_id.to_owned(),
            candidate_id: candidate_id.to_owned(),
            opportunity_id: opportunity_id.to_owned(),
            posting_id: None,
            posting_title: None,
            job_family,
            enqueued_at: Utc::now(),
            reasons,
            summary,
            failure: None,
            media_urls: Vec::new(),
            plan,
            status,
            decisions: Vec::new(),
            write_report: None,
            write_error: None,
            write_attempts: 0,
            updated_at: None,
        }
    }

    /// Sets the posting and job family (a `None` family keeps the summary's).
    pub fn with_posting(
        mut self,
        posting_id: Option<String>,
        posting_title: Option<String>,
        job_family: Option<String>,
    ) -> Self {
        self.posting_id = posting_id;
        self.posting_title = posting_title;
        if job_family.is_some() {
            self.job_family = job_family;
        }
        self
    }

    /// Sets the recording URLs (media order).
    pub fn with_media(mut self, urls: Vec<String>) -> Self {
        self.media_urls = urls;
        self
    }

    /// Marks an interview whose analysis failed (why).
    pub fn with_failure(mut self, reason: String) -> Self {
        self.failure = Some(reason);
        self
    }

    /// Stores what a direct write-back did.
    pub fn with_write_report(mut self, report: WriteReport) -> Self {
        self.write_report = Some(report);
        self
    }

    /// The plan to execute: the stored one, with the note of the last `edit`
    /// decision when there is one.
    pub fn effective_plan(&self) -> WritePlan {
        let edited = self
            .decisions
            .iter()
            .rev()
            .find(|d| d.action == "edit")
            .and_then(|d| d.edited_note.as_deref());
        match edited {
            Some(text) => self.plan.clone().with_edited_note(text),
            None => self.plan.clone(),
        }
    }

    /// The last decision, if any.
    pub fn last_decision(&self) -> Option<&ReviewDecision> {
        self.decisions.last()
    }

    /// Seconds since it was enqueued.
    pub fn waiting_s(&self, now: DateTime<Utc>) -> i64 {
        (now - self.enqueued_at).num_seconds().max(0)
    }
}
