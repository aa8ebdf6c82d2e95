//! The two Parquet tables' rows and their Arrow schemas, and the conversion
//! between rows and Arrow record batches.
//!
//! The column lists here are a contract: `schemas/parquet/interviews.json` and
//! `schemas/parquet/segments.json` describe them for analysts, and a unit test
//! holds this code to those files (names, types, nullability).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Field, Float64Type, Int32Type, Int64Type, Schema, SchemaRef, TimeUnit,
    TimestampMicrosecondType,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use panelflow_core::outcome::Outcome;

use super::error::ParquetSinkError;

/// The key every sink is idempotent on: `(interview_id, pipeline_version)`.
pub type Key = (String, String);

/// Time zone of every timestamp column (Parquet `TIMESTAMP(MICROS, UTC)`).
pub const TIMESTAMP_TZ: &str = "UTC";

/// One row of the `interviews` table: one interview analysed by one pipeline
/// version. Its presence on disk is the commit marker for its key.
///
/// ```
/// use panelflow_connectors::parquet::InterviewRow;
/// let row = InterviewRow::example("iv-1", "pilot@1");
/// assert_eq!(row.key(), ("iv-1".to_string(), "pilot@1".to_string()));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterviewRow {
    /// Interview id from the source platform (part of the key).
    pub interview_id: String,
    /// Version of the pipeline that analysed it (part of the key).
    pub pipeline_version: String,
    /// Name of the pipeline (e.g. `pilot`).
    pub pipeline_name: String,
    /// Lever candidate (contact) id.
    pub candidate_id: String,
    /// Lever opportunity id.
    pub opportunity_id: String,
    /// Where the event came from (`lever`, `generic`, `hireflix`, ...).
    pub source: String,
    /// Correlation id carried from the webhook through every step.
    pub correlation_id: String,
    /// Hash of the pipeline configuration that produced the row.
    pub config_hash: String,
    /// `transcribed` or `failed`.
    pub outcome: Outcome,
    /// Why the interview failed, e.g. `media_fetch: HTTP 404`; `None` when it did not.
    pub failure_reason: Option<String>,
    /// When the interview event was received by ingest.
    pub received_at: DateTime<Utc>,
    /// When the analysis finished; its UTC date is the `date` partition.
    pub analysis_completion_time: DateTime<Utc>,
    /// Wall-clock milliseconds spent processing the event.
    pub processing_ms: i64,
    /// Total audio duration in seconds.
    pub duration_s: Option<f64>,
    /// Number of words in the transcript.
    pub words: Option<i64>,
    /// Speaking pace over the whole recording.
    pub words_per_minute: Option<f64>,
    /// Language of the transcript (e.g. `en`).
    pub language: Option<String>,
    /// Full transcript text.
    pub transcript: Option<String>,
    /// Speech model name.
    pub model_name: String,
    /// Speech model version.
    pub model_version: String,
    /// SHA-256 of the speech model file(s).
    pub model_sha256: String,
    /// Number of media files (answers) in the interview.
    pub media_count: i32,
    /// Id of the Lever note written for it, once known.
    pub lever_note_id: Option<String>,
    /// The whole summary object, as JSON text.
    pub summary_json: Option<String>,
    /// The interview event as received (JSON text), so `panelflow backfill`
    /// can replay it through a newer pipeline; `None` in rows written before
    /// the column existed. Encrypted at rest like the transcript.
    #[serde(default)]
    pub event_json: Option<String>,
}

impl InterviewRow {
    /// The row's idempotence key `(interview_id, pipeline_version)`.
    pub fn key(&self) -> Key {
        (self.interview_id.clone(), self.pipeline_version.clone())
    }

    /// The Hive partition value: UTC date of `analysis_completion_time`, `YYYY-MM-DD`.
    pub fn partition_date(&self) -> String {
        self.analysis_completion_time.format("%Y-%m-%d").to_string()
    }

    /// A filled-in transcribed row for docs and tests (completed 2024-05-01 12:00 UTC).
    pub fn example(interview_id: &str, pipeline_version: &str) -> Self {
        let at = DateTime::<Utc>::from_timestamp(1_714_564_800, 0).unwrap_or_default();
        InterviewRow {
            interview_id: interview_id.to_string(),
            pipeline_version: pipeline_version.to_string(),
            pipeline_name: "pilot".to_string(),
            candidate_id: "cand-1".to_string(),
            opportunity_id: "opp-1".to_string(),
            source: "generic".to_string(),
            correlation_id: format!("corr-{interview_id}"),
            config_hash: "cfg-0".to_string(),
            outcome: Outcome::Transcribed,
            failure_reason: None,
            received_at: at - chrono::Duration::seconds(30),
            analysis_completion_time: at,
            processing_ms: 30_000,
            duration_s: Some(11.0),
            words: Some(22),
            words_per_minute: Some(120.0),
            language: Some("en".to_string()),
            transcript: Some("and so my fellow americans".to_string()),
            model_name: "moonshine-base-en".to_string(),
            model_version: "0.1.4".to_string(),
            model_sha256: "0".repeat(64),
            media_count: 1,
            lever_note_id: None,
            summary_json: Some("{}".to_string()),
            event_json: None,
        }
    }
}

/// One row of the `segments` table: one timed piece of a transcript.
/// `(interview_id, pipeline_version, media_index, segment_index)` identifies it.
///
/// ```
/// use panelflow_connectors::parquet::SegmentRow;
/// let s = SegmentRow::example("iv-1", "pilot@1", 0, 0);
/// assert_eq!(s.key().0, "iv-1");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentRow {
    /// Interview id (joins to `interviews`).
    pub interview_id: String,
    /// Pipeline version (joins to `interviews`).
    pub pipeline_version: String,
    /// Correlation id of the event.
    pub correlation_id: String,
    /// Which media file (answer) of the interview, from 0.
    pub media_index: i32,
    /// Question the media answers, when known.
    pub question_id: Option<String>,
    /// Position of the segment within its media, from 0.
    pub segment_index: i32,
    /// Start, seconds from the start of the media.
    pub start_s: f64,
    /// End, seconds from the start of the media.
    pub end_s: f64,
    /// Transcribed text.
    pub text: String,
}

impl SegmentRow {
    /// The idempotence key of the interview this segment belongs to.
    pub fn key(&self) -> Key {
        (self.interview_id.clone(), self.pipeline_version.clone())
    }

    /// A filled-in segment for docs and tests.
    pub fn example(
        interview_id: &str,
        pipeline_version: &str,
        media_index: i32,
        segment_index: i32,
    ) -> Self {
        let start = f64::from(segment_index) * 2.0;
        SegmentRow {
            interview_id: interview_id.to_string(),
            pipeline_version: pipeline_version.to_string(),
            correlation_id: format!("corr-{interview_id}"),
            media_index,
            question_id: Some(format!("q{media_index}")),
            segment_index,
            start_s: start,
            end_s: start + 1.8,
            text: format!("segment {segment_index} of media {media_index}"),
        }
    }
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_TZ.into()))
}

/// Arrow schema of the `interviews` table (the order of the columns on disk).
pub fn interviews_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let s = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
            Arc::new(Schema::new(vec![
                s("interview_id", false),
                s("pipeline_version", false),
                s("pipeline_name", false),
                s("candidate_id", false),
                s("opportunity_id", false),
                s("source", false),
                s("correlation_id", false),
                s("config_hash", false),
                s("outcome", false),
                s("failure_reason", true),
                Field::new("received_at", ts_type(), false),
                Field::new("analysis_completion_time", ts_type(), false),
                Field::new("processing_ms", DataType::Int64, false),
                Field::new("duration_s", DataType::Float64, true),
                Field::new("words", DataType::Int64, true),
                Field::new("words_per_minute", DataType::Float64, true),
                s("language", true),
                s("transcript", true),
                s("model_name", false),
                s("model_version", false),
                s("model_sha256", false),
                Field::new("media_count", DataType::Int32, false),
                s("lever_note_id", true),
                s("summary_json", true),
                s("event_json", true),
            ]))
        })
        .clone()
}

/// Arrow schema of the `segments` table.
pub fn segments_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("interview_id", DataType::Utf8, false),
                Field::new("pipeline_version", DataType::Utf8, false),
                Field::new("correlation_id", DataType::Utf8, false),
                Field::new("media_index", DataType::Int32, false),
                Field::new("question_id", DataType::Utf8, true),
                Field::new("segment_index", DataType::Int32, false),
                Field::new("start_s", DataType::Float64, false),
                Field::new("end_s", DataType::Float64, false),
                Field::new("text", DataType::Utf8, false),
            ]))
        })
        .clone()
}

fn strs<'a, T: 'a>(rows: &'a [&T], f: impl Fn(&'a T) -> &'a str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(|r| f(r))))
}

fn opt_strs<'a, T: 'a>(rows: &'a [&T], f: impl Fn(&'a T) -> Option<&'a str>) -> ArrayRef {
    Arc::new(rows.iter().map(|r| f(r)).collect::<StringArray>())
}

fn timestamps<T>(rows: &[&T], f: impl Fn(&T) -> DateTime<Utc>) -> ArrayRef {
    let values: Vec<i64> = rows.iter().map(|r| f(r).timestamp_micros()).collect();
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone(TIMESTAMP_TZ))
}

/// Builds the `interviews` record batch for `rows` (in the given order).
pub(crate) fn interviews_batch(rows: &[&InterviewRow]) -> Result<RecordBatch, ParquetSinkError> {
    let columns: Vec<ArrayRef> = vec![
        strs(rows, |r| r.interview_id.as_str()),
        strs(rows, |r| r.pipeline_version.as_str()),
        strs(rows, |r| r.pipeline_name.as_str()),
        strs(rows, |r| r.candidate_id.as_str()),
        strs(rows, |r| r.opportunity_id.as_str()),
        strs(rows, |r| r.source.as_str()),
        strs(rows, |r| r.correlation_id.as_str()),
        strs(rows, |r| r.config_hash.as_str()),
        strs(rows, |r| r.outcome.as_str()),
        opt_strs(rows, |r| r.failure_reason.as_deref()),
        timestamps(rows, |r| r.received_at),
        timestamps(rows, |r| r.analysis_completion_time),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.processing_ms),
        )),
        Arc::new(rows.iter().map(|r| r.duration_s).collect::<Float64Array>()),
        Arc::new(rows.iter().map(|r| r.words).collect::<Int64Array>()),
        Arc::new(
            rows.iter()
                .map(|r| r.words_per_minute)
                .collect::<Float64Array>(),
        ),
        opt_strs(rows, |r| r.language.as_deref()),
        opt_strs(rows, |r| r.transcript.as_deref()),
        strs(rows, |r| r.model_name.as_str()),
        strs(rows, |r| r.model_version.as_str()),
        strs(rows, |r| r.model_sha256.as_str()),
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|r| r.media_count),
        )),
        opt_strs(rows, |r| r.lever_note_id.as_deref()),
        opt_strs(rows, |r| r.summary_json.as_deref()),
        opt_strs(rows, |r| r.event_json.as_deref()),
    ];
    RecordBatch::try_new(interviews_schema(), columns).map_err(|source| ParquetSinkError::Arrow {
        table: "interviews",
        source,
    })
}

/// Builds the `segments` record batch for `rows` (in the given order).
pub(crate) fn segments_batch(rows: &[&SegmentRow]) -> Result<RecordBatch, ParquetSinkError> {
    let columns: Vec<ArrayRef> = vec![
        strs(rows, |r| r.interview_id.as_str()),
        strs(rows, |r| r.pipeline_version.as_str()),
        strs(rows, |r| r.correlation_id.as_str()),
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|r| r.media_index),
        )),
        opt_strs(rows, |r| r.question_id.as_deref()),
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|r| r.segment_index),
        )),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.start_s),
        )),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.end_s))),
        strs(rows, |r| r.text.as_str()),
    ];
    RecordBatch::try_new(segments_schema(), columns).map_err(|source| ParquetSinkError::Arrow {
        table: "segments",
        source,
    })
}

/// Typed access to the columns of a batch read back from `path`, with errors
/// that name the file and the column.
pub(crate) struct Columns<'a> {
    batch: &'a RecordBatch,
    path: &'a Path,
}

impl<'a> Columns<'a> {
    pub(crate) fn new(batch: &'a RecordBatch, path: &'a Path) -> Self {
        Columns { batch, path }
    }

    fn bad(&self, column: &str, what: &str) -> ParquetSinkError {
        ParquetSinkError::BadFile {
            path: self.path.to_path_buf(),
            reason: format!("column `{column}`: {what}"),
        }
    }

    fn column(&self, name: &str) -> Result<&'a ArrayRef, ParquetSinkError> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| self.bad(name, "missing"))
    }

    fn required<A: Array>(&self, name: &str, array: &A) -> Result<(), ParquetSinkError> {
        if array.null_count() > 0 {
            return Err(self.bad(name, "null in a non-nullable column"));
        }
        Ok(())
    }

    pub(crate) fn strings(&self, name: &str) -> Result<&'a StringArray, ParquetSinkError> {
        self.column(name)?
            .as_string_opt::<i32>()
            .ok_or_else(|| self.bad(name, "not Utf8"))
    }

    pub(crate) fn req_strings(&self, name: &str) -> Result<&'a StringArray, ParquetSinkError> {
        let a = self.strings(name)?;
        self.required(name, a)?;
        Ok(a)
    }

    /// A required-or-nullable Float64 column.
    pub(crate) fn floats(
        &self,
        name: &str,
    ) -> Result<&'a arrow::array::PrimitiveArray<Float64Type>, ParquetSinkError> {
        self.prim::<Float64Type>(name, "not Float64")
    }

    /// An integer column of type `T`.
    pub(crate) fn ints<T: arrow::datatypes::ArrowPrimitiveType>(
        &self,
        name: &str,
    ) -> Result<&'a arrow::array::PrimitiveArray<T>, ParquetSinkError> {
        self.prim::<T>(name, "not the expected integer type")
    }

    fn prim<T: arrow::datatypes::ArrowPrimitiveType>(
        &self,
        name: &str,
        what: &str,
    ) -> Result<&'a arrow::array::PrimitiveArray<T>, ParquetSinkError> {
        self.column(name)?
            .as_primitive_opt::<T>()
            .ok_or_else(|| self.bad(name, what))
    }
}

fn opt_str(a: &StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}

fn opt_prim<T: arrow::datatypes::ArrowPrimitiveType>(
    a: &arrow::array::PrimitiveArray<T>,
    i: usize,
) -> Option<T::Native> {
    (!a.is_null(i)).then(|| a.value(i))
}

fn micros_to_utc(
    cols: &Columns<'_>,
    name: &str,
    micros: i64,
) -> Result<DateTime<Utc>, ParquetSinkError> {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .ok_or_else(|| cols.bad(name, &format!("timestamp {micros} µs out of range")))
}

/// Decodes `interviews` rows from a batch with the full schema.
pub(crate) fn interviews_from_batch(
    batch: &RecordBatch,
    path: &Path,
) -> Result<Vec<InterviewRow>, ParquetSinkError> {
    let c = Columns::new(batch, path);
    let interview_id = c.req_strings("interview_id")?;
    let pipeline_version = c.req_strings("pipeline_version")?;
    let pipeline_name = c.req_strings("pipeline_name")?;
    let candidate_id = c.req_strings("candidate_id")?;
    let opportunity_id = c.req_strings("opportunity_id")?;
    let source = c.req_strings("source")?;
    let correlation_id = c.req_strings("correlation_id")?;
    let config_hash = c.req_strings("config_hash")?;
    let outcome = c.req_strings("outcome")?;
    let failure_reason = c.strings("failure_reason")?;
    let received_at = c.prim::<TimestampMicrosecondType>("received_at", "not Timestamp(µs)")?;
    c.required("received_at", received_at)?;
    let completed =
        c.prim::<TimestampMicrosecondType>("analysis_completion_time", "not Timestamp(µs)")?;
    c.required("analysis_completion_time", completed)?;
    let processing_ms = c.prim::<Int64Type>("processing_ms", "not Int64")?;
    c.required("processing_ms", processing_ms)?;
    let duration_s = c.prim::<Float64Type>("duration_s", "not Float64")?;
    let words = c.prim::<Int64Type>("words", "not Int64")?;
    let wpm = c.prim::<Float64Type>("words_per_minute", "not Float64")?;
    let language = c.strings("language")?;
    let transcript = c.strings("transcript")?;
    let model_name = c.req_strings("model_name")?;
    let model_version = c.req_strings("model_version")?;
    let model_sha256 = c.req_strings("model_sha256")?;
    let media_count = c.prim::<Int32Type>("media_count", "not Int32")?;
    c.required("media_count", media_count)?;
    let lever_note_id = c.strings("lever_note_id")?;
    let summary_json = c.strings("summary_json")?;
    // Files written before `event_json` existed lack it.
    let event_json = match batch.column_by_name("event_json") {
        Some(_) => Some(c.strings("event_json")?),
        None => None,
    };

    let mut rows = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        rows.push(InterviewRow {
            interview_id: interview_id.value(i).to_string(),
            pipeline_version: pipeline_version.value(i).to_string(),
            pipeline_name: pipeline_name.value(i).to_string(),
            candidate_id: candidate_id.value(i).to_string(),
            opportunity_id: opportunity_id.value(i).to_string(),
            source: source.value(i).to_string(),
            correlation_id: correlation_id.value(i).to_string(),
            config_hash: config_hash.value(i).to_string(),
            outcome: outcome
                .value(i)
                .parse()
                .map_err(|e| c.bad("outcome", &format!("{e}")))?,
            failure_reason: opt_str(failure_reason, i),
            received_at: micros_to_utc(&c, "received_at", received_at.value(i))?,
            analysis_completion_time: micros_to_utc(
                &c,
                "analysis_completion_time",
                completed.value(i),
            )?,
            processing_ms: processing_ms.value(i),
            duration_s: opt_prim(duration_s, i),
            words: opt_prim(words, i),
            words_per_minute: opt_prim(wpm, i),
            language: opt_str(language, i),
            transcript: opt_str(transcript, i),
            model_name: model_name.value(i).to_string(),
            model_version: model_version.value(i).to_string(),
            model_sha256: model_sha256.value(i).to_string(),
            media_count: media_count.value(i),
            lever_note_id: opt_str(lever_note_id, i),
            summary_json: opt_str(summary_json, i),
            event_json: event_json.and_then(|a| opt_str(a, i)),
        });
    }
    Ok(rows)
}

/// Decodes `segments` rows from a batch with the full schema.
pub(crate) fn segments_from_batch(
    batch: &RecordBatch,
    path: &Path,
) -> Result<Vec<SegmentRow>, ParquetSinkError> {
    let c = Columns::new(batch, path);
    let interview_id = c.req_strings("interview_id")?;
    let pipeline_version = c.req_strings("pipeline_version")?;
    let correlation_id = c.req_strings("correlation_id")?;
    let media_index = c.prim::<Int32Type>("media_index", "not Int32")?;
    c.required("media_index", media_index)?;
    let question_id = c.strings("question_id")?;
    let segment_index = c.prim::<Int32Type>("segment_index", "not Int32")?;
    c.required("segment_index", segment_index)?;
    let start_s = c.prim::<Float64Type>("start_s", "not Float64")?;
    c.required("start_s", start_s)?;
    let end_s = c.prim::<Float64Type>("end_s", "not Float64")?;
    c.required("end_s", end_s)?;
    let text = c.req_strings("text")?;

    Ok((0..batch.num_rows())
        .map(|i| SegmentRow {
            interview_id: interview_id.value(i).to_string(),
            pipeline_version: pipeline_version.value(i).to_string(),
            correlation_id: correlation_id.value(i).to_string(),
            media_index: media_index.value(i),
            question_id: opt_str(question_id, i),
            segment_index: segment_index.value(i),
            start_s: start_s.value(i),
            end_s: end_s.value(i),
            text: text.value(i).to_string(),
        })
        .collect())
}

/// Decodes the key columns of a batch projected to `interview_id` and `pipeline_version`.
pub(crate) fn keys_from_batch(
    batch: &RecordBatch,
    path: &Path,
    out: &mut std::collections::HashSet<Key>,
) -> Result<(), ParquetSinkError> {
    let c = Columns::new(batch, path);
    let ids = c.req_strings("interview_id")?;
    let versions = c.req_strings("pipeline_version")?;
    for i in 0..batch.num_rows() {
        out.insert((ids.value(i).to_string(), versions.value(i).to_string()));
    }
    Ok(())
}
