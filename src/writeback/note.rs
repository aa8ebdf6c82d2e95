//! The Lever note sink: writes an interview's summary as a private note on
//! the candidate's opportunity, at most once.
//!
//! The note ends with a line `panelflow-correlation-id: <id>`; before it
//! writes, the sink looks for that line among the opportunity's notes
//! ([`LeverClient::ensure_note`]), so replaying an event after a crash writes
//! no second note.
//!
//! ```
//! use panelflow::writeback::note::{correlation_marker, render_note};
//! let summary = serde_json::json!({
//!     "duration_s": 95.0,
//!     "words_per_minute": 142.3,
//!     "text": "I led the migration to Rust. It halved our latency.",
//!     "model": {"name": "moonshine-base-en", "version": "0.1.4"}
//! });
//! let note = render_note(&summary, "6f1c");
//! assert!(note.starts_with("panelflow summary (AI-generated, advisory)"));
//! assert!(note.ends_with(&correlation_marker("6f1c")));
//! ```

use serde_json::Value;

use panelflow_connectors::lever::client::{LeverClient, LeverError, NoteOutcome};
pub use panelflow_core::writeback::{correlation_marker, MARKER_PREFIX};

/// The note's first line.
pub const NOTE_HEADER: &str = "panelflow summary (AI-generated, advisory)";
/// Longest transcript excerpt in a note, in characters.
const MAX_EXCERPT_CHARS: usize = 600;
/// Sentences taken from the transcript when there is no summary.
const EXCERPT_SENTENCES: usize = 3;
/// Longest answer excerpt per question, in characters.
const MAX_ANSWER_CHARS: usize = 240;

/// Renders the summary object as a short plain-text note.
///
/// Reads, each optional: `duration_s`; `words_per_minute` (or `wpm`); the
/// summary text from `summary` (a string, or an object with `text`) or else
/// the first sentences of `transcript`/`text` (a string, or an object with
/// `text`); `answers` (array of `{question | question_text | question_id,
/// answer | text | summary, start | start_s, end | end_s}`); and the model
/// from `model` (a string, or `{name, version}`) with `model_version`; and
/// the analysis's skills, sentiment, review flags and scores when present. The
/// first line says the note is AI-generated and advisory; the last is the
/// [`correlation_marker`].
pub fn render_note(summary: &Value, correlation_id: &str) -> String {
    render_note_with(
        summary,
        correlation_id,
        &NoteOptions {
            include_scores: true,
            notice: String::new(),
        },
    )
}

/// What a phase lets the note say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoteOptions {
    /// Whether rubric scores appear (not in the pilot phase).
    pub include_scores: bool,
    /// The advisory line under the header (empty: none).
    pub notice: String,
}

/// [`render_note`] with the phase's options: the notice line under the
/// header, the highlights (qualifications, motivations, red flags) with
/// their timestamps, and scores only when `include_scores`.
///
/// ```
/// use panelflow::writeback::note::{render_note_with, NoteOptions};
/// let s = serde_json::json!({"scores": [{"name": "Craft", "score": 3}],
///     "highlights": {"qualifications": [{"text": "I led the Rust migration.", "at": 65.0}]}});
/// let opts = NoteOptions { include_scores: false, notice: "Advisory.".into() };
/// let note = render_note_with(&s, "c1", &opts);
/// assert!(note.contains("Qualifications:\n- [1:05] I led the Rust migration."));
/// assert!(note.lines().nth(1) == Some("Advisory."));
/// assert!(!note.contains("Craft"));
/// ```
pub fn render_note_with(summary: &Value, correlation_id: &str, opts: &NoteOptions) -> String {
    let mut lines = vec![NOTE_HEADER.to_owned()];
    if !opts.notice.trim().is_empty() {
        lines.push(opts.notice.trim().to_owned());
    }

    let duration = number(summary, &["duration_s", "duration"]);
    let wpm = number(summary, &["words_per_minute", "wpm"]);
    let mut facts = Vec::new();
    if let Some(d) = duration {
        facts.push(format!("Duration: {}", clock(d)));
    }
    if let Some(w) = wpm {
        facts.push(format!("Pace: {w:.0} words/min"));
    }
    if !facts.is_empty() {
        lines.push(facts.join(" · "));
    }

    let summary_text = text_of(summary.get("summary"))
        .or_else(|| text_of(summary.get("interview_transcript_summary")))
        .filter(|s| !s.trim().is_empty())
        .map(|s| truncate_chars(s.trim(), MAX_EXCERPT_CHARS))
        .map(|s| format!("Summary: {s}"))
        .or_else(|| {
            let transcript =
                text_of(summary.get("transcript")).or_else(|| text_of(summary.get("text")))?;
            let excerpt = first_sentences(transcript, EXCERPT_SENTENCES, MAX_EXCERPT_CHARS);
            (!excerpt.is_empty()).then(|| format!("Transcript opening: {excerpt}"))
        });
    match summary_text {
        Some(s) => lines.push(s),
        None => lines.push("No speech was transcribed.".to_owned()),
    }

    if let Some(answers) = summary
        .get("answers")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        lines.push("Answers:".to_owned());
        for (i, a) in answers.iter().enumerate() {
            lines.push(answer_line(i + 1, a));
        }
    }

    lines.extend(highlight_lines(summary));
    lines.extend(analysis_lines(summary, opts.include_scores));

    if let Some(model) = model_line(summary) {
        lines.push(format!("Model: {model}"));
    }
    lines.push(correlation_marker(correlation_id));
    lines.join("\n")
}

/// The analysis's lines, each present only when its keys are: skills
/// (`key_skills_matched` as names or `{skill}` objects, `skills_missing`),
/// `sentiment_score` (with `sentiment`), review `flags` (`{name, question_id,
/// severity}`) and `scores` (`{competency | name, score, confidence,
/// low_confidence}`) with `overall_score`.
fn analysis_lines(summary: &Value, include_scores: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let names = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .or_else(|| s.get("skill").and_then(scalar_text))
            })
            .collect()
    };
    let matched = names(summary.get("key_skills_matched"));
    let missing = names(summary.get("skills_missing"));
    if !matched.is_empty() || !missing.is_empty() {
        let mut line = format!(
            "Skills matched: {}",
            if matched.is_empty() {
                "none".to_owned()
            } else {
                matched.join(", ")
            }
        );
        if !missing.is_empty() {
            line.push_str(&format!(" · not mentioned: {}", missing.join(", ")));
        }
        lines.push(line);
    }
    if let Some(score) = summary
        .get("sentiment_score")
        .and_then(Value::as_f64)
        .filter(|x| x.is_finite())
    {
        let label = summary
            .get("sentiment")
            .and_then(scalar_text)
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        lines.push(format!("Sentiment: {score:.2}{label}"));
    }
    let flags: Vec<String> = summary
        .get("flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| f.get("severity").and_then(Value::as_str) != Some("info"))
        .filter_map(|f| {
            let name = f.get("name").and_then(scalar_text)?.replace('_', " ");
            Some(match f.get("question_id").and_then(scalar_text) {
                Some(q) => format!("{name} ({q})"),
                None => name,
            })
        })
        .collect();
    if !flags.is_empty() {
        lines.push(format!("To review: {}", flags.join("; ")));
    }
    let scores: Vec<String> = summary
        .get("scores")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let name = s
                .get("name")
                .and_then(scalar_text)
                .or_else(|| s.get("competency").and_then(scalar_text))?;
            let score = s.get("score").and_then(Value::as_f64)?;
            let conf = s
                .get("confidence")
                .and_then(Value::as_f64)
                .map(|c| format!(", confidence {c:.2}"))
                .unwrap_or_default();
            let low = if s.get("low_confidence").and_then(Value::as_bool) == Some(true) {
                ", low confidence"
            } else {
                ""
            };
            Some(format!("{name} {score:.0}/4{conf}{low}"))
        })
        .collect();
    if include_scores && !scores.is_empty() {
        let overall = number(summary, &["overall_score"])
            .map(|o| format!(" (overall {o:.1})"))
            .unwrap_or_default();
        lines.push(format!("Scores{overall}: {}", scores.join("; ")));
    }
    lines
}

/// Quotes of `highlights`: qualifications, motivations (each `{text, at}`)
/// and red flags (`{kind, text}`), a few of each.
fn highlight_lines(summary: &Value) -> Vec<String> {
    const PER_KIND: usize = 3;
    let Some(h) = summary.get("highlights") else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for (key, title) in [
        ("qualifications", "Qualifications:"),
        ("motivations", "Motivations:"),
    ] {
        let quotes: Vec<String> = h
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|q| {
                let text = q.get("text").and_then(Value::as_str)?.trim();
                let at = number(q, &["at"])
                    .map(|t| format!("[{}] ", clock(t)))
                    .unwrap_or_default();
                (!text.is_empty())
                    .then(|| format!("- {at}{}", truncate_chars(text, MAX_ANSWER_CHARS)))
            })
            .take(PER_KIND)
            .collect();
        if !quotes.is_empty() {
            lines.push(title.to_owned());
            lines.extend(quotes);
        }
    }
    let red: Vec<String> = h
        .get("red_flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let kind = r.get("kind").and_then(Value::as_str)?.replace('_', " ");
            let text = r.get("text").and_then(Value::as_str).unwrap_or("").trim();
            Some(format!(
                "- {kind}: {}",
                truncate_chars(text, MAX_ANSWER_CHARS)
            ))
        })
        .take(PER_KIND)
        .collect();
    if !red.is_empty() {
        lines.push("Red flags:".to_owned());
        lines.extend(red);
    }
    lines
}

fn answer_line(n: usize, a: &Value) -> String {
    let question = ["question", "question_text", "question_id"]
        .iter()
        .find_map(|k| a.get(*k).and_then(scalar_text))
        .unwrap_or_else(|| format!("Question {n}"));
    let answer = ["answer", "text", "summary"]
        .iter()
        .find_map(|k| text_of(a.get(*k)))
        .map(|t| first_sentences(t, 2, MAX_ANSWER_CHARS))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "(no answer detected)".to_owned());
    let start = number(a, &["start", "start_s"]);
    let end = number(a, &["end", "end_s"]);
    let at = match (start, end) {
        (Some(s), Some(e)) => format!(" [{}–{}]", clock(s), clock(e)),
        (Some(s), None) => format!(" [{}]", clock(s)),
        _ => String::new(),
    };
    format!("{n}.{at} {}: {answer}", question.trim())
}

fn model_line(summary: &Value) -> Option<String> {
    // The summary object lists its models; the speech model comes first.
    let model = summary
        .get("model")
        .or_else(|| summary.get("models").and_then(|m| m.get(0)));
    let (name, version) = match model {
        Some(Value::String(s)) => (Some(s.clone()), None),
        Some(Value::Object(m)) => (
            m.get("name").and_then(scalar_text),
            m.get("version").and_then(scalar_text),
        ),
        _ => (None, None),
    };
    let version = version.or_else(|| summary.get("model_version").and_then(scalar_text));
    match (name, version) {
        (Some(n), Some(v)) => Some(format!("{n} {v}")),
        (Some(n), None) => Some(n),
        (None, Some(v)) => Some(format!("version {v}")),
        (None, None) => None,
    }
}

fn number(v: &Value, keys: &[&str]) -> Option<f64> {
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_f64))
        .filter(|x| x.is_finite() && *x >= 0.0)
}

/// A string, or the `text` of an object.
fn text_of(v: Option<&Value>) -> Option<&str> {
    match v? {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("text").and_then(Value::as_str),
        _ => None,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Seconds as `m:ss` (or `h:mm:ss`).
fn clock(secs: f64) -> String {
    let total = secs.round() as u64;
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The first `n` sentences (ending in `.`, `!` or `?`), whitespace folded,
/// at most `max` characters.
fn first_sentences(text: &str, n: usize, max: usize) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut end = folded.len();
    let mut count = 0;
    for (i, c) in folded.char_indices() {
        if matches!(c, '.' | '!' | '?') {
            let next = folded[i + c.len_utf8()..].chars().next();
            if next.is_none() || next == Some(' ') {
                count += 1;
                if count == n {
                    end = i + c.len_utf8();
                    break;
                }
            }
        }
    }
    truncate_chars(&folded[..end], max)
}

/// Writes summaries to Lever as private notes, once per correlation id.
#[derive(Debug, Clone)]
pub struct LeverNoteSink {
    client: LeverClient,
    perform_as: Option<String>,
}

impl LeverNoteSink {
    /// A sink writing through `client`, as the Lever user `perform_as` if given.
    pub fn new(client: LeverClient, perform_as: Option<String>) -> Self {
        Self { client, perform_as }
    }

    /// The client it writes through.
    pub fn client(&self) -> &LeverClient {
        &self.client
    }

    /// Writes the note for one interview unless it is already there.
    /// The note is private (`secret: true`).
    pub fn write(
        &self,
        opportunity_id: &str,
        correlation_id: &str,
        summary: &Value,
    ) -> Result<NoteOutcome, LeverError> {
        let marker = correlation_marker(correlation_id);
        let text = render_note(summary, correlation_id);
        let outcome = self.client.ensure_note(
            opportunity_id,
            &marker,
            &text,
            true,
            self.perform_as.as_deref(),
        )?;
        // Ids only: the note's text is candidate data and stays out of logs.
        tracing::info!(
            opportunity_id,
            correlation_id,
            note_id = outcome.note_id(),
            created = matches!(outcome, NoteOutcome::Created(_)),
            "Lever note sink"
        );
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_summary_renders_every_part_in_order() {
        let s = json!({
            "duration_s": 3725.4,
            "words_per_minute": 151.26,
            "summary": "Strong Rust background; led a migration.",
            "transcript": "ignored when a summary exists.",
            "answers": [
                {"question": "Tell us about yourself.", "answer": "I am an engineer. I like Rust. Also cats.", "start": 3.0, "end": 65.2},
                {"question_id": "q2", "text": ""},
            ],
            "model": {"name": "moonshine-base-en", "version": "0.1.4"},
        });
        let note = render_note(&s, "abc-123");
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(lines[0], NOTE_HEADER);
        assert_eq!(lines[1], "Duration: 1:02:05 · Pace: 151 words/min");
        assert_eq!(
            lines[2],
            "Summary: Strong Rust background; led a migration."
        );
        assert_eq!(lines[3], "Answers:");
        assert_eq!(
            lines[4],
            "1. [0:03–1:05] Tell us about yourself.: I am an engineer. I like Rust."
        );
        assert_eq!(lines[5], "2. q2: (no answer detected)");
        assert_eq!(lines[6], "Model: moonshine-base-en 0.1.4");
        assert_eq!(lines[7], "panelflow-correlation-id: abc-123");
        assert_eq!(lines.len(), 8);
    }

    #[test]
    fn transcript_opening_when_no_summary() {
        let s = json!({
            "text": "  And so, my fellow Americans: ask not what your country can do for you.\n Ask what you can do. For your country! Extra sentence here.",
            "model": "moonshine",
            "model_version": "base-en",
        });
        let note = render_note(&s, "x");
        assert!(note.contains(
            "Transcript opening: And so, my fellow Americans: ask not what your country can do for you. Ask what you can do. For your country!"
        ), "{note}");
        assert!(!note.contains("Extra sentence"));
        assert!(note.contains("Model: moonshine base-en"));
        assert!(!note.contains("Duration"));
    }

    #[test]
    fn empty_summary_still_has_header_and_marker() {
        let note = render_note(&json!({}), " id-1 ");
        assert_eq!(
            note,
            format!("{NOTE_HEADER}\nNo speech was transcribed.\npanelflow-correlation-id: id-1")
        );
        assert!(note.contains(&correlation_marker("id-1")));
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let long = "é".repeat(5000);
        let note = render_note(
            &json!({ "transcript": long, "duration_s": -3.0, "wpm": f64::MAX }),
            "c",
        );
        let line = note.lines().nth(2).expect("excerpt line");
        assert!(line.chars().count() <= "Transcript opening: ".len() + MAX_EXCERPT_CHARS);
        assert!(line.ends_with('…'));
        // Negative durations are ignored.
        assert!(!note.contains("Duration"));
    }

    #[test]
    fn summary_object_and_transcript_object_forms() {
        let note = render_note(&json!({ "summary": { "text": "From an object." } }), "c");
        assert!(note.contains("Summary: From an object."));
        let note = render_note(
            &json!({ "transcript": { "text": "One. Two. Three. Four." } }),
            "c",
        );
        assert!(
            note.contains("Transcript opening: One. Two. Three."),
            "{note}"
        );
    }

    #[test]
    fn sentences_ignore_inner_dots() {
        assert_eq!(
            first_sentences("Version 1.5 shipped. Then more. And more.", 1, 100),
            "Version 1.5 shipped."
        );
        assert_eq!(
            first_sentences("no terminator at all", 2, 100),
            "no terminator at all"
        );
    }
}
