//! Competencies and how a question reaches one.
//!
//! The built-in library ([`library.toml`](BUILTIN_LIBRARY)) holds ten
//! common competencies, each with a plain-language definition, the ways
//! interviewers ask about it and one behavioural anchor per level of
//! Lever's scale. A pipeline adds its own in the same shape
//! (`[[analysis.competencies]]`) and binds questions to competencies by id
//! (`[analysis.question_competencies]`, or `competencies` on a role's
//! question). A question bound to none is mapped by meaning: the
//! similarity of its text to each competency's definition and asks; the
//! mapping, how it was made and its similarity are recorded on the score.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::text;

/// The built-in competency library.
pub const BUILTIN_LIBRARY: &str = include_str!("library.toml");

fn one() -> f64 {
    1.0
}

/// One competency with its behaviourally anchored rating scale.
///
/// ```
/// let c: panelflow_models::analysis::competency::Competency = toml::from_str(r#"
///     id = "safe_practice"
///     name = "Safe clinical practice"
///     definition = "Follows and improves safety procedures."
///     anchors = ["Ignores procedures.", "Knows them in general.",
///                "Follows them in a real case.", "Improved one, with a result."]
/// "#).unwrap();
/// assert_eq!(c.anchor(4), "Improved one, with a result.");
/// assert_eq!(c.weight, 1.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Competency {
    /// Stable id (also the scorecard field key).
    pub id: String,
    /// Name on the scorecard and the note.
    pub name: String,
    /// What it means, in plain language.
    pub definition: String,
    /// How interviewers ask about it (for mapping questions by meaning).
    #[serde(default)]
    pub asks: Vec<String>,
    /// What an answer at each level (1 strong no … 4 strong yes) shows.
    pub anchors: [String; 4],
    /// Weight in the overall score.
    #[serde(default = "one")]
    pub weight: f64,
}

impl Competency {
    /// The anchor of a level (1–4, clamped).
    pub fn anchor(&self, level: u8) -> &str {
        &self.anchors[usize::from(level.clamp(1, 4)) - 1]
    }

    /// The texts a question is compared with: the definition and the asks.
    pub fn profile(&self) -> Vec<&str> {
        std::iter::once(self.definition.as_str())
            .chain(self.asks.iter().map(String::as_str))
            .collect()
    }
}

/// The competencies a pipeline scores: the built-in ones and its own (an
/// own one with a built-in id replaces it).
#[derive(Debug, Clone, PartialEq)]
pub struct CompetencyLibrary {
    competencies: Vec<Competency>,
}

impl CompetencyLibrary {
    /// The built-in library.
    ///
    /// ```
    /// let lib = panelflow_models::analysis::competency::CompetencyLibrary::builtin();
    /// assert!(lib.len() >= 10);
    /// assert!(lib.get("prioritization").is_some());
    /// ```
    pub fn builtin() -> Self {
        #[derive(Deserialize)]
        struct File {
            competencies: Vec<Competency>,
        }
        let file: File = match toml::from_str(BUILTIN_LIBRARY) {
            Ok(f) => f,
            Err(e) => panic!("the built-in competency library does not parse: {e}"),
        };
        Self {
            competencies: file.competencies,
        }
    }

    /// The built-in library with a pipeline's own competencies added (or
    /// replacing built-in ones of the same id).
    pub fn with(own: &[Competency]) -> Self {
        let mut lib = Self::builtin();
        for c in own {
            match lib.competencies.iter_mut().find(|x| x.id == c.id) {
                Some(x) => *x = c.clone(),
                None => lib.competencies.push(c.clone()),
            }
        }
        lib
    }

    /// A competency by id.
    pub fn get(&self, id: &str) -> Option<&Competency> {
        self.competencies.iter().find(|c| c.id == id)
    }

    /// Every competency.
    pub fn all(&self) -> &[Competency] {
        &self.competencies
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.competencies.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.competencies.is_empty()
    }
}

/// How a question reached its competency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappedBy {
    /// A recruiter bound it in the pipeline file.
    Pipeline,
    /// Its text is closest in meaning to the competency.
    Similarity,
    /// The platform sent no question text: the answer's own content chose.
    Answer,
}

impl MappedBy {
    /// `pipeline`, `similarity` or `answer`.
    pub fn as_str(self) -> &'static str {
        match self {
            MappedBy::Pipeline => "pipeline",
            MappedBy::Similarity => "similarity",
            MappedBy::Answer => "answer",
        }
    }
}

/// A question's competency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// Competency id.
    pub competency: String,
    /// How it was chosen.
    pub by: MappedBy,
    /// Similarity of the question (or answer) to the competency; 1 when bound.
    pub similarity: f64,
}

/// The competencies a pipeline binds to question ids.
pub type Bindings = BTreeMap<String, Vec<String>>;

/// The competency whose profile is closest to a text: for each, the
/// highest similarity over its definition and asks. `similarity(a, b)`
/// compares two texts (sentence embeddings, or word overlap without them).
///
/// ```
/// use panelflow_models::analysis::competency::{closest, CompetencyLibrary};
/// use panelflow_models::analysis::text::content_overlap;
/// let lib = CompetencyLibrary::builtin();
/// let sim = |a: &str, b: &str| 0.5 * (content_overlap(a, b) + content_overlap(b, a));
/// let (id, _) = closest(&lib, "How do you choose between several urgent tasks?", sim).unwrap();
/// assert_eq!(id, "prioritization");
/// ```
pub fn closest(
    library: &CompetencyLibrary,
    text_in: &str,
    mut similarity: impl FnMut(&str, &str) -> f64,
) -> Option<(String, f64)> {
    library
        .all()
        .iter()
        .map(|c| {
            let best = c
                .profile()
                .into_iter()
                .map(|p| similarity(text_in, p))
                .fold(f64::NEG_INFINITY, f64::max);
            (c.id.clone(), best)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Openings of the instructions a video platform appends to a question
/// ("Please use a real example.", "Take your time."): how to answer, not
/// what about.
const INSTRUCTION_OPENINGS: [&str; 10] = [
    "please ",
    "be ",
    "take your time",
    "use a ",
    "use an ",
    "use one ",
    "try to ",
    "feel free",
    "you may ",
    "you can ",
];

/// A question without its trailing instructions to the candidate: the
/// sentences that tell how to answer (and ask nothing) say nothing of what
/// the question is about, and only blur its meaning when it is mapped to a
/// competency. A question made only of such sentences is kept whole.
///
/// ```
/// use panelflow_models::analysis::competency::without_instructions;
/// assert_eq!(
///     without_instructions("How do you plan a busy week? Please be specific and use one example."),
///     "How do you plan a busy week?"
/// );
/// assert_eq!(without_instructions("Be honest: why this role?"), "Be honest: why this role?");
/// ```
pub fn without_instructions(question: &str) -> String {
    let kept: Vec<&str> = text::sentences(question)
        .into_iter()
        .map(|(a, b)| question[a..b].trim())
        .filter(|s| {
            let lower = s.to_lowercase();
            s.ends_with('?') || !INSTRUCTION_OPENINGS.iter().any(|o| lower.starts_with(o))
        })
        .collect();
    if kept.is_empty() {
        question.trim().to_string()
    } else {
        kept.join(" ")
    }
}

/// Word-overlap similarity, the fallback without sentence embeddings.
pub fn overlap_similarity(a: &str, b: &str) -> f64 {
    0.5 * (text::content_overlap(a, b) + text::content_overlap(b, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_has_the_ten_competencies_an_interview_usually_probes() {
        let lib = CompetencyLibrary::builtin();
        for id in [
            "collaboration",
            "ownership",
            "delivery_under_pressure",
            "prioritization",
            "problem_solving",
            "communication",
            "customer_focus",
            "leadership",
            "motivation",
            "technical_depth",
        ] {
            let c = lib.get(id).unwrap_or_else(|| panic!("{id} missing"));
            assert!(!c.definition.is_empty() && c.anchors.iter().all(|a| !a.is_empty()));
            assert!(!c.asks.is_empty(), "{id} has no asks");
        }
    }

    #[test]
    fn a_pipeline_competency_replaces_a_builtin_one_of_the_same_id() {
        let own = Competency {
            id: "motivation".into(),
            name: "Why us".into(),
            definition: "d".into(),
            asks: vec![],
            anchors: ["1".into(), "2".into(), "3".into(), "4".into()],
            weight: 0.5,
        };
        let lib = CompetencyLibrary::with(&[own]);
        assert_eq!(
            lib.get("motivation").map(|c| c.name.as_str()),
            Some("Why us")
        );
        assert_eq!(lib.len(), CompetencyLibrary::builtin().len());
    }

    #[test]
    fn word_overlap_maps_plain_questions() {
        let lib = CompetencyLibrary::builtin();
        let map = |q: &str| closest(&lib, q, overlap_similarity).map(|x| x.0);
        assert_eq!(
            map("Tell us about a time you helped an unhappy customer.").as_deref(),
            Some("customer_focus")
        );
    }
}
