//! The context stage: refuses events of another region (data residency),
//! then resolves each interview's context — its media (refreshed when their
//! signed URLs expired), question set, posting and job family — through the
//! process's [`LeverContext`].

use std::sync::Arc;

use panelflow_core::event::InterviewCompleted;
use panelflow_core::outcome::{Stage, StepOutcome};

use super::identity::Identity;
use super::interview::{Flow, Interview, StageError};
use super::resolve::{LeverContext, ResolvedContext};
use super::rows;

/// An interview's resolved context, and its posting (id, title) when Lever
/// named one.
#[derive(Debug, Clone)]
pub struct Context {
    /// What the context stage found.
    pub resolved: ResolvedContext,
    /// The posting's id and title.
    pub posting: Option<(String, Option<String>)>,
}

/// The context stage of a worker.
pub struct ContextStage {
    who: Arc<Identity>,
    context: Arc<LeverContext>,
}

impl ContextStage {
    /// The stage over the process's context resolver.
    pub fn new(who: Arc<Identity>, context: Arc<LeverContext>) -> Self {
        Self { who, context }
    }

    /// Resolves each interview's context (or refuses or fails it).
    pub fn run(&mut self, interviews: Vec<Interview>) -> Vec<Flow<Context>> {
        interviews.into_iter().map(|i| self.one(i)).collect()
    }

    fn one(&mut self, mut interview: Interview) -> Flow<Context> {
        let event = interview.event.clone();
        let span = tracing::info_span!("interview", interview_id = %event.interview_id, correlation_id = %event.correlation_id);
        let _guard = span.enter();
        if let Some(refused) = self.refuse_other_region(&event) {
            return refused;
        }
        let at = chrono::Utc::now();
        let timer = panelflow_connectors::metrics::stage_timer("context");
        let resolved = self.context.resolve(&event);
        drop(timer);
        match resolved {
            Ok(resolved) => {
                interview.audit.push(
                    self.who
                        .step(&event, Stage::Context, StepOutcome::Ok)
                        .timed(at, chrono::Utc::now())
                        .with_detail(context_detail(&event, &resolved)),
                );
                let posting = resolved.posting_object.as_ref().and_then(|p| {
                    let id = p.get("id").and_then(serde_json::Value::as_str)?;
                    let title = p.get("text").and_then(serde_json::Value::as_str);
                    Some((id.to_owned(), title.map(str::to_owned)))
                });
                Flow::Going(interview, Context { resolved, posting })
            }
            Err(e) => {
                // Lever unwell (429/5xx, time-out, an open circuit): try again later.
                let transient = matches!(
                    &e,
                    panelflow_connectors::lever::context::ContextError::Lever(l) if l.is_transient()
                );
                let err = if transient {
                    StageError::transient(Stage::Context, e.code(), e.to_string())
                } else {
                    StageError::new(Stage::Context, e.code(), e.to_string())
                };
                interview.audit.push(
                    self.who
                        .step(&event, Stage::Context, StepOutcome::Failed)
                        .timed(at, chrono::Utc::now())
                        .with_detail(serde_json::json!({"code": err.code})),
                );
                Flow::Failed(interview, err)
            }
        }
    }

    /// Data residency: an event of another region is never processed.
    fn refuse_other_region(&self, event: &InterviewCompleted) -> Option<Flow<Context>> {
        let region = event.region.as_deref()?;
        if region.eq_ignore_ascii_case(&self.who.region) {
            return None;
        }
        let err = StageError::new(
            Stage::Residency,
            "region_mismatch",
            format!(
                "event of region {region:?} refused by the {:?} deployment",
                self.who.region
            ),
        );
        tracing::warn!(error = %err, "interview refused");
        let mut failed = rows::failed(&self.who, event, &err, 0);
        failed.audit = vec![self
            .who
            .step(event, Stage::Residency, StepOutcome::Refused)
            .with_detail(
                serde_json::json!({"event_region": region, "deployment_region": self.who.region}),
            )];
        Some(Flow::Done(Box::new(failed)))
    }
}

/// Which data the context stage read: the Lever objects by id, the question
/// set's origin, the media hosts.
fn context_detail(event: &InterviewCompleted, r: &ResolvedContext) -> serde_json::Value {
    let id = |v: &Option<Arc<serde_json::Value>>| {
        v.as_ref().and_then(|o| {
            o.get("id")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        })
    };
    let hosts: std::collections::BTreeSet<String> = r
        .media
        .iter()
        .filter_map(|m| url::Url::parse(&m.url).ok()?.host_str().map(str::to_owned))
        .collect();
    serde_json::json!({
        "source": event.source,
        "lever_objects": {
            "opportunity": id(&r.opportunity),
            "contact": id(&r.contact),
            "posting": id(&r.posting_object),
            "requisition": id(&r.requisition),
        },
        "question_set": format!("{:?}", r.question_set),
        "role": r.role,
        "media_hosts": hosts,
        "refreshed_media": r.refreshed_media,
    })
}
