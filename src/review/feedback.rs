//! Feedback drafts for candidates with a decision: on the review page, for
//! an interview whose candidate Lever shows as advanced or archived, a
//! draft of two to four strengths and one to three areas for development,
//! each tied to the answer and the quote it comes from, in plain and kind
//! words. The recruiter edits it in the page; saving writes it to Lever as a
//! secret note headed "Feedback draft (not sent)". panelflow never sends it
//! to the candidate: it e-mails no one.
//!
//! A draft never mentions scores, tone, pace, accent, sentiment, protected
//! characteristics or other candidates: it is built from the answers'
//! evidence alone, and a quote holding a word of [`DENY`] is not used.
//! Every draft shown and every save (edited or not) is in the audit log,
//! with hashes of the texts rather than the texts.
//!
//! | route | what |
//! |---|---|
//! | `GET /feedback/{interview_id}` | the draft (HTML; JSON with `Accept: application/json`) |
//! | `POST /feedback/{interview_id}` | saves the (edited) draft as a secret Lever note (form: `draft`, `csrf`) |

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::auth::Principal;
use super::page::{clock, esc, layout, path_segment};
use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::store::audit::AuditEvent;
use panelflow_connectors::store::queue::{ReviewItem, ReviewQueue};
use panelflow_models::analysis::scoring::Score;
use panelflow_models::analysis::summary::{AnswerTranscript, Summary};

/// The first line of every saved draft note.
pub const NOTE_TITLE: &str = "Feedback draft (not sent)";
/// The marker a saved draft note ends with: `panelflow-feedback-draft: INTERVIEW SHA`.
pub const NOTE_MARKER: &str = "panelflow-feedback-draft: ";
/// Most strengths and areas for development.
const MOST_STRENGTHS: usize = 4;
const MOST_AREAS: usize = 3;
/// Longest draft accepted from the page.
const MAX_DRAFT_CHARS: usize = 10_000;
/// Most words of a quote.
const QUOTE_WORDS: usize = 30;

/// Words a draft never holds, in every form checked: scores and ratings,
/// voice and sentiment, protected characteristics, other candidates.
pub const DENY: &[&str] = &[
    "score",
    "scores",
    "scored",
    "scoring",
    "scorer",
    "scorecard",
    "rating",
    "ratings",
    "rate",
    "rates",
    "rated",
    "tone",
    "tones",
    "toned",
    "pace",
    "paces",
    "paced",
    "pacing",
    "accent",
    "accents",
    "accented",
    "sentiment",
    "sentiments",
    "age",
    "ages",
    "aged",
    "ageing",
    "aging",
    "gender",
    "genders",
    "gendered",
    "race",
    "races",
    "racial",
    "religion",
    "religions",
    "religious",
    "disability",
    "disabilities",
    "disabled",
    "pregnant",
    "pregnancy",
    "pregnancies",
    "nationality",
    "nationalities",
    "candidates",
];

/// The words of `text` that are on the deny list (lower-cased), in order.
///
/// ```
/// use panelflow::review::feedback::denied_words;
/// assert_eq!(denied_words("A strong example; we managed the stage."), Vec::<String>::new());
/// assert_eq!(denied_words("Your Score and your pacing"), vec!["score", "pacing"]);
/// ```
pub fn denied_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| DENY.contains(&w.as_str()))
        .collect()
}

/// Which list an item of a draft belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// What went well.
    Strength,
    /// What to work on.
    Development,
}

/// One point of a draft: a sentence and the answer it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftItem {
    /// Strength or area for development.
    pub kind: Kind,
    /// The sentence (plain, kind, specific).
    pub sentence: String,
    /// The question answered.
    pub question: String,
    /// Its id, when known.
    pub question_id: Option<String>,
    /// The candidate's words behind it, when they said any.
    pub quote: Option<String>,
    /// When they were said, seconds on the recording.
    pub at: Option<f64>,
}

impl DraftItem {
    /// The item as a line of the draft: the sentence and its citation.
    pub fn line(&self) -> String {
        let cite = match (&self.quote, self.at) {
            (Some(q), Some(at)) => format!(
                "(Your answer to “{}”, at {}: “{q}”)",
                short(&self.question),
                clock(at)
            ),
            (Some(q), None) => format!("(Your answer to “{}”: “{q}”)", short(&self.question)),
            _ => format!(
                "(Your answer to “{}”: no answer was recorded)",
                short(&self.question)
            ),
        };
        format!("- {} {cite}", self.sentence)
    }
}

/// A feedback draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draft {
    /// The interview it is drawn from.
    pub interview_id: String,
    /// Two to four strengths, then one to three areas for development.
    pub items: Vec<DraftItem>,
}

impl Draft {
    /// The draft as the recruiter edits it.
    pub fn text(&self) -> String {
        let mut o = String::from("Strengths\n");
        for i in self.items.iter().filter(|i| i.kind == Kind::Strength) {
            o.push_str(&i.line());
            o.push('\n');
        }
        o.push_str("\nAreas for development\n");
        for i in self.items.iter().filter(|i| i.kind == Kind::Development) {
            o.push_str(&i.line());
            o.push('\n');
        }
        o
    }
}

/// The sentences of a draft's text that cite no answer: every line other
/// than a heading must be one sentence followed by `(Your answer to “…”…)`.
///
/// ```
/// use panelflow::review::feedback::uncited_sentences;
/// let ok = "Strengths\n- You named the tool. (Your answer to “Q”, at 0:05: “We used Rust.”)\n";
/// assert!(uncited_sentences(ok).is_empty());
/// assert_eq!(uncited_sentences("- Great job overall."), vec!["Great job overall."]);
/// ```
pub fn uncited_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line == "Strengths" || line == "Areas for development" {
            continue;
        }
        let line = line.trim_start_matches("- ");
        let (said, cited) = match line.find("(Your answer to “") {
            Some(at) if line.ends_with(')') => (&line[..at], true),
            _ => (line, false),
        };
        let sentences: Vec<&str> = said
            .split_inclusive(['.', '!', '?'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let cited_one = usize::from(cited);
        out.extend(sentences.iter().skip(cited_one).map(|s| s.to_string()));
        if !cited && sentences.is_empty() {
            out.push(line.to_owned());
        }
    }
    out
}

fn short(question: &str) -> String {
    let w: Vec<&str> = question.split_whitespace().collect();
    let mut s = w.iter().take(12).copied().collect::<Vec<_>>().join(" ");
    if w.len() > 12 {
        s.push('…');
    }
    s
}

fn trim_quote(text: &str) -> String {
    let w: Vec<&str> = text.split_whitespace().collect();
    let mut s = w
        .iter()
        .take(QUOTE_WORDS)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if w.len() > QUOTE_WORDS {
        s.push('…');
    }
    s
}

/// A usable quote: not empty, and free of denied words.
fn clean(text: &str) -> Option<String> {
    let q = trim_quote(text.trim());
    (!q.is_empty() && denied_words(&q).is_empty()).then_some(q)
}

fn feature(score: &Score, name: &str) -> f64 {
    score.features.get(name).map_or(0.0, |v| v[0])
}

/// What went well, in the candidate's second person.
fn strength_words(name: &str) -> Option<&'static str> {
    Some(match name {
        "specific_situation" => "walked through a specific, real situation",
        "own_actions" | "own_share" => "made clear what you did yourself",
        "outcome" => "explained how it turned out",
        "measured" => "backed the result with a concrete figure",
        "reflection" => "shared what you learned from it",
        "details" => "included concrete details",
        _ => return None,
    })
}

/// What would help, in the candidate's second person.
fn development_words(name: &str) -> Option<&'static str> {
    Some(match name {
        "specific_situation" | "generic" => {
            "walk through one specific situation rather than what you usually do"
        }
        "own_actions" | "own_share" => "say more about the part you played yourself",
        "outcome" => "describe how things turned out",
        "measured" => "add a figure that shows the result",
        "details" => "add concrete details such as the tools, people or numbers involved",
        "reflection" => "share what you learned or would do differently",
        "blame" => "focus on what you did and what you would change",
        "evasion" | "no_answer" => "answer the question directly with one example",
        "off_topic" => "keep the answer on the question that was asked",
        _ => return None,
    })
}

fn topic(score: &Score) -> String {
    score.name.to_lowercase()
}

fn answer_of<'a>(s: &'a Summary, question_id: &str) -> Option<&'a AnswerTranscript> {
    s.answers
        .iter()
        .find(|a| a.question_id.as_deref() == Some(question_id))
}

/// The quote behind a score: its evidence (the features preferred first),
/// else the answer's digest, else its first words.
fn quote_for(s: &Summary, score: &Score, prefer: &[&str]) -> Option<(String, f64)> {
    let from_evidence = prefer
        .iter()
        .flat_map(|f| score.evidence.iter().filter(move |q| q.feature == *f))
        .chain(score.evidence.iter())
        .find_map(|q| clean(&q.text).map(|t| (t, q.at)));
    from_evidence.or_else(|| {
        let a = answer_of(s, &score.question_id)?;
        a.digest
            .iter()
            .flat_map(|d| d.sentences.iter())
            .find_map(|t| clean(&t.text).map(|q| (q, t.start)))
            .or_else(|| {
                a.segments
                    .iter()
                    .find_map(|seg| clean(&seg.text).map(|q| (q, seg.start)))
            })
    })
}

fn question_of(s: &Summary, question_id: &str) -> String {
    answer_of(s, question_id)
        .and_then(|a| a.question.clone())
        .unwrap_or_else(|| "the question".to_owned())
}

fn joined(parts: &[&str]) -> String {
    match parts {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [a, b] => format!("{a} and {b}"),
        [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
    }
}

/// Why no draft could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// The interview has no analysis (its media failed).
    #[error("this interview has no analysis to draw feedback from")]
    NoAnalysis,
    /// Too little evidence for two strengths and one area for development.
    #[error("the answers hold too little evidence for a fair draft ({strengths} strength(s), {areas} area(s) found); write this feedback by hand")]
    TooLittle {
        /// Strengths found.
        strengths: usize,
        /// Areas found.
        areas: usize,
    },
}

/// The draft of one analysed interview.
pub fn compose(summary: &Summary) -> Result<Draft, DraftError> {
    let mut by_level: Vec<&Score> = summary.scores.iter().collect();
    by_level.sort_by(|a, b| b.level.total_cmp(&a.level));
    let mut used: Vec<String> = Vec::new();
    let mut items = Vec::new();

    // Strengths: the strongest answers, each with what made it strong.
    for score in by_level.iter().filter(|s| s.score >= 3) {
        if items.len() >= MOST_STRENGTHS || used.contains(&score.question_id) {
            continue;
        }
        let mut why: Vec<&str> = score
            .criteria_met
            .iter()
            .filter_map(|c| strength_words(c))
            .collect();
        why.dedup();
        why.truncate(2);
        if why.is_empty() {
            why.push("gave a clear, relevant example");
        }
        let Some((quote, at)) = quote_for(
            summary,
            score,
            &["measured", "outcome", "own_actions", "reflection"],
        ) else {
            continue;
        };
        used.push(score.question_id.clone());
        items.push(DraftItem {
            kind: Kind::Strength,
            sentence: format!("When talking about {}, you {}.", topic(score), joined(&why)),
            question: question_of(summary, &score.question_id),
            question_id: Some(score.question_id.clone()),
            quote: Some(quote),
            at: Some(at),
        });
    }
    // More strengths from answers rich in facts, when the scores gave too few.
    for a in &summary.answers {
        let strengths = items.iter().filter(|i| i.kind == Kind::Strength).count();
        if strengths >= 2 {
            break;
        }
        let Some(qid) = a.question_id.clone() else {
            continue;
        };
        if !a.answered || used.contains(&qid) {
            continue;
        }
        let Some(digest) = &a.digest else { continue };
        if digest.key_facts.len() < 2 {
            continue;
        }
        let Some((quote, at)) = digest
            .sentences
            .iter()
            .find_map(|t| clean(&t.text).map(|q| (q, t.start)))
        else {
            continue;
        };
        used.push(qid.clone());
        items.push(DraftItem {
            kind: Kind::Strength,
            sentence: "You answered with concrete, specific facts.".to_owned(),
            question: a.question.clone().unwrap_or_else(|| "the question".into()),
            question_id: Some(qid),
            quote: Some(quote),
            at: Some(at),
        });
    }

    // Areas for development: the weakest answers, with what would help.
    let mut areas = 0;
    let mut weakest: Vec<&Score> = by_level.clone();
    weakest.sort_by(|a, b| a.level.total_cmp(&b.level));
    for score in weakest {
        if areas >= MOST_AREAS {
            break;
        }
        let mut help: Vec<&str> = Vec::new();
        for c in &score.criteria_missing {
            if feature(score, c) >= 0.5 || c == "no_answer" {
                help.extend(development_words(c));
            }
        }
        for f in [
            "specific_situation",
            "own_actions",
            "outcome",
            "measured",
            "details",
        ] {
            if feature(score, f) < 0.34 {
                help.extend(development_words(f));
            }
        }
        help.dedup();
        help.truncate(2);
        if help.is_empty() || (score.score >= 3 && areas > 0) {
            continue;
        }
        let (quote, at) = match quote_for(summary, score, &["generic", "blame", "evasion"]) {
            Some((q, at)) => (Some(q), Some(at)),
            None => (None, None),
        };
        let lead = if score.score >= 3 {
            format!(
                "Your answer on {} was good; to make it stronger,",
                topic(score)
            )
        } else {
            format!("In your answer on {}, it would help to", topic(score))
        };
        items.push(DraftItem {
            kind: Kind::Development,
            sentence: format!("{lead} {}.", joined(&help)),
            question: question_of(summary, &score.question_id),
            question_id: Some(score.question_id.clone()),
            quote,
            at,
        });
        areas += 1;
    }
    for a in summary.answers.iter().filter(|a| !a.answered) {
        if areas >= MOST_AREAS {
            break;
        }
        let Some(question) = a.question.clone() else {
            continue;
        };
        items.push(DraftItem {
            kind: Kind::Development,
            sentence:
                "This question was left without an answer; a short, specific example would help."
                    .to_owned(),
            question,
            question_id: a.question_id.clone(),
            quote: None,
            at: None,
        });
        areas += 1;
    }
    let strengths = items.iter().filter(|i| i.kind == Kind::Strength).count();
    if strengths < 2 || areas < 1 {
        return Err(DraftError::TooLittle { strengths, areas });
    }
    // Nothing denied may pass, whatever the sources held.
    items.retain(|i| denied_words(&i.line()).is_empty());
    Ok(Draft {
        interview_id: summary.interview_id.clone(),
        items,
    })
}

/// The candidate's decision as Lever shows it, if there is one: archived
/// (with the reason), or advanced (a stage change after the interview was
/// analysed).
pub fn decision(opportunity: &Value, analysed_at_ms: i64) -> Option<String> {
    if let Some(archived) = opportunity.get("archived").filter(|a| !a.is_null()) {
        let reason = archived
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        return Some(format!("archived ({reason})"));
    }
    let advanced = opportunity
        .get("stageChanges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c.get("updatedAt").and_then(Value::as_i64).unwrap_or(0) > analysed_at_ms);
    advanced.then(|| "advanced".to_owned())
}

/// What the feedback routes need of the review server (implemented by
/// [`ReviewApp`](super::server::ReviewApp)).
pub trait FeedbackHost: Send + Sync + 'static {
    /// The signed-in caller who may see results, or the response that says
    /// why not (HTML or JSON).
    #[allow(clippy::result_large_err)]
    fn signed_in(
        self: Arc<Self>,
        headers: HeaderMap,
        ip: Option<std::net::IpAddr>,
        as_json: bool,
    ) -> impl std::future::Future<Output = Result<SignedIn, Response>> + Send;
    /// Whether `token` is the session's CSRF token (always, for a bearer token).
    fn csrf_ok(&self, caller: &SignedIn, token: &str) -> bool;
    /// The review queue.
    fn queue(&self) -> &ReviewQueue;
    /// The Lever client, when configured.
    fn lever(&self) -> Option<&LeverClient>;
    /// Appends to the audit log.
    fn record(&self, events: &[AuditEvent]);
    /// The page's security headers on a response.
    fn secure(&self, resp: Response) -> Response;
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who.
    pub who: Principal,
    /// The session's CSRF token (empty for a bearer token).
    pub csrf: String,
    /// The session nonce (`None` for a bearer token).
    pub nonce: Option<String>,
}

/// The feedback routes, for the review server's router.
pub fn routes<H: FeedbackHost>() -> Router<Arc<H>> {
    Router::new().route("/feedback/{id}", get(view::<H>).post(save::<H>))
}

fn sha12(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

/// The item, its decision and its draft.
struct Prepared {
    item: ReviewItem,
    decision: Option<String>,
    draft: Result<Draft, DraftError>,
}

fn prepare<H: FeedbackHost>(host: &H, id: &str) -> Result<Prepared, (StatusCode, String)> {
    let item = host
        .queue()
        .get(id)
        .map_err(|e| {
            tracing::error!(error = %e, "review queue unreadable");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The review queue could not be read.".to_owned(),
            )
        })?
        .ok_or_else(|| {
            (
                StatusCode::NOT_FOUND,
                format!("No interview {id} in the review queue."),
            )
        })?;
    let summary: Option<Summary> = serde_json::from_value(item.summary.clone()).ok();
    let decision = match host.lever() {
        Some(client) => match client.get_opportunity(&item.opportunity_id) {
            Ok(opp) => decision(&opp, item.enqueued_at.timestamp_millis()),
            Err(e) => {
                tracing::warn!(error = %e, opportunity_id = %item.opportunity_id, "opportunity unreadable");
                return Err((
                    StatusCode::BAD_GATEWAY,
                    "Lever could not be read to see the candidate's decision; try again.".into(),
                ));
            }
        },
        None => None,
    };
    let draft = summary
        .as_ref()
        .ok_or(DraftError::NoAnalysis)
        .and_then(compose);
    Ok(Prepared {
        item,
        decision,
        draft,
    })
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") && !v.contains("text/html"))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(error = %e, "feedback handler failed");
            None
        }
    }
}

fn page<H: FeedbackHost>(
    host: &H,
    status: StatusCode,
    c: &SignedIn,
    title: &str,
    body: &str,
) -> Response {
    host.secure(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            layout(title, Some((&c.who, c.csrf.as_str())), body),
        )
            .into_response(),
    )
}

fn message<H: FeedbackHost>(
    host: &H,
    status: StatusCode,
    c: &SignedIn,
    as_json: bool,
    text: &str,
) -> Response {
    if as_json {
        return host.secure((status, axum::Json(json!({"message": text}))).into_response());
    }
    page(
        host,
        status,
        c,
        "Feedback draft",
        &format!(
            "<h1>Feedback draft</h1><p class=\"error\" id=\"message\">{}</p>",
            esc(text)
        ),
    )
}

async fn view<H: FeedbackHost>(
    State(host): State<Arc<H>>,
    connected: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let as_json = wants_json(&headers);
    let ip = connected.map(|c| c.0 .0.ip());
    let c = match Arc::clone(&host)
        .signed_in(headers.clone(), ip, as_json)
        .await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (h, id2) = (Arc::clone(&host), id.clone());
    let Some(prepared) = blocking(move || prepare(h.as_ref(), &id2)).await else {
        return message(
            host.as_ref(),
            StatusCode::INTERNAL_SERVER_ERROR,
            &c,
            as_json,
            "The request failed.",
        );
    };
    let p = match prepared {
        Ok(p) => p,
        Err((status, text)) => return message(host.as_ref(), status, &c, as_json, &text),
    };
    let Some(decision) = p.decision.clone() else {
        return message(
            host.as_ref(),
            StatusCode::OK,
            &c,
            as_json,
            "No decision yet: a feedback draft is made once Lever shows the candidate advanced or archived.",
        );
    };
    let draft = match &p.draft {
        Ok(d) => d,
        Err(e) => return message(host.as_ref(), StatusCode::OK, &c, as_json, &e.to_string()),
    };
    let text = draft.text();
    host.record(&[AuditEvent::step(
        &p.item.correlation_id,
        &p.item.interview_id,
        "feedback_draft",
        "ok",
    )
    .by(c.who.name.clone())
    .for_candidate(p.item.candidate_id.clone())
    .with_detail(json!({
        "decision": decision,
        "draft_sha": sha12(&text),
        "strengths": draft.items.iter().filter(|i| i.kind == Kind::Strength).count(),
        "areas": draft.items.iter().filter(|i| i.kind == Kind::Development).count(),
        "questions": draft.items.iter().filter_map(|i| i.question_id.clone()).collect::<Vec<_>>(),
    }))]);
    if as_json {
        return host.secure(
            (
                StatusCode::OK,
                axum::Json(
                    json!({"interview_id": p.item.interview_id, "decision": decision,
                                  "draft": draft, "text": text}),
                ),
            )
                .into_response(),
        );
    }
    let saved = query.contains_key("saved");
    page(
        host.as_ref(),
        StatusCode::OK,
        &c,
        "Feedback draft",
        &draft_html(&p.item, &decision, draft, &text, &c, saved),
    )
}

fn draft_html(
    item: &ReviewItem,
    decision: &str,
    draft: &Draft,
    text: &str,
    c: &SignedIn,
    saved: bool,
) -> String {
    let mut b = String::new();
    b.push_str("<h1>Feedback draft</h1>");
    b.push_str(&format!(
        "<p class=\"meta\">Interview <a href=\"/interviews/{}\">{}</a> · decision in Lever: <strong id=\"decision\">{}</strong></p>",
        path_segment(&item.interview_id),
        esc(&item.interview_id),
        esc(decision)
    ));
    if saved {
        b.push_str("<p class=\"ok\" id=\"saved\">Saved to Lever as a secret note “Feedback draft (not sent)”.</p>");
    }
    b.push_str("<p class=\"notice\" id=\"not-sent\">panelflow never sends this to the candidate. Edit it here; saving keeps it in Lever as a secret note for you to send in your own words.</p>");
    for (kind, title) in [
        (Kind::Strength, "Strengths"),
        (Kind::Development, "Areas for development"),
    ] {
        b.push_str(&format!("<h2>{title}</h2><ul class=\"draft\">"));
        for i in draft.items.iter().filter(|i| i.kind == kind) {
            let cite = match (&i.quote, i.at) {
                (Some(q), Some(at)) => format!("“{}” at {}", esc(q), clock(at)),
                (Some(q), None) => format!("“{}”", esc(q)),
                _ => "no answer was recorded".to_owned(),
            };
            b.push_str(&format!(
                "<li class=\"{}\">{}<br><span class=\"cite\">Your answer to “{}”: {cite}</span></li>",
                if kind == Kind::Strength { "strength" } else { "area" },
                esc(&i.sentence),
                esc(&i.question)
            ));
        }
        b.push_str("</ul>");
    }
    let can_save = c.who.policy.can_decide;
    b.push_str(&format!(
        "<form method=\"post\" action=\"/feedback/{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"draft\">Edit the draft</label><textarea id=\"draft\" name=\"draft\" rows=\"14\">{}</textarea>\
         {}</form>",
        path_segment(&item.interview_id),
        esc(&c.csrf),
        esc(text),
        if can_save {
            "<button type=\"submit\" id=\"save-draft\">Save to Lever as a secret note (not sent)</button>"
        } else {
            "<p class=\"meta\">Your role may read this draft but not save it.</p>"
        }
    ));
    b
}

async fn save<H: FeedbackHost>(
    State(host): State<Arc<H>>,
    connected: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let as_json = wants_json(&headers);
    let ip = connected.map(|c| c.0 .0.ip());
    let c = match Arc::clone(&host)
        .signed_in(headers.clone(), ip, as_json)
        .await
    {
        Ok(c) => c,
        Err(r) => return r,
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if !host.csrf_ok(&c, form.get("csrf").map(String::as_str).unwrap_or("")) {
        return message(
            host.as_ref(),
            StatusCode::FORBIDDEN,
            &c,
            as_json,
            "The form's security token is missing or expired; reload the page and try again.",
        );
    }
    if !c.who.policy.can_decide {
        return message(
            host.as_ref(),
            StatusCode::FORBIDDEN,
            &c,
            as_json,
            "Your role may not save feedback drafts.",
        );
    }
    let text = form
        .get("draft")
        .map(|s| s.replace("\r\n", "\n").trim().to_owned())
        .unwrap_or_default();
    if text.is_empty() || text.chars().count() > MAX_DRAFT_CHARS {
        return message(
            host.as_ref(),
            StatusCode::BAD_REQUEST,
            &c,
            as_json,
            &format!("The draft must hold between 1 and {MAX_DRAFT_CHARS} characters."),
        );
    }
    let (h, id2, who) = (Arc::clone(&host), id.clone(), c.who.name.clone());
    let result = blocking(move || -> Result<(String, Value), (StatusCode, String)> {
        let p = prepare(h.as_ref(), &id2)?;
        let decision = p.decision.ok_or((
            StatusCode::CONFLICT,
            "No decision yet in Lever: nothing was saved.".to_owned(),
        ))?;
        let client = h.lever().ok_or((
            StatusCode::SERVICE_UNAVAILABLE,
            "Lever is not configured for the review server: nothing was saved.".to_owned(),
        ))?;
        let original = p.draft.as_ref().map(Draft::text).unwrap_or_default();
        let prefix = format!("{NOTE_MARKER}{} ", p.item.interview_id);
        let marker = format!("{prefix}{}", sha12(&text));
        let note = format!("{NOTE_TITLE}\n\n{text}\n\n{marker}");
        let lever_err = |e: panelflow_connectors::lever::client::LeverError| {
            tracing::warn!(error = %e, "feedback draft not saved to Lever");
            (
                StatusCode::BAD_GATEWAY,
                format!("Lever refused the note: {e}"),
            )
        };
        let opp = &p.item.opportunity_id;
        let written = client
            .ensure_note(opp, &marker, &note, true, None)
            .map_err(lever_err)?;
        // The earlier drafts of this interview go: one current draft.
        let mut removed = 0;
        for n in client.list_notes(opp).map_err(lever_err)? {
            let ours = n.value_text.lines().any(|l| l.trim().starts_with(&prefix));
            if ours && n.id != written.note_id() {
                client.delete_note(opp, &n.id, None).map_err(lever_err)?;
                removed += 1;
            }
        }
        let detail = json!({
            "decision": decision,
            "note_id": written.note_id(),
            "edited": text != original.trim(),
            "draft_sha": sha12(original.trim()),
            "saved_sha": sha12(&text),
            "chars": text.chars().count(),
            "earlier_drafts_removed": removed,
            "sent_to_candidate": false,
        });
        h.record(&[AuditEvent::step(
            &p.item.correlation_id,
            &p.item.interview_id,
            "feedback_draft_saved",
            "ok",
        )
        .by(who)
        .for_candidate(p.item.candidate_id.clone())
        .with_detail(detail.clone())]);
        Ok((p.item.interview_id, detail))
    })
    .await;
    match result {
        Some(Ok((iid, detail))) => {
            tracing::info!(interview_id = %iid, "feedback draft saved to Lever");
            if as_json {
                return host.secure((StatusCode::OK, axum::Json(detail)).into_response());
            }
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) =
                HeaderValue::from_str(&format!("/feedback/{}?saved=1", path_segment(&iid)))
            {
                r.headers_mut().insert(header::LOCATION, v);
            }
            host.secure(r)
        }
        Some(Err((status, text))) => message(host.as_ref(), status, &c, as_json, &text),
        None => message(
            host.as_ref(),
            StatusCode::INTERNAL_SERVER_ERROR,
            &c,
            as_json,
            "The request failed.",
        ),
    }
}
