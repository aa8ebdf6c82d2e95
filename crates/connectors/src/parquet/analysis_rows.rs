//! The analysis tables: `responses` (one row per question of an interview:
//! the answer, its place in the media, sentiment and tone) and `scores` (one
//! row per rubric competency scored). Column contracts:
//! `schemas/parquet/responses.json` and `schemas/parquet/scores.json`.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::error::ParquetSinkError;
use super::rows::{Columns, Key};

/// The analysis rows of a batch of interviews.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalysisRows {
    /// `responses` rows.
    pub responses: Vec<ResponseRow>,
    /// `scores` rows.
    pub scores: Vec<ScoreRow>,
}

/// One row of `responses`: one question of one interview and its answer.
/// `(interview_id, pipeline_version, question_index)` identifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRow {
    /// Interview id (joins to `interviews`).
    pub interview_id: String,
    /// Pipeline version (joins to `interviews`).
    pub pipeline_version: String,
    /// Correlation id of the event.
    pub correlation_id: String,
    /// Position of the question in the interview, from 0.
    pub question_index: i32,
    /// Question id, when known.
    pub question_id: Option<String>,
    /// Question text, when known.
    pub question: Option<String>,
    /// Media item holding the answer.
    pub media_index: i32,
    /// Whether the question was answered.
    pub answered: bool,
    /// Answer start in its media, seconds.
    pub start_s: Option<f64>,
    /// Answer end, seconds.
    pub end_s: Option<f64>,
    /// Answer text.
    pub text: String,
    /// Words in the answer.
    pub words: i32,
    /// Confidence in the answer (boundaries × transcription), 0..1.
    pub confidence: Option<f64>,
    /// Sentiment score, 0..1.
    pub sentiment_score: Option<f64>,
    /// `positive`, `neutral` or `negative`.
    pub sentiment_label: Option<String>,
    /// Words per minute.
    pub words_per_minute: Option<f64>,
    /// Share of the answer in pauses.
    pub pause_ratio: Option<f64>,
    /// Longest pause, seconds.
    pub longest_pause_s: Option<f64>,
    /// Mean pitch, Hz.
    pub pitch_hz: Option<f64>,
    /// Pitch variability, semitones.
    pub pitch_variability_st: Option<f64>,
    /// Loudness variability, dB.
    pub loudness_variability_db: Option<f64>,
    /// Fillers heard.
    pub fillers: i32,
    /// Hedges heard.
    pub hedges: i32,
    /// Flag names, comma-separated (empty: none).
    pub flags: String,
    /// Requisition skills mentioned, comma-separated.
    pub skills: String,
}

impl ResponseRow {
    /// The interview key.
    pub fn key(&self) -> Key {
        (self.interview_id.clone(), self.pipeline_version.clone())
    }

    /// A filled-in row for docs and tests.
    pub fn example(interview_id: &str, pipeline_version: &str, question_index: i32) -> Self {
        ResponseRow {
            interview_id: interview_id.into(),
            pipeline_version: pipeline_version.into(),
            correlation_id: format!("corr-{interview_id}"),
            question_index,
            question_id: Some(format!("q{}", question_index + 1)),
            question: Some("Tell us about yourself.".into()),
            media_index: 0,
            answered: true,
            start_s: Some(0.5),
            end_s: Some(12.0),
            text: "I have worked as a surveyor for six years.".into(),
            words: 9,
            confidence: Some(0.8),
            sentiment_score: Some(0.55),
            sentiment_label: Some("neutral".into()),
            words_per_minute: Some(150.0),
            pause_ratio: Some(0.1),
            longest_pause_s: Some(0.4),
            pitch_hz: Some(120.0),
            pitch_variability_st: Some(2.5),
            loudness_variability_db: Some(4.0),
            fillers: 0,
            hedges: 0,
            flags: "high_confidence".into(),
            skills: "Python,Go".into(),
        }
    }
}

/// One row of `scores`: one competency of one interview's rubric.
/// `(interview_id, pipeline_version, competency, question_id)` identifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    /// Interview id (joins to `interviews`).
    pub interview_id: String,
    /// Pipeline version (joins to `interviews`).
    pub pipeline_version: String,
    /// Correlation id of the event.
    pub correlation_id: String,
    /// The pipeline role whose question set was used ("" when none).
    pub job_family: String,
    /// Competency id.
    pub competency: String,
    /// Competency name.
    pub competency_name: String,
    /// The question judged.
    pub question_id: String,
    /// Lever scorecard scale, 1–4.
    pub score: i32,
    /// Confidence, 0..1.
    pub confidence: f64,
    /// Below the pipeline's threshold: review first.
    pub low_confidence: bool,
    /// The expected level, 1.0–4.0 (ranks answers more finely than `score`).
    pub level: f64,
    /// How the question reached the competency: `pipeline`, `similarity` or `answer`.
    pub mapped_by: String,
    /// Similarity of the question to the competency (1 when bound by the pipeline).
    pub mapping_similarity: f64,
    /// The features that raised the score, comma-separated, strongest first.
    pub criteria_met: String,
    /// The evidence quotes with their times, the features that lowered the
    /// score, every feature's value and contribution, and the anchor, as JSON.
    pub evidence_json: String,
    /// Weight in the overall score.
    pub weight: f64,
    /// The scoring model's version.
    pub model_version: String,
}

impl ScoreRow {
    /// The interview key.
    pub fn key(&self) -> Key {
        (self.interview_id.clone(), self.pipeline_version.clone())
    }

    /// A filled-in row for docs and tests.
    pub fn example(interview_id: &str, pipeline_version: &str, competency: &str) -> Self {
        ScoreRow {
            interview_id: interview_id.into(),
            pipeline_version: pipeline_version.into(),
            correlation_id: format!("corr-{interview_id}"),
            job_family: "software_engineering".into(),
            competency: competency.into(),
            competency_name: "Problem solving".into(),
            question_id: "q2".into(),
            score: 3,
            confidence: 0.7,
            low_confidence: false,
            level: 3.2,
            mapped_by: "similarity".into(),
            mapping_similarity: 0.61,
            criteria_met: "own_actions,measured".into(),
            evidence_json: "{}".into(),
            weight: 1.0,
            model_version: "evidence-ordinal@1".into(),
        }
    }
}

/// Arrow schema of `responses`.
pub fn responses_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let f = |n: &str, t: DataType, null: bool| Field::new(n, t, null);
            Arc::new(Schema::new(vec![
                f("interview_id", DataType::Utf8, false),
                f("pipeline_version", DataType::Utf8, false),
                f("correlation_id", DataType::Utf8, false),
                f("question_index", DataType::Int32, false),
                f("question_id", DataType::Utf8, true),
                f("question", DataType::Utf8, true),
                f("media_index", DataType::Int32, false),
                f("answered", DataType::Boolean, false),
                f("start_s", DataType::Float64, true),
                f("end_s", DataType::Float64, true),
                f("text", DataType::Utf8, false),
                f("words", DataType::Int32, false),
                f("confidence", DataType::Float64, true),
                f("sentiment_score", DataType::Float64, true),
                f("sentiment_label", DataType::Utf8, true),
                f("words_per_minute", DataType::Float64, true),
                f("pause_ratio", DataType::Float64, true),
                f("longest_pause_s", DataType::Float64, true),
                f("pitch_hz", DataType::Float64, true),
                f("pitch_variability_st", DataType::Float64, true),
                f("loudness_variability_db", DataType::Float64, true),
                f("fillers", DataType::Int32, false),
                f("hedges", DataType::Int32, false),
                f("flags", DataType::Utf8, false),
                f("skills", DataType::Utf8, false),
            ]))
        })
        .clone()
}

/// Arrow schema of `scores`.
pub fn scores_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let f = |n: &str, t: DataType| Field::new(n, t, false);
            Arc::new(Schema::new(vec![
                f("interview_id", DataType::Utf8),
                f("pipeline_version", DataType::Utf8),
                f("correlation_id", DataType::Utf8),
                f("job_family", DataType::Utf8),
                f("competency", DataType::Utf8),
                f("competency_name", DataType::Utf8),
                f("question_id", DataType::Utf8),
                f("score", DataType::Int32),
                f("confidence", DataType::Float64),
                f("low_confidence", DataType::Boolean),
                f("level", DataType::Float64),
                f("mapped_by", DataType::Utf8),
                f("mapping_similarity", DataType::Float64),
                f("criteria_met", DataType::Utf8),
                f("evidence_json", DataType::Utf8),
                f("weight", DataType::Float64),
                f("model_version", DataType::Utf8),
            ]))
        })
        .clone()
}

fn s<T>(rows: &[&T], f: impl Fn(&T) -> &str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(|r| f(r))))
}
fn os<T>(rows: &[&T], f: impl Fn(&T) -> Option<&str>) -> ArrayRef {
    Arc::new(rows.iter().map(|r| f(r)).collect::<StringArray>())
}
fn i<T>(rows: &[&T], f: impl Fn(&T) -> i32) -> ArrayRef {
    Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| f(r))))
}
fn fl<T>(rows: &[&T], f: impl Fn(&T) -> f64) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| f(r))))
}
fn ofl<T>(rows: &[&T], f: impl Fn(&T) -> Option<f64>) -> ArrayRef {
    Arc::new(rows.iter().map(|r| f(r)).collect::<Float64Array>())
}
fn b<T>(rows: &[&T], f: impl Fn(&T) -> bool) -> ArrayRef {
    Arc::new(rows.iter().map(|r| Some(f(r))).collect::<BooleanArray>())
}

/// Builds the `responses` record batch.
pub(crate) fn responses_batch(rows: &[&ResponseRow]) -> Result<RecordBatch, ParquetSinkError> {
    let columns: Vec<ArrayRef> = vec![
        s(rows, |r| &r.interview_id),
        s(rows, |r| &r.pipeline_version),
        s(rows, |r| &r.correlation_id),
        i(rows, |r| r.question_index),
        os(rows, |r| r.question_id.as_deref()),
        os(rows, |r| r.question.as_deref()),
        i(rows, |r| r.media_index),
        b(rows, |r| r.answered),
        ofl(rows, |r| r.start_s),
        ofl(rows, |r| r.end_s),
        s(rows, |r| &r.text),
        i(rows, |r| r.words),
        ofl(rows, |r| r.confidence),
        ofl(rows, |r| r.sentiment_score),
        os(rows, |r| r.sentiment_label.as_deref()),
        ofl(rows, |r| r.words_per_minute),
        ofl(rows, |r| r.pause_ratio),
        ofl(rows, |r| r.longest_pause_s),
        ofl(rows, |r| r.pitch_hz),
        ofl(rows, |r| r.pitch_variability_st),
        ofl(rows, |r| r.loudness_variability_db),
        i(rows, |r| r.fillers),
        i(rows, |r| r.hedges),
        s(rows, |r| &r.flags),
        s(rows, |r| &r.skills),
    ];
    RecordBatch::try_new(responses_schema(), columns).map_err(|source| ParquetSinkError::Arrow {
        table: "responses",
        source,
    })
}

/// Builds the `scores` record batch.
pub(crate) fn scores_batch(rows: &[&ScoreRow]) -> Result<RecordBatch, ParquetSinkError> {
    let columns: Vec<ArrayRef> = vec![
        s(rows, |r| &r.interview_id),
        s(rows, |r| &r.pipeline_version),
        s(rows, |r| &r.correlation_id),
        s(rows, |r| &r.job_family),
        s(rows, |r| &r.competency),
        s(rows, |r| &r.competency_name),
        s(rows, |r| &r.question_id),
        i(rows, |r| r.score),
        fl(rows, |r| r.confidence),
        b(rows, |r| r.low_confidence),
        fl(rows, |r| r.level),
        s(rows, |r| &r.mapped_by),
        fl(rows, |r| r.mapping_similarity),
        s(rows, |r| &r.criteria_met),
        s(rows, |r| &r.evidence_json),
        fl(rows, |r| r.weight),
        s(rows, |r| &r.model_version),
    ];
    RecordBatch::try_new(scores_schema(), columns).map_err(|source| ParquetSinkError::Arrow {
        table: "scores",
        source,
    })
}

fn opt_f(a: &arrow::array::PrimitiveArray<Float64Type>, k: usize) -> Option<f64> {
    (!a.is_null(k)).then(|| a.value(k))
}
fn opt_s(a: &StringArray, k: usize) -> Option<String> {
    (!a.is_null(k)).then(|| a.value(k).to_string())
}

fn bools<'a>(
    batch: &'a RecordBatch,
    path: &Path,
    name: &str,
) -> Result<&'a BooleanArray, ParquetSinkError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<BooleanArray>())
        .ok_or_else(|| ParquetSinkError::BadFile {
            path: path.to_path_buf(),
            reason: format!("column `{name}`: missing or not Boolean"),
        })
}

/// Decodes `responses` rows.
pub(crate) fn responses_from_batch(
    batch: &RecordBatch,
    path: &Path,
) -> Result<Vec<ResponseRow>, ParquetSinkError> {
    let c = Columns::new(batch, path);
    let f = |n: &str| c.floats(n);
    let (iid, pv, corr) = (
        c.req_strings("interview_id")?,
        c.req_strings("pipeline_version")?,
        c.req_strings("correlation_id")?,
    );
    let (qi, qid, q, mi) = (
        c.ints::<Int32Type>("question_index")?,
        c.strings("question_id")?,
        c.strings("question")?,
        c.ints::<Int32Type>("media_index")?,
    );
    let answered = bools(batch, path, "answered")?;
    let (start, end, text, words) = (
        f("start_s")?,
        f("end_s")?,
        c.req_strings("text")?,
        c.ints::<Int32Type>("words")?,
    );
    let (conf, sent, label, wpm) = (
        f("confidence")?,
        f("sentiment_score")?,
        c.strings("sentiment_label")?,
        f("words_per_minute")?,
    );
    let (pr, lp, ph, pv_st, lv) = (
        f("pause_ratio")?,
        f("longest_pause_s")?,
        f("pitch_hz")?,
        f("pitch_variability_st")?,
        f("loudness_variability_db")?,
    );
    let (fillers, hedges, flags, skills) = (
        c.ints::<Int32Type>("fillers")?,
        c.ints::<Int32Type>("hedges")?,
        c.req_strings("flags")?,
        c.req_strings("skills")?,
    );
    Ok((0..batch.num_rows())
        .map(|k| ResponseRow {
            interview_id: iid.value(k).into(),
            pipeline_version: pv.value(k).into(),
            correlation_id: corr.value(k).into(),
            question_index: qi.value(k),
            question_id: opt_s(qid, k),
            question: opt_s(q, k),
            media_index: mi.value(k),
            answered: answered.value(k),
            start_s: opt_f(start, k),
            end_s: opt_f(end, k),
            text: text.value(k).into(),
            words: words.value(k),
            confidence: opt_f(conf, k),
            sentiment_score: opt_f(sent, k),
            sentiment_label: opt_s(label, k),
            words_per_minute: opt_f(wpm, k),
            pause_ratio: opt_f(pr, k),
            longest_pause_s: opt_f(lp, k),
            pitch_hz: opt_f(ph, k),
            pitch_variability_st: opt_f(pv_st, k),
            loudness_variability_db: opt_f(lv, k),
            fillers: fillers.value(k),
            hedges: hedges.value(k),
            flags: flags.value(k).into(),
            skills: skills.value(k).into(),
        })
        .collect())
}

/// Decodes `scores` rows.
pub(crate) fn scores_from_batch(
    batch: &RecordBatch,
    path: &Path,
) -> Result<Vec<ScoreRow>, ParquetSinkError> {
    let c = Columns::new(batch, path);
    let (iid, pv, corr, fam) = (
        c.req_strings("interview_id")?,
        c.req_strings("pipeline_version")?,
        c.req_strings("correlation_id")?,
        c.req_strings("job_family")?,
    );
    let (comp, name, qid) = (
        c.req_strings("competency")?,
        c.req_strings("competency_name")?,
        c.req_strings("question_id")?,
    );
    let (score, conf, low) = (
        c.ints::<Int32Type>("score")?,
        c.floats("confidence")?,
        bools(batch, path, "low_confidence")?,
    );
    let (level, mapped_by, mapping_similarity) = (
        c.floats("level")?,
        c.req_strings("mapped_by")?,
        c.floats("mapping_similarity")?,
    );
    let (met, ev, w, model_version) = (
        c.req_strings("criteria_met")?,
        c.req_strings("evidence_json")?,
        c.floats("weight")?,
        c.req_strings("model_version")?,
    );
    Ok((0..batch.num_rows())
        .map(|k| ScoreRow {
            interview_id: iid.value(k).into(),
            pipeline_version: pv.value(k).into(),
            correlation_id: corr.value(k).into(),
            job_family: fam.value(k).into(),
            competency: comp.value(k).into(),
            competency_name: name.value(k).into(),
            question_id: qid.value(k).into(),
            score: score.value(k),
            confidence: conf.value(k),
            low_confidence: low.value(k),
            level: level.value(k),
            mapped_by: mapped_by.value(k).into(),
            mapping_similarity: mapping_similarity.value(k),
            criteria_met: met.value(k).into(),
            evidence_json: ev.value(k).into(),
            weight: w.value(k),
            model_version: model_version.value(k).into(),
        })
        .collect())
}
