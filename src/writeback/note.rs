//! The Lever note: an interview's summary as a private note on the
//! candidate's opportunity, rendered from the typed [`Summary`], written at
//! most once.
//!
//! What a recruiter reads, top to bottom: the advisory line; strengths and
//! concerns; per answer one or two sentences and the key facts, each with
//! the moment it was said; red flags with their quotes; skills against the
//! posting (only when the posting is known); the voice and the sentiment,
//! marked as information that no score uses; scores only where the phase
//! allows; the models and the config that made it.
//!
//! The note ends with a line `panelflow-correlation-id: <id>`; before it
//! writes, the sink looks for that line among the opportunity's notes
//! ([`LeverClient::ensure_note`]), so replaying an event after a crash writes
//! no second note.
//!
//! ```
//! use panelflow::writeback::note::{correlation_marker, render_note, NOTE_HEADER};
//! use panelflow_models::analysis::summary::{PipelineRef, Summary};
//! let event = panelflow_core::event::InterviewCompleted::new("generic", "i1", "c1", "o1", vec![]);
//! let pipeline = PipelineRef { name: "pilot".into(), version: "1".into(), config_hash: "ab12".into() };
//! let summary = Summary::build(&event, &pipeline, vec![], vec![]);
//! let note = render_note(&summary, "6f1c");
//! assert!(note.starts_with(NOTE_HEADER));
//! assert!(note.ends_with(&correlation_marker("6f1c")));
//! ```

use panelflow_connectors::lever::client::{LeverClient, LeverError, NoteOutcome};
pub use panelflow_core::writeback::{correlation_marker, MARKER_PREFIX};
use panelflow_models::analysis::digest::Digest;
use panelflow_models::analysis::highlights::RedFlagKind;
use panelflow_models::analysis::summary::{AnswerTranscript, Summary};

/// The note's first line.
pub const NOTE_HEADER: &str = "panelflow summary (AI-generated, advisory)";
/// Longest quoted sentence, in characters.
const MAX_QUOTE_CHARS: usize = 240;
/// Longest first-lines paragraph, in characters.
const MAX_FIRST_LINES_CHARS: usize = 700;
/// Red flags listed.
const MAX_RED_FLAGS: usize = 5;

/// What a phase lets the note say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoteOptions {
    /// Whether scores appear (not in the pilot phase).
    pub include_scores: bool,
    /// The advisory line under the header (empty: none).
    pub notice: String,
}

/// Renders a summary as a note with scores and no notice line.
pub fn render_note(summary: &Summary, correlation_id: &str) -> String {
    render_note_with(
        summary,
        correlation_id,
        &NoteOptions {
            include_scores: true,
            notice: String::new(),
        },
    )
}

/// Renders a summary as a note under a phase's options.
///
/// ```
/// use panelflow::writeback::note::{render_note_with, NoteOptions};
/// use panelflow_models::analysis::summary::{PipelineRef, Summary};
/// let event = panelflow_core::event::InterviewCompleted::new("generic", "i1", "c1", "o1", vec![]);
/// let pipeline = PipelineRef { name: "p".into(), version: "1".into(), config_hash: "h".into() };
/// let mut s = Summary::build(&event, &pipeline, vec![], vec![]);
/// s.scores = vec![serde_json::from_value(serde_json::json!({
///     "competency": "problem_solving", "name": "Problem solving", "question_id": "q1",
///     "mapped_by": "similarity", "mapping_similarity": 0.6, "score": 3, "level": 3.1,
///     "anchor": "", "criteria_met": [], "criteria_missing": [], "evidence": [], "features": {},
///     "confidence": 0.7, "low_confidence": false, "weight": 1.0, "model_version": "m"})).unwrap()];
/// let opts = NoteOptions { include_scores: false, notice: "Advisory.".into() };
/// let note = render_note_with(&s, "c1", &opts);
/// assert_eq!(note.lines().nth(1), Some("Advisory."));
/// assert!(!note.contains("3/4"), "the pilot phase hides scores");
/// let opts = NoteOptions { include_scores: true, notice: String::new() };
/// assert!(render_note_with(&s, "c1", &opts).contains("Problem solving 3/4"));
/// ```
pub fn render_note_with(summary: &Summary, correlation_id: &str, opts: &NoteOptions) -> String {
    let mut lines = vec![NOTE_HEADER.to_owned()];
    if !opts.notice.trim().is_empty() {
        lines.push(opts.notice.trim().to_owned());
    }
    lines.push(overview_line(summary));

    let first = summary.interview_transcript_summary.trim();
    if !first.is_empty() {
        lines.push(truncate_chars(first, MAX_FIRST_LINES_CHARS));
    } else if summary.transcript.trim().is_empty() {
        lines.push("No speech was transcribed.".to_owned());
    }

    if !summary.answers.is_empty() {
        lines.push(String::new());
        lines.push("Answers:".to_owned());
        for (i, a) in summary.answers.iter().enumerate() {
            lines.extend(answer_lines(i + 1, a, summary, opts.include_scores));
        }
    }

    let red: Vec<String> = summary
        .highlights
        .red_flags
        .iter()
        .take(MAX_RED_FLAGS)
        .map(|f| {
            let what = match f.kind {
                RedFlagKind::NoAnswer => "no answer",
                RedFlagKind::Evasive => "declined or dodged",
                RedFlagKind::OffTopic => "off the question",
                RedFlagKind::Blaming => "blames others",
            };
            let at = f.at.map(|t| format!(" [{}]", clock(t))).unwrap_or_default();
            format!(
                "- {what}{at}: {}",
                truncate_chars(f.text.trim(), MAX_QUOTE_CHARS)
            )
        })
        .collect();
    if !red.is_empty() {
        lines.push(String::new());
        lines.push("Red flags:".to_owned());
        lines.extend(red);
    }

    lines.push(String::new());
    if !summary.skills_requested.is_empty() {
        let matched: Vec<&str> = summary
            .key_skills_matched
            .iter()
            .map(|m| m.skill.as_str())
            .collect();
        let mut line = format!(
            "Skills of the posting mentioned: {}",
            if matched.is_empty() {
                "none".to_owned()
            } else {
                matched.join(", ")
            }
        );
        if !summary.skills_missing.is_empty() {
            line.push_str(&format!(
                " · not mentioned: {}",
                summary.skills_missing.join(", ")
            ));
        }
        lines.push(line);
    } else if !summary.key_skills_matched.is_empty() {
        let heard: Vec<&str> = summary
            .key_skills_matched
            .iter()
            .map(|m| m.skill.as_str())
            .collect();
        lines.push(format!(
            "Skills mentioned (no posting to compare with): {}",
            heard.join(", ")
        ));
    }
    if let Some(voice) = voice_line(summary) {
        lines.push(voice);
    }
    if summary.words > 0 {
        lines.push(format!(
            "Sentiment (information only, not used in any score): {:.2} ({})",
            summary.sentiment_score,
            summary.sentiment.as_str()
        ));
    }
    if opts.include_scores && !summary.scores.is_empty() {
        let overall = summary
            .overall_score
            .map(|o| format!(" (overall {o:.1})"))
            .unwrap_or_default();
        let scores: Vec<String> = summary
            .scores
            .iter()
            .map(|s| {
                let low = if s.low_confidence {
                    ", low confidence"
                } else {
                    ""
                };
                format!(
                    "{} {}/4, confidence {:.2}{low}",
                    s.name, s.score, s.confidence
                )
            })
            .collect();
        lines.push(format!("Scores{overall}: {}", scores.join("; ")));
    }
    lines.push(model_line(summary));
    lines.push(correlation_marker(correlation_id));
    lines.join("\n")
}

/// Duration, answers and where the questions came from.
fn overview_line(summary: &Summary) -> String {
    let mut parts = Vec::new();
    if summary.duration_s.is_finite() && summary.duration_s > 0.0 {
        parts.push(format!("Duration {}", clock(summary.duration_s)));
    }
    let answered = summary.answers.iter().filter(|a| a.answered).count();
    if !summary.answers.is_empty() {
        parts.push(format!(
            "{answered} of {} questions answered",
            summary.answers.len()
        ));
    }
    let from = match summary.analysis.questions_from.as_deref() {
        Some("platform") => Some("questions sent by the interview platform"),
        Some("posting") => Some("questions of the Lever posting"),
        Some("role") => Some("questions of the pipeline's role"),
        Some("heard_in_recording") => Some("questions as heard in the recording"),
        Some("unknown") => Some("questions not known"),
        _ => None,
    };
    parts.extend(from.map(str::to_owned));
    parts.join(" · ")
}

/// One answer: its question and time, its digest, and its score when allowed.
fn answer_lines(
    n: usize,
    a: &AnswerTranscript,
    summary: &Summary,
    include_scores: bool,
) -> Vec<String> {
    let question = a
        .question
        .as_deref()
        .filter(|q| !q.trim().is_empty())
        .or(a.question_id.as_deref())
        .map_or_else(|| format!("Answer {n}"), |q| q.trim().to_owned());
    let at = match (a.start, a.end) {
        (Some(s), Some(e)) => format!(" [{}–{}]", clock(s), clock(e)),
        (Some(s), None) => format!(" [{}]", clock(s)),
        _ => String::new(),
    };
    let mut lines = vec![format!("{n}.{at} {question}")];
    if !a.answered {
        lines.push("   (no answer)".to_owned());
        return lines;
    }
    if let Some(d) = &a.digest {
        lines.extend(digest_lines(d));
    }
    if include_scores {
        if let Some(s) = summary
            .scores
            .iter()
            .find(|s| Some(&s.question_id) == a.question_id.as_ref() && !s.question_id.is_empty())
        {
            lines.push(format!(
                "   Score: {} {}/4 (confidence {:.2}) — {}",
                s.name, s.score, s.confidence, s.anchor
            ));
        }
    }
    lines
}

fn digest_lines(d: &Digest) -> Vec<String> {
    let mut lines = Vec::new();
    let quoted: Vec<String> = d
        .sentences
        .iter()
        .map(|s| {
            format!(
                "[{}] {}",
                clock(s.start),
                truncate_chars(s.text.trim(), MAX_QUOTE_CHARS)
            )
        })
        .collect();
    if !quoted.is_empty() {
        lines.push(format!("   {}", quoted.join(" ")));
    }
    let facts: Vec<String> = d
        .key_facts
        .iter()
        .map(|f| format!("{} [{}]", f.text, clock(f.at)))
        .collect();
    if !facts.is_empty() {
        lines.push(format!("   Key facts: {}", facts.join(" · ")));
    }
    lines
}

/// The voice measures, marked as information that no score uses.
fn voice_line(summary: &Summary) -> Option<String> {
    let tones: Vec<_> = summary
        .answers
        .iter()
        .filter_map(|a| a.tone.as_ref())
        .collect();
    if tones.is_empty() {
        return None;
    }
    let pauses: usize = tones.iter().map(|t| t.long_pauses).sum();
    let fillers: usize = tones.iter().map(|t| t.fillers).sum();
    Some(format!(
        "Voice (information only, not used in any score): {:.0} words/min, {pauses} long pauses, {fillers} fillers",
        summary.words_per_minute
    ))
}

/// The models, the scoring model and the config that made the summary.
fn model_line(summary: &Summary) -> String {
    let mut parts: Vec<String> = summary
        .models
        .iter()
        .map(|m| format!("{} {}", m.name, m.version))
        .collect();
    if let Some(v) = &summary.analysis.scoring_model {
        parts.push(format!("scoring {v}"));
    }
    parts.push(format!(
        "pipeline {} v{} (config {})",
        summary.pipeline.name, summary.pipeline.version, summary.pipeline.config_hash
    ));
    format!("Made by: {}", parts.join(" · "))
}

/// Seconds as `m:ss` (or `h:mm:ss`).
fn clock(secs: f64) -> String {
    let total = if secs.is_finite() && secs > 0.0 {
        secs.round() as u64
    } else {
        0
    };
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
        summary: &Summary,
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
    use panelflow_models::analysis::digest::{FactKind, KeyFact};
    use panelflow_models::analysis::evidence::sentences::TimedSentence;
    use panelflow_models::analysis::highlights::RedFlag;
    use panelflow_models::analysis::summary::PipelineRef;

    fn summary() -> Summary {
        let event =
            panelflow_core::event::InterviewCompleted::new("generic", "i1", "c1", "o1", vec![]);
        let pipeline = PipelineRef {
            name: "pilot".into(),
            version: "3".into(),
            config_hash: "cafe".into(),
        };
        Summary::build(&event, &pipeline, vec![], vec![])
    }

    #[test]
    fn an_empty_summary_still_has_header_model_and_marker() {
        let note = render_note(&summary(), " id-1 ");
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(lines[0], NOTE_HEADER);
        assert!(note.contains("No speech was transcribed."));
        assert!(note.contains("pipeline pilot v3 (config cafe)"));
        assert_eq!(lines.last(), Some(&"panelflow-correlation-id: id-1"));
    }

    #[test]
    fn quotes_and_facts_carry_the_moment_they_were_said() {
        let mut s = summary();
        let mut a = AnswerTranscript::unanalysed(0);
        a.question = Some("Tell us about a deadline.".into());
        a.start = Some(3.0);
        a.end = Some(65.2);
        a.digest = Some(Digest {
            sentences: vec![TimedSentence {
                text: "We shipped in six weeks.".into(),
                start: 41.0,
                end: 44.0,
            }],
            key_facts: vec![KeyFact {
                kind: FactKind::Quantity,
                text: "six weeks".into(),
                at: 41.0,
            }],
        });
        s.answers = vec![a];
        s.highlights.red_flags.push(RedFlag {
            kind: RedFlagKind::Blaming,
            question_id: None,
            text: "They were lazy.".into(),
            at: Some(75.0),
        });
        let note = render_note(&s, "c");
        assert!(
            note.contains("1. [0:03–1:05] Tell us about a deadline."),
            "{note}"
        );
        assert!(
            note.contains("   [0:41] We shipped in six weeks."),
            "{note}"
        );
        assert!(note.contains("Key facts: six weeks [0:41]"), "{note}");
        assert!(
            note.contains("- blames others [1:15]: They were lazy."),
            "{note}"
        );
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let long = "é".repeat(5000);
        assert!(truncate_chars(&long, 10).ends_with('…'));
        assert_eq!(truncate_chars(&long, 10).chars().count(), 10);
        assert_eq!(clock(-3.0), "0:00");
        assert_eq!(clock(3725.4), "1:02:05");
    }
}
