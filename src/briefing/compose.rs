//! The briefing's content, built from what [`gather`](super::gather) read:
//! sections of lines that the text note and the PDF both render, so the
//! two say the same.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Utc};
use serde_json::Value;

use super::gather::Gathered;
use super::{id_of, BriefingConfig};
use crate::ingest::lever_poll::field_ratings;
use panelflow_core::webhook::ratings::slug;
use panelflow_core::writeback::Phase;
use panelflow_models::analysis::competency::CompetencyLibrary;
use panelflow_models::analysis::highlights::RedFlagKind;

/// The first words of a briefing file's name.
pub const FILE_PREFIX: &str = "panelflow-briefing-";
/// The marker a briefing note ends with: `panelflow-briefing-id: OPP/FP`.
pub const NOTE_MARKER: &str = "panelflow-briefing-id: ";
/// The competency id of Lever's overall recommendation.
const OVERALL: &str = "overall";

/// How a line is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A paragraph.
    Body,
    /// A sub-heading inside a section (a competency).
    Sub,
    /// An item of a list.
    Bullet,
    /// Evidence under an item (a quote with where it comes from).
    Quote,
}

/// One line of a section.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// How it is set.
    pub style: Style,
    /// What it says.
    pub text: String,
}

/// One section of the briefing.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Its heading.
    pub heading: String,
    /// Its lines.
    pub lines: Vec<Line>,
}

/// How the views of one competency relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every view on the same side of the scale, at most a point apart.
    Agree,
    /// Views on both sides of the scale, or two points or more apart.
    Diverge,
    /// One view only.
    Single,
}

/// A competency as the briefing shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompetencyView {
    /// Competency id (the library's, or the scorecard skill's slug).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Each panelist's rating.
    pub panel: Vec<PanelView>,
    /// panelflow's advisory scores (one per question judged on it).
    pub advisory: Vec<AdvisoryView>,
    /// How the views relate.
    pub verdict: Verdict,
}

/// A panelist's rating of a competency.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelView {
    /// Lever user id.
    pub reviewer_id: String,
    /// Their name, when Lever gave it.
    pub name: String,
    /// Lever's 1–4.
    pub rating: i64,
    /// Their comment behind it (the scorecard skill's, else the form's).
    pub evidence: Option<String>,
    /// The interview it was given for.
    pub interview: Option<String>,
}

/// One of panelflow's advisory scores.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvisoryView {
    /// Lever's 1–4.
    pub score: u8,
    /// Calibrated confidence.
    pub confidence: f64,
    /// The quote behind it.
    pub quote: Option<String>,
    /// When it was said, seconds.
    pub at: Option<f64>,
    /// The question it answers.
    pub question: Option<String>,
    /// Which recording.
    pub recording: String,
}

/// A composed briefing.
#[derive(Debug, Clone, PartialEq)]
pub struct Briefing {
    /// The opportunity.
    pub opportunity_id: String,
    /// The candidate's name.
    pub candidate: String,
    /// The fingerprint of its inputs.
    pub fingerprint: String,
    /// When it was composed (RFC 3339).
    pub generated_at: String,
    /// Title line.
    pub title: String,
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// The competencies, for callers that check them.
    pub competencies: Vec<CompetencyView>,
}

impl Briefing {
    /// The file name of this version: `panelflow-briefing-FP.pdf`.
    pub fn file_name(&self) -> String {
        file_name(&self.fingerprint)
    }

    /// The marker line its note ends with.
    pub fn marker(&self) -> String {
        marker(&self.opportunity_id, &self.fingerprint)
    }

    /// The briefing in text: the secret note's body, ending with its marker.
    pub fn text(&self) -> String {
        let mut o = String::new();
        o.push_str(&self.title);
        o.push('\n');
        for s in &self.sections {
            o.push('\n');
            o.push_str(&s.heading.to_uppercase());
            o.push('\n');
            for l in &s.lines {
                match l.style {
                    Style::Body => o.push_str(&l.text),
                    Style::Sub => {
                        o.push('\n');
                        o.push_str(&l.text)
                    }
                    Style::Bullet => {
                        o.push_str("• ");
                        o.push_str(&l.text)
                    }
                    Style::Quote => {
                        o.push_str("    ");
                        o.push_str(&l.text)
                    }
                }
                o.push('\n');
            }
        }
        o.push('\n');
        o.push_str(&self.marker());
        o.push('\n');
        o
    }
}

/// The file name of the version `fingerprint`.
pub fn file_name(fingerprint: &str) -> String {
    format!("{FILE_PREFIX}{fingerprint}.pdf")
}

/// The marker line of the version `fingerprint` of `opportunity_id`.
pub fn marker(opportunity_id: &str, fingerprint: &str) -> String {
    format!("{NOTE_MARKER}{opportunity_id}/{fingerprint}")
}

fn text_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Lever's words for a rating.
pub fn rating_words(r: i64) -> &'static str {
    match r {
        4 => "strong yes",
        3 => "yes",
        2 => "no",
        _ => "strong no",
    }
}

/// `m:ss` (or `h:mm:ss`).
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The first words of a question, for a citation.
pub fn short(text: &str, words: usize) -> String {
    let w: Vec<&str> = text.split_whitespace().collect();
    let mut s = w.iter().take(words).copied().collect::<Vec<_>>().join(" ");
    if w.len() > words {
        s.push('…');
    }
    s
}

/// Lever user id → name, from the interviewers Lever listed and the forms.
fn people(g: &Gathered) -> BTreeMap<String, String> {
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
fn interview_subject(g: &Gathered, form: &Value) -> Option<String> {
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
fn competency_of(lib: &CompetencyLibrary, skill: &str) -> Option<(String, String)> {
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
type PanelRatings = (
    BTreeMap<String, Vec<PanelView>>,
    BTreeMap<String, String>,
    BTreeSet<String>,
);

fn panel_ratings(g: &Gathered, cfg: &BriefingConfig, lib: &CompetencyLibrary) -> PanelRatings {
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
fn advisory(
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

fn verdict(panel: &[PanelView], advisory: &[AdvisoryView]) -> Verdict {
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

/// The résumé's current role, years of experience and education.
fn resume_lines(g: &Gathered, now: DateTime<Utc>) -> (Option<String>, Option<String>) {
    let parsed = g
        .resumes
        .iter()
        .max_by_key(|r| r.get("createdAt").and_then(Value::as_i64).unwrap_or(0))
        .and_then(|r| r.get("parsedData"));
    let Some(parsed) = parsed else {
        return (None, None);
    };
    let month = |v: Option<&Value>| -> Option<i64> {
        let v = v?;
        let year = v.get("year").and_then(Value::as_i64)?;
        let m = v
            .get("month")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .clamp(1, 12);
        Some(year * 12 + m - 1)
    };
    let this_month = i64::from(now.year()) * 12 + i64::from(now.month0());
    let positions: Vec<&Value> = parsed
        .get("positions")
        .and_then(Value::as_array)
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let mut spans: Vec<(i64, i64)> = positions
        .iter()
        .filter_map(|p| {
            let start = month(p.get("start"))?;
            let end = month(p.get("end")).unwrap_or(this_month);
            (end >= start).then_some((start, end + 1))
        })
        .collect();
    spans.sort();
    let mut months = 0;
    let mut reach = i64::MIN;
    for (s, e) in spans {
        let s = s.max(reach);
        if e > s {
            months += e - s;
        }
        reach = reach.max(e);
    }
    let current = positions
        .iter()
        .find(|p| month(p.get("end")).is_none())
        .or_else(|| positions.iter().max_by_key(|p| month(p.get("start"))));
    let role = current.map(|p| {
        let title = text_of(p, "title").unwrap_or("a role");
        let org = text_of(p, "org")
            .map(|o| format!(" at {o}"))
            .unwrap_or_default();
        let since = p
            .get("start")
            .and_then(|s| s.get("year"))
            .and_then(Value::as_i64)
            .map(|y| format!(" (since {y})"))
            .unwrap_or_default();
        let now = if month(p.get("end")).is_none() {
            ""
        } else {
            "most recently "
        };
        format!("{now}{title}{org}{since}")
    });
    let years = (months as f64 / 12.0).round() as i64;
    let school = parsed
        .get("schools")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .map(|s| {
            let what: Vec<&str> = [text_of(s, "degree"), text_of(s, "field")]
                .into_iter()
                .flatten()
                .collect();
            let org = text_of(s, "org").unwrap_or("a school");
            if what.is_empty() {
                org.to_owned()
            } else {
                format!("{}, {org}", what.join(" in "))
            }
        });
    let mut exp = if positions.is_empty() {
        None
    } else {
        let roles = positions.len();
        Some(format!(
            "About {years} year{} of experience across {roles} role{} (from the résumé Lever parsed)",
            if years == 1 { "" } else { "s" },
            if roles == 1 { "" } else { "s" }
        ))
    };
    if let Some(school) = school {
        exp = Some(match exp {
            Some(e) => format!("{e}; education: {school}."),
            None => format!("Education: {school}."),
        });
    } else if let Some(e) = exp.as_mut() {
        e.push('.');
    }
    (role, exp)
}

/// Composes the briefing of what `g` holds.
pub fn compose(
    g: &Gathered,
    cfg: &BriefingConfig,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Briefing {
    let lib = CompetencyLibrary::with(&cfg.competencies);
    let opportunity_id = text_of(&g.opportunity, "id").unwrap_or_default().to_owned();
    let candidate = text_of(&g.opportunity, "name")
        .unwrap_or("The candidate")
        .to_owned();
    let scores_shown = cfg.phase != Phase::Pilot;
    let (mut panel, mut labels, unrated) = panel_ratings(g, cfg, &lib);
    let (mut ai, ai_names) = advisory(g);
    for (id, name) in ai_names {
        labels.entry(id).or_insert(name);
    }
    let overall = panel.remove(OVERALL).unwrap_or_default();

    // Competencies in the library's order, then the scorecards' own skills.
    let mut order: Vec<String> = lib
        .all()
        .iter()
        .map(|c| c.id.clone())
        .filter(|id| panel.contains_key(id) || ai.contains_key(id))
        .collect();
    for id in panel.keys().chain(ai.keys()) {
        if !order.contains(id) {
            order.push(id.clone());
        }
    }
    let mut competencies: Vec<CompetencyView> = order
        .iter()
        .map(|id| {
            let p = panel.remove(id).unwrap_or_default();
            let a = ai.remove(id).unwrap_or_default();
            CompetencyView {
                id: id.clone(),
                name: labels.get(id).cloned().unwrap_or_else(|| id.clone()),
                verdict: verdict(&p, &a),
                panel: p,
                advisory: a,
            }
        })
        .collect();
    // Divergences first: they are what the debrief is for.
    competencies.sort_by_key(|c| match c.verdict {
        Verdict::Diverge => 0,
        Verdict::Agree => 1,
        Verdict::Single => 2,
    });
    let mut gaps: Vec<(String, String)> = cfg
        .briefing
        .competencies
        .iter()
        .chain(unrated.iter())
        .filter(|id| !order.contains(id))
        .map(|id| {
            let name = lib
                .get(id)
                .map(|c| c.name.clone())
                .or_else(|| labels.get(id).cloned())
                .unwrap_or_else(|| id.clone());
            (id.clone(), name)
        })
        .collect();
    gaps.dedup();

    let advisory_words = |a: &AdvisoryView| {
        if scores_shown {
            format!(
                "{} ({}), confidence {:.2}",
                a.score,
                rating_words(i64::from(a.score)),
                a.confidence
            )
        } else {
            format!("leans {}", if a.score >= 3 { "yes" } else { "no" })
        }
    };
    let advisory_source = |a: &AdvisoryView| {
        let mut s = a.recording.clone();
        if let Some(q) = &a.question {
            s.push_str(&format!(", “{}”", short(q, 9)));
        }
        if let Some(at) = a.at {
            s.push_str(&format!(", at {}", clock(at)));
        }
        s
    };

    let mut sections = Vec::new();

    // 1. The candidate in three lines.
    let (role, experience) = resume_lines(g, now);
    let headline = text_of(&g.opportunity, "headline").map(str::to_owned);
    let strongest = competencies
        .iter()
        .flat_map(|c| c.advisory.iter().map(move |a| (c, a)))
        .filter(|(_, a)| a.quote.is_some() && a.score >= 3)
        .max_by(|x, y| {
            x.1.score
                .cmp(&y.1.score)
                .then(x.1.confidence.total_cmp(&y.1.confidence))
        })
        .map(|(c, a)| {
            format!(
                "Strongest evidence — {}: “{}” ({}).",
                c.name,
                a.quote.as_deref().unwrap_or_default(),
                advisory_source(a)
            )
        })
        .or_else(|| {
            competencies
                .iter()
                .flat_map(|c| c.panel.iter().map(move |p| (c, p)))
                .filter(|(_, p)| p.rating >= 3 && p.evidence.is_some())
                .max_by_key(|(_, p)| p.rating)
                .map(|(c, p)| {
                    format!(
                        "Strongest evidence — {}: {} wrote “{}”.",
                        c.name,
                        p.name,
                        p.evidence.as_deref().unwrap_or_default()
                    )
                })
        })
        .unwrap_or_else(|| "Strongest evidence: none recorded yet.".to_owned());
    sections.push(Section {
        heading: "The candidate".into(),
        lines: vec![
            body(format!(
                "{candidate} — {}.",
                role.or(headline)
                    .unwrap_or_else(|| "current role not known (no parsed résumé)".into())
            )),
            body(experience.unwrap_or_else(|| {
                "Experience: Lever holds no parsed résumé for this opportunity.".into()
            })),
            body(strongest),
        ],
    });

    // 2. Per competency, side by side.
    let mut lines = Vec::new();
    if competencies.is_empty() {
        lines.push(body(
            "No scorecard and no recorded interview has rated a competency yet.",
        ));
    }
    for c in &competencies {
        let views: Vec<String> = c
            .panel
            .iter()
            .map(|p| format!("{} rated {} ({})", p.name, p.rating, rating_words(p.rating)))
            .chain(
                c.advisory
                    .iter()
                    .map(|a| format!("panelflow (advisory) {}", advisory_words(a))),
            )
            .collect();
        let how = match c.verdict {
            Verdict::Diverge => "the views diverge",
            Verdict::Agree => "the views agree",
            Verdict::Single => "one view only",
        };
        lines.push(Line {
            style: Style::Sub,
            text: format!("{} — {how}", c.name),
        });
        lines.push(body(format!("{}.", views.join("; "))));
        if c.verdict == Verdict::Diverge {
            if let (Some(hi), Some(lo)) = (
                c.panel.iter().max_by_key(|p| p.rating),
                c.panel.iter().min_by_key(|p| p.rating),
            ) {
                if hi.rating != lo.rating {
                    lines.push(body(format!(
                        "Where they diverge: {} saw a {} ({}) and {} a {} ({}).",
                        hi.name,
                        rating_words(hi.rating),
                        hi.rating,
                        lo.name,
                        rating_words(lo.rating),
                        lo.rating
                    )));
                }
            }
            let panel_yes = c.panel.iter().any(|p| p.rating >= 3);
            let panel_no = c.panel.iter().any(|p| p.rating <= 2);
            for a in &c.advisory {
                let ai_yes = a.score >= 3;
                if (ai_yes && panel_no && !panel_yes) || (!ai_yes && panel_yes && !panel_no) {
                    lines.push(body(format!(
                        "Where they diverge: the panel leans {} and panelflow's advisory view {}.",
                        if panel_yes { "yes" } else { "no" },
                        if ai_yes { "yes" } else { "no" }
                    )));
                }
            }
        }
        for p in &c.panel {
            let on = p
                .interview
                .as_deref()
                .map(|i| format!(", {i}"))
                .unwrap_or_default();
            lines.push(Line {
                style: Style::Quote,
                text: match &p.evidence {
                    Some(e) => format!("{} ({}{on}): “{e}”", p.name, p.rating),
                    None => format!("{} ({}{on}): no comment on the scorecard", p.name, p.rating),
                },
            });
        }
        for a in &c.advisory {
            lines.push(Line {
                style: Style::Quote,
                text: match &a.quote {
                    Some(q) => format!("panelflow: “{q}” ({})", advisory_source(a)),
                    None => format!("panelflow: no quote ({})", advisory_source(a)),
                },
            });
        }
    }
    sections.push(Section {
        heading: "Competencies: the panel and panelflow side by side".into(),
        lines,
    });

    // Lever's overall recommendations.
    if !overall.is_empty() {
        sections.push(Section {
            heading: "Overall recommendations".into(),
            lines: overall
                .iter()
                .map(|p| {
                    bullet(match &p.evidence {
                        Some(e) => format!(
                            "{}: {} ({}) — “{e}”",
                            p.name,
                            rating_words(p.rating),
                            p.rating
                        ),
                        None => format!("{}: {} ({})", p.name, rating_words(p.rating), p.rating),
                    })
                })
                .collect(),
        });
    }

    // 3. What no one has evidence for yet.
    let unanswered: Vec<String> = g
        .summaries
        .iter()
        .flat_map(|s| {
            s.answers
                .iter()
                .filter(|a| {
                    !a.answered
                        || s.unanswered_questions
                            .iter()
                            .any(|q| Some(q) == a.question_id.as_ref())
                })
                .filter_map(|a| a.question.clone())
        })
        .collect();
    let mut lines: Vec<Line> = gaps
        .iter()
        .map(|(_, name)| {
            bullet(format!(
                "{name}: no panelist rating and no recorded answer."
            ))
        })
        .collect();
    for q in &unanswered {
        lines.push(bullet(format!(
            "“{}” (one-way interview): left unanswered.",
            short(q, 14)
        )));
    }
    if lines.is_empty() {
        lines.push(body(
            "Every competency the panel and panelflow looked at has at least one view.",
        ));
    }
    sections.push(Section {
        heading: "No evidence yet".into(),
        lines,
    });

    // 4. Questions to probe.
    let mut probes = Vec::new();
    for c in competencies
        .iter()
        .filter(|c| c.verdict == Verdict::Diverge)
    {
        let hi = c.panel.iter().max_by_key(|p| p.rating);
        let lo = c.panel.iter().min_by_key(|p| p.rating);
        probes.push(bullet(match (hi, lo) {
            (Some(hi), Some(lo)) if hi.rating != lo.rating => format!(
                "{}: ask {} which example convinced them and {} what was missing; ask the candidate for a second, specific example.",
                c.name, hi.name, lo.name
            ),
            _ => format!(
                "{}: the panel and panelflow's advisory view differ; ask the candidate for a second, specific example and check it against the recording.",
                c.name
            ),
        }));
    }
    for c in competencies
        .iter()
        .filter(|c| c.verdict == Verdict::Single && c.panel.is_empty())
    {
        if let Some(a) = c.advisory.first() {
            probes.push(bullet(format!(
                "{}: only panelflow's advisory view ({}) — ask for a specific example so a panelist can judge it.",
                c.name,
                if a.score >= 3 { "leans yes" } else { "leans no" }
            )));
        }
    }
    for (id, name) in &gaps {
        let hint = lib
            .get(id)
            .map(|c| format!(" ({})", c.definition.trim_end_matches('.')))
            .unwrap_or_default();
        probes.push(bullet(format!(
            "{name}: nobody has evidence yet — ask for one real situation{hint}."
        )));
    }
    for q in &unanswered {
        probes.push(bullet(format!(
            "Ask the unanswered question again: “{}”.",
            short(q, 20)
        )));
    }
    for s in &g.summaries {
        for f in &s.highlights.red_flags {
            let what = match f.kind {
                RedFlagKind::NoAnswer => continue,
                RedFlagKind::Evasive => "was declined or dodged",
                RedFlagKind::OffTopic => "was about something else",
                RedFlagKind::Blaming => "put the fault on others",
            };
            let at =
                f.at.map(|t| format!(" at {}", clock(t)))
                    .unwrap_or_default();
            probes.push(bullet(format!(
                "An answer {what}{at}: “{}”. Ask what they did themselves.",
                f.text
            )));
        }
    }
    for c in &competencies {
        for a in c.advisory.iter().filter(|a| a.confidence < 0.6) {
            probes.push(bullet(format!(
                "{}: panelflow's view is uncertain (confidence {:.2}); let the panel's evidence decide.",
                c.name, a.confidence
            )));
        }
    }
    if probes.is_empty() {
        probes.push(body(
            "No divergence or gap to probe: confirm the panel's shared view.",
        ));
    }
    sections.push(Section {
        heading: "Questions to probe in the debrief".into(),
        lines: probes,
    });

    // 5. Calibration.
    let mut lines = Vec::new();
    let mut panelists: Vec<(&String, &String)> = competencies
        .iter()
        .flat_map(|c| c.panel.iter())
        .chain(overall.iter())
        .map(|p| (&p.reviewer_id, &p.name))
        .collect();
    panelists.sort();
    panelists.dedup();
    for (id, name) in &panelists {
        let Some(cal) = g.calibration.get(*id) else {
            continue;
        };
        match cal.leniency {
            Some(l) if l.abs() >= cfg.briefing.leniency_threshold && cal.co_rated >= cfg.briefing.min_co_rated => {
                lines.push(bullet(format!(
                    "{name} is known to rate {:.1} {} the rest of the panel ({} co-rated ratings): weigh their ratings with that in mind.",
                    l.abs(),
                    if l > 0.0 { "above" } else { "below" },
                    cal.co_rated
                )));
            }
            Some(l) => lines.push(bullet(format!(
                "{name} rates in line with their panels (mean offset {l:+.1} over {} co-rated ratings).",
                cal.co_rated
            ))),
            None => {}
        }
    }
    if lines.is_empty() {
        lines.push(body(if g.calibration.is_empty() {
            "No calibration figures for these panelists yet (the aggregates have not seen enough of their ratings)."
        } else {
            "No panelist on this candidate rates far from their panels."
        }));
    }
    sections.push(Section {
        heading: "Calibration context".into(),
        lines,
    });

    // Sources and versions.
    let scorecards = g.feedback.len();
    sections.push(Section {
        heading: "Sources".into(),
        lines: vec![body(format!(
            "{} recorded interview{} analysed by panelflow; {scorecards} scorecard{}; {} interview{} and {} panel{} scheduled in Lever; {} résumé{}.",
            g.summaries.len(),
            plural(g.summaries.len()),
            plural(scorecards),
            g.interviews.len(),
            plural(g.interviews.len()),
            g.panels.len(),
            plural(g.panels.len()),
            g.resumes.len(),
            plural(g.resumes.len()),
        ))],
    });
    let mut versions: BTreeSet<String> = BTreeSet::new();
    let mut configs: BTreeSet<String> = BTreeSet::new();
    for s in &g.summaries {
        for m in &s.models {
            versions.insert(format!("{} {}", m.name, m.version));
        }
        if let Some(v) = &s.analysis.scoring_model {
            versions.insert(format!("scoring model {v}"));
        }
        configs.insert(format!(
            "{}@{} (config {})",
            s.pipeline.name, s.pipeline.version, s.pipeline.config_hash
        ));
    }
    sections.push(Section {
        heading: "About this briefing".into(),
        lines: vec![
            body(cfg.notice.clone()),
            body("The panel decides; panelflow's scores are advisory and never move a candidate on their own.".to_owned()),
            body(format!(
                "Models: {}. Analysed by: {}. Briefing by {} (config {}), version {fingerprint}, {}.",
                if versions.is_empty() { "none".into() } else { versions.into_iter().collect::<Vec<_>>().join(", ") },
                if configs.is_empty() { "none".into() } else { configs.into_iter().collect::<Vec<_>>().join(", ") },
                cfg.pipeline,
                cfg.config_hash,
                now.format("%Y-%m-%d %H:%M UTC"),
            )),
        ],
    });

    Briefing {
        opportunity_id,
        title: format!("Debrief briefing — {candidate}"),
        candidate,
        fingerprint: fingerprint.to_owned(),
        generated_at: now.to_rfc3339(),
        sections,
        competencies,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn body(text: impl Into<String>) -> Line {
    Line {
        style: Style::Body,
        text: text.into(),
    }
}

fn bullet(text: impl Into<String>) -> Line {
    Line {
        style: Style::Bullet,
        text: text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(user: &str, name: &str, score: i64, comment: &str) -> Value {
        json!({"id": format!("fb-{user}"), "user": user, "text": "Technical interview",
               "completedAt": 1, "fields": [
            {"type": "scorecard", "text": "Skills",
             "scores": [{"text": "Problem solving"}, {"text": "Customer focus"}],
             "value": [{"score": score, "comment": comment}, {"score": null}]},
            {"type": "textarea", "text": "Notes", "value": format!("{name}'s notes")}
        ]})
    }

    #[test]
    fn diverging_panelists_are_named_with_their_evidence() {
        let g = Gathered {
            opportunity: json!({"id": "opp-1", "name": "Ada Candidate"}),
            interviews: vec![json!({"id": "iv-1", "subject": "Onsite",
                "interviewers": [{"id": "u-1", "name": "Pat"}, {"id": "u-2", "name": "Sam"}]})],
            feedback: vec![
                form("u-1", "Pat", 4, "Clear trade-offs"),
                form("u-2", "Sam", 2, "Vague on the fix"),
            ],
            resumes: vec![json!({"id": "r1", "createdAt": 1, "parsedData": {
                "positions": [{"org": "Acme", "title": "Engineer", "start": {"year": 2018, "month": 1}}],
                "schools": [{"org": "State U", "degree": "BSc", "field": "Physics"}]}})],
            ..Gathered::default()
        };
        let cfg = BriefingConfig {
            notice: "advisory".into(),
            ..BriefingConfig::default()
        };
        let now = DateTime::parse_from_rfc3339("2026-01-15T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let b = compose(&g, &cfg, "fp", now);
        let text = b.text();
        assert!(
            text.contains("Problem solving — the views diverge"),
            "{text}"
        );
        assert!(
            text.contains("“Clear trade-offs”") && text.contains("“Vague on the fix”"),
            "{text}"
        );
        assert!(
            text.contains("Customer focus: no panelist rating"),
            "{text}"
        );
        assert!(text.contains("Engineer at Acme (since 2018)"), "{text}");
        assert!(
            text.contains("About 8 years of experience across 1 role"),
            "{text}"
        );
        assert!(text.ends_with("panelflow-briefing-id: opp-1/fp\n"));
        assert_eq!(b.competencies[0].verdict, Verdict::Diverge);
    }

    #[test]
    fn verdicts() {
        let p = |r| PanelView {
            reviewer_id: "u".into(),
            name: "u".into(),
            rating: r,
            evidence: None,
            interview: None,
        };
        assert_eq!(verdict(&[p(3), p(4)], &[]), Verdict::Agree);
        assert_eq!(verdict(&[p(3), p(2)], &[]), Verdict::Diverge);
        assert_eq!(verdict(&[p(4), p(2)], &[]), Verdict::Diverge);
        assert_eq!(verdict(&[p(1)], &[]), Verdict::Single);
        assert_eq!(clock(71.4), "1:11");
    }
}
