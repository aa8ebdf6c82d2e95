//! The AI scores an analysed interview publishes for the aggregates
//! (`[kafka] scores_topic`, `schemas/aggregates/score.schema.json`).

use panelflow_core::outcome::Severity;
use panelflow_core::wire::{CompetencyScore, ScoreMessage, UNASSIGNED_POSTING};
use panelflow_models::analysis::summary::Summary;

/// The message the analysis publishes for an analysed interview: its
/// competency scores (one per competency: the mean when it was judged on
/// several answers) under model `panelflow-scoring`, version `<scoring
/// model version>/p<pipeline version>` (the drift aggregates compare score
/// distributions per model version); `None` when the analysis scored
/// nothing. The posting is [`UNASSIGNED_POSTING`] when unknown, the job
/// family (the pipeline role) `unknown`. Voice flags never travel with
/// it unless the pipeline opted in to voice in decisions.
///
/// ```
/// use panelflow_models::analysis::summary::{PipelineRef, Summary};
/// use panelflow::aggregates::records::Validate;
/// use panelflow::pipeline::scores::score_message;
/// let event = panelflow_core::event::InterviewCompleted::new("generic", "i1", "c1", "o1", vec![]);
/// let pipeline = PipelineRef { name: "p".into(), version: "7".into(), config_hash: "h".into() };
/// let mut summary = Summary::build(&event, &pipeline, vec![], vec![]);
/// assert!(score_message(&summary).is_none());
/// summary.scores = vec![serde_json::from_value(serde_json::json!({
///     "competency": "craft", "name": "Craft", "question_id": "q1", "score": 3,
///     "confidence": 0.8, "low_confidence": false, "weight": 1.0})).unwrap()];
/// summary.analysis.scoring_model = Some("evidence-ordinal@1".into());
/// let m = score_message(&summary).unwrap();
/// assert_eq!(m.model_version.as_str(), "evidence-ordinal@1/p7");
/// assert_eq!(m.competencies[0].score, 3.0);
/// assert!(m.validate().is_ok());
/// ```
pub fn score_message(summary: &Summary) -> Option<ScoreMessage> {
    if summary.scores.is_empty() {
        return None;
    }
    let finite = |x: f64| x.is_finite().then_some(x);
    Some(ScoreMessage {
        diff: 1,
        interview_id: summary.interview_id.as_str().into(),
        candidate_id: summary.candidate_id.as_str().into(),
        posting_id: summary
            .posting_id
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or(UNASSIGNED_POSTING)
            .into(),
        job_family: summary
            .analysis
            .job_family
            .as_deref()
            .filter(|f| !f.is_empty())
            .unwrap_or("unknown")
            .into(),
        model_name: "panelflow-scoring".into(),
        model_version: format!(
            "{}/p{}",
            summary
                .analysis
                .scoring_model
                .as_deref()
                .unwrap_or("unknown"),
            summary.pipeline.version
        ),
        scored_at: summary.analysis_completion_time.clone(),
        sentiment: finite(summary.sentiment_score).map(|x| x.clamp(-1.0, 1.0)),
        transcription_confidence: finite(summary.transcription_confidence)
            .map(|x| x.clamp(0.0, 1.0)),
        flags: summary
            .flags
            .iter()
            .filter(|f| f.severity == Severity::Review)
            .filter(|f| summary.analysis.voice_in_decisions || !is_voice_flag(&f.name))
            .map(|f| f.name.clone())
            .collect(),
        competencies: per_competency(summary)
            .into_iter()
            .map(|(competency, score, confidence)| CompetencyScore {
                competency,
                score,
                confidence: finite(confidence).map(|x| x.clamp(0.0, 1.0)),
            })
            .collect(),
    })
}

/// One score per competency (the aggregates count a competency once per
/// interview): the mean of its answers' scores, with the lowest confidence.
fn per_competency(summary: &Summary) -> Vec<(String, f64, f64)> {
    let mut out: Vec<(String, f64, f64, usize)> = Vec::new();
    for s in &summary.scores {
        match out.iter_mut().find(|(c, ..)| *c == s.competency) {
            Some((_, sum, conf, n)) => {
                *sum += f64::from(s.score);
                *conf = conf.min(s.confidence);
                *n += 1;
            }
            None => out.push((s.competency.clone(), f64::from(s.score), s.confidence, 1)),
        }
    }
    out.into_iter()
        .map(|(c, sum, conf, n)| (c, sum / n as f64, conf))
        .collect()
}

/// Flags raised by the voice (pace, pauses): information for the recruiter,
/// never an input to a decision unless the pipeline opts in.
pub fn is_voice_flag(name: &str) -> bool {
    matches!(name, "very_fast_pace" | "slow_pace" | "long_silences")
}
