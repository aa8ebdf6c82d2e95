//! The requisition's skills in the answers: the posting's and the role's;
//! with neither, every known skill heard, and none reported missing.

use super::Analyzer;
use crate::analysis::posting::Posting;
use crate::analysis::roles::Role;
use crate::analysis::skills::{match_requisition, Piece, SkillMatch};
use crate::analysis::summary::AnswerTranscript;

impl Analyzer {
    /// The skills matched (each answer's `skills` set too), those missing,
    /// those requested, and whether no requisition was known (an open
    /// search: nothing is reported missing).
    pub(super) fn skills_against_requisition(
        &self,
        posting: Option<&Posting>,
        role_def: Option<&Role>,
        answers: &mut [AnswerTranscript],
    ) -> (Vec<SkillMatch>, Vec<String>, Vec<String>, bool) {
        let mut requested: Vec<String> = Vec::new();
        if let Some(p) = posting {
            requested.extend(self.skills.skills_named(&p.full_text()));
        }
        if let Some(r) = role_def {
            for s in &r.skills {
                let name = self
                    .skills
                    .canonical(s)
                    .map(str::to_string)
                    .unwrap_or_else(|| s.clone());
                if !requested.contains(&name) {
                    requested.push(name);
                }
            }
        }
        let open_search = requested.is_empty();
        if open_search {
            let all: String = answers
                .iter()
                .map(|a| a.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            requested = self.skills.skills_in(&all);
        }
        let pieces: Vec<Piece<'_>> = answers
            .iter()
            .filter(|a| a.answered)
            .flat_map(|a| {
                a.segments.iter().map(move |s| Piece {
                    question_id: a.question_id.as_deref(),
                    media_index: a.media_index,
                    start: s.start,
                    end: s.end,
                    text: &s.text,
                })
            })
            .collect();
        let (matched, missing) = match_requisition(&self.skills, &requested, &pieces);
        for a in answers.iter_mut() {
            a.skills = matched
                .iter()
                .filter(|m| {
                    m.mentions
                        .iter()
                        .any(|x| x.question_id == a.question_id && x.media_index == a.media_index)
                })
                .map(|m| m.skill.clone())
                .collect();
        }

        (matched, missing, requested, open_search)
    }
}
