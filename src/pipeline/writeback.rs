//! The write-back stage: an analysed interview's plan for the phase,
//! written to Lever now or held in the review queue (where every result is
//! kept for the review page); a failed one is shown to a recruiter when its
//! media or speech failed (review and automate phases). Every interview
//! leaves this stage finished.

use std::sync::Arc;

use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::store::audit::AuditEvent;
use panelflow_connectors::store::queue::{ReviewItem, ReviewQueue};
use panelflow_core::event::InterviewCompleted;
use panelflow_core::outcome::{Outcome, Stage, StepOutcome};
use panelflow_core::writeback::{Route, WritePlan};

use super::analyse::Analysed;
use super::identity::Identity;
use super::interview::{Flow, Interview, Processed, StageError};
use super::{rows, scores};
use crate::config::PipelineConfig;
use crate::writeback::plan::{plan, plan_failed, Rules};

/// The write-back stage of a worker.
pub struct WritebackStage {
    who: Arc<Identity>,
    cfg: Arc<PipelineConfig>,
    /// Lever client for write-back; `None` when `[lever] write_notes` is off.
    writer: Option<LeverClient>,
    /// Every result is stored here: pending ones wait for a recruiter,
    /// written ones are there for the review page.
    queue: Option<ReviewQueue>,
}

impl WritebackStage {
    /// The stage of `cfg`'s phase, writing with `writer` into Lever and
    /// `queue` (without a queue, results that need a recruiter fail).
    pub fn new(
        who: Arc<Identity>,
        cfg: Arc<PipelineConfig>,
        writer: Option<LeverClient>,
        queue: Option<ReviewQueue>,
    ) -> Self {
        Self {
            who,
            cfg,
            writer,
            queue,
        }
    }

    /// Finishes each interview.
    pub fn run(&mut self, items: Vec<Flow<Analysed>>) -> Vec<Processed> {
        items
            .into_iter()
            .map(|f| match f {
                Flow::Going(interview, analysed) => self.conclude(interview, analysed),
                Flow::Failed(interview, err) => self.failed(interview, &err),
                Flow::Done(done) => *done,
            })
            .collect()
    }

    /// An interview that failed transiently: its event goes to `tier`'s
    /// retry topic, due after the tier's delay; nothing else is written.
    fn retry(
        &mut self,
        mut interview: Interview,
        err: &StageError,
        tier: &panelflow_connectors::kafka::RetryTier,
    ) -> Processed {
        let event = interview.event.clone();
        let attempt = interview.attempt + 1;
        let due_ms = chrono::Utc::now().timestamp_millis()
            + i64::try_from(tier.delay.as_millis()).unwrap_or(i64::MAX / 2);
        tracing::warn!(error = %err, attempt, tier = %tier.label, "transient failure; retrying later");
        interview
            .audit
            .push(
                self.who
                    .record(&event, err.stage, "retry")
                    .with_detail(serde_json::json!({
                        "code": err.code,
                        "reason": err.reason,
                        "attempt": attempt,
                        "retry_topic": tier.topic,
                    })),
            );
        let mut p = rows::failed(&self.who, &event, err, interview.elapsed_ms());
        p.dead_letter = None;
        p.audit = interview.audit;
        p.retry = Some(super::interview::Retry {
            event,
            attempt,
            topic: tier.topic.clone(),
            tier: tier.label.clone(),
            due_ms,
            error: err.clone(),
        });
        p
    }

    fn rules(&self) -> Rules<'_> {
        Rules::from(&*self.cfg)
    }

    /// A failed interview. A transient failure waits on the next retry
    /// topic while there is one, and fails for good after the last
    /// (naming how many tries it had); a failed media or speech step is
    /// also shown to a recruiter (review and automate phases).
    fn failed(&mut self, mut interview: Interview, err: &StageError) -> Processed {
        let event = interview.event.clone();
        let span = tracing::info_span!("interview", interview_id = %event.interview_id, correlation_id = %event.correlation_id);
        let _guard = span.enter();
        let exhausted;
        let err = if err.transient {
            let tiers = self.cfg.kafka.retry_tiers();
            if let Some(tier) = tiers.get(interview.attempt as usize) {
                return self.retry(interview, err, tier);
            }
            exhausted = StageError::new(
                err.stage,
                err.code.clone(),
                format!(
                    "{} (gave up after {} tries, the last of {} retry topics)",
                    err.reason,
                    interview.attempt + 1,
                    tiers.len()
                ),
            );
            &exhausted
        } else {
            err
        };
        tracing::warn!(error = %err, "interview failed");
        let mut failed = rows::failed(&self.who, &event, err, interview.elapsed_ms());
        if let Some(plan) = plan_failed(
            self.rules(),
            &event.opportunity_id,
            &event.correlation_id,
            err.stage,
        ) {
            let item = self
                .review_item(&event, plan, serde_json::Value::Null)
                .with_media(event.media.iter().map(|m| m.url.clone()).collect())
                .with_failure(err.to_string());
            let (audit, _) = self.enqueue(&event, item);
            interview.audit.push(audit);
        }
        failed.audit = interview.audit;
        failed
    }

    /// The write-back of an analysed interview: planned for the phase, then
    /// written to Lever now or held in the review queue.
    fn conclude(&mut self, mut interview: Interview, analysed: Analysed) -> Processed {
        let event = interview.event.clone();
        let span = tracing::info_span!("interview", interview_id = %event.interview_id, correlation_id = %event.correlation_id);
        let _guard = span.enter();
        let elapsed_ms = interview.elapsed_ms();
        let Analysed {
            summary,
            segments,
            analysis,
            context,
        } = analysed;
        let summary_json = serde_json::to_value(&summary).unwrap_or(serde_json::Value::Null);
        let plan = plan(self.rules(), &summary);
        let route = match plan.route {
            Route::Direct => "direct",
            Route::Review { .. } => "review",
        };
        interview
            .audit
            .push(
                self.who
                    .record(&event, Stage::Route, route)
                    .with_detail(serde_json::json!({
                        "phase": self.cfg.pipeline.phase,
                        "route": plan.route,
                        "tags_add": plan.add_tags,
                        "tags_remove": plan.remove_tags,
                        "stage": plan.stage,
                        "scorecard": plan.feedback.is_some(),
                    })),
            );
        let posting = context.posting;
        let item = self
            .review_item(&event, plan.clone(), summary_json.clone())
            .with_posting(
                posting.as_ref().map(|p| p.0.clone()),
                posting.as_ref().and_then(|p| p.1.clone()),
                summary.analysis.job_family.clone(),
            )
            .with_media(
                context
                    .resolved
                    .media
                    .iter()
                    .map(|m| m.url.clone())
                    .collect(),
            );

        let mut note_id = None;
        match (&plan.route, &self.writer) {
            (Route::Direct, Some(client)) if !plan.is_empty() => {
                let at = chrono::Utc::now();
                let _timer = panelflow_connectors::metrics::stage_timer("writeback");
                match panelflow_connectors::lever::writeback::apply(client, &plan) {
                    Ok(report) => {
                        interview.audit.push(
                            self.who
                                .step(&event, Stage::LeverWrite, StepOutcome::Ok)
                                .timed(at, chrono::Utc::now())
                                .with_detail(serde_json::json!({
                                    "opportunity_id": event.opportunity_id,
                                    "report": report,
                                })),
                        );
                        note_id = report.note_id.clone();
                        let (audit, _) = self.enqueue(&event, item.with_write_report(report));
                        interview.audit.push(audit);
                    }
                    Err(e) if e.is_transient() => {
                        let err =
                            StageError::transient(e.step, "lever_write_failed", e.to_string());
                        // The audit log tells this try, whether a retry
                        // topic or the dead-letter topic comes next.
                        interview.audit.push(
                            self.who
                                .step(&event, e.step, StepOutcome::Failed)
                                .timed(at, chrono::Utc::now())
                                .with_detail(serde_json::json!({
                                    "reason": e.to_string(),
                                    "transient": true,
                                })),
                        );
                        let mut out = self.failed(interview, &err);
                        if out.retry.is_none() {
                            // Retries used up: a failed row that keeps what
                            // was heard, as a permanent failure's does.
                            out.interview.transcript = Some(summary.transcript.clone());
                            out.interview.duration_s = Some(summary.duration_s);
                            out.interview.summary_json = Some(summary_json.to_string());
                            out.segments = segments;
                            out.analysis = analysis;
                        }
                        return out;
                    }
                    Err(e) => {
                        let err = StageError::new(e.step, "lever_write_failed", e.to_string());
                        tracing::warn!(error = %err, "Lever write-back failed");
                        interview.audit.push(
                            self.who
                                .step(&event, e.step, StepOutcome::Failed)
                                .timed(at, chrono::Utc::now())
                                .with_detail(serde_json::json!({"reason": e.to_string()})),
                        );
                        let mut failed = rows::failed(&self.who, &event, &err, elapsed_ms);
                        failed.interview.transcript = Some(summary.transcript.clone());
                        failed.interview.duration_s = Some(summary.duration_s);
                        failed.interview.summary_json = Some(summary_json.to_string());
                        failed.segments = segments;
                        failed.analysis = analysis;
                        failed.audit = interview.audit;
                        return failed;
                    }
                }
            }
            (Route::Review { .. }, _) => {
                let (audit, stored) = self.enqueue(&event, item);
                interview.audit.push(audit);
                if !stored {
                    let err = StageError::new(
                        Stage::ReviewQueue,
                        "review_queue_failed",
                        "the result could not be stored in the review queue",
                    );
                    let mut failed = rows::failed(&self.who, &event, &err, elapsed_ms);
                    failed.segments = segments;
                    failed.analysis = analysis;
                    failed.audit = interview.audit;
                    return failed;
                }
            }
            // Writing is off (or nothing to write): kept for the review page.
            _ => {
                let (audit, _) = self.enqueue(&event, item);
                interview.audit.push(audit);
            }
        }
        tracing::info!(
            duration_s = summary.duration_s,
            words = summary.words,
            ms = elapsed_ms,
            "interview analysed"
        );
        Processed {
            interview: rows::interview_row(
                &self.who,
                &event,
                Outcome::Transcribed,
                None,
                Some(&summary),
                note_id,
                elapsed_ms,
            ),
            segments,
            analysis,
            dead_letter: None,
            audit: interview.audit,
            score_message: scores::score_message(&summary),
            retry: None,
        }
    }

    /// The review-queue item of an interview under this pipeline version.
    fn review_item(
        &self,
        event: &InterviewCompleted,
        plan: WritePlan,
        summary: serde_json::Value,
    ) -> ReviewItem {
        ReviewItem::new(
            &event.interview_id,
            &self.who.pipeline.version,
            &event.correlation_id,
            &event.candidate_id,
            &event.opportunity_id,
            plan,
            summary,
        )
    }

    /// Stores an item in the review queue: the audit event saying how it
    /// went, and whether it is stored.
    fn enqueue(&self, event: &InterviewCompleted, item: ReviewItem) -> (AuditEvent, bool) {
        let status = item.status.as_str();
        let reasons = item.reasons.clone();
        let Some(queue) = &self.queue else {
            let audit = self
                .who
                .step(event, Stage::ReviewQueue, StepOutcome::Failed)
                .with_detail(serde_json::json!({"reason": "no review queue"}));
            return (audit, false);
        };
        match queue.enqueue(item) {
            Ok(new) => (
                self.who
                    .step(event, Stage::ReviewQueue, StepOutcome::Ok)
                    .with_detail(
                        serde_json::json!({"status": status, "reasons": reasons, "new": new}),
                    ),
                true,
            ),
            Err(e) => {
                tracing::error!(error = %e, "review queue write failed");
                let audit = self
                    .who
                    .step(event, Stage::ReviewQueue, StepOutcome::Failed)
                    .with_detail(serde_json::json!({"reason": e.to_string()}));
                (audit, false)
            }
        }
    }
}
