//! The speech stage: each interview's recordings one at a time — fetched
//! to a temporary file under the caps of `[media]` (per file, and what is
//! left of the interview's total bytes), transcribed (each voice segment's
//! tone measured as it is read when the analysis is on), and deleted before
//! the next is fetched — so a worker never holds more than one recording on
//! disk, and an interview's total duration is checked as it grows.
//!
//! A media host gets a circuit breaker of its own: a host that keeps timing
//! out is not called again for a while, and its interviews wait on a retry
//! topic (a transient failure). A recording that cannot be read fails its
//! interview at the media stage, a model failure at speech.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use panelflow_connectors::breaker::Breakers;
use panelflow_connectors::media::fetch::{fetch, FetchPolicy};
use panelflow_connectors::media::MediaSection;
use panelflow_connectors::metrics;
use panelflow_core::outcome::{Stage, StepOutcome};
use panelflow_models::analysis::tone::SegmentAudio;
use panelflow_models::speech::transcriber::{Measured, Transcriber};
use panelflow_models::speech::{SpeechError, Transcript};

use super::identity::Identity;
use super::interview::{Flow, Interview, StageError};
use super::media::Media;

/// Failures in a row that open a media host's circuit.
const HOST_BREAKER_THRESHOLD: u32 = 3;
/// How long a media host's circuit stays open.
const HOST_BREAKER_COOL_DOWN: Duration = Duration::from_secs(60);

/// An interview with a transcript (and the tone measures of its voice
/// segments) per media item, in order.
#[derive(Debug, Clone)]
pub struct Transcribed {
    /// Its context.
    pub media: Media,
    /// Per media item: the transcript and its segments' tone.
    pub transcripts: Vec<(Transcript, Vec<SegmentAudio>)>,
}

/// The speech stage of a worker.
pub struct SpeechStage {
    who: Arc<Identity>,
    transcriber: Transcriber,
    measure_tone: bool,
    policy: FetchPolicy,
    max_total_bytes: u64,
    max_total_duration_s: f64,
    scratch: PathBuf,
    hosts: Breakers,
    last_failure: HashMap<String, String>,
}

impl SpeechStage {
    /// The stage around a loaded transcriber; `measure_tone` when the
    /// analysis (which reads the tone) is on; fetching under `media`.
    pub fn new(
        who: Arc<Identity>,
        transcriber: Transcriber,
        measure_tone: bool,
        media: &MediaSection,
    ) -> Self {
        Self {
            who,
            transcriber,
            measure_tone,
            policy: FetchPolicy::from_section(media),
            max_total_bytes: media.max_total_bytes,
            max_total_duration_s: media.max_total_duration_s,
            scratch: std::env::temp_dir(),
            hosts: Breakers::new("media", HOST_BREAKER_THRESHOLD, HOST_BREAKER_COOL_DOWN),
            last_failure: HashMap::new(),
        }
    }

    /// Fetches and transcribes the recordings of each going interview.
    pub fn run(&mut self, items: Vec<Flow<Media>>) -> Vec<Flow<Transcribed>> {
        items
            .into_iter()
            .map(|f| f.then(|interview, media| self.one(interview, media)))
            .collect()
    }

    fn one(&mut self, mut interview: Interview, media: Media) -> Flow<Transcribed> {
        let event = interview.event.clone();
        let span = tracing::info_span!("interview", interview_id = %event.interview_id, correlation_id = %event.correlation_id);
        let _guard = span.enter();
        let mut transcripts = Vec::with_capacity(media.context.resolved.media.len());
        let mut bytes_used = 0u64;
        let mut seconds = 0.0f64;
        let model = self.transcriber.model().clone();
        for (i, item) in media.context.resolved.media.iter().enumerate() {
            // One breaker per host and port: two servers on one address are
            // two dependencies.
            let host = url::Url::parse(&item.url)
                .ok()
                .and_then(|u| {
                    let h = u.host_str()?.to_owned();
                    Some(match u.port_or_known_default() {
                        Some(p) => format!("{h}:{p}"),
                        None => h,
                    })
                })
                .unwrap_or_default();
            let breaker = self.hosts.get(&host);
            let at = chrono::Utc::now();
            if !breaker.allow() {
                let last = self
                    .last_failure
                    .get(&host)
                    .cloned()
                    .unwrap_or_else(|| "repeated failures".into());
                let err = StageError::transient(
                    Stage::Media,
                    "media_host_unavailable",
                    format!("media item {i}: host {host} not called, its circuit is open (last failure: {last})"),
                );
                interview.audit.push(
                    self.who
                        .step(&event, Stage::Media, StepOutcome::Failed)
                        .with_detail(
                            serde_json::json!({"media_index": i, "host": host, "code": err.code}),
                        ),
                );
                return Flow::Failed(interview, err);
            }
            // What is left of the interview's byte budget caps this file.
            let left = self.max_total_bytes.saturating_sub(bytes_used);
            let policy = FetchPolicy {
                max_bytes: self.policy.max_bytes.min(left),
                ..self.policy.clone()
            };
            let timer = metrics::stage_timer("fetch");
            let fetched = fetch(&item.url, &policy, &self.scratch);
            drop(timer);
            let file = match fetched {
                Ok(f) => {
                    breaker.success();
                    f
                }
                Err(e) => {
                    if e.is_transient() {
                        breaker.failure();
                        self.last_failure.insert(host.clone(), e.to_string());
                    } else {
                        breaker.success();
                    }
                    interview.audit.push(
                        self.who
                            .step(&event, Stage::Media, StepOutcome::Failed)
                            .timed(at, chrono::Utc::now())
                            .with_detail(serde_json::json!({"media_index": i, "host": host, "code": e.code()})),
                    );
                    let total_cap = policy.max_bytes < self.policy.max_bytes
                        && matches!(e, panelflow_connectors::media::FetchError::TooLarge { .. });
                    let err = if total_cap {
                        StageError::new(
                            Stage::Media,
                            "media_total_too_large",
                            format!(
                                "media item {i}: the interview's media pass the {}-byte total ([media] max_total_bytes)",
                                self.max_total_bytes
                            ),
                        )
                    } else if e.is_transient() {
                        StageError::transient(
                            Stage::Media,
                            e.code(),
                            format!("media item {i}: {e}"),
                        )
                    } else {
                        StageError::new(Stage::Media, e.code(), format!("media item {i}: {e}"))
                    };
                    return Flow::Failed(interview, err);
                }
            };
            bytes_used += file.bytes;
            interview.audit.push(
                self.who
                    .step(&event, Stage::Media, StepOutcome::Ok)
                    .timed(at, chrono::Utc::now())
                    .with_detail(serde_json::json!({"media_index": i, "host": file.host, "bytes": file.bytes})),
            );
            // Transcribe this file, then delete it (dropping `file`).
            let started = chrono::Utc::now();
            let timer = metrics::stage_timer("transcribe");
            let measure_tone = self.measure_tone;
            let mut result: Option<Result<Measured<Option<SegmentAudio>>, SpeechError>> = None;
            self.transcriber.transcribe_many_measured(
                std::iter::once((0usize, &*file.file)),
                |speech| {
                    measure_tone.then(|| SegmentAudio::measure(speech.start_s(), &speech.samples))
                },
                |_, r| result = Some(r),
            );
            drop(timer);
            drop(file);
            let result = result
                .unwrap_or_else(|| Err(SpeechError::Inference("no result for the file".into())));
            let result = result.map_err(|e| match &e {
                // Decoding is part of the media stage; only model failures are speech failures.
                SpeechError::Media(me) => {
                    StageError::new(Stage::Media, me.code(), format!("media item {i}: {me}"))
                }
                _ => StageError::new(
                    Stage::Speech,
                    "speech_failed",
                    format!("media item {i}: {e}"),
                ),
            });
            let (step, outcome) = match &result {
                Ok(_) => (Stage::Speech, StepOutcome::Ok),
                Err(e) => (e.stage, StepOutcome::Failed),
            };
            interview.audit.push(
                self.who
                    .step(&event, step, outcome)
                    .timed(started, chrono::Utc::now())
                    .with_detail(serde_json::json!({
                        "media_index": i,
                        "model": {"name": model.name, "version": model.version, "sha256": model.sha256},
                        "code": result.as_ref().err().map(|e| e.code.clone()),
                    })),
            );
            match result {
                Ok(m) => {
                    seconds += m.transcript.duration_s;
                    if seconds > self.max_total_duration_s {
                        let err = StageError::new(
                            Stage::Media,
                            "media_total_too_long",
                            format!(
                                "media item {i}: the interview's media pass {:.0} s in all ([media] max_total_duration_s)",
                                self.max_total_duration_s
                            ),
                        );
                        return Flow::Failed(interview, err);
                    }
                    transcripts.push((m.transcript, m.measures.into_iter().flatten().collect()));
                }
                Err(e) => return Flow::Failed(interview, e),
            }
        }
        Flow::Going(interview, Transcribed { media, transcripts })
    }
}
