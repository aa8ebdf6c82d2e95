//! Role question sets a pipeline may define (`[roles.<id>]`): for
//! interviews whose platform sends no questions and whose Lever posting has
//! none on its application form. A role is chosen only from what is known
//! about the interview — the posting's tags, categories or title, or the
//! question ids the platform sent — never guessed from what the candidate
//! said. With no role and no questions, the analysis says so and judges
//! only what was asked.
//!
//! ```toml
//! [roles.backend]
//! title = "Backend Software Engineer"
//! match = ["backend", "software engineer"]
//! skills = ["Python", "Kubernetes"]
//! questions = [
//!   { id = "be-1", text = "Tell us about a service you run in production.", competencies = ["technical_depth"] },
//!   { id = "be-2", text = "What draws you to this team?" },
//! ]
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::answers::Question;

/// Role question sets by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Roles(pub BTreeMap<String, Role>);

/// One role's question set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Role {
    /// Human title.
    pub title: String,
    /// Posting tags, categories or title words that select this role.
    pub r#match: Vec<String>,
    /// Skills the role asks for besides those in the posting.
    pub skills: Vec<String>,
    /// The questions, in interview order (each may bind its competencies).
    pub questions: Vec<Question>,
}

impl Roles {
    /// The role whose question ids cover most of `question_ids` (at least one).
    ///
    /// ```
    /// use panelflow_models::analysis::roles::Roles;
    /// let roles: Roles = toml::from_str(r#"
    ///     [r1]
    ///     questions = [{ id = "a", text = "A?" }, { id = "b", text = "B?" }]
    /// "#).unwrap();
    /// assert_eq!(roles.by_questions(&["b"]).map(|r| r.0), Some("r1"));
    /// assert!(roles.by_questions(&["zzz"]).is_none());
    /// ```
    pub fn by_questions(&self, question_ids: &[&str]) -> Option<(&str, &Role)> {
        self.0
            .iter()
            .map(|(k, r)| {
                let hits = question_ids
                    .iter()
                    .filter(|q| r.questions.iter().any(|x| x.id == **q))
                    .count();
                (k, r, hits)
            })
            .filter(|(_, _, n)| *n > 0)
            .max_by_key(|(_, _, n)| *n)
            .map(|(k, r, _)| (k.as_str(), r))
    }

    /// The role whose id or `match` terms appear among a posting's labels
    /// or title.
    pub fn by_labels(&self, labels: &[String]) -> Option<(&str, &Role)> {
        let lower: Vec<String> = labels.iter().map(|l| l.to_lowercase()).collect();
        self.0
            .iter()
            .map(|(k, r)| {
                let hits = std::iter::once(k.to_lowercase())
                    .chain(r.r#match.iter().map(|m| m.to_lowercase()))
                    .filter(|term| lower.iter().any(|l| l == term || l.contains(term.as_str())))
                    .count();
                (k, r, hits)
            })
            .filter(|(_, _, n)| *n > 0)
            .max_by_key(|(_, _, n)| *n)
            .map(|(k, r, _)| (k.as_str(), r))
    }

    /// Competencies bound to question ids by the roles' questions.
    pub fn bindings(&self) -> BTreeMap<String, Vec<String>> {
        self.0
            .values()
            .flat_map(|r| r.questions.iter())
            .filter(|q| !q.competencies.is_empty())
            .map(|q| (q.id.clone(), q.competencies.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_chosen_by_posting_labels() {
        let roles: Roles = toml::from_str(
            r#"
            [support]
            match = ["customer support"]
            [backend]
            match = ["backend", "software engineer"]
            questions = [{ id = "q", text = "Q?", competencies = ["technical_depth"] }]
            "#,
        )
        .unwrap();
        let labels = vec!["Senior Backend Software Engineer".to_string()];
        assert_eq!(roles.by_labels(&labels).map(|r| r.0), Some("backend"));
        assert_eq!(roles.bindings()["q"], ["technical_depth"]);
        assert!(roles.by_labels(&["Nurse".to_string()]).is_none());
    }
}
