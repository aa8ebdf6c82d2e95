//! The question set of an interview: the platform's (the event's
//! `questions`, or its per-answer media), else the Lever posting's
//! application questions, else a pipeline role's (`[roles.<id>] questions`,
//! the role chosen from the posting's tags, categories or title, the
//! platform's question ids, or `[analysis] default_role`). Never guessed
//! from what the candidate said: with none of these, the set is empty and
//! the analysis says the questions are not known.

use panelflow_connectors::lever::context::ContextReader;
use panelflow_core::event::{InterviewCompleted, MediaItem};
use panelflow_models::analysis::answers::Question;
use panelflow_models::analysis::posting::Posting;
use panelflow_models::analysis::roles::Roles;
use serde::Serialize;
use serde_json::Value;

/// Where an interview's question set came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionSetSource {
    /// The platform's payload.
    Provider,
    /// The Lever posting's application questions.
    Posting,
    /// A pipeline role's question set.
    Role,
    /// No question set is known.
    None,
}

impl QuestionSetSource {
    /// The name used in logs and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionSetSource::Provider => "provider",
            QuestionSetSource::Posting => "posting",
            QuestionSetSource::Role => "role",
            QuestionSetSource::None => "none",
        }
    }

    /// The analysis' name for it (`questions_from` on the summary).
    pub fn analysis_name(self) -> Option<&'static str> {
        match self {
            QuestionSetSource::Provider => Some("platform"),
            QuestionSetSource::Posting => Some("posting"),
            QuestionSetSource::Role => Some("role"),
            QuestionSetSource::None => None,
        }
    }
}

/// The question set chosen for an interview.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenQuestions {
    /// The questions, in interview order.
    pub questions: Vec<Question>,
    /// Where they came from.
    pub source: QuestionSetSource,
    /// The pipeline role, when one was chosen.
    pub role: Option<String>,
}

/// What the choice of a question set reads: the roles, the default one,
/// and the posting's application form through the context reader.
pub(super) struct QuestionSets<'a> {
    /// `[roles]`.
    pub roles: &'a Roles,
    /// `[analysis] default_role`.
    pub default_role: &'a Option<String>,
    /// Lever, for the posting's application form.
    pub reader: &'a ContextReader,
}

impl QuestionSets<'_> {
    /// The posting's application questions (open-text ones), cached.
    fn posting_questions(&self, posting_id: &str) -> Vec<Question> {
        self.reader
            .posting_form(posting_id)
            .map(|form| application_questions(&form))
            .unwrap_or_default()
    }
}

/// Chooses the question set and the role (see the module docs).
pub(super) fn choose_questions(
    chooser: &QuestionSets<'_>,
    event: &InterviewCompleted,
    media: &[MediaItem],
    posting: Option<&Posting>,
) -> ChosenQuestions {
    let posting_role = posting.and_then(|p| {
        let mut labels = p.labels.clone();
        labels.push(p.title.clone());
        chooser.roles.by_labels(&labels).map(|(k, _)| k.to_string())
    });
    let provider: Vec<Question> = if !event.questions.is_empty() {
        event
            .questions
            .iter()
            .map(|q| Question::new(q.id.clone(), q.text.clone().unwrap_or_default()))
            .collect()
    } else {
        let mut qs: Vec<Question> = Vec::new();
        for m in media {
            if let Some(id) = &m.question_id {
                if !qs.iter().any(|q| &q.id == id) {
                    qs.push(Question::new(
                        id.clone(),
                        m.question_text.clone().unwrap_or_default(),
                    ));
                }
            }
        }
        qs
    };
    let id_role = || {
        let ids: Vec<&str> = provider.iter().map(|q| q.id.as_str()).collect();
        chooser.roles.by_questions(&ids).map(|(k, _)| k.to_string())
    };
    let role = posting_role.or_else(id_role).or_else(|| {
        chooser
            .default_role
            .clone()
            .filter(|f| chooser.roles.0.contains_key(f))
    });
    let role_questions = || -> Vec<Question> {
        role.as_ref()
            .and_then(|f| chooser.roles.0.get(f))
            .map(|f| f.questions.clone())
            .unwrap_or_default()
    };
    let posting_id = posting.map(|p| p.id.as_str()).filter(|id| !id.is_empty());
    if !provider.is_empty() {
        // Texts the platform left out, from the other sets by id.
        let mut known = role_questions();
        if let Some(p) = posting_id {
            known.extend(chooser.posting_questions(p));
        }
        let questions = provider
            .into_iter()
            .map(|mut q| {
                if let Some(k) = known.iter().find(|k| k.id == q.id) {
                    if q.text.is_empty() {
                        q.text = k.text.clone();
                    }
                    if q.competencies.is_empty() {
                        q.competencies = k.competencies.clone();
                    }
                }
                q
            })
            .collect();
        return ChosenQuestions {
            questions,
            source: QuestionSetSource::Provider,
            role,
        };
    }
    if let Some(p) = posting_id {
        let qs = chooser.posting_questions(p);
        if !qs.is_empty() {
            return ChosenQuestions {
                questions: qs,
                source: QuestionSetSource::Posting,
                role,
            };
        }
    }
    let qs = role_questions();
    let source = if qs.is_empty() {
        QuestionSetSource::None
    } else {
        QuestionSetSource::Role
    };
    ChosenQuestions {
        questions: qs,
        source,
        role,
    }
}

/// The open-text questions of a posting's application form
/// (`GET /postings/:id/apply` → `customQuestions[].fields[]`), in order.
pub fn application_questions(form: &Value) -> Vec<Question> {
    let mut out = Vec::new();
    for cq in form
        .get("customQuestions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let cq_id = cq.get("id").and_then(Value::as_str).unwrap_or("custom");
        for (i, f) in cq
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let kind = f.get("type").and_then(Value::as_str).unwrap_or("textarea");
            if !matches!(kind, "textarea" | "text" | "video") {
                continue;
            }
            let Some(text) = f
                .get("text")
                .and_then(Value::as_str)
                .filter(|t| !t.trim().is_empty())
            else {
                continue;
            };
            let id = f
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{cq_id}:{i}"));
            out.push(Question::new(id, text));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn application_questions_keep_open_text_fields_in_order() {
        let form = json!({"data": null, "customQuestions": [
        {"id": "cq1", "fields": [
            {"type": "multiple-choice", "text": "Work authorization?"},
            {"type": "textarea", "text": "Tell us about your support experience.", "id": "f1"},
            {"type": "textarea", "text": "How do you handle many tickets?"}
        ]}]});
        let qs = application_questions(&form);
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].id, "f1");
        assert_eq!(qs[1].id, "cq1:2");
    }
}
