//! What happens to one interview inside a worker, stage by stage: context
//! (find the media), media (fetch, decode), speech (transcribe), analysis
//! (the summary object), then the write-back plan of the phase: written to
//! Lever now or held in the review queue. A failing stage yields a
//! `failed` outcome with its reason — never a panic, never a silent drop.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use crate::config::PipelineConfig;
use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::media::fetch::{fetch, FetchPolicy};
use panelflow_connectors::parquet::{
    AnalysisRows, InterviewRow, ResponseRow, ScoreRow, SegmentRow,
};
use panelflow_connectors::store::audit::AuditEvent;
use panelflow_connectors::store::queue::{ReviewItem, ReviewQueue};
use panelflow_core::event::InterviewCompleted;
use panelflow_core::wire::DeadLetter;
use panelflow_core::writeback::Route;
use panelflow_models::analysis::analyzer::Analyzer;
use panelflow_models::analysis::summary::{PipelineRef, Summary};
use panelflow_models::analysis::tone::SegmentAudio;
use panelflow_models::speech::moonshine::ModelInfo;
use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};
use panelflow_models::speech::Transcript;

/// Outcome value of a successfully analysed interview.
pub const OUTCOME_TRANSCRIBED: &str = "transcribed";
/// Outcome value of an interview that could not be analysed.
pub const OUTCOME_FAILED: &str = "failed";

/// Media file extensions recognised when the context stage looks for
/// recording links on a Lever opportunity.
const MEDIA_EXTENSIONS: [&str; 9] = [
    ".mp4", ".m4a", ".webm", ".mkv", ".mp3", ".wav", ".flac", ".ogg", ".mov",
];

/// A stage failure: which stage, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct StageError {
    /// `context`, `media`, `speech`, `lever_note`.
    pub stage: &'static str,
    /// Stable short code (e.g. `media_forbidden_address`).
    pub code: String,
    /// Human-readable reason.
    pub reason: String,
}

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.stage, self.reason, self.code)
    }
}

/// Everything one interview produced, ready for the sinks.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The `interviews` row.
    pub interview: InterviewRow,
    /// The `segments` rows.
    pub segments: Vec<SegmentRow>,
    /// The `responses` and `scores` rows.
    pub analysis: AnalysisRows,
    /// A dead-letter record when the interview failed.
    pub dead_letter: Option<DeadLetter>,
    /// The interview's story for the audit log.
    pub audit: Vec<AuditEvent>,
    /// The AI scores for the aggregates (`[kafka] scores_topic`), keyed by
    /// candidate id, when the analysis scored the interview.
    pub score_message: Option<panelflow_core::wire::ScoreMessage>,
}

/// An interview after its context and media stages.
struct Prepared {
    resolved: crate::pipeline::context::ResolvedContext,
    fetched: Vec<panelflow_connectors::media::fetch::Fetched>,
    media_urls: Vec<String>,
    posting: Option<(String, Option<String>)>,
}

/// Each (interview, media item)'s transcript and tone measures, or why not.
type Transcribed = BTreeMap<(usize, usize), Result<(Transcript, Vec<SegmentAudio>), StageError>>;

/// Interview `i`'s transcripts in media order, or its first failure.
fn collect_media(
    transcribed: &mut Transcribed,
    i: usize,
    count: usize,
) -> Result<Vec<(Transcript, Vec<SegmentAudio>)>, StageError> {
    // Taken, not copied: each interview's transcripts are read once.
    (0..count)
        .map(|m| match transcribed.remove(&(i, m)) {
            Some(Ok(t)) => Ok(t),
            Some(Err(e)) => Err(e),
            None => Err(StageError {
                stage: "speech",
                code: "no_result".into(),
                reason: format!("media item {m}: no transcript"),
            }),
        })
        .collect()
}

/// The per-worker processor: models loaded once, clients shared.
pub struct Processor {
    transcriber: Transcriber,
    analyzer: Option<Analyzer>,
    fetch_policy: FetchPolicy,
    context: std::sync::Arc<crate::pipeline::context::LeverContext>,
    /// Lever client for write-back; `None` when `[lever] write_notes` is off.
    writer: Option<LeverClient>,
    /// Every result is stored here: pending ones wait for a recruiter,
    /// written ones are there for the review page.
    queue: Option<ReviewQueue>,
    cfg: std::sync::Arc<PipelineConfig>,
    pipeline: PipelineRef,
    models: Vec<ModelInfo>,
    scratch: PathBuf,
}

impl Processor {
    /// Loads the models and builds the clients for a worker. `lever` reads
    /// the context and, when `[lever] write_notes` is on, writes results back.
    pub fn new(
        cfg: &PipelineConfig,
        lever: Option<LeverClient>,
    ) -> Result<Self, panelflow_models::speech::SpeechError> {
        let transcriber = Transcriber::load(&TranscriberOptions::from_section(
            &cfg.speech,
            cfg.media.max_duration_s,
        ))?;
        let mut models = vec![transcriber.model().clone()];
        let analyzer = if cfg.analysis.enabled {
            let a =
                Analyzer::from_sections(&cfg.analysis, &cfg.rubrics, &cfg.speech).map_err(|e| {
                    panelflow_models::speech::SpeechError::Model {
                        path: "analysis".into(),
                        reason: e.to_string(),
                    }
                })?;
            models.extend(a.models().iter().cloned());
            Some(a)
        } else {
            None
        };
        let queue = match ReviewQueue::open_for(&cfg.review.queue_dir, &cfg.governance) {
            Ok(q) => Some(q),
            Err(e) => {
                // Without a queue nothing may be routed to review: results
                // that need a recruiter fail (and are dead-lettered) instead.
                tracing::error!(error = %e, "review queue unavailable");
                None
            }
        };
        Ok(Self {
            transcriber,
            analyzer,
            fetch_policy: FetchPolicy::from_section(&cfg.media),
            context: std::sync::Arc::new(crate::pipeline::context::LeverContext::new(
                cfg,
                lever.clone(),
            )),
            writer: lever.filter(|_| cfg.lever.write_notes),
            queue,
            cfg: std::sync::Arc::new(cfg.clone()),
            pipeline: PipelineRef {
                name: cfg.pipeline.name.clone(),
                version: cfg.pipeline.version.clone(),
                config_hash: cfg.config_hash(),
            },
            models,
            scratch: std::env::temp_dir(),
        })
    }

    /// Uses `context` (shared by every worker of the process: one cache, one
    /// token bucket) instead of a context stage of its own.
    pub fn with_context(
        mut self,
        context: std::sync::Arc<crate::pipeline::context::LeverContext>,
    ) -> Self {
        self.context = context;
        self
    }

    /// Interviews processed together per call of the analyse operator.
    pub fn batch_interviews(&self) -> usize {
        self.cfg.speech.batch_interviews.max(1)
    }

    /// The pipeline identity this processor stamps on its rows.
    pub fn pipeline(&self) -> &PipelineRef {
        &self.pipeline
    }

    fn audit(&self, event: &InterviewCompleted, step: &str, outcome: &str) -> AuditEvent {
        AuditEvent::step(&event.correlation_id, &event.interview_id, step, outcome)
            .for_candidate(event.candidate_id.clone())
            .by(format!(
                "pipeline:{}@{}",
                self.pipeline.name, self.pipeline.version
            ))
            .with_config_hash(self.pipeline.config_hash.clone())
    }

    /// Runs every stage for one interview.
    pub fn process(&mut self, event: &InterviewCompleted) -> Processed {
        match self.process_batch(std::slice::from_ref(event)).pop() {
            Some(p) => p,
            None => self.failed(
                event,
                &StageError {
                    stage: "speech",
                    code: "no_result".into(),
                    reason: "the batch returned no result".into(),
                },
                0,
            ),
        }
    }

    /// Runs every stage for several interviews of one worker, their voice
    /// segments sharing the speech model's batches (one decoder call serves
    /// segments of several interviews); results are in the order of `events`,
    /// and each interview fails or succeeds alone.
    pub fn process_batch(&mut self, events: &[InterviewCompleted]) -> Vec<Processed> {
        let started = Instant::now();
        let mut audits: Vec<Vec<AuditEvent>> = events.iter().map(|_| Vec::new()).collect();
        let mut outcomes: Vec<Option<Processed>> = events.iter().map(|_| None).collect();
        let mut prepared: Vec<Option<Prepared>> = events.iter().map(|_| None).collect();

        // Residency, context and media: per interview.
        for (i, event) in events.iter().enumerate() {
            let span = tracing::info_span!("interview", interview_id = %event.interview_id, correlation_id = %event.correlation_id);
            let _guard = span.enter();
            if let Some(refused) = self.refuse_other_region(event) {
                outcomes[i] = Some(refused);
                continue;
            }
            match self.prepare(event, &mut audits[i]) {
                Ok(p) => prepared[i] = Some(p),
                Err(err) => {
                    let elapsed_ms = started.elapsed().as_millis() as i64;
                    outcomes[i] =
                        Some(self.failed_with_review(event, &err, elapsed_ms, &mut audits[i]));
                }
            }
        }

        // Speech: every recording of the batch through one transcriber pass.
        let mut transcribed = self.transcribe_prepared(events, &prepared, &mut audits);

        // Analysis, the write-back plan and its route: per interview.
        for (i, event) in events.iter().enumerate() {
            if outcomes[i].is_some() {
                continue;
            }
            let span = tracing::info_span!("interview", interview_id = %event.interview_id, correlation_id = %event.correlation_id);
            let _guard = span.enter();
            let Some(p) = prepared[i].take() else {
                continue;
            };
            let elapsed_ms = started.elapsed().as_millis() as i64;
            let mut audit = std::mem::take(&mut audits[i]);
            let media = match collect_media(&mut transcribed, i, p.fetched.len()) {
                Ok(m) => m,
                Err(err) => {
                    outcomes[i] =
                        Some(self.failed_with_review(event, &err, elapsed_ms, &mut audit));
                    continue;
                }
            };
            let analysed = self.finish(event, &p, media, &mut audit);
            outcomes[i] = Some(self.conclude(event, analysed, p, audit, elapsed_ms));
        }
        outcomes
            .into_iter()
            .zip(events)
            .map(|(o, event)| {
                o.unwrap_or_else(|| {
                    self.failed(
                        event,
                        &StageError {
                            stage: "speech",
                            code: "no_result".into(),
                            reason: "no result for the interview".into(),
                        },
                        0,
                    )
                })
            })
            .collect()
    }

    /// Data residency: an event of another region is never processed.
    fn refuse_other_region(&self, event: &InterviewCompleted) -> Option<Processed> {
        let region = event.region.as_deref()?;
        if region.eq_ignore_ascii_case(&self.cfg.pipeline.region) {
            return None;
        }
        let err = StageError {
            stage: "residency",
            code: "region_mismatch".into(),
            reason: format!(
                "event of region {region:?} refused by the {:?} deployment",
                self.cfg.pipeline.region
            ),
        };
        tracing::warn!(error = %err, "interview refused");
        let mut failed = self.failed(event, &err, 0);
        failed.audit = vec![self.audit(event, "residency", "refused").with_detail(
            serde_json::json!({"event_region": region, "deployment_region": self.cfg.pipeline.region}),
        )];
        Some(failed)
    }

    /// A failed interview; a failed media or speech step is also shown to a
    /// recruiter (review and automate phases).
    fn failed_with_review(
        &self,
        event: &InterviewCompleted,
        err: &StageError,
        elapsed_ms: i64,
        audit: &mut Vec<AuditEvent>,
    ) -> Processed {
        tracing::warn!(error = %err, "interview failed");
        let mut failed = self.failed(event, err, elapsed_ms);
        if let Some(plan) = crate::writeback::plan::plan_failed(
            &self.cfg,
            &event.opportunity_id,
            &event.correlation_id,
            err.stage,
        ) {
            let item = self
                .review_item(event, plan, serde_json::Value::Null)
                .with_media(event.media.iter().map(|m| m.url.clone()).collect())
                .with_failure(err.to_string());
            audit.push(self.enqueue(event, item));
        }
        failed.audit = std::mem::take(audit);
        failed
    }

    /// The write-back of an analysed interview: planned for the phase, then
    /// written to Lever now or held in the review queue.
    fn conclude(
        &mut self,
        event: &InterviewCompleted,
        analysed: (Summary, Vec<SegmentRow>, AnalysisRows),
        prepared: Prepared,
        mut audit: Vec<AuditEvent>,
        elapsed_ms: i64,
    ) -> Processed {
        let (summary, segments, analysis) = analysed;
        let Prepared {
            media_urls,
            posting,
            ..
        } = prepared;
        let summary_json = serde_json::to_value(&summary).unwrap_or(serde_json::Value::Null);
        let plan = crate::writeback::plan(&self.cfg, &summary);
        audit.push(
            self.audit(event, "route", route_name(&plan.route))
                .with_detail(serde_json::json!({
                    "phase": self.cfg.pipeline.phase,
                    "route": plan.route,
                    "tags_add": plan.add_tags,
                    "tags_remove": plan.remove_tags,
                    "stage": plan.stage,
                    "scorecard": plan.feedback.is_some(),
                })),
        );
        let item = self
            .review_item(event, plan.clone(), summary_json.clone())
            .with_posting(
                posting.as_ref().map(|p| p.0.clone()),
                posting.as_ref().and_then(|p| p.1.clone()),
                summary.analysis.job_family.clone(),
            )
            .with_media(media_urls);

        let mut note_id = None;
        match (&plan.route, &self.writer) {
            (Route::Direct, Some(client)) if !plan.is_empty() => {
                let at = chrono::Utc::now();
                match panelflow_connectors::lever::writeback::apply(client, &plan) {
                    Ok(report) => {
                        audit.push(
                            self.audit(event, "lever_write", "ok")
                                .timed(at, chrono::Utc::now())
                                .with_detail(serde_json::json!({
                                    "opportunity_id": event.opportunity_id,
                                    "report": report,
                                })),
                        );
                        note_id = report.note_id.clone();
                        audit.push(self.enqueue(event, item.with_write_report(report)));
                    }
                    Err(e) => {
                        let err = StageError {
                            stage: e.step,
                            code: "lever_write_failed".into(),
                            reason: e.to_string(),
                        };
                        tracing::warn!(error = %err, "Lever write-back failed");
                        audit.push(
                            self.audit(event, e.step, "failed")
                                .timed(at, chrono::Utc::now())
                                .with_detail(serde_json::json!({"reason": e.to_string()})),
                        );
                        let mut failed = self.failed(event, &err, elapsed_ms);
                        failed.interview.transcript = Some(summary.transcript.clone());
                        failed.interview.duration_s = Some(summary.duration_s);
                        failed.interview.summary_json = Some(summary_json.to_string());
                        failed.segments = segments;
                        failed.analysis = analysis;
                        failed.audit = audit;
                        return failed;
                    }
                }
            }
            (Route::Review { .. }, _) => {
                let queued = self.enqueue(event, item);
                let ok = queued.outcome != "failed";
                audit.push(queued);
                if !ok {
                    let err = StageError {
                        stage: "review_queue",
                        code: "review_queue_failed".into(),
                        reason: "the result could not be stored in the review queue".into(),
                    };
                    let mut failed = self.failed(event, &err, elapsed_ms);
                    failed.segments = segments;
                    failed.analysis = analysis;
                    failed.audit = audit;
                    return failed;
                }
            }
            // Writing is off (or nothing to write): kept for the review page.
            _ => audit.push(self.enqueue(event, item)),
        }
        tracing::info!(
            duration_s = summary.duration_s,
            words = summary.words,
            ms = elapsed_ms,
            "interview analysed"
        );
        Processed {
            interview: self.row(
                event,
                OUTCOME_TRANSCRIBED,
                None,
                Some(&summary),
                note_id,
                elapsed_ms,
            ),
            segments,
            analysis,
            dead_letter: None,
            audit,
            score_message: super::scores::score_message(&summary),
        }
    }

    /// The review-queue item of an interview under this pipeline version.
    fn review_item(
        &self,
        event: &InterviewCompleted,
        plan: panelflow_core::writeback::WritePlan,
        summary: serde_json::Value,
    ) -> ReviewItem {
        ReviewItem::new(
            &event.interview_id,
            &self.pipeline.version,
            &event.correlation_id,
            &event.candidate_id,
            &event.opportunity_id,
            plan,
            summary,
        )
    }

    /// Stores an item in the review queue; the audit event says how it went.
    fn enqueue(&self, event: &InterviewCompleted, item: ReviewItem) -> AuditEvent {
        let status = item.status.as_str();
        let reasons = item.reasons.clone();
        let Some(queue) = &self.queue else {
            return self
                .audit(event, "review_queue", "failed")
                .with_detail(serde_json::json!({"reason": "no review queue"}));
        };
        match queue.enqueue(item) {
            Ok(new) => self
                .audit(event, "review_queue", "ok")
                .with_detail(serde_json::json!({"status": status, "reasons": reasons, "new": new})),
            Err(e) => {
                tracing::error!(error = %e, "review queue write failed");
                self.audit(event, "review_queue", "failed")
                    .with_detail(serde_json::json!({"reason": e.to_string()}))
            }
        }
    }

    /// The context stage, then every media item fetched (not yet decoded).
    fn prepare(
        &mut self,
        event: &InterviewCompleted,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Prepared, StageError> {
        let at = chrono::Utc::now();
        let resolved = match self.context(event) {
            Ok(r) => {
                audit.push(
                    self.audit(event, "context", "ok")
                        .timed(at, chrono::Utc::now())
                        .with_detail(context_detail(event, &r)),
                );
                r
            }
            Err(e) => {
                audit.push(
                    self.audit(event, "context", "failed")
                        .timed(at, chrono::Utc::now())
                        .with_detail(serde_json::json!({"code": e.code})),
                );
                return Err(e);
            }
        };
        let posting = resolved.posting_object.as_ref().and_then(|p| {
            let id = p.get("id").and_then(serde_json::Value::as_str)?;
            let title = p.get("text").and_then(serde_json::Value::as_str);
            Some((id.to_owned(), title.map(str::to_owned)))
        });
        let media_urls: Vec<String> = resolved.media.iter().map(|m| m.url.clone()).collect();
        let mut fetched = Vec::with_capacity(resolved.media.len());
        for (i, item) in resolved.media.iter().enumerate() {
            let at = chrono::Utc::now();
            match fetch(&item.url, &self.fetch_policy, &self.scratch) {
                Ok(f) => {
                    tracing::debug!(bytes = f.bytes, host = %f.host, "media fetched");
                    audit.push(
                        self.audit(event, "media", "ok")
                            .timed(at, chrono::Utc::now())
                            .with_detail(serde_json::json!({"media_index": i, "host": f.host, "bytes": f.bytes})),
                    );
                    fetched.push(f);
                }
                Err(e) => {
                    let host = url::Url::parse(&item.url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_owned))
                        .unwrap_or_default();
                    audit.push(
                        self.audit(event, "media", "failed")
                            .timed(at, chrono::Utc::now())
                            .with_detail(serde_json::json!({"media_index": i, "host": host, "code": e.code()})),
                    );
                    return Err(StageError {
                        stage: "media",
                        code: e.code().into(),
                        reason: format!("media item {i}: {e}"),
                    });
                }
            }
        }
        Ok(Prepared {
            resolved,
            fetched,
            media_urls,
            posting,
        })
    }

    /// Transcribes every fetched recording of the batch in one pass of the
    /// transcriber (segments of different interviews share decoder calls),
    /// measuring each voice segment's tone as it is read when the analysis
    /// is on. Keyed by (interview, media item).
    fn transcribe_prepared(
        &mut self,
        events: &[InterviewCompleted],
        prepared: &[Option<Prepared>],
        audits: &mut [Vec<AuditEvent>],
    ) -> Transcribed {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let jobs: Vec<(usize, usize, &std::path::Path)> = prepared
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
            .flat_map(|(i, p)| {
                p.fetched
                    .iter()
                    .enumerate()
                    .map(move |(m, f)| (i, m, f.file.as_ref()))
            })
            .collect();
        let mut out = BTreeMap::new();
        if jobs.is_empty() {
            return out;
        }
        // The tap is called while a file is read, so "the file being read"
        // tells whose segment it measured.
        let reading = Arc::new(AtomicUsize::new(usize::MAX));
        let measures: Arc<Mutex<BTreeMap<usize, Vec<SegmentAudio>>>> = Arc::default();
        let previous = if self.analyzer.is_some() {
            let (reading, measures) = (Arc::clone(&reading), Arc::clone(&measures));
            self.transcriber
                .set_speech_tap(Some(Box::new(move |speech| {
                    let m = SegmentAudio::measure(speech.start_s(), &speech.samples);
                    if let Ok(mut g) = measures.lock() {
                        g.entry(reading.load(Ordering::Relaxed))
                            .or_default()
                            .push(m);
                    }
                })))
        } else {
            None
        };
        let at = chrono::Utc::now();
        let mut results: BTreeMap<
            usize,
            Result<Transcript, panelflow_models::speech::SpeechError>,
        > = BTreeMap::new();
        let files = jobs.iter().enumerate().map(|(j, (_, _, path))| {
            reading.store(j, Ordering::Relaxed);
            (j, *path)
        });
        self.transcriber.transcribe_many(files, |j, r| {
            results.insert(j, r);
        });
        if self.analyzer.is_some() {
            self.transcriber.set_speech_tap(previous);
        }
        let ended = chrono::Utc::now();
        let mut measures = match measures.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(_) => BTreeMap::new(),
        };
        let model = self.transcriber.model().clone();
        let interviews = prepared.iter().filter(|p| p.is_some()).count();
        for (j, (i, m, _)) in jobs.iter().enumerate() {
            let event = &events[*i];
            let result = results.remove(&j).unwrap_or_else(|| {
                Err(panelflow_models::speech::SpeechError::Inference(
                    "no result for the file".into(),
                ))
            });
            let result = result.map_err(|e| match &e {
                // Decoding is part of the media stage; only model failures are speech failures.
                panelflow_models::speech::SpeechError::Media(me) => StageError {
                    stage: "media",
                    code: me.code().into(),
                    reason: format!("media item {m}: {me}"),
                },
                _ => StageError {
                    stage: "speech",
                    code: "speech_failed".into(),
                    reason: format!("media item {m}: {e}"),
                },
            });
            let (step, outcome) = match &result {
                Ok(_) => ("speech", "ok"),
                Err(e) => (e.stage, "failed"),
            };
            audits[*i].push(
                self.audit(event, step, outcome)
                    .timed(at, ended)
                    .with_detail(serde_json::json!({
                        "media_index": m,
                        "model": {"name": model.name, "version": model.version, "sha256": model.sha256},
                        "batched_interviews": interviews,
                        "code": result.as_ref().err().map(|e| e.code.clone()),
                    })),
            );
            let tone = measures.remove(&j).unwrap_or_default();
            out.insert((*i, *m), result.map(|t| (t, tone)));
        }
        out
    }

    /// The summary and its analysis, the segments and the analysis rows.
    fn finish(
        &mut self,
        event: &InterviewCompleted,
        prepared: &Prepared,
        media: Vec<(Transcript, Vec<SegmentAudio>)>,
        audit: &mut Vec<AuditEvent>,
    ) -> (Summary, Vec<SegmentRow>, AnalysisRows) {
        let mut transcripts = Vec::with_capacity(media.len());
        let mut audio: Vec<Vec<SegmentAudio>> = Vec::with_capacity(media.len());
        for (item, (transcript, measures)) in prepared.resolved.media.iter().zip(media) {
            transcripts.push((
                item.question_id.clone(),
                item.question_text.clone(),
                transcript,
            ));
            audio.push(measures);
        }
        let at = chrono::Utc::now();
        let mut summary = Summary::build(event, &self.pipeline, transcripts, self.models.clone());
        summary.posting_id = prepared.posting.as_ref().map(|p| p.0.clone());
        if let Some(analyzer) = self.analyzer.as_mut() {
            analyzer.analyze(&mut summary, &audio, &prepared.resolved.analysis());
        }
        audit.push(
            self.audit(event, "analysis", if summary.analysis.complete { "ok" } else { "partial" })
                .timed(at, chrono::Utc::now())
                .with_detail(serde_json::json!({
                    "models": self.models.iter().map(|m| serde_json::json!({"name": m.name, "version": m.version, "sha256": m.sha256})).collect::<Vec<_>>(),
                    "job_family": summary.analysis.job_family,
                    "answers_from": summary.analysis.answers_from,
                    "scores": summary.scores.len(),
                    "flags": summary.flags.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
                })),
        );
        let version = self.pipeline.version.clone();
        // Segments are numbered per media item (one recording may hold several answers).
        let mut next_index: std::collections::BTreeMap<usize, i32> = Default::default();
        let segments = summary
            .answers
            .iter()
            .flat_map(|a| {
                let version = version.clone();
                let counter = next_index.entry(a.media_index).or_insert(0);
                let first = *counter;
                *counter += a.segments.len() as i32;
                a.segments.iter().enumerate().map(move |(j, s)| SegmentRow {
                    interview_id: event.interview_id.clone(),
                    pipeline_version: version.clone(),
                    correlation_id: event.correlation_id.clone(),
                    media_index: a.media_index as i32,
                    question_id: a.question_id.clone(),
                    segment_index: first + j as i32,
                    start_s: s.start,
                    end_s: s.end,
                    text: s.text.clone(),
                })
            })
            .collect();
        let analysis = analysis_rows(event, &version, &summary);
        (summary, segments, analysis)
    }

    /// The context stage (`lever::context`): media (refreshed when their
    /// signed URLs expired), question set, posting and job family.
    fn context(
        &self,
        event: &InterviewCompleted,
    ) -> Result<crate::pipeline::context::ResolvedContext, StageError> {
        self.context.resolve(event).map_err(|e| StageError {
            stage: "context",
            code: e.code().into(),
            reason: e.to_string(),
        })
    }

    fn failed(&self, event: &InterviewCompleted, err: &StageError, elapsed_ms: i64) -> Processed {
        let reason = err.to_string();
        Processed {
            interview: self.row(
                event,
                OUTCOME_FAILED,
                Some(reason.clone()),
                None,
                None,
                elapsed_ms,
            ),
            segments: Vec::new(),
            analysis: AnalysisRows::default(),
            dead_letter: Some(DeadLetter {
                interview_id: event.interview_id.clone(),
                correlation_id: event.correlation_id.clone(),
                source: event.source.clone(),
                stage: err.stage.to_string(),
                reason,
                event: serde_json::to_value(event).unwrap_or(serde_json::Value::Null),
                failed_at: chrono::Utc::now().to_rfc3339(),
            }),
            audit: Vec::new(),
            score_message: None,
        }
    }

    fn row(
        &self,
        event: &InterviewCompleted,
        outcome: &str,
        failure_reason: Option<String>,
        summary: Option<&Summary>,
        lever_note_id: Option<String>,
        processing_ms: i64,
    ) -> InterviewRow {
        let received_at = chrono::DateTime::parse_from_rfc3339(&event.received_at)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|_| chrono::Utc::now());
        let model = self.models.first();
        InterviewRow {
            interview_id: event.interview_id.clone(),
            pipeline_version: self.pipeline.version.clone(),
            pipeline_name: self.pipeline.name.clone(),
            candidate_id: event.candidate_id.clone(),
            opportunity_id: event.opportunity_id.clone(),
            source: event.source.clone(),
            correlation_id: event.correlation_id.clone(),
            config_hash: self.pipeline.config_hash.clone(),
            outcome: outcome.to_string(),
            failure_reason,
            received_at,
            analysis_completion_time: chrono::Utc::now(),
            processing_ms,
            duration_s: summary.map(|s| s.duration_s),
            words: summary.map(|s| s.words as i64),
            words_per_minute: summary.map(|s| s.words_per_minute),
            language: summary.map(|_| "en".to_string()),
            transcript: summary.map(|s| s.transcript.clone()),
            model_name: model.map(|m| m.name.clone()).unwrap_or_default(),
            model_version: model.map(|m| m.version.clone()).unwrap_or_default(),
            model_sha256: model.map(|m| m.sha256.clone()).unwrap_or_default(),
            media_count: event.media.len() as i32,
            lever_note_id,
            summary_json: summary.and_then(|s| serde_json::to_string(s).ok()),
            event_json: serde_json::to_string(event).ok(),
        }
    }
}

/// The `responses` and `scores` rows of an analysed interview.
fn analysis_rows(event: &InterviewCompleted, version: &str, summary: &Summary) -> AnalysisRows {
    if !summary.analysis.complete {
        return AnalysisRows::default();
    }
    let responses = summary
        .answers
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let tone = a.tone.as_ref();
            ResponseRow {
                interview_id: event.interview_id.clone(),
                pipeline_version: version.to_string(),
                correlation_id: event.correlation_id.clone(),
                question_index: k as i32,
                question_id: a.question_id.clone(),
                question: a.question.clone(),
                media_index: a.media_index as i32,
                answered: a.answered,
                start_s: a.start,
                end_s: a.end,
                text: a.text.clone(),
                words: a.words.unwrap_or(0) as i32,
                confidence: a.confidence,
                sentiment_score: a.sentiment.as_ref().map(|s| s.score),
                sentiment_label: a.sentiment.as_ref().map(|s| s.label.as_str().to_string()),
                words_per_minute: tone.map(|t| t.words_per_minute),
                pause_ratio: tone.map(|t| t.pause_ratio),
                longest_pause_s: tone.map(|t| t.longest_pause_s),
                pitch_hz: tone.and_then(|t| t.pitch_hz),
                pitch_variability_st: tone.and_then(|t| t.pitch_variability_st),
                loudness_variability_db: tone.and_then(|t| t.loudness_variability_db),
                fillers: tone.map(|t| t.fillers as i32).unwrap_or(0),
                hedges: tone.map(|t| t.hedges as i32).unwrap_or(0),
                flags: a.flags.join(","),
                skills: a.skills.join(","),
            }
        })
        .collect();
    let family = summary.analysis.job_family.clone().unwrap_or_default();
    let scores = summary
        .scores
        .iter()
        .map(|s| ScoreRow {
            interview_id: event.interview_id.clone(),
            pipeline_version: version.to_string(),
            correlation_id: event.correlation_id.clone(),
            job_family: family.clone(),
            competency: s.competency.clone(),
            competency_name: s.name.clone(),
            question_id: s.question_id.clone(),
            score: i32::from(s.score),
            confidence: s.confidence,
            low_confidence: s.low_confidence,
            criteria_share: s.criteria_share,
            criteria_met: s.criteria_met.join(","),
            evidence_json:
                serde_json::json!({ "evidence": s.evidence, "adjustments": s.adjustments })
                    .to_string(),
            weight: s.weight,
        })
        .collect();
    AnalysisRows { responses, scores }
}

/// `direct` or `review`.
fn route_name(route: &Route) -> &'static str {
    match route {
        Route::Direct => "direct",
        Route::Review { .. } => "review",
    }
}

/// Which data the context stage read: the Lever objects by id, the question
/// set's origin, the media hosts.
fn context_detail(
    event: &InterviewCompleted,
    r: &crate::pipeline::context::ResolvedContext,
) -> serde_json::Value {
    let id = |v: &Option<std::sync::Arc<serde_json::Value>>| {
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
        "job_family": r.family,
        "media_hosts": hosts,
        "refreshed_media": r.refreshed_media,
    })
}

/// Recording links on a Lever opportunity (`links`, `files[].downloadUrl`).
///
/// ```
/// let opp = serde_json::json!({"links": ["https://x.example/a.mp4", "https://linkedin.com/in/x"]});
/// assert_eq!(panelflow::pipeline::process::media_links(&opp), vec!["https://x.example/a.mp4"]);
/// ```
pub fn media_links(opportunity: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let looks_like_media = |u: &str| {
        let path = u.split(['?', '#']).next().unwrap_or(u).to_ascii_lowercase();
        MEDIA_EXTENSIONS.iter().any(|ext| path.ends_with(ext))
    };
    if let Some(links) = opportunity["links"].as_array() {
        out.extend(
            links
                .iter()
                .filter_map(|l| l.as_str())
                .filter(|u| looks_like_media(u))
                .map(str::to_string),
        );
    }
    if let Some(files) = opportunity["files"].as_array() {
        for f in files {
            if let Some(u) = f["downloadUrl"].as_str().or_else(|| f["url"].as_str()) {
                if looks_like_media(u) || looks_like_media(f["name"].as_str().unwrap_or("")) {
                    out.push(u.to_string());
                }
            }
        }
    }
    out
}
