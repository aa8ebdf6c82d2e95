//! Executes a [`WritePlan`] against Lever, each write looked up first.
//!
//! Order: the note (what a recruiter reads), the scorecard, the tags, and
//! last the stage move (the most consequential, made only when the rest is
//! in). Every write goes through the [`LeverClient`], so it shares the
//! process's token bucket and is retried on 429 and 5xx with back-off; a
//! write that keeps failing returns a [`WriteError`] naming its step.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use panelflow_core::outcome::Stage;
use panelflow_core::writeback::{correlation_marker, WritePlan};

use super::client::{LeverClient, LeverError, NoteOutcome};

/// What a plan wrote, and what it found already written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WriteReport {
    /// The note's id (new or found).
    pub note_id: Option<String>,
    /// Whether this run created the note.
    pub note_created: bool,
    /// Tags this run added (absent before).
    pub tags_added: Vec<String>,
    /// Tags this run removed (present before).
    pub tags_removed: Vec<String>,
    /// Whether this run moved the stage.
    pub stage_moved: bool,
    /// The scorecard's id (new or found).
    pub feedback_id: Option<String>,
    /// Whether this run created the scorecard.
    pub feedback_created: bool,
}

/// A write that failed after its retries.
#[derive(Debug, thiserror::Error)]
#[error("Lever {step} failed for opportunity {opportunity_id}: {source}")]
pub struct WriteError {
    /// The step: [`Stage::LeverNote`], [`Stage::LeverFeedback`],
    /// [`Stage::LeverTags`] or [`Stage::LeverStage`].
    pub step: Stage,
    /// The opportunity.
    pub opportunity_id: String,
    /// The client's error (after its retries), boxed: errors travel far.
    #[source]
    pub source: Box<LeverError>,
}

impl WriteError {
    /// Whether retrying later may succeed (429, 5xx, network).
    pub fn is_transient(&self) -> bool {
        self.source.is_transient()
    }
}

/// Writes `plan` to Lever, skipping what is already there.
pub fn apply(client: &LeverClient, plan: &WritePlan) -> Result<WriteReport, WriteError> {
    let opp = plan.opportunity_id.as_str();
    let err = |step: Stage| {
        move |source: LeverError| WriteError {
            step,
            opportunity_id: opp.to_owned(),
            source: Box::new(source),
        }
    };
    let perform_as = plan.perform_as.as_deref();
    let marker = correlation_marker(&plan.correlation_id);
    let mut report = WriteReport::default();

    if let Some(note) = &plan.note {
        let outcome = client
            .ensure_note(opp, &marker, note, true, perform_as)
            .map_err(err(Stage::LeverNote))?;
        report.note_created = matches!(outcome, NoteOutcome::Created(_));
        report.note_id = Some(outcome.note_id().to_owned());
    }

    if let Some(form) = &plan.feedback {
        // Lever requires a user to submit feedback as.
        let user = perform_as.unwrap_or_default();
        let existing = client
            .list_feedback(opp)
            .map_err(err(Stage::LeverFeedback))?
            .into_iter()
            .find(|f| carries_marker(f, &marker));
        match existing {
            Some(f) => {
                report.feedback_id = f.get("id").and_then(Value::as_str).map(str::to_owned);
            }
            None => {
                let body = serde_json::json!({
                    "baseTemplateId": form.base_template_id,
                    "fieldValues": form.field_values.iter()
                        .map(|(id, value)| serde_json::json!({"id": id, "value": value}))
                        .collect::<Vec<_>>(),
                });
                match client.add_feedback(opp, user, body) {
                    Ok(created) => {
                        report.feedback_id =
                            created.get("id").and_then(Value::as_str).map(str::to_owned);
                    }
                    // A lost reply: the scorecard may be there; look again.
                    Err(e) if e.is_ambiguous() => {
                        let found = client
                            .list_feedback(opp)
                            .map_err(err(Stage::LeverFeedback))?
                            .into_iter()
                            .find(|f| carries_marker(f, &marker));
                        match found {
                            Some(f) => {
                                report.feedback_id =
                                    f.get("id").and_then(Value::as_str).map(str::to_owned);
                            }
                            None => return Err(err(Stage::LeverFeedback)(e)),
                        }
                    }
                    Err(e) => return Err(err(Stage::LeverFeedback)(e)),
                }
                report.feedback_created = true;
            }
        }
    }

    if !plan.add_tags.is_empty() || !plan.remove_tags.is_empty() || plan.stage.is_some() {
        let current = client.get_opportunity(opp).map_err(err(Stage::LeverTags))?;
        let tags: Vec<&str> = current
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let add: Vec<String> = plan
            .add_tags
            .iter()
            .filter(|t| !tags.contains(&t.as_str()))
            .cloned()
            .collect();
        let remove: Vec<String> = plan
            .remove_tags
            .iter()
            .filter(|t| tags.contains(&t.as_str()))
            .cloned()
            .collect();
        if !add.is_empty() {
            client.add_tags(opp, &add).map_err(err(Stage::LeverTags))?;
        }
        if !remove.is_empty() {
            client
                .remove_tags(opp, &remove)
                .map_err(err(Stage::LeverTags))?;
        }
        report.tags_added = add;
        report.tags_removed = remove;

        if let Some(stage) = &plan.stage {
            // A stage the opportunity is in, or was moved to before (perhaps
            // by us, perhaps moved back by a person), is not moved again.
            let already = current.get("stage").and_then(Value::as_str) == Some(stage)
                || current
                    .get("stageChanges")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|c| c.get("toStageId").and_then(Value::as_str) == Some(stage));
            if !already {
                client
                    .change_stage(opp, stage, perform_as)
                    .map_err(err(Stage::LeverStage))?;
                report.stage_moved = true;
            }
        }
    }
    tracing::info!(
        opportunity_id = opp,
        correlation_id = %plan.correlation_id,
        note_created = report.note_created,
        tags_added = report.tags_added.len(),
        stage_moved = report.stage_moved,
        feedback_created = report.feedback_created,
        "Lever write-back"
    );
    Ok(report)
}

fn carries_marker(feedback: &Value, marker: &str) -> bool {
    feedback
        .get("fieldValues")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|f| {
            f.get("value")
                .and_then(Value::as_str)
                .is_some_and(|v| v.contains(marker))
        })
}
