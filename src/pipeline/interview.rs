//! What travels from one stage of the pipeline to the next: an interview
//! with its story so far and what the last stage made of it, or a failure,
//! or — after the write-back — the rows and records the sinks land.

use std::time::Instant;

use panelflow_connectors::parquet::{AnalysisRows, InterviewRow, SegmentRow};
use panelflow_connectors::store::audit::AuditEvent;
use panelflow_core::event::InterviewCompleted;
use panelflow_core::outcome::Stage;
use panelflow_core::wire::{DeadLetter, ScoreMessage};

/// A stage failure: which stage, a stable code, why, and whether a later
/// try may succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct StageError {
    /// The stage that failed.
    pub stage: Stage,
    /// Stable short code (e.g. `media_forbidden_address`).
    pub code: String,
    /// Human-readable reason.
    pub reason: String,
    /// Transient (a dependency unwell: Lever 429/5xx or time-out, a media
    /// host time-out, an open circuit): the interview waits on a retry
    /// topic. Permanent (bad media, a refused URL, residency, a panic): it
    /// fails now.
    pub transient: bool,
}

impl StageError {
    /// A permanent failure of `stage`.
    pub fn new(stage: Stage, code: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            stage,
            code: code.into(),
            reason: reason.into(),
            transient: false,
        }
    }

    /// A transient failure of `stage`: retried later.
    pub fn transient(stage: Stage, code: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            transient: true,
            ..Self::new(stage, code, reason)
        }
    }

    /// The failure of a stage that panicked: permanent, with the panic's message.
    pub fn panicked(stage: Stage, message: &str) -> Self {
        Self::new(stage, "panic", format!("panicked: {message}"))
    }
}

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.stage, self.reason, self.code)
    }
}

/// An interview on its way: the event, when its processing began, how
/// many tries it had before, and the audit events its stages recorded so far.
#[derive(Debug, Clone)]
pub struct Interview {
    /// The event.
    pub event: InterviewCompleted,
    /// When the first stage took it.
    pub started: Instant,
    /// Tries before this one that failed transiently (0 on the event topic).
    pub attempt: u32,
    /// Its story so far.
    pub audit: Vec<AuditEvent>,
}

impl Interview {
    /// An interview starting now, on its first try.
    pub fn start(event: InterviewCompleted) -> Self {
        Self::retried(event, 0)
    }

    /// An interview starting now after `attempt` transient failures.
    pub fn retried(event: InterviewCompleted, attempt: u32) -> Self {
        Self {
            event,
            started: Instant::now(),
            attempt,
            audit: Vec::new(),
        }
    }

    /// Milliseconds since its processing began.
    pub fn elapsed_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }
}

/// What a stage hands the next one.
// Moved from stage to stage, never stored in bulk: boxing the going variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Flow<T> {
    /// Still going, with what the last stage made of it.
    Going(Interview, T),
    /// A stage failed it; the write-back decides whether a recruiter sees it.
    Failed(Interview, StageError),
    /// Finished: what the sinks land.
    Done(Box<Processed>),
}

impl<T> Flow<T> {
    /// Applies `f` to a going interview; failures and finished ones pass.
    pub fn then<U>(self, f: impl FnOnce(Interview, T) -> Flow<U>) -> Flow<U> {
        match self {
            Flow::Going(interview, value) => f(interview, value),
            Flow::Failed(interview, error) => Flow::Failed(interview, error),
            Flow::Done(done) => Flow::Done(done),
        }
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
    pub score_message: Option<ScoreMessage>,
    /// Set when the interview failed transiently and waits for another
    /// try: the land stage puts its event on this retry tier instead of
    /// writing its rows.
    pub retry: Option<Retry>,
}

/// An interview sent to a delayed retry topic.
#[derive(Debug, Clone)]
pub struct Retry {
    /// The event, as it came.
    pub event: InterviewCompleted,
    /// Transient failures so far, this one included.
    pub attempt: u32,
    /// The retry topic.
    pub topic: String,
    /// Its tier's label (`1m`, `10m`, `1h`).
    pub tier: String,
    /// When it is due, ms since the epoch.
    pub due_ms: i64,
    /// The failure.
    pub error: StageError,
}
