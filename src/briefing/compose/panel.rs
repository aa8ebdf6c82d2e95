//! Per-competency comparison: the panel's ratings, the advisory's, and
//! whether they agree.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::briefing::gather::Gathered;
use crate::briefing::{id_of, BriefingConfig};
use crate::ingest::lever_poll::field_ratings;
use panelflow_core::webhook::ratings::slug;
use panelflow_models::analysis::competency::CompetencyLibrary;

use super::fields::text_of;
use super::model::*;

/// Lever user id → name, from the interviewers Lever listed and the forms.
pub(super) fn people(g: &Gathered) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut add = |p: &Value| {
        if let (Some(id), Some(name)) = (id_of(Some(p)), text_of(p, "name")) {
            out.insert(id, name.to_owned());
        }
    };
    let interviews = g.interviews.iter().chain(
        g.panels
            .iter()
            .filter_map(|p| p.get("interviews").and_then(Value::as_array))
            .flatten(),
    );
    for iv in interviews {
        for p in iv
            .get("interviewers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add(p);
        }
    }
    for f in &g.feedback {
        if let Some(u) = f.get("user").filter(|u| u.is_object()) {
            add(u);
        }
    }
    out
}

/// The subject of the interview a form was given for.
pub(super) fn interview_subject(g: &Gathered, form: &Value) -> Option<String> {
    let id = id_of(form.get("interview"));
    let all = g.interviews.iter().chain(
        g.panels
            .iter()
            .filter_map(|p| p.get("interviews").and_then(Value::as_array))
            .flatten(),
    );
    id.and_then(|id| {
        all.into_iter()
            .find(|iv| id_of(Some(iv)).as_deref() == Some(id.as_str()))
            .and_then(|iv| text_of(iv, "subject").map(str::to_owned))
    })
    .or_else(|| text_of(form, "text").map(str::to_owned))
}

/// Finds the library competency a scorecard skill names.
pub(super) fn competency_of(lib: &CompetencyLibrary, skill: &str) -> Option<(String, String)> {
    let s = slug(skill);
    lib.all()
        .iter()
        .find(|c| {
            let name = slug(&c.name);
            s == c.id || s == name || s.starts_with(&format!("{}_", c.id)) || name.starts_with(&s)
        })
        .map(|c| (c.id.clone(), c.name.clone()))
}

/// The panelists' ratings and the skills their scorecards list but nobody
/// rated: `(views by competency id, names by id, unrated skill ids)`.
pub(super) type PanelRatings = (
    BTreeMap<String, Vec<PanelView>>,
    BTreeMap<String, String>,
    BTreeSet<String>,
);

pub(super) fn panel_ratings(
    g: &Gathered,
    cfg: &BriefingConfig,
    lib: &CompetencyLibrary,
) -> PanelRatings {
    let names = people(g);
    let mut views: BTreeMap<String, Vec<PanelView>> = BTreeMap::new();
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    let mut unrated = BTreeSet::new();
    for form in &g.feedback {
        let Some(user) = id_of(form.get("user")) else {
            continue;
        };
        if cfg.perform_as.as_deref() == Some(user.as_str()) {
            continue; // panelflow's own scorecard is not a panelist's view
        }
        let fields: Vec<&Value> = form
            .get("fields")
            .and_then(Value::as_array)
            .map(|f| f.iter().collect())
            .unwrap_or_default();
        let general = fields
            .iter()
            .filter(|f| {
                matches!(
                    f.get("type").and_then(Value::as_str),
                    Some("textarea" | "text")
                )
            })
            .find_map(|f| text_of(f, "value"))
            .map(str::to_owned);
        let subject = interview_subject(g, form);
        for field in fields {
            // Each scored skill's name and comment, by slug.
            let mut about: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
            match field.get("type").and_then(Value::as_str) {
                Some("scorecard") => {
                    let skills = field.get("scores").and_then(Value::as_array);
                    let values = field.get("value").and_then(Value::as_array);
                    for (i, skill) in skills.into_iter().flatten().enumerate() {
                        let Some(name) = text_of(skill, "text") else {
                            continue;
                        };
                        let value = values.and_then(|v| v.get(i));
                        let comment = value.and_then(|v| text_of(v, "comment")).map(str::to_owned);
                        if value
                            .and_then(|v| v.get("score"))
                            .is_none_or(Value::is_null)
                        {
                            let id = competency_of(lib, name).map_or_else(|| slug(name), |c| c.0);
                            labels.entry(id.clone()).or_insert_with(|| name.to_owned());
                            unrated.insert(id);
                        }
                        about.insert(slug(name), (name.to_owned(), comment));
                    }
                }
                Some("score") => {
                    if let Some(name) = text_of(field, "text") {
                        about.insert(slug(name), (name.to_owned(), None));
                    }
                }
                _ => {}
            }
            for (skill, rating) in field_ratings(field) {
                let (label, comment) = about
                    .get(&skill)
                    .cloned()
                    .unwrap_or_else(|| ("Overall recommendation".to_owned(), None));
                let (id, name) = if skill == OVERALL {
                    (OVERALL.to_owned(), "Overall recommendation".to_owned())
                } else {
                    competency_of(lib, &label).unwrap_or_else(|| (skill.clone(), label.clone()))
                };
                labels.entry(id.clone()).or_insert(name);
                views.entry(id).or_default().push(PanelView {
                    reviewer_id: user.clone(),
                    name: names.get(&user).cloned().unwrap_or_else(|| user.clone()),
                    rating,
                    evidence: comment.or_else(|| general.clone()),
                    interview: subject.clone(),
                });
            }
        }
    }
    (views, labels, unrated)
}

/// panelflow's scores by competency id, with their names.
pub(super) fn advisory(
    g: &Gathered,
) -> (
    BTreeMap<String, Vec<AdvisoryView>>,
    BTreeMap<String, String>,
) {
    let mut views: BTreeMap<String, Vec<AdvisoryView>> = BTreeMap::new();
    let mut names = BTreeMap::new();
    let several = g.summaries.len() > 1;
    for (n, s) in g.summaries.iter().enumerate() {
        let recording = if several {
            format!("recorded interview {}", n + 1)
        } else {
            "one-way interview".to_owned()
        };
        for score in &s.scores {
            let quote = ["measured", "outcome", "own_actions", "reflection"]
                .iter()
                .find_map(|f| score.evidence.iter().find(|q| q.feature == *f))
                .or_else(|| score.evidence.first());
            let question = s
                .answers
                .iter()
                .find(|a| a.question_id.as_deref() == Some(score.question_id.as_str()))
                .and_then(|a| a.question.clone());
            names
                .entry(score.competency.clone())
                .or_insert_with(|| score.name.clone());
            views
                .entry(score.competency.clone())
                .or_default()
                .push(AdvisoryView {
                    score: score.score,
                    confidence: score.confidence,
                    quote: quote.map(|q| q.text.clone()),
                    at: quote.map(|q| q.at),
                    question,
                    recording: recording.clone(),
                });
        }
    }
    (views, names)
}

pub(super) fn verdict(panel: &[PanelView], advisory: &[AdvisoryView]) -> Verdict {
    let all: Vec<i64> = panel
        .iter()
        .map(|p| p.rating)
        .chain(advisory.iter().map(|a| i64::from(a.score)))
        .collect();
    let (Some(lo), Some(hi)) = (all.iter().min(), all.iter().max()) else {
        return Verdict::Single;
    };
    if all.len() < 2 {
        Verdict::Single
    } else if hi - lo >= 2 || (*hi >= 3 && *lo <= 2) {
        Verdict::Diverge
    } else {
        Verdict::Agree
    }
}
