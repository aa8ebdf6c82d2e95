//! The bundled dataset as the demo and the tests post it: the interviews of
//! `datasets/manifest.json`, their normalized events and their generic
//! webhook bodies, with the media served by a [`MediaServer`].

use std::path::Path;

use anyhow::Context;
use serde_json::{json, Value};

use crate::media_server::MediaServer;

/// One webhook the demo posts.
#[derive(Debug, Clone)]
pub struct DemoInterview {
    /// Interview id.
    pub interview_id: String,
    /// Candidate id.
    pub candidate_id: String,
    /// Opportunity id.
    pub opportunity_id: String,
    /// `(path under datasets/, question id, question text)` per media item.
    pub media: Vec<(String, Option<String>, Option<String>)>,
}

/// Reads the interviews of `datasets/manifest.json` (and its bad media).
pub fn load_manifest(datasets: &Path) -> anyhow::Result<Vec<DemoInterview>> {
    let path = datasets.join("manifest.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut out = Vec::new();
    for it in manifest["interviews"].as_array().into_iter().flatten() {
        let questions: Vec<(String, String)> = it["questions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|q| {
                Some((
                    q["id"].as_str()?.to_string(),
                    q["text"].as_str()?.to_string(),
                ))
            })
            .collect();
        let media = it["media"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let path = m["path"].as_str()?.to_string();
                let qid = m["question_id"].as_str().map(str::to_string);
                let text = qid.as_ref().and_then(|q| {
                    questions
                        .iter()
                        .find(|(id, _)| id == q)
                        .map(|(_, t)| t.clone())
                });
                Some((path, qid, text))
            })
            .collect::<Vec<_>>();
        let field = |k: &str| {
            it[k]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("manifest interview lacks {k}"))
        };
        out.push(DemoInterview {
            interview_id: field("interview_id")?,
            candidate_id: field("candidate_id")?,
            opportunity_id: field("opportunity_id")?,
            media,
        });
    }
    Ok(out)
}

impl DemoInterview {
    /// The normalized event of this interview, its media served by `media`
    /// (what the generic source makes of [`generic_webhook`]'s body).
    pub fn event(&self, media: &MediaServer) -> panelflow_core::event::InterviewCompleted {
        let items = self
            .media
            .iter()
            .map(|(path, qid, qtext)| panelflow_core::event::MediaItem {
                url: media.url(path),
                question_id: qid.clone(),
                question_text: qtext.clone(),
                expires_at: None,
            })
            .collect();
        panelflow_core::event::InterviewCompleted::new(
            "generic",
            &self.interview_id,
            &self.candidate_id,
            &self.opportunity_id,
            items,
        )
    }
}

/// The signed generic webhook body for an interview served by `media`.
pub fn generic_webhook(it: &DemoInterview, media: &MediaServer) -> Value {
    let items: Vec<Value> = it
        .media
        .iter()
        .map(|(path, qid, text)| json!({ "url": media.url(path), "questionId": qid, "questionText": text }))
        .collect();
    let mut data = json!({
        "candidateId": it.candidate_id,
        "opportunityId": it.opportunity_id,
        "interviewId": it.interview_id,
    });
    if items.len() == 1 {
        data["mediaUrl"] = json!(media.url(&it.media[0].0));
    } else {
        data["media"] = Value::Array(items);
    }
    // The time is signed with the body: a replay outside the receiver's
    // window is refused, and each call is a distinct delivery.
    json!({ "event": "interview.completed", "timestamp": chrono::Utc::now().timestamp_millis(), "data": data })
}

/// The Lever objects behind the dataset's interviews (`datasets/lever_*.json`:
/// opportunities, postings with their application questions, applications,
/// stages), copied into a Lever emulator's folder so that it seeds them at
/// start — the context stage then finds each interview's posting and its
/// question set as it would in Lever.
///
/// ```no_run
/// let dir = tempfile::tempdir()?;
/// panelflow_devkit::dataset::seed_lever(std::path::Path::new("datasets"), dir.path())?;
/// let emu = panelflow_devkit::emulator::spawn(panelflow_devkit::emulator::EmulatorConfig::new(dir.path()))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn seed_lever(datasets: &Path, emulator_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(emulator_dir)
        .with_context(|| format!("creating {}", emulator_dir.display()))?;
    for kind in ["opportunities", "postings", "applications", "stages"] {
        let from = datasets.join(format!("lever_{kind}.json"));
        if from.exists() {
            let to = emulator_dir.join(format!("{kind}.json"));
            std::fs::copy(&from, &to)
                .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        }
    }
    Ok(())
}
