//! Skills: the requisition's terms (from the posting and the pipeline's skill
//! list) found in the answers, by name, synonym or acronym, tolerant of
//! transcription slips, each match with its quote and timestamp.
//!
//! The vocabulary is a data file, `datasets/skills.json` (built in; the
//! pipeline's `[analysis] skills_file` may name another).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::text::{self, sounds_like, stem, Word};
use super::AnalysisError;

/// The built-in vocabulary (`datasets/skills.json`).
pub const BUILTIN_SKILLS: &str = include_str!("../../../../datasets/skills.json");
/// Words either side of an ambiguous alias searched for a context word.
const CONTEXT_WINDOW: usize = 3;

#[derive(Debug, Deserialize)]
struct SkillsFile {
    skills: Vec<SkillSpec>,
}

#[derive(Debug, Deserialize)]
struct SkillSpec {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    ambiguous: Vec<String>,
    #[serde(default)]
    context: Vec<String>,
}

/// One way of saying a skill, as stemmed words.
#[derive(Debug, Clone)]
struct Pattern {
    /// The alias's words as written (normalised, not stemmed).
    words: Vec<String>,
    stems: Vec<String>,
    /// The alias's words joined without spaces (for slips that split or
    /// join words, like "post gres" or "salesforce").
    joined: String,
    /// Needs a context word nearby.
    ambiguous: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    patterns: Vec<Pattern>,
    context: HashSet<String>,
}

/// The skills vocabulary.
#[derive(Debug, Clone)]
pub struct SkillLexicon {
    entries: Vec<Entry>,
    sha256: String,
}

/// One place a skill was found in a word list.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Canonical skill name.
    pub skill: String,
    /// First word of the match.
    pub first: usize,
    /// Last word of the match (inclusive).
    pub last: usize,
    /// Exact (stemmed) match, or a tolerated slip.
    pub exact: bool,
}

/// Where a skill was mentioned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    /// The question answered when it was said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// Which media item.
    pub media_index: usize,
    /// Seconds into that media item (estimated within its segment).
    pub at: f64,
    /// The sentence it was said in.
    pub quote: String,
    /// The words as transcribed.
    pub heard: String,
    /// Whether the words matched a known form exactly (else: a tolerated slip).
    pub exact: bool,
}

/// A requisition skill the candidate talked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillMatch {
    /// Canonical name.
    pub skill: String,
    /// How many times.
    pub count: usize,
    /// Each mention, in order.
    pub mentions: Vec<Mention>,
}

impl SkillLexicon {
    /// The built-in vocabulary.
    pub fn builtin() -> Result<Self, AnalysisError> {
        Self::parse(BUILTIN_SKILLS, "datasets/skills.json (built in)")
    }

    /// Reads a vocabulary file.
    pub fn load(path: &Path) -> Result<Self, AnalysisError> {
        let text = std::fs::read_to_string(path).map_err(|e| AnalysisError::Data {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a vocabulary (`{ "skills": [{ name, aliases, ambiguous, context }] }`).
    pub fn parse(json: &str, origin: &str) -> Result<Self, AnalysisError> {
        let file: SkillsFile = serde_json::from_str(json).map_err(|e| AnalysisError::Data {
            path: origin.to_string(),
            reason: e.to_string(),
        })?;
        let mut entries = Vec::with_capacity(file.skills.len());
        for spec in file.skills {
            let mut patterns = Vec::new();
            let mut forms: Vec<(String, bool)> = vec![(spec.name.clone(), false)];
            forms.extend(spec.aliases.iter().map(|a| (a.clone(), false)));
            forms.extend(spec.ambiguous.iter().map(|a| (a.clone(), true)));
            for (form, ambiguous) in forms {
                let words = text::norm_words(&form);
                if words.is_empty() {
                    continue;
                }
                let joined: String = words.concat();
                let stems: Vec<String> = words.iter().map(|w| stem(w)).collect();
                // The name itself is ambiguous when it is listed as such.
                let ambiguous =
                    ambiguous || spec.ambiguous.iter().any(|a| text::norm_words(a) == words);
                if !patterns.iter().any(|p: &Pattern| p.stems == stems) {
                    patterns.push(Pattern {
                        words: words.clone(),
                        stems,
                        joined,
                        ambiguous,
                    });
                }
            }
            let context = spec
                .context
                .iter()
                .flat_map(|c| text::norm_words(c))
                .map(|w| stem(&w))
                .collect();
            entries.push(Entry {
                name: spec.name,
                patterns,
                context,
            });
        }
        use sha2::Digest;
        let sha256 = hex::encode(sha2::Sha256::digest(json.as_bytes()));
        Ok(Self { entries, sha256 })
    }

    /// SHA-256 of the vocabulary's text (provenance).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The canonical name for a name or alias, if known.
    pub fn canonical(&self, name: &str) -> Option<&str> {
        let stems: Vec<String> = text::norm_words(name).iter().map(|w| stem(w)).collect();
        self.entries
            .iter()
            .find(|e| e.patterns.iter().any(|p| p.stems == stems))
            .map(|e| e.name.as_str())
    }

    /// Finds skills in a word list, longest and exact matches first, no two
    /// overlapping. `only` restricts the search to some canonical names.
    pub fn find(&self, words: &[Word], only: Option<&HashSet<String>>) -> Vec<Hit> {
        let stems: Vec<String> = words.iter().map(|w| stem(&w.norm)).collect();
        let mut candidates: Vec<(Hit, usize)> = Vec::new();
        for entry in &self.entries {
            if only.is_some_and(|o| !o.contains(&entry.name)) {
                continue;
            }
            for p in &entry.patterns {
                let k = p.stems.len();
                for i in 0..words.len() {
                    // Exact, on stems.
                    if i + k <= words.len() && stems[i..i + k] == p.stems[..] {
                        if !p.ambiguous || has_context(&stems, i, i + k - 1, &entry.context) {
                            candidates.push((
                                Hit {
                                    skill: entry.name.clone(),
                                    first: i,
                                    last: i + k - 1,
                                    exact: true,
                                },
                                k,
                            ));
                        }
                        continue;
                    }
                    if p.ambiguous || p.joined.chars().count() <= 5 {
                        continue;
                    }
                    // A slip: the words around i, joined, sound like the alias.
                    for w in k.saturating_sub(1).max(1)..=k + 1 {
                        if i + w > words.len() {
                            break;
                        }
                        let heard: String =
                            words[i..i + w].iter().map(|w| w.norm.as_str()).collect();
                        if sounds_like(&heard, &p.joined) {
                            candidates.push((
                                Hit {
                                    skill: entry.name.clone(),
                                    first: i,
                                    last: i + w - 1,
                                    exact: false,
                                },
                                k,
                            ));
                            break;
                        }
                    }
                }
            }
        }
        // Exact before slips, longer aliases before shorter, then leftmost.
        candidates.sort_by(|(a, ka), (b, kb)| {
            b.exact
                .cmp(&a.exact)
                .then(kb.cmp(ka))
                .then(a.first.cmp(&b.first))
        });
        let mut taken = vec![false; words.len()];
        let mut hits = Vec::new();
        for (hit, _) in candidates {
            if (hit.first..=hit.last).any(|i| taken[i]) {
                continue;
            }
            (hit.first..=hit.last).for_each(|i| taken[i] = true);
            hits.push(hit);
        }
        hits.sort_by_key(|h| h.first);
        hits
    }

    /// The canonical skills named in a text (a posting, a skill list), in order of first mention.
    pub fn skills_in(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for hit in self.find(&text::words(text), None) {
            if !out.contains(&hit.skill) {
                out.push(hit.skill);
            }
        }
        out
    }

    /// The skills named exactly (no tolerated slip) in a text: for a
    /// written posting, and for key facts, where a near miss ("look for"
    /// for Looker) would put words in the candidate's mouth.
    ///
    /// ```
    /// let lex = panelflow_models::analysis::skills::SkillLexicon::builtin().unwrap();
    /// assert_eq!(lex.skills_named("We run Kubernetes and Postgres."), ["Kubernetes", "PostgreSQL"]);
    /// assert!(lex.skills_named("I look for duplicates.").is_empty());
    /// assert!(lex.skills_named("We are looking for an engineer.").is_empty());
    /// ```
    pub fn skills_named(&self, text: &str) -> Vec<String> {
        let words = text::words(text);
        let mut out: Vec<String> = Vec::new();
        for hit in self.find(&words, None) {
            // The words as written, not a stem that happens to match
            // ("looking" is not Looker).
            let heard: Vec<&str> = words[hit.first..=hit.last]
                .iter()
                .map(|w| w.norm.as_str())
                .collect();
            let literal = self
                .entries
                .iter()
                .filter(|e| e.name == hit.skill)
                .flat_map(|e| e.patterns.iter())
                .any(|p| p.words.iter().map(String::as_str).eq(heard.iter().copied()));
            if hit.exact && literal && !out.contains(&hit.skill) {
                out.push(hit.skill);
            }
        }
        out
    }
}

fn has_context(stems: &[String], first: usize, last: usize, context: &HashSet<String>) -> bool {
    let lo = first.saturating_sub(CONTEXT_WINDOW);
    let hi = (last + CONTEXT_WINDOW + 1).min(stems.len());
    (lo..hi)
        .filter(|i| *i < first || *i > last)
        .any(|i| context.contains(&stems[i]))
}

/// A transcript piece skills are searched in: one segment of one answer.
#[derive(Debug, Clone, Copy)]
pub struct Piece<'a> {
    /// The question answered.
    pub question_id: Option<&'a str>,
    /// Which media item.
    pub media_index: usize,
    /// Segment start, seconds.
    pub start: f64,
    /// Segment end, seconds.
    pub end: f64,
    /// Segment text.
    pub text: &'a str,
}

/// The requisition skills mentioned in `pieces` (in the order of `wanted`)
/// and those not mentioned. Mentions carry their sentence and an estimated
/// time (the segment's start plus the word's share of its length).
pub fn match_requisition(
    lexicon: &SkillLexicon,
    wanted: &[String],
    pieces: &[Piece<'_>],
) -> (Vec<SkillMatch>, Vec<String>) {
    let only: HashSet<String> = wanted.iter().cloned().collect();
    let mut found: BTreeMap<String, Vec<Mention>> = BTreeMap::new();
    for piece in pieces {
        let words = text::words(piece.text);
        if words.is_empty() {
            continue;
        }
        let sentences = text::sentences(piece.text);
        for hit in lexicon.find(&words, Some(&only)) {
            let (a, b) = (words[hit.first].start, words[hit.last].end);
            let quote = sentences
                .iter()
                .find(|(s, e)| *s <= a && b <= *e)
                .map(|(s, e)| &piece.text[*s..*e])
                .unwrap_or(piece.text);
            let share = hit.first as f64 / words.len() as f64;
            let at = piece.start + share * (piece.end - piece.start).max(0.0);
            found.entry(hit.skill.clone()).or_default().push(Mention {
                question_id: piece.question_id.map(str::to_string),
                media_index: piece.media_index,
                at: (at * 100.0).round() / 100.0,
                quote: quote.trim().to_string(),
                heard: piece.text[a..b].to_string(),
                exact: hit.exact,
            });
        }
    }
    let mut matched = Vec::new();
    let mut missing = Vec::new();
    for skill in wanted {
        match found.remove(skill) {
            Some(mentions) => matched.push(SkillMatch {
                skill: skill.clone(),
                count: mentions.len(),
                mentions,
            }),
            None => missing.push(skill.clone()),
        }
    }
    (matched, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> SkillLexicon {
        SkillLexicon::builtin().expect("built-in skills parse")
    }

    fn names(text: &str) -> Vec<String> {
        lex().skills_in(text)
    }

    #[test]
    fn synonyms_acronyms_and_spelled_letters() {
        assert_eq!(
            names("We run on Amazon Web Services and k8s"),
            ["AWS", "Kubernetes"]
        );
        assert_eq!(names("I write S Q L daily"), ["SQL"]);
        assert_eq!(names("business to business software sales"), ["B2B sales"]);
        assert_eq!(names("I escalated the bug"), ["escalation"]);
    }

    #[test]
    fn longest_match_wins_and_nothing_overlaps() {
        assert_eq!(names("a PostgreSQL database"), ["PostgreSQL"]);
        assert_eq!(names("knowledge-based articles"), ["knowledge base"]);
    }

    #[test]
    fn transcription_slips_are_tolerated() {
        let hits = lex().find(&text::words("with a post-GorSQL database"), None);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].skill, "PostgreSQL");
        assert!(!hits[0].exact);
    }

    #[test]
    fn ambiguous_words_need_context() {
        assert_eq!(names("mostly writing Python and Go."), ["Python", "Go"]);
        assert!(names("let us go to the meeting").is_empty());
        assert!(names("I excel at closing").is_empty());
        assert_eq!(
            names("building reports in Excel and Power BI"),
            ["Excel", "Power BI"]
        );
    }

    #[test]
    fn requisition_matches_carry_quote_and_time() {
        let wanted = vec!["Python".to_string(), "Kafka".to_string()];
        let pieces = [Piece {
            question_id: Some("q1"),
            media_index: 0,
            start: 10.0,
            end: 14.0,
            text: "Hello there. I use Python at work.",
        }];
        let (matched, missing) = match_requisition(&lex(), &wanted, &pieces);
        assert_eq!(missing, ["Kafka"]);
        assert_eq!(matched[0].skill, "Python");
        let m = &matched[0].mentions[0];
        assert_eq!(m.quote, "I use Python at work.");
        assert!(m.at > 10.0 && m.at < 14.0);
        assert_eq!(m.question_id.as_deref(), Some("q1"));
    }

    #[test]
    fn canonical_names_resolve_aliases() {
        assert_eq!(lex().canonical("amazon web services"), Some("AWS"));
        assert_eq!(lex().canonical("nothing like it"), None);
    }
}
