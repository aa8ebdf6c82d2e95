//! The media stage: an interview's media items checked against the
//! per-interview caps of `[media]` before anything is fetched (at most
//! `max_items`); fetching happens in the speech stage, one file at a time
//! (fetch, transcribe, delete), so one interview never holds more than one
//! recording on disk.

use std::sync::Arc;

use panelflow_core::outcome::{Stage, StepOutcome};

use super::context::Context;
use super::identity::Identity;
use super::interview::{Flow, Interview, StageError};

/// An interview whose media may be fetched.
#[derive(Debug, Clone)]
pub struct Media {
    /// Its context (the media items are `context.resolved.media`).
    pub context: Context,
}

/// The media stage of a worker.
pub struct MediaStage {
    who: Arc<Identity>,
    max_items: usize,
}

impl MediaStage {
    /// The stage allowing `max_items` media items per interview.
    pub fn new(who: Arc<Identity>, max_items: usize) -> Self {
        Self {
            who,
            max_items: max_items.max(1),
        }
    }

    /// Checks each going interview's media.
    pub fn run(&mut self, items: Vec<Flow<Context>>) -> Vec<Flow<Media>> {
        items
            .into_iter()
            .map(|f| f.then(|interview, context| self.one(interview, context)))
            .collect()
    }

    fn one(&mut self, mut interview: Interview, context: Context) -> Flow<Media> {
        let count = context.resolved.media.len();
        if count > self.max_items {
            let err = StageError::new(
                Stage::Media,
                "media_too_many_items",
                format!(
                    "{count} media items, more than the {} allowed per interview ([media] max_items)",
                    self.max_items
                ),
            );
            interview.audit.push(
                self.who
                    .step(&interview.event, Stage::Media, StepOutcome::Refused)
                    .with_detail(serde_json::json!({"code": err.code, "items": count})),
            );
            return Flow::Failed(interview, err);
        }
        Flow::Going(interview, Media { context })
    }
}
