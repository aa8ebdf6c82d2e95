//! The labelled splits the analysis is measured on, read into one shape.
//!
//! - **Development** (tuning and fitting happen here): `datasets/` (the
//!   sample interviews of `manifest.json`, answers cut from their
//!   recordings at the annotated times) and `datasets/devset/`.
//! - **Test** (frozen, never tuned on): `datasets/holdout/`, written by a
//!   separate author before any tuning; its checksums are in
//!   `datasets/holdout/SHA256SUMS` and [`verify_checksums`] refuses a split
//!   that changed.
//!
//! A split folder written by `datasets/generate_split.sh` holds
//! `manifest.json` (questions, candidates, answers with `label` 1–4,
//! `uncertain`, `key_facts`, and one recording per answer).

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::answers::Question;
use super::AnalysisError;

/// One labelled answer.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledAnswer {
    /// Stable id.
    pub answer_id: String,
    /// The candidate.
    pub candidate_id: String,
    /// The question, as a platform sends it (id and text).
    pub question: Question,
    /// The question's type, when the split names one.
    pub question_type: Option<String>,
    /// The recording.
    pub media: PathBuf,
    /// The answer's span in the recording, seconds, when the recording holds more.
    pub span: Option<(f64, f64)>,
    /// What was spoken.
    pub reference_text: String,
    /// Lever's scale, 1–4.
    pub label: u8,
    /// Whether the answer should be flagged uncertain (`None`: not annotated).
    pub uncertain: Option<bool>,
    /// Key facts a summary should hold (empty: none, or not annotated).
    pub key_facts: Vec<String>,
    /// Whether key facts were annotated.
    pub key_facts_annotated: bool,
    /// What the author wrote it to be (`strong`, `evasive`, …).
    pub kind: Option<String>,
    /// The voice it was spoken in, without its variant (`en-029` for
    /// `en-029+f1`), when the split names one.
    pub voice: Option<String>,
}

/// A voice without its variant: `en-029+f1` → `en-029`.
fn voice_of(v: &Value) -> Option<String> {
    let v = v.as_str()?;
    Some(v.split('+').next().unwrap_or(v).to_string())
}

/// A split: its name, its answers and the checksum it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// `dev` or `test`, and where from.
    pub name: String,
    /// The answers.
    pub answers: Vec<LabelledAnswer>,
    /// SHA-256 of the split's index file(s).
    pub sha256: String,
}

fn data_err(path: &Path, reason: impl Into<String>) -> AnalysisError {
    AnalysisError::Data {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn read_json(path: &Path) -> Result<(Value, String), AnalysisError> {
    let bytes = std::fs::read(path).map_err(|e| data_err(path, e.to_string()))?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let v = serde_json::from_slice(&bytes).map_err(|e| data_err(path, e.to_string()))?;
    Ok((v, sha))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Reads a split folder written by `datasets/generate_split.sh`.
pub fn load_split(dir: &Path) -> Result<Split, AnalysisError> {
    let path = dir.join("manifest.json");
    let (m, sha256) = read_json(&path)?;
    let questions: Vec<(Question, Option<String>)> = m["questions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| {
            Some((
                Question::new(q["id"].as_str()?, q["text"].as_str()?),
                q["type"].as_str().map(str::to_string),
            ))
        })
        .collect();
    let voices: Vec<(&str, Option<String>)> = m["candidates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["candidate_id"].as_str()?, voice_of(&c["voice"]))))
        .collect();
    let mut answers = Vec::new();
    for a in m["answers"].as_array().into_iter().flatten() {
        let id = a["answer_id"].as_str().unwrap_or_default().to_string();
        let qid = a["question_id"].as_str().unwrap_or_default();
        let (question, question_type) = questions
            .iter()
            .find(|(q, _)| q.id == qid)
            .cloned()
            .ok_or_else(|| data_err(&path, format!("{id}: unknown question {qid}")))?;
        let label = a["label"]
            .as_u64()
            .filter(|l| (1..=4).contains(l))
            .ok_or_else(|| data_err(&path, format!("{id}: label not 1-4")))?
            as u8;
        let media = a["media_path"]
            .as_str()
            .ok_or_else(|| data_err(&path, format!("{id}: no media_path")))?;
        let candidate_id = a["candidate_id"].as_str().unwrap_or_default();
        let voice = voices
            .iter()
            .find(|(c, _)| *c == candidate_id)
            .and_then(|(_, v)| v.clone());
        answers.push(LabelledAnswer {
            answer_id: id,
            candidate_id: candidate_id.to_string(),
            question,
            question_type,
            media: dir.join(media),
            span: None,
            reference_text: a["text"].as_str().unwrap_or_default().to_string(),
            label,
            uncertain: a["uncertain"].as_bool(),
            key_facts: strings(&a["key_facts"]),
            key_facts_annotated: a.get("key_facts").is_some(),
            kind: a["kind"].as_str().map(str::to_string),
            voice,
        });
    }
    Ok(Split {
        name: dir.display().to_string(),
        answers,
        sha256,
    })
}

/// The annotated answers of the sample interviews (`datasets/manifest.json`):
/// each answer with a rubric key, cut from its recording at the annotated
/// times. The question ids there are the dataset's own; the analysis is
/// not told anything about them.
pub fn load_samples(datasets: &Path) -> Result<Split, AnalysisError> {
    let path = datasets.join("manifest.json");
    let (m, sha256) = read_json(&path)?;
    let mut answers = Vec::new();
    for it in m["interviews"].as_array().into_iter().flatten() {
        let iid = it["interview_id"].as_str().unwrap_or_default();
        let questions: Vec<Question> = it["questions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|q| Some(Question::new(q["id"].as_str()?, q["text"].as_str()?)))
            .collect();
        let single = it["form"] == "single_recording";
        for a in it["answers"].as_array().into_iter().flatten() {
            let Some(label) = a["rubric_key"]["score"].as_u64().map(|s| s as u8) else {
                continue;
            };
            let qid = a["question_id"].as_str().unwrap_or_default();
            let Some(question) = questions.iter().find(|q| q.id == qid).cloned() else {
                continue;
            };
            let span = match (a["start_s"].as_f64(), a["end_s"].as_f64()) {
                (Some(s), Some(e)) if single => Some((s, e)),
                _ => None,
            };
            let flags = strings(&a["expected_flags"]);
            answers.push(LabelledAnswer {
                answer_id: format!("{iid}/{qid}"),
                candidate_id: it["candidate_id"].as_str().unwrap_or_default().to_string(),
                question,
                question_type: a["rubric_key"]["competency"].as_str().map(str::to_string),
                media: datasets.join(a["media_path"].as_str().unwrap_or_default()),
                span,
                reference_text: a["reference_text"].as_str().unwrap_or_default().to_string(),
                label,
                uncertain: a
                    .get("expected_flags")
                    .map(|_| flags.iter().any(|f| f == "uncertain_needs_clarification")),
                key_facts: Vec::new(),
                key_facts_annotated: false,
                kind: a["notes"].as_str().map(str::to_string),
                voice: voice_of(&it["voice"]),
            });
        }
    }
    Ok(Split {
        name: datasets.join("manifest.json").display().to_string(),
        answers,
        sha256,
    })
}

/// Checks a split folder against its `SHA256SUMS` (every file listed must
/// be there with that checksum): a frozen split must not change.
pub fn verify_checksums(dir: &Path) -> Result<usize, AnalysisError> {
    let sums = dir.join("SHA256SUMS");
    let text = std::fs::read_to_string(&sums).map_err(|e| data_err(&sums, e.to_string()))?;
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (sum, file) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| data_err(&sums, format!("bad line: {line}")))?;
        let file = file.trim_start().trim_start_matches('*');
        let bytes =
            std::fs::read(dir.join(file)).map_err(|e| data_err(&dir.join(file), e.to_string()))?;
        if hex::encode(Sha256::digest(&bytes)) != sum {
            return Err(data_err(
                &dir.join(file),
                "differs from its checksum in SHA256SUMS: a frozen split must not change",
            ));
        }
        n += 1;
    }
    Ok(n)
}
