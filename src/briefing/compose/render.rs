//! Text rendering: the briefing as the note's text, and the words, times
//! and lines it is written with.

use super::model::*;

impl Briefing {
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

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub(super) fn body(text: impl Into<String>) -> Line {
    Line {
        style: Style::Body,
        text: text.into(),
    }
}

pub(super) fn bullet(text: impl Into<String>) -> Line {
    Line {
        style: Style::Bullet,
        text: text.into(),
    }
}
