//! The briefing composed, section by section (including the questions to
//! probe).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::briefing::gather::Gathered;
use crate::briefing::BriefingConfig;
use panelflow_core::writeback::Phase;
use panelflow_models::analysis::competency::CompetencyLibrary;
use panelflow_models::analysis::highlights::RedFlagKind;

use super::fields::text_of;
use super::model::*;
use super::panel::{advisory, panel_ratings, verdict};
use super::render::{body, bullet, clock, plural, rating_words, short};
use super::resume::resume_lines;

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
