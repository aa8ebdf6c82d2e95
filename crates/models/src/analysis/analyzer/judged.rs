//! How an answer is judged: its general evidence (with the embedding
//! similarities it needs) and the competency score made from it.

use std::collections::BTreeMap;

use super::{r3, Analyzer};
use crate::analysis::competency::Mapping;
use crate::analysis::embed::cosine;
use crate::analysis::evidence::sentences::timed_sentences;
use crate::analysis::evidence::{evidence, Evidence, Similarities, FEATURE_NAMES, PRIVATE_LIFE};
use crate::analysis::scoring::{criteria, raw_confidence, Reliability, Score};
use crate::speech::Segment;

impl Analyzer {
    /// The general evidence of an answer to a question, as the score sees
    /// it (for evaluation and fitting).
    pub fn evidence_of(
        &mut self,
        question_id: Option<&str>,
        question: &str,
        segments: &[Segment],
    ) -> (Option<Mapping>, Evidence) {
        let sentences = timed_sentences(segments);
        let answer: String = sentences
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let mapping = self.map_question(question_id, question, &answer);
        let anchors = mapping
            .as_ref()
            .and_then(|m| self.library.get(&m.competency))
            .map(|c| c.anchors.to_vec());
        let sims = match self.embed(&[answer.as_str()]) {
            Some(v) => self.similarities(&v[0], question, anchors.as_deref()),
            None => Similarities::default(),
        };
        (mapping, evidence(&sentences, question, sims))
    }

    /// The similarities of an answer's embedding to its question, to the
    /// competency's anchors and to private life.
    pub(super) fn similarities(
        &mut self,
        answer: &[f32],
        question: &str,
        anchors: Option<&[String]>,
    ) -> Similarities {
        let mut probe: Vec<&str> = vec![PRIVATE_LIFE];
        if let Some(a) = anchors {
            probe.extend(a.iter().map(String::as_str));
        }
        if !question.is_empty() {
            probe.push(question);
        }
        let Some(v) = self.embed(&probe) else {
            return Similarities::default();
        };
        let at = |i: usize| cosine(answer, &v[i]);
        let mut sims = Similarities {
            to_private_life: Some(at(0)),
            ..Similarities::default()
        };
        let mut next = 1;
        if anchors.is_some_and(|a| a.len() == 4) {
            sims.to_anchors = Some([at(1), at(2), at(3), at(4)]);
            next = 5;
        }
        if !question.is_empty() {
            sims.to_question = Some(at(next));
        }
        sims
    }

    /// A competency score from an answer's evidence.
    pub fn score(
        &self,
        mapping: &Mapping,
        question_id: &str,
        ev: &Evidence,
        reliability: &Reliability,
    ) -> Score {
        let prediction = self.scoring.predict(&ev.features);
        let raw = raw_confidence(&prediction, ev, reliability);
        let confidence = r3(self.scoring.calibrate(raw));
        let (met, lowered) = criteria(&prediction);
        let competency = self.library.get(&mapping.competency);
        let values = ev.features.values();
        let features = FEATURE_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.to_string(),
                    [r3(values[i]), r3(prediction.contributions[i])],
                )
            })
            .collect();
        // Quotes of the features that moved the score.
        let moved: Vec<&String> = met.iter().chain(&lowered).collect();
        let evidence = ev
            .quotes
            .iter()
            .filter(|q| moved.iter().any(|m| **m == q.feature))
            .cloned()
            .collect();
        Score {
            competency: mapping.competency.clone(),
            name: competency.map_or_else(|| mapping.competency.clone(), |c| c.name.clone()),
            question_id: question_id.to_string(),
            mapped_by: mapping.by.as_str().to_string(),
            mapping_similarity: mapping.similarity,
            score: prediction.score,
            level: r3(prediction.level),
            anchor: competency
                .map(|c| c.anchor(prediction.score).to_string())
                .unwrap_or_default(),
            criteria_met: met,
            criteria_missing: lowered,
            evidence,
            features,
            confidence,
            low_confidence: confidence < self.settings.low_confidence,
            weight: competency.map_or(1.0, |c| c.weight),
            model_version: self.scoring.version.clone(),
        }
    }

    /// The score of a question asked and not answered: the lowest level,
    /// as sure as the answer's boundaries are.
    pub(super) fn unanswered_score(
        &self,
        mapping: &Mapping,
        question_id: &str,
        alignment: f64,
    ) -> Score {
        let competency = self.library.get(&mapping.competency);
        let confidence = r3(alignment.clamp(0.0, 1.0));
        Score {
            competency: mapping.competency.clone(),
            name: competency.map_or_else(|| mapping.competency.clone(), |c| c.name.clone()),
            question_id: question_id.to_string(),
            mapped_by: mapping.by.as_str().to_string(),
            mapping_similarity: mapping.similarity,
            score: 1,
            level: 1.0,
            anchor: competency
                .map(|c| c.anchor(1).to_string())
                .unwrap_or_default(),
            criteria_met: Vec::new(),
            criteria_missing: vec!["no_answer".into()],
            evidence: Vec::new(),
            features: BTreeMap::new(),
            confidence,
            low_confidence: confidence < self.settings.low_confidence,
            weight: competency.map_or(1.0, |c| c.weight),
            model_version: self.scoring.version.clone(),
        }
    }
}
