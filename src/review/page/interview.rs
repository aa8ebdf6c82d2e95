//! The interview view: one interview's page, with its player, answers,
//! scores, plan and decision forms.

use std::fmt::Write as _;

use serde_json::Value;

use super::escape::{clock, esc, escaped_strs, path_segment, waited};
use super::layout::{layout, posting_label, s, status_badge};
use crate::review::auth::Principal;

pub(super) fn is_video(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    [".mp4", ".webm", ".mov", ".mkv", ".m4v"]
        .iter()
        .any(|e| path.ends_with(e))
}

/// Media URL of an answer's media index (falls back to the first).
fn media_for<'a>(media: &'a [&'a str], index: Option<u64>) -> &'a str {
    index
        .and_then(|i| media.get(i as usize).copied())
        .or_else(|| media.first().copied())
        .unwrap_or("")
}

fn seek_button(media: &str, at: f64) -> String {
    format!(
        "<button type=\"button\" class=\"seek\" data-src=\"{}\" data-t=\"{at:.2}\" title=\"Play from {}\">{}</button>",
        esc(media),
        clock(at),
        clock(at)
    )
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "—".into())
}

/// One interview's page from its view (see [`item_view`](super::item_view)).
pub fn interview_page(view: &Value, who: (&Principal, &str)) -> String {
    let csrf = who.1;
    let id = s(view, "interview_id");
    let summary = view.get("summary").unwrap_or(&Value::Null);
    let media: Vec<&str> = view
        .get("media_urls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let answers: Vec<&Value> = summary
        .get("answers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    // Question id → media index of its answer (quotes name the question).
    let media_of_question = |qid: Option<&str>| -> Option<u64> {
        let qid = qid?;
        answers
            .iter()
            .find(|a| a.get("question_id").and_then(Value::as_str) == Some(qid))
            .and_then(|a| a.get("media_index").and_then(Value::as_u64))
    };

    let mut b = String::new();
    let _ = write!(
        b,
        "<p><a href=\"/queue\">← Queue</a> · <a id=\"feedback-link\" href=\"/feedback/{}\">Feedback draft</a></p>\
         <h1 id=\"interview-id\">{}</h1>\
         <p>Status: <span id=\"status\">{}</span> · Candidate <code>{}</code> · Opportunity <code>{}</code> · \
         Posting {} · Job family {} · Pipeline version {} · Waiting {}</p>",
        path_segment(id),
        esc(id),
        status_badge(s(view, "status")),
        esc(s(view, "candidate_id")),
        esc(s(view, "opportunity_id")),
        esc(&posting_label(view)),
        esc(if s(view, "job_family").is_empty() { "—" } else { s(view, "job_family") }),
        esc(s(view, "pipeline_version")),
        esc(&waited(view.get("waiting_s").and_then(Value::as_i64).unwrap_or(0))),
    );
    let reasons: Vec<String> = escaped_strs(view, "reasons");
    if !reasons.is_empty() {
        let _ = write!(
            b,
            "<p id=\"reasons\">Held for review: {}</p>",
            reasons.join(", ")
        );
    }
    if let Some(f) = view.get("failure").and_then(Value::as_str) {
        let _ = write!(
            b,
            "<p class=\"error\" id=\"failure\">The interview could not be analysed: {}</p>",
            esc(f)
        );
    }
    b.push_str("<p class=\"muted\">AI-generated and advisory: verify against the recording before deciding.</p>");

    // Player.
    b.push_str("<section id=\"recording\"><h2>Recording</h2>");
    if let Some(first) = media.first() {
        let tag = if is_video(first) { "video" } else { "audio" };
        let _ = write!(
            b,
            "<{tag} id=\"player\" controls preload=\"metadata\" src=\"{}\"></{tag}>",
            esc(first)
        );
        if media.len() > 1 {
            b.push_str("<p>Parts: ");
            for (i, m) in media.iter().enumerate() {
                let _ = write!(
                    b,
                    "<button type=\"button\" class=\"seek\" data-src=\"{}\" data-t=\"0\">{}</button> ",
                    esc(m),
                    i + 1
                );
            }
            b.push_str("</p>");
        }
    } else {
        b.push_str("<p class=\"muted\">No recording link.</p>");
    }
    b.push_str("</section>");

    // Summary and key quotes.
    if summary.is_object() {
        let extract = s(summary, "interview_transcript_summary");
        if !extract.is_empty() {
            let _ = write!(
                b,
                "<section id=\"summary\"><h2>Summary</h2><p>{}</p></section>",
                esc(extract)
            );
        }
        let h = summary.get("highlights").unwrap_or(&Value::Null);
        b.push_str("<section id=\"quotes\"><h2>Strengths and concerns</h2>");
        // Present only for roles that may see scores: both come from them.
        for (key, title) in [("strengths", "Strengths"), ("concerns", "Concerns")] {
            let Some(points) = h.get(key).and_then(Value::as_array) else {
                continue;
            };
            let _ = write!(b, "<h3>{title}</h3>");
            if points.is_empty() {
                b.push_str("<p class=\"muted\">None.</p>");
                continue;
            }
            let _ = write!(b, "<ul id=\"{key}\">");
            for q in points {
                let qid = q.get("question_id").and_then(Value::as_str);
                let seek = num(q, "at")
                    .map(|at| seek_button(media_for(&media, media_of_question(qid)), at))
                    .unwrap_or_default();
                let quote = match s(q, "quote") {
                    "" => String::new(),
                    quote => format!(" — “{}”", esc(quote)),
                };
                let _ = write!(
                    b,
                    "<li class=\"quote\">{seek} {}{quote}</li>",
                    esc(s(q, "text"))
                );
            }
            b.push_str("</ul>");
        }
        if let Some(red) = h.get("red_flags").and_then(Value::as_array) {
            b.push_str("<h3>Red flags</h3>");
            if red.is_empty() {
                b.push_str("<p class=\"muted\">None.</p>");
            } else {
                b.push_str("<ul id=\"red_flags\">");
                for r in red {
                    let qid = r.get("question_id").and_then(Value::as_str);
                    let at = num(r, "at").or_else(|| {
                        answers
                            .iter()
                            .find(|a| {
                                qid.is_some() && a.get("question_id").and_then(Value::as_str) == qid
                            })
                            .and_then(|a| num(a, "start"))
                    });
                    let seek = at
                        .map(|t| seek_button(media_for(&media, media_of_question(qid)), t))
                        .unwrap_or_default();
                    let _ = write!(
                        b,
                        "<li class=\"quote\">{seek} <strong>{}</strong>: {}</li>",
                        esc(&s(r, "kind").replace('_', " ")),
                        esc(s(r, "text"))
                    );
                }
                b.push_str("</ul>");
            }
        }
        b.push_str("</section>");

        // Answers.
        b.push_str("<section id=\"answers\"><h2>Answers</h2>");
        if answers.is_empty() {
            b.push_str("<p class=\"muted\">No answers.</p>");
        } else {
            b.push_str("<table><thead><tr><th>Question</th><th>Answer</th><th>Time</th>");
            let show_tone = answers
                .iter()
                .any(|a| a.get("tone").is_some() || a.get("sentiment").is_some());
            if show_tone {
                b.push_str("<th>Sentiment / tone</th>");
            }
            b.push_str("</tr></thead><tbody>");
            for a in &answers {
                let m = media_for(&media, a.get("media_index").and_then(Value::as_u64));
                let time = match (num(a, "start"), num(a, "end")) {
                    (Some(st), Some(en)) => format!("{}–{}", seek_button(m, st), esc(&clock(en))),
                    (Some(st), None) => seek_button(m, st),
                    _ => "—".into(),
                };
                let q = match (s(a, "question"), s(a, "question_id")) {
                    ("", "") => "—".to_owned(),
                    ("", qid) => qid.to_owned(),
                    (q, _) => q.to_owned(),
                };
                let _ = write!(
                    b,
                    "<tr class=\"answer\"><td>{}</td><td>{}</td><td>{time}</td>",
                    esc(&q),
                    esc(s(a, "text"))
                );
                if show_tone {
                    let mut bits = Vec::new();
                    if let Some(sent) = a.get("sentiment") {
                        let label = sent.get("label").and_then(Value::as_str).unwrap_or("");
                        bits.push(format!("sentiment {}", esc(label)));
                    }
                    if let Some(tone) = a.get("tone").and_then(Value::as_object) {
                        for (k, v) in tone.iter().take(4) {
                            if let Some(x) = v.as_f64() {
                                bits.push(format!("{} {x:.1}", esc(k)));
                            }
                        }
                    }
                    if let Some(fl) = a.get("flags").and_then(Value::as_array) {
                        for f in fl.iter().filter_map(Value::as_str) {
                            bits.push(format!("<span class=\"badge\">{}</span>", esc(f)));
                        }
                    }
                    let _ = write!(b, "<td>{}</td>", bits.join("<br>"));
                }
                b.push_str("</tr>");
            }
            b.push_str("</tbody></table>");
        }
        b.push_str("</section>");

        // Sentiment and flags.
        if summary.get("flags").is_some() || summary.get("sentiment").is_some() {
            b.push_str("<section id=\"flags\"><h2>Sentiment and tone flags</h2>");
            if let Some(label) = summary.get("sentiment").and_then(Value::as_str) {
                let _ = write!(
                    b,
                    "<p>Overall sentiment: <strong>{}</strong> ({})</p>",
                    esc(label),
                    fmt_opt(num(summary, "sentiment_score"), 2)
                );
            }
            let flags: Vec<&Value> = summary
                .get("flags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .collect();
            if flags.is_empty() {
                b.push_str("<p class=\"muted\">No flags.</p>");
            } else {
                b.push_str("<table><thead><tr><th>Flag</th><th>Severity</th><th>Question</th><th>Figures</th><th>Evidence</th></tr></thead><tbody>");
                for f in flags {
                    let figures: Vec<String> = f
                        .get("figures")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| format!("{} {}", esc(k), fmt_opt(v.as_f64(), 2)))
                        .collect();
                    let _ = write!(
                        b,
                        "<tr class=\"flag\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(s(f, "name")),
                        esc(s(f, "severity")),
                        esc(s(f, "question_id")),
                        figures.join(", "),
                        esc(s(f, "evidence"))
                    );
                }
                b.push_str("</tbody></table>");
            }
            b.push_str("</section>");
        }

        // Skills.
        let skills: Vec<String> = summary
            .get("key_skills_matched")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("skill").and_then(Value::as_str))
            .map(esc)
            .collect();
        let missing: Vec<String> = escaped_strs(summary, "skills_missing");
        let _ = write!(
            b,
            "<section id=\"skills\"><h2>Skills</h2><p>Matched: {}</p><p>Not mentioned: {}</p></section>",
            if skills.is_empty() { "—".into() } else { skills.join(", ") },
            if missing.is_empty() { "—".into() } else { missing.join(", ") }
        );

        // Scores: present in the view only for roles that see them.
        if let Some(scores) = summary.get("scores").and_then(Value::as_array) {
            let _ = write!(
                b,
                "<section id=\"scores\"><h2>Scores</h2><p>Overall score: <strong id=\"overall-score\">{}</strong> / 4</p>",
                fmt_opt(num(summary, "overall_score"), 2)
            );
            b.push_str("<table><thead><tr><th>Competency</th><th>Score</th><th>Confidence</th><th>Criteria met</th></tr></thead><tbody>");
            for sc in scores {
                let name = if s(sc, "name").is_empty() {
                    s(sc, "competency")
                } else {
                    s(sc, "name")
                };
                let low = sc.get("low_confidence").and_then(Value::as_bool) == Some(true);
                let met: Vec<String> = escaped_strs(sc, "criteria_met");
                let _ = write!(
                    b,
                    "<tr class=\"score\"><td>{}</td><td>{}/4</td><td>{}{}</td><td>{}</td></tr>",
                    esc(name),
                    fmt_opt(num(sc, "score"), 0),
                    fmt_opt(num(sc, "confidence"), 2),
                    if low { " (low)" } else { "" },
                    met.join(", ")
                );
            }
            b.push_str("</tbody></table></section>");
        }
    }

    // Calibration: in the view only for roles that see scores.
    if let Some(cal) = view.get("calibration") {
        b.push_str("<section id=\"calibration\"><h2>Panel calibration</h2>");
        if cal.is_null() {
            b.push_str("<p class=\"muted\" id=\"no-calibration\">No calibration data yet for this candidate.</p>");
        } else {
            b.push_str("<table id=\"panel\"><thead><tr><th>Posting</th><th>Competency</th><th>Panelists</th><th>Ratings</th>\
                        <th>Mean</th><th>Dispersion</th><th>AI score</th><th>AI − panel</th></tr></thead><tbody>");
            for r in cal
                .get("panel")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(s(r, "posting_id")),
                    esc(s(r, "competency")),
                    fmt_opt(num(r, "panelists"), 0),
                    esc(&s(r, "ratings").replace(';', "; ")),
                    fmt_opt(num(r, "rating_mean"), 2),
                    fmt_opt(num(r, "dispersion"), 2),
                    fmt_opt(num(r, "ai_score"), 2),
                    fmt_opt(num(r, "ai_minus_panel"), 2),
                );
            }
            b.push_str("</tbody></table>");
            let reviewers: Vec<&Value> = cal
                .get("reviewers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .collect();
            if !reviewers.is_empty() {
                b.push_str("<table id=\"reviewers\"><thead><tr><th>Reviewer</th><th>Scope</th><th>Ratings</th><th>Mean</th>\
                            <th>Leniency</th><th>Agreement (panel)</th><th>Agreement (AI)</th></tr></thead><tbody>");
                for r in reviewers {
                    let _ = write!(
                        b,
                        "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(s(r, "reviewer_id")),
                        esc(s(r, "scope_kind")),
                        esc(s(r, "scope")),
                        fmt_opt(num(r, "ratings"), 0),
                        fmt_opt(num(r, "mean"), 2),
                        fmt_opt(num(r, "leniency"), 2),
                        fmt_opt(num(r, "agreement_panel"), 2),
                        fmt_opt(num(r, "agreement_ai"), 2),
                    );
                }
                b.push_str("</tbody></table>");
            }
        }
        b.push_str("</section>");
    }

    // What would be written to Lever.
    let plan = view.get("plan").unwrap_or(&Value::Null);
    b.push_str("<section id=\"lever\"><h2>For Lever</h2>");
    match plan.get("note").and_then(Value::as_str) {
        Some(note) => {
            let _ = write!(
                b,
                "<h3>Private note</h3><pre id=\"note\">{}</pre>",
                esc(note)
            );
        }
        None if plan.get("note_hidden").and_then(Value::as_bool) == Some(true) => {
            b.push_str("<p class=\"muted\">The note holds figures your role does not see.</p>");
        }
        None => b.push_str("<p class=\"muted\">No note.</p>"),
    }
    let list = |key: &str| -> String {
        let v: Vec<String> = plan
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(esc)
            .collect();
        if v.is_empty() {
            "—".into()
        } else {
            v.join(", ")
        }
    };
    let _ = write!(
        b,
        "<p>Tags to add: {} · to remove: {} · stage move: {}</p>",
        list("add_tags"),
        list("remove_tags"),
        esc(plan.get("stage").and_then(Value::as_str).unwrap_or("none"))
    );
    if let Some(card) = plan.get("scorecard").filter(|c| !c.is_null()) {
        let _ = write!(
            b,
            "<p>Scorecard (template {}): {} fields</p>",
            esc(s(card, "base_template_id")),
            card.get("field_values")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        );
    }
    b.push_str("</section>");

    // Decisions and the write-back.
    let decisions: Vec<&Value> = view
        .get("decisions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    b.push_str("<section id=\"history\"><h2>Decisions</h2>");
    if decisions.is_empty() {
        b.push_str("<p class=\"muted\">None yet.</p>");
    } else {
        b.push_str("<ul id=\"decisions\">");
        for d in decisions {
            let comment = s(d, "comment");
            let _ = write!(
                b,
                "<li class=\"decision\">{} by <strong>{}</strong> ({}) at {}{}{}</li>",
                esc(s(d, "action")),
                esc(s(d, "user")),
                esc(s(d, "role")),
                esc(s(d, "at")),
                if d.get("note_edited").and_then(Value::as_bool) == Some(true)
                    || d.get("edited_note").is_some_and(|n| !n.is_null())
                {
                    " — note edited"
                } else {
                    ""
                },
                if comment.is_empty() {
                    String::new()
                } else {
                    format!(" — “{}”", esc(comment))
                },
            );
        }
        b.push_str("</ul>");
    }
    if let Some(report) = view.get("write_report").filter(|r| !r.is_null()) {
        let _ = write!(
            b,
            "<p id=\"write-report\">Written to Lever: note {} ({}), tags added {}, stage moved {}, scorecard {}</p>",
            esc(s(report, "note_id")),
            if report.get("note_created").and_then(Value::as_bool) == Some(true) { "new" } else { "already there" },
            report.get("tags_added").and_then(Value::as_array).map_or(0, Vec::len),
            report.get("stage_moved").and_then(Value::as_bool).unwrap_or(false),
            esc(s(report, "feedback_id")),
        );
    }
    if let Some(err) = view.get("write_error").and_then(Value::as_str) {
        let _ = write!(
            b,
            "<p class=\"error\" id=\"write-error\">Writing to Lever failed: {}</p>",
            esc(err)
        );
    }
    b.push_str("</section>");

    // Actions.
    let action = |name: &str| format!("/interviews/{}/{name}", path_segment(id));
    let hidden = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(csrf)
    );
    if view.get("can_decide").and_then(Value::as_bool) == Some(true) {
        b.push_str("<section id=\"decide\"><h2>Decide</h2>");
        let _ = write!(
            b,
            "<form method=\"post\" action=\"{}\" id=\"approve-form\">{hidden}\
             <label>Comment (optional) <input type=\"text\" name=\"comment\" maxlength=\"500\"></label> \
             <button type=\"submit\" id=\"approve\">Approve and write to Lever</button></form>",
            action("approve")
        );
        if view.get("can_edit").and_then(Value::as_bool) == Some(true) {
            let _ = write!(
                b,
                "<form method=\"post\" action=\"{}\" id=\"edit-form\">{hidden}<h3>Edit the note, then approve</h3>\
                 <textarea name=\"note\" id=\"edit-note\" required>{}</textarea>\
                 <button type=\"submit\" id=\"approve-edited\">Approve with this note</button></form>",
                action("edit"),
                esc(plan.get("note").and_then(Value::as_str).unwrap_or(""))
            );
        }
        let _ = write!(
            b,
            "<form method=\"post\" action=\"{}\" id=\"reject-form\">{hidden}\
             <label>Why (optional) <input type=\"text\" name=\"comment\" maxlength=\"500\"></label> \
             <button type=\"submit\" id=\"reject\">Reject (nothing is written)</button></form></section>",
            action("reject")
        );
    } else if view.get("can_retry").and_then(Value::as_bool) == Some(true) {
        let _ = write!(
            b,
            "<section id=\"decide\"><form method=\"post\" action=\"{}\">{hidden}\
             <button type=\"submit\" id=\"retry\">Retry writing to Lever</button></form></section>",
            action("retry")
        );
    }
    layout(id, Some(who), &b)
}
