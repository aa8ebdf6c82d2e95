//! Text helpers shared by the analysis: words with their place in the text,
//! sentences, fuzzy word comparison tolerant of transcription slips, and
//! light stemming.

/// One word of a text: its normalised form and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// Lower case, punctuation removed, numbers spelled out (`120%` gives
    /// several words, each pointing at the same raw token).
    pub norm: String,
    /// Byte range of the raw token in the text.
    pub start: usize,
    /// End of the raw token (exclusive).
    pub end: usize,
}

/// Splits a text into normalised words, remembering each one's raw token.
/// Hyphens and slashes separate words (`mid-market` → `mid`, `market`);
/// numbers are spelled out as [`crate::analysis::wer::normalize`] does.
///
/// ```
/// use panelflow_models::analysis::text::words;
/// let w = words("I led 5 people, mid-market.");
/// let norms: Vec<&str> = w.iter().map(|w| w.norm.as_str()).collect();
/// assert_eq!(norms, ["i", "led", "five", "people", "mid", "market"]);
/// ```
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    let flush = |s: usize, e: usize, out: &mut Vec<Word>| {
        let raw = &text[s..e];
        for norm in crate::analysis::wer::normalize(raw) {
            out.push(Word {
                norm,
                start: s,
                end: e,
            });
        }
    };
    for (i, c) in text.char_indices() {
        let sep = c.is_whitespace() || matches!(c, '-' | '/' | '–' | '—');
        match (sep, start) {
            (true, Some(s)) => {
                flush(s, i, &mut out);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        flush(s, text.len(), &mut out);
    }
    out
}

/// The normalised words of a text, without positions.
pub fn norm_words(text: &str) -> Vec<String> {
    words(text).into_iter().map(|w| w.norm).collect()
}

/// Splits a text into sentences (ending in `.`, `!` or `?` followed by a
/// space or the end), trimmed, never empty. Returns byte ranges.
///
/// ```
/// use panelflow_models::analysis::text::sentences;
/// let t = "I build APIs. It went well! Done";
/// let s: Vec<&str> = sentences(t).into_iter().map(|(a, b)| &t[a..b]).collect();
/// assert_eq!(s, ["I build APIs.", "It went well!", "Done"]);
/// ```
pub fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut begin = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?') {
            let next = bytes.get(i + 1).copied();
            if next.is_none() || next.is_some_and(|b| b.is_ascii_whitespace()) {
                push_trimmed(text, begin, i + 1, &mut out);
                begin = i + 1;
            }
        }
    }
    push_trimmed(text, begin, text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, a: usize, b: usize, out: &mut Vec<(usize, usize)>) {
    let piece = &text[a..b];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if lead + trail < piece.len() {
        out.push((a + lead, b - trail));
    }
}

/// Levenshtein distance between two strings, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Similarity in [0, 1]: one minus the edit distance over the longer length.
///
/// ```
/// use panelflow_models::analysis::text::similarity;
/// assert_eq!(similarity("zendesk", "zendesk"), 1.0);
/// assert!(similarity("postgorsql", "postgresql") >= 0.8);
/// ```
pub fn similarity(a: &str, b: &str) -> f64 {
    let n = a.chars().count().max(b.chars().count());
    if n == 0 {
        return 1.0;
    }
    1.0 - edit_distance(a, b) as f64 / n as f64
}

/// Whether `heard` can be a transcription slip of `meant` (both normalised,
/// spaces removed): the same first letter, then exact for 5 characters or fewer, one
/// edit up to 7, and similarity ≥ 0.78 beyond.
pub fn sounds_like(heard: &str, meant: &str) -> bool {
    if heard == meant {
        return true;
    }
    let n = meant.chars().count();
    if n <= 5 {
        return false;
    }
    // The first letter is rarely lost (and a wrong one changes the word).
    if heard.chars().next() != meant.chars().next() {
        return false;
    }
    if n <= 7 {
        return edit_distance(heard, meant) <= 1;
    }
    similarity(heard, meant) >= 0.78
}

/// A light English stemmer: strips common inflections so that `escalated`,
/// `escalating` and `escalation` meet at `escal`.
///
/// ```
/// use panelflow_models::analysis::text::stem;
/// assert_eq!(stem("escalated"), stem("escalation"));
/// assert_eq!(stem("tests"), "test");
/// ```
pub fn stem(word: &str) -> String {
    const SUFFIXES: [&str; 16] = [
        "ational", "ations", "ation", "ating", "ated", "ates", "ions", "ing", "ion", "ed", "es",
        "ly", "ment", "ers", "er", "s",
    ];
    for suffix in SUFFIXES {
        if let Some(base) = word.strip_suffix(suffix) {
            if base.chars().count() >= 3 {
                let base = base
                    .strip_suffix('e')
                    .filter(|b| b.chars().count() >= 3)
                    .unwrap_or(base);
                return base.to_string();
            }
        }
    }
    word.strip_suffix('e')
        .filter(|b| b.chars().count() >= 3)
        .unwrap_or(word)
        .to_string()
}

/// Common words that carry no topic, left out of overlap measures.
pub fn is_stopword(w: &str) -> bool {
    const STOP: [&str; 70] = [
        "a", "an", "the", "and", "or", "but", "so", "of", "to", "in", "on", "for", "with", "at",
        "by", "from", "as", "is", "are", "was", "were", "be", "been", "am", "i", "you", "we",
        "they", "he", "she", "it", "my", "your", "our", "their", "me", "us", "them", "this",
        "that", "these", "those", "what", "how", "why", "when", "do", "did", "does", "have", "has",
        "had", "about", "tell", "us", "there", "here", "would", "will", "can", "could", "which",
        "who", "if", "then", "than", "also", "very", "just", "into",
    ];
    STOP.contains(&w)
}

/// Share of `a`'s content words (stemmed) found in `b`, in [0, 1].
pub fn content_overlap(a: &str, b: &str) -> f64 {
    let stems = |t: &str| -> Vec<String> {
        norm_words(t)
            .into_iter()
            .filter(|w| !is_stopword(w))
            .map(|w| stem(&w))
            .collect()
    };
    let sa = stems(a);
    if sa.is_empty() {
        return 0.0;
    }
    let sb: std::collections::HashSet<String> = stems(b).into_iter().collect();
    sa.iter().filter(|w| sb.contains(*w)).count() as f64 / sa.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_positions_point_at_raw_tokens() {
        let t = "Costs fell 12% quickly";
        let w = words(t);
        let pct: Vec<&Word> = w.iter().filter(|w| &t[w.start..w.end] == "12%").collect();
        assert_eq!(pct.len(), 2, "{w:?}");
        assert_eq!(pct[0].norm, "twelve");
        assert_eq!(pct[1].norm, "percent");
    }

    #[test]
    fn slips_are_tolerated_but_short_words_are_exact() {
        assert!(sounds_like("postgorsql", "postgresql"));
        assert!(sounds_like("knowledgebased", "knowledgebase"));
        assert!(!sounds_like("sequel", "sql"));
        assert!(!sounds_like("go", "do"));
        assert!(!sounds_like("jira", "hira"));
        assert!(!sounds_like("pylon", "python"));
    }

    #[test]
    fn sentences_keep_decimal_points_inside() {
        let t = "It rose 2.5 points. Then it fell.";
        let s: Vec<&str> = sentences(t).into_iter().map(|(a, b)| &t[a..b]).collect();
        assert_eq!(s, ["It rose 2.5 points.", "Then it fell."]);
    }

    #[test]
    fn overlap_ignores_stopwords() {
        assert!(
            content_overlap(
                "How do you manage your pipeline?",
                "I manage the pipeline weekly"
            ) > 0.99
        );
        assert_eq!(content_overlap("the and of", "anything"), 0.0);
    }
}
