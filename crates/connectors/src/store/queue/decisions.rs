//! Updates under the lock: decisions, retries, write results and erasure.

use chrono::Utc;

use super::error::ReviewError;
use super::item::{ReviewDecision, ReviewItem, ReviewStatus};
use super::ReviewQueue;
use crate::lever::writeback::WriteReport;

impl ReviewQueue {
    /// Reads the latest item of `interview_id`, lets `change` modify it (or
    /// refuse), and stores it — all under the update lock.
    pub fn update<F>(&self, interview_id: &str, change: F) -> Result<ReviewItem, ReviewError>
    where
        F: FnOnce(&mut ReviewItem) -> Result<(), ReviewError>,
    {
        let _lock = self.lock()?;
        let mut item = self
            .get(interview_id)?
            .ok_or_else(|| ReviewError::NotFound(interview_id.to_owned()))?;
        change(&mut item)?;
        item.updated_at = Some(Utc::now());
        self.save(&item)?;
        Ok(item)
    }

    /// Records a decision on a pending item: `approve` and `edit` make it
    /// `Approved` (the caller then writes the plan and calls
    /// [`record_write`](Self::record_write)), `reject` makes it `Rejected`.
    /// An item that is not pending gives [`ReviewError::AlreadyDecided`].
    pub fn decide(
        &self,
        interview_id: &str,
        decision: ReviewDecision,
    ) -> Result<ReviewItem, ReviewError> {
        let next = match decision.action.as_str() {
            "approve" | "edit" => ReviewStatus::Approved,
            "reject" => ReviewStatus::Rejected,
            other => return Err(ReviewError::UnknownAction(other.to_owned())),
        };
        self.update(interview_id, |item| {
            if item.status != ReviewStatus::Pending {
                return Err(already(item));
            }
            item.status = next;
            item.decisions.push(decision);
            Ok(())
        })
    }

    /// Marks an item whose write-back failed (or was interrupted, status
    /// `Approved`) as `Approved` again for a retry; anything else is refused.
    pub fn begin_retry(&self, interview_id: &str) -> Result<ReviewItem, ReviewError> {
        self.update(interview_id, |item| match item.status {
            ReviewStatus::WriteFailed | ReviewStatus::Approved => {
                item.status = ReviewStatus::Approved;
                Ok(())
            }
            _ => Err(already(item)),
        })
    }

    /// Stores the outcome of an approved item's write-back: `Written` with
    /// the report, or `WriteFailed` with the reason.
    pub fn record_write(
        &self,
        interview_id: &str,
        outcome: Result<WriteReport, String>,
    ) -> Result<ReviewItem, ReviewError> {
        self.update(interview_id, |item| {
            item.write_attempts += 1;
            match outcome {
                Ok(report) => {
                    item.status = ReviewStatus::Written;
                    item.write_report = Some(report);
                    item.write_error = None;
                }
                Err(reason) => {
                    item.status = ReviewStatus::WriteFailed;
                    item.write_error = Some(reason);
                }
            }
            Ok(())
        })
    }

    /// Removes every item of a candidate (erasure); returns how many files.
    pub fn remove_candidate(&self, candidate_id: &str) -> Result<usize, ReviewError> {
        let _lock = self.lock()?;
        let mut removed = 0;
        for path in self.files(None)? {
            let item = match self.read(&path) {
                Ok(Some(item)) => item,
                Ok(None) => continue,
                Err(ReviewError::Corrupt { .. }) => continue,
                Err(e) => return Err(e),
            };
            if item.candidate_id == candidate_id {
                std::fs::remove_file(&path).map_err(Self::io(&path))?;
                removed += 1;
            }
        }
        if removed > 0 {
            self.sync_dir();
        }
        tracing::info!(candidate_id, removed, "review items erased");
        Ok(removed)
    }
}

fn already(item: &ReviewItem) -> ReviewError {
    let by = item
        .last_decision()
        .map(|d| format!(" by {} at {}", d.user, d.at.format("%Y-%m-%d %H:%M:%S UTC")))
        .unwrap_or_default();
    ReviewError::AlreadyDecided {
        interview_id: item.interview_id.clone(),
        status: item.status.as_str().to_owned(),
        by,
    }
}
