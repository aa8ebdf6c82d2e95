//! The media stage: every recording of an interview fetched to a temporary
//! file under the size and time caps of `[media]`, refusing private-network
//! addresses (decoding happens as the speech stage reads the file).

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use panelflow_connectors::media::fetch::{fetch, FetchPolicy, Fetched};
use panelflow_core::outcome::{Stage, StepOutcome};

use super::context::Context;
use super::identity::Identity;
use super::interview::{Flow, Interview, StageError};

/// An interview with its recordings on disk.
#[derive(Debug, Clone)]
pub struct Media {
    /// Its context.
    pub context: Context,
    /// One file per media item, in order; deleted when the last holder drops it.
    pub fetched: Vec<Rc<Fetched>>,
}

/// The media stage of a worker.
pub struct MediaStage {
    who: Arc<Identity>,
    policy: FetchPolicy,
    scratch: PathBuf,
}

impl MediaStage {
    /// The stage fetching under `policy` into the system's temporary folder.
    pub fn new(who: Arc<Identity>, policy: FetchPolicy) -> Self {
        Self {
            who,
            policy,
            scratch: std::env::temp_dir(),
        }
    }

    /// Fetches the recordings of each going interview.
    pub fn run(&mut self, items: Vec<Flow<Context>>) -> Vec<Flow<Media>> {
        items
            .into_iter()
            .map(|f| f.then(|interview, context| self.one(interview, context)))
            .collect()
    }

    fn one(&mut self, mut interview: Interview, context: Context) -> Flow<Media> {
        let event = interview.event.clone();
        let span = tracing::info_span!("interview", interview_id = %event.interview_id, correlation_id = %event.correlation_id);
        let _guard = span.enter();
        let mut fetched = Vec::with_capacity(context.resolved.media.len());
        for (i, item) in context.resolved.media.iter().enumerate() {
            let at = chrono::Utc::now();
            match fetch(&item.url, &self.policy, &self.scratch) {
                Ok(f) => {
                    tracing::debug!(bytes = f.bytes, host = %f.host, "media fetched");
                    interview.audit.push(
                        self.who
                            .step(&event, Stage::Media, StepOutcome::Ok)
                            .timed(at, chrono::Utc::now())
                            .with_detail(serde_json::json!({"media_index": i, "host": f.host, "bytes": f.bytes})),
                    );
                    fetched.push(Rc::new(f));
                }
                Err(e) => {
                    let host = url::Url::parse(&item.url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_owned))
                        .unwrap_or_default();
                    interview.audit.push(
                        self.who
                            .step(&event, Stage::Media, StepOutcome::Failed)
                            .timed(at, chrono::Utc::now())
                            .with_detail(serde_json::json!({"media_index": i, "host": host, "code": e.code()})),
                    );
                    let err =
                        StageError::new(Stage::Media, e.code(), format!("media item {i}: {e}"));
                    return Flow::Failed(interview, err);
                }
            }
        }
        Flow::Going(interview, Media { context, fetched })
    }
}
