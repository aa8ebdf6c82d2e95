//! The speech stage: the recordings of a batch of interviews through one
//! pass of the transcriber, so segments of different interviews share the
//! speech model's decoder batches; each voice segment's tone is measured
//! as it is read when the analysis is on. A recording that cannot be read
//! fails its interview at the media stage, a model failure at speech.

use std::collections::BTreeMap;
use std::sync::Arc;

use panelflow_connectors::store::audit::AuditEvent;
use panelflow_core::outcome::{Stage, StepOutcome};
use panelflow_models::analysis::tone::SegmentAudio;
use panelflow_models::speech::transcriber::{Measured, Transcriber};
use panelflow_models::speech::{SpeechError, Transcript};

use super::identity::Identity;
use super::interview::{Flow, Interview, StageError};
use super::media::Media;

/// An interview with a transcript (and the tone measures of its voice
/// segments) per media item, in order.
#[derive(Debug, Clone)]
pub struct Transcribed {
    /// Its context and files.
    pub media: Media,
    /// Per media item: the transcript and its segments' tone.
    pub transcripts: Vec<(Transcript, Vec<SegmentAudio>)>,
}

/// The speech stage of a worker.
pub struct SpeechStage {
    who: Arc<Identity>,
    transcriber: Transcriber,
    measure_tone: bool,
}

impl SpeechStage {
    /// The stage around a loaded transcriber; `measure_tone` when the
    /// analysis (which reads the tone) is on.
    pub fn new(who: Arc<Identity>, transcriber: Transcriber, measure_tone: bool) -> Self {
        Self {
            who,
            transcriber,
            measure_tone,
        }
    }

    /// Transcribes every recording of the going interviews in one pass.
    pub fn run(&mut self, items: Vec<Flow<Media>>) -> Vec<Flow<Transcribed>> {
        // (item, media index, file) for every recording of a going interview.
        let jobs: Vec<(usize, usize, std::path::PathBuf)> = items
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match f {
                Flow::Going(_, media) => Some((i, media)),
                _ => None,
            })
            .flat_map(|(i, media)| {
                media
                    .fetched
                    .iter()
                    .enumerate()
                    .map(move |(m, f)| (i, m, f.file.to_path_buf()))
            })
            .collect();
        let interviews = items
            .iter()
            .filter(|f| matches!(f, Flow::Going(..)))
            .count();
        let at = chrono::Utc::now();
        let mut results: BTreeMap<usize, Result<Measured<Option<SegmentAudio>>, SpeechError>> =
            BTreeMap::new();
        if !jobs.is_empty() {
            let measure_tone = self.measure_tone;
            let files = jobs
                .iter()
                .enumerate()
                .map(|(j, (_, _, path))| (j, path.as_path()));
            self.transcriber.transcribe_many_measured(
                files,
                |speech| {
                    measure_tone.then(|| SegmentAudio::measure(speech.start_s(), &speech.samples))
                },
                |j, r| {
                    results.insert(j, r);
                },
            );
        }
        let ended = chrono::Utc::now();
        let model = self.transcriber.model().clone();
        // Per item, its media items' results and audit events, in media order.
        type Results = Vec<Result<(Transcript, Vec<SegmentAudio>), StageError>>;
        let mut per_item: BTreeMap<usize, (Results, Vec<AuditEvent>)> = BTreeMap::new();
        for (j, (i, m, _)) in jobs.iter().enumerate() {
            let Some(Flow::Going(interview, _)) = items.get(*i) else {
                continue;
            };
            let result = results
                .remove(&j)
                .unwrap_or_else(|| Err(SpeechError::Inference("no result for the file".into())));
            let result = result
                .map(|r| (r.transcript, r.measures.into_iter().flatten().collect()))
                .map_err(|e| match &e {
                    // Decoding is part of the media stage; only model failures are speech failures.
                    SpeechError::Media(me) => {
                        StageError::new(Stage::Media, me.code(), format!("media item {m}: {me}"))
                    }
                    _ => StageError::new(
                        Stage::Speech,
                        "speech_failed",
                        format!("media item {m}: {e}"),
                    ),
                });
            let (step, outcome) = match &result {
                Ok(_) => (Stage::Speech, StepOutcome::Ok),
                Err(e) => (e.stage, StepOutcome::Failed),
            };
            let audit = self
                .who
                .step(&interview.event, step, outcome)
                .timed(at, ended)
                .with_detail(serde_json::json!({
                    "media_index": m,
                    "model": {"name": model.name, "version": model.version, "sha256": model.sha256},
                    "batched_interviews": interviews,
                    "code": result.as_ref().err().map(|e| e.code.clone()),
                }));
            let entry = per_item.entry(*i).or_default();
            entry.0.push(result);
            entry.1.push(audit);
        }
        items
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                f.then(|mut interview, media| {
                    let (results, audit) = per_item.remove(&i).unwrap_or_default();
                    interview.audit.extend(audit);
                    collect(interview, media, results)
                })
            })
            .collect()
    }
}

/// An interview's transcripts in media order, or its first failure.
fn collect(
    interview: Interview,
    media: Media,
    results: Vec<Result<(Transcript, Vec<SegmentAudio>), StageError>>,
) -> Flow<Transcribed> {
    let count = media.fetched.len();
    let mut transcripts = Vec::with_capacity(count);
    let mut results = results.into_iter();
    for m in 0..count {
        match results.next() {
            Some(Ok(t)) => transcripts.push(t),
            Some(Err(e)) => return Flow::Failed(interview, e),
            None => {
                let err = StageError::new(
                    Stage::Speech,
                    "no_result",
                    format!("media item {m}: no transcript"),
                );
                return Flow::Failed(interview, err);
            }
        }
    }
    Flow::Going(interview, Transcribed { media, transcripts })
}
