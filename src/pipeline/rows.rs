//! The interview's Parquet rows, from its event and summary: the
//! `interviews` row (transcribed or failed), its `segments`, and the
//! analysis's `responses` and `scores`; and a failed interview's result.

use panelflow_connectors::parquet::{
    AnalysisRows, InterviewRow, ResponseRow, ScoreRow, SegmentRow,
};
use panelflow_core::event::InterviewCompleted;
use panelflow_core::outcome::Outcome;
use panelflow_core::wire::DeadLetter;
use panelflow_models::analysis::summary::Summary;

use super::identity::Identity;
use super::interview::{Processed, StageError};

/// The `interviews` row of an interview.
pub fn interview_row(
    who: &Identity,
    event: &InterviewCompleted,
    outcome: Outcome,
    failure_reason: Option<String>,
    summary: Option<&Summary>,
    lever_note_id: Option<String>,
    processing_ms: i64,
) -> InterviewRow {
    let received_at = chrono::DateTime::parse_from_rfc3339(&event.received_at)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    let model = who.models.first();
    InterviewRow {
        interview_id: event.interview_id.clone(),
        pipeline_version: who.pipeline.version.clone(),
        pipeline_name: who.pipeline.name.clone(),
        candidate_id: event.candidate_id.clone(),
        opportunity_id: event.opportunity_id.clone(),
        source: event.source.clone(),
        correlation_id: event.correlation_id.clone(),
        config_hash: who.pipeline.config_hash.clone(),
        outcome,
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

/// The result of an interview that failed `err`: a `failed` row with the
/// reason and its dead letter; the audit events are the caller's.
pub fn failed(
    who: &Identity,
    event: &InterviewCompleted,
    err: &StageError,
    elapsed_ms: i64,
) -> Processed {
    let reason = err.to_string();
    Processed {
        interview: interview_row(
            who,
            event,
            Outcome::Failed,
            Some(reason.clone()),
            None,
            None,
            elapsed_ms,
        ),
        segments: Vec::new(),
        analysis: AnalysisRows::default(),
        dead_letter: Some(DeadLetter::new(event, err.stage, &reason)),
        audit: Vec::new(),
        score_message: None,
        retry: None,
    }
}

/// The `segments` rows of a summary's answers, numbered per media item
/// (one recording may hold several answers).
pub fn segment_rows(
    event: &InterviewCompleted,
    version: &str,
    summary: &Summary,
) -> Vec<SegmentRow> {
    // Segments are numbered per media item (one recording may hold several answers).
    let mut next_index: std::collections::BTreeMap<usize, i32> = Default::default();
    summary
        .answers
        .iter()
        .flat_map(|a| {
            let version = version.to_string();
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
        .collect()
}

/// The `responses` and `scores` rows of an analysed interview.
pub fn analysis_rows(event: &InterviewCompleted, version: &str, summary: &Summary) -> AnalysisRows {
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
            level: s.level,
            mapped_by: s.mapped_by.clone(),
            mapping_similarity: s.mapping_similarity,
            criteria_met: s.criteria_met.join(","),
            evidence_json: serde_json::json!({
                "evidence": s.evidence,
                "criteria_missing": s.criteria_missing,
                "features": s.features,
                "anchor": s.anchor,
            })
            .to_string(),
            weight: s.weight,
            model_version: s.model_version.clone(),
        })
        .collect();
    AnalysisRows { responses, scores }
}
