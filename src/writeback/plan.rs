//! From a summary and the phase's rules to a [`WritePlan`].
//!
//! | phase    | note            | scores in Lever | tags | stage move | route |
//! |----------|-----------------|-----------------|------|------------|-------|
//! | pilot    | yes, no scores  | no              | no   | no         | direct |
//! | review   | yes, with scores| scorecard       | yes  | no         | always the review queue |
//! | automate | yes, with scores| scorecard       | yes  | above thresholds, high confidence | direct, unless low confidence, extreme sentiment or a review flag |

use panelflow_core::writeback::{
    correlation_marker, FeedbackForm, Phase, Route, TagRule, WritePlan, WritebackSection,
};
use panelflow_models::analysis::summary::Summary;

use panelflow_core::outcome::{Severity, Stage};

use super::note::{render_note_with, NoteOptions};
use crate::config::PipelineConfig;

/// What a plan depends on besides the summary: the phase, `[writeback]`
/// and the Lever user notes are written as (`[lever] perform_as`). A
/// pipeline config converts into it.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// `[pipeline] phase`.
    pub phase: Phase,
    /// `[writeback]`.
    pub writeback: &'a WritebackSection,
    /// `[lever] perform_as`.
    pub perform_as: Option<&'a str>,
}

impl<'a> From<&'a PipelineConfig> for Rules<'a> {
    fn from(cfg: &'a PipelineConfig) -> Self {
        Rules {
            phase: cfg.pipeline.phase,
            writeback: &cfg.writeback,
            perform_as: cfg.lever.perform_as.as_deref(),
        }
    }
}

/// The plan for an analysed interview under a phase and its rules.
///
/// ```
/// use panelflow::config::PipelineConfig;
/// use panelflow::writeback::plan;
/// use panelflow_core::writeback::{Phase, Route};
/// use panelflow_models::analysis::summary::{PipelineRef, Summary};
/// let event = panelflow_core::event::InterviewCompleted::new("generic", "i1", "c1", "o1", vec![]);
/// let pipeline = PipelineRef { name: "p".into(), version: "1".into(), config_hash: "h".into() };
/// let mut summary = Summary::build(&event, &pipeline, vec![], vec![]);
/// summary.scores = vec![serde_json::from_value(serde_json::json!({
///     "competency": "craft", "name": "Craft", "question_id": "q1", "mapped_by": "pipeline",
///     "mapping_similarity": 1.0, "score": 4, "level": 3.9, "anchor": "", "criteria_met": [],
///     "criteria_missing": [], "evidence": [], "features": {}, "confidence": 0.9,
///     "low_confidence": false, "weight": 1.0, "model_version": "m"})).unwrap()];
/// summary.overall_score = Some(4.0);
/// let mut cfg = PipelineConfig::default();
/// let pilot = plan(&cfg, &summary);
/// assert_eq!(pilot.route, Route::Direct);
/// assert!(!pilot.note.as_deref().unwrap().contains("Scores"));
/// cfg.pipeline.phase = Phase::Review;
/// let review = plan(&cfg, &summary);
/// assert!(matches!(review.route, Route::Review { .. }));
/// assert!(review.note.as_deref().unwrap().contains("Craft 4/4"));
/// ```
pub fn plan<'a>(rules: impl Into<Rules<'a>>, summary: &Summary) -> WritePlan {
    let Rules {
        phase,
        writeback: rules,
        perform_as,
    } = rules.into();
    let scores_allowed = phase != Phase::Pilot;
    let note = render_note_with(
        summary,
        &summary.correlation_id,
        &NoteOptions {
            include_scores: scores_allowed,
            notice: rules.notice.clone(),
        },
    );
    let review_reasons = review_reasons(rules, phase, summary);
    let route = if review_reasons.is_empty() {
        Route::Direct
    } else {
        Route::Review {
            reasons: review_reasons,
        }
    };
    let mut plan = WritePlan {
        phase,
        opportunity_id: summary.opportunity_id.clone(),
        correlation_id: summary.correlation_id.clone(),
        note: Some(note),
        add_tags: Vec::new(),
        remove_tags: Vec::new(),
        stage: None,
        feedback: None,
        perform_as: perform_as.map(str::to_owned),
        route,
    };
    if phase == Phase::Pilot {
        return plan;
    }
    let goes_to_review = matches!(plan.route, Route::Review { .. });
    let has_review_flag = summary.flags.iter().any(|f| f.severity == Severity::Review);
    for rule in &rules.tags {
        if rule.tag.trim().is_empty() {
            continue;
        }
        if tag_holds(rule, summary, goes_to_review || has_review_flag) {
            plan.add_tags.push(rule.tag.clone());
        } else {
            plan.remove_tags.push(rule.tag.clone());
        }
    }
    plan.add_tags.dedup();
    plan.remove_tags.retain(|t| !plan.add_tags.contains(t));
    plan.remove_tags.dedup();
    if let Some(template) = &rules.feedback {
        plan.feedback = feedback_form(template, summary);
    }
    // Stage moves only in the automate phase, only for direct results.
    if phase == Phase::Automate && !goes_to_review {
        if let Some(stage) = &rules.stage {
            let confident = !summary.scores.is_empty()
                && summary
                    .scores
                    .iter()
                    .all(|s| !s.low_confidence && s.confidence >= stage.min_confidence);
            let high = summary
                .overall_score
                .is_some_and(|o| o >= stage.min_overall);
            if confident && high && !stage.to_stage.trim().is_empty() {
                plan.stage = Some(stage.to_stage.clone());
            }
        }
    }
    plan
}

/// The plan for an interview whose media or speech step failed: nothing for
/// Lever, but a recruiter should look (review and automate phases); `None`
/// in the pilot.
pub fn plan_failed<'a>(
    rules: impl Into<Rules<'a>>,
    opportunity_id: &str,
    correlation_id: &str,
    stage: Stage,
) -> Option<WritePlan> {
    let rules = rules.into();
    if rules.phase == Phase::Pilot || !matches!(stage, Stage::Media | Stage::Speech) {
        return None;
    }
    Some(WritePlan {
        phase: rules.phase,
        opportunity_id: opportunity_id.to_owned(),
        correlation_id: correlation_id.to_owned(),
        note: None,
        add_tags: Vec::new(),
        remove_tags: Vec::new(),
        stage: None,
        feedback: None,
        perform_as: rules.perform_as.map(str::to_owned),
        route: Route::Review {
            reasons: vec![format!("{stage}_failed")],
        },
    })
}

/// Why a result waits for a recruiter (empty: written directly).
fn review_reasons(rules: &WritebackSection, phase: Phase, summary: &Summary) -> Vec<String> {
    match phase {
        Phase::Pilot => Vec::new(),
        Phase::Review => vec!["phase_review".to_owned()],
        Phase::Automate => {
            let mut reasons = Vec::new();
            if !summary.analysis.complete && summary.scores.is_empty() {
                reasons.push("analysis_incomplete".to_owned());
            }
            let low = summary.scores.iter().any(|s| s.low_confidence);
            let mean = if summary.scores.is_empty() {
                0.0
            } else {
                summary.scores.iter().map(|s| s.confidence).sum::<f64>()
                    / summary.scores.len() as f64
            };
            if summary.scores.is_empty() || low || mean < rules.min_confidence {
                reasons.push("low_confidence".to_owned());
            }
            if summary.sentiment_score.is_finite()
                && summary.sentiment_score.abs() >= rules.extreme_sentiment
            {
                reasons.push("extreme_sentiment".to_owned());
            }
            for f in &summary.flags {
                if f.severity == Severity::Review && rules.review_on_flags.contains(&f.name) {
                    let r = format!("flag:{}", f.name);
                    if !reasons.contains(&r) {
                        reasons.push(r);
                    }
                }
            }
            reasons
        }
    }
}

fn tag_holds(rule: &TagRule, summary: &Summary, needs_review: bool) -> bool {
    if rule.needs_review && !needs_review {
        return false;
    }
    if let Some(skill) = &rule.skill {
        let matched = summary
            .key_skills_matched
            .iter()
            .any(|m| m.skill.eq_ignore_ascii_case(skill));
        if !matched {
            return false;
        }
    }
    if let Some(min) = rule.min_overall {
        if summary.overall_score.is_none_or(|o| o < min) {
            return false;
        }
    }
    if let Some(min) = rule.min_score {
        let relevant: Vec<f64> = summary
            .scores
            .iter()
            .filter(|s| {
                rule.competency
                    .as_deref()
                    .is_none_or(|c| s.competency.eq_ignore_ascii_case(c))
            })
            .map(|s| f64::from(s.score))
            .collect();
        if relevant.is_empty() || relevant.iter().any(|s| *s < min) {
            return false;
        }
    }
    // A rule with no condition at all never holds (a typo must not tag everyone).
    rule.needs_review
        || rule.skill.is_some()
        || rule.min_overall.is_some()
        || rule.min_score.is_some()
}

fn feedback_form(
    template: &panelflow_core::writeback::FeedbackTemplate,
    summary: &Summary,
) -> Option<FeedbackForm> {
    let mut field_values = Vec::new();
    for s in &summary.scores {
        if let Some(field) = template.fields.get(&s.competency) {
            field_values.push((field.clone(), serde_json::json!(s.score)));
        }
    }
    if let (Some(field), Some(overall)) = (&template.overall_field, summary.overall_score) {
        field_values.push((
            field.clone(),
            serde_json::json!((overall * 10.0).round() / 10.0),
        ));
    }
    if field_values.is_empty() {
        return None;
    }
    let marker = correlation_marker(&summary.correlation_id);
    let text = format!(
        "AI-generated scores (advisory). {}\n{marker}",
        summary.interview_transcript_summary.trim()
    );
    field_values.push((template.notes_field.clone(), serde_json::json!(text)));
    Some(FeedbackForm {
        base_template_id: template.base_template_id.clone(),
        field_values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use panelflow_core::writeback::{FeedbackTemplate, StageRule};

    fn summary(overall: f64, confidence: f64, sentiment: f64) -> Summary {
        let mut event =
            panelflow_core::event::InterviewCompleted::new("generic", "i1", "c1", "o1", vec![]);
        event.correlation_id = "corr-1".into();
        let pipeline = panelflow_models::analysis::summary::PipelineRef {
            name: "p".into(),
            version: "1".into(),
            config_hash: "h".into(),
        };
        let mut s = Summary::build(&event, &pipeline, vec![], vec![]);
        s.interview_transcript_summary = "Builds Python services.".into();
        s.sentiment_score = sentiment;
        s.key_skills_matched = vec![serde_json::from_value(
            serde_json::json!({"skill": "python", "count": 2, "mentions": []}),
        )
        .expect("skill")];
        s.scores = vec![serde_json::from_value(serde_json::json!({
            "competency": "craft", "name": "Craft", "question_id": "q1", "score": overall as u8,
            "criteria_share": 1.0, "criteria_met": [], "evidence": [], "adjustments": [],
            "confidence": confidence, "low_confidence": false, "weight": 1.0}))
        .expect("score")];
        s.overall_score = Some(overall);
        s.analysis.complete = true;
        s
    }

    fn automate() -> PipelineConfig {
        let mut cfg = PipelineConfig::default();
        cfg.pipeline.phase = Phase::Automate;
        cfg.writeback.tags = vec![
            TagRule {
                tag: "ai:strong-python".into(),
                skill: Some("Python".into()),
                min_overall: Some(3.0),
                ..Default::default()
            },
            TagRule {
                tag: "ai:needs-review".into(),
                needs_review: true,
                ..Default::default()
            },
            TagRule {
                tag: "ai:typo-rule".into(),
                ..Default::default()
            },
        ];
        cfg.writeback.stage = Some(StageRule {
            to_stage: "stage-onsite".into(),
            min_overall: 3.5,
            min_confidence: 0.8,
        });
        cfg.writeback.feedback = Some(FeedbackTemplate {
            base_template_id: "tmpl-1".into(),
            fields: [("craft".to_owned(), "f-craft".to_owned())].into(),
            overall_field: Some("f-overall".into()),
            notes_field: "f-notes".into(),
        });
        cfg
    }

    #[test]
    fn automate_strong_confident_result_is_written_with_stage_move() {
        let p = plan(&automate(), &summary(4.0, 0.9, 0.2));
        assert_eq!(p.route, Route::Direct);
        assert_eq!(p.add_tags, vec!["ai:strong-python"]);
        assert_eq!(p.remove_tags, vec!["ai:needs-review", "ai:typo-rule"]);
        assert_eq!(p.stage.as_deref(), Some("stage-onsite"));
        let fb = p.feedback.expect("scorecard");
        assert_eq!(
            fb.field_values[0],
            ("f-craft".to_owned(), serde_json::json!(4))
        );
        assert!(fb.field_values[2]
            .1
            .as_str()
            .unwrap_or("")
            .contains("corr-1"));
    }

    #[test]
    fn automate_low_confidence_or_extreme_sentiment_goes_to_review_without_stage() {
        let p = plan(&automate(), &summary(4.0, 0.3, 0.2));
        assert_eq!(
            p.route,
            Route::Review {
                reasons: vec!["low_confidence".into()]
            }
        );
        assert!(p.stage.is_none());
        assert!(p.add_tags.contains(&"ai:needs-review".to_owned()));
        let p = plan(&automate(), &summary(4.0, 0.9, -0.9));
        assert_eq!(
            p.route,
            Route::Review {
                reasons: vec!["extreme_sentiment".into()]
            }
        );
    }

    #[test]
    fn automate_below_stage_threshold_writes_but_does_not_move() {
        let p = plan(&automate(), &summary(3.0, 0.9, 0.1));
        assert_eq!(p.route, Route::Direct);
        assert!(p.stage.is_none());
        assert_eq!(p.add_tags, vec!["ai:strong-python"]);
    }

    #[test]
    fn pilot_writes_a_note_without_scores_and_nothing_else() {
        let mut cfg = automate();
        cfg.pipeline.phase = Phase::Pilot;
        let p = plan(&cfg, &summary(4.0, 0.9, 0.1));
        assert_eq!(p.route, Route::Direct);
        let note = p.note.expect("note");
        assert!(!note.contains("Scores"), "{note}");
        assert!(note.contains(panelflow_core::writeback::DEFAULT_NOTICE));
        assert!(p.add_tags.is_empty() && p.remove_tags.is_empty());
        assert!(p.stage.is_none() && p.feedback.is_none());
        assert!(plan_failed(&cfg, "o1", "c", Stage::Media).is_none());
    }

    #[test]
    fn review_phase_holds_everything_and_failed_media_is_queued() {
        let mut cfg = automate();
        cfg.pipeline.phase = Phase::Review;
        let p = plan(&cfg, &summary(4.0, 0.95, 0.1));
        assert!(matches!(p.route, Route::Review { .. }));
        assert!(p.stage.is_none(), "no stage moves outside automate");
        assert!(p.feedback.is_some());
        let failed = plan_failed(&cfg, "o1", "c", Stage::Media).expect("queued");
        assert!(failed.is_empty());
        assert_eq!(
            failed.route,
            Route::Review {
                reasons: vec!["media_failed".into()]
            }
        );
    }

    #[test]
    fn edited_note_keeps_one_marker() {
        let p = plan(&automate(), &summary(4.0, 0.9, 0.1))
            .with_edited_note("Edited by Ana.\npanelflow-correlation-id: corr-1");
        let note = p.note.expect("note");
        assert_eq!(note, "Edited by Ana.\npanelflow-correlation-id: corr-1");
    }
}
