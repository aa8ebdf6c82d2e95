//! What a briefing is built from: the opportunity's Lever objects, its
//! analysed interviews from Parquet and the panelists' calibration.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{id_of, BriefingConfig, BriefingError, FORMAT};
use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::parquet::aggregates::{read_rows, SNAPSHOT_DIR};
use panelflow_connectors::parquet::ParquetSink;
use panelflow_core::outcome::Outcome;
use panelflow_models::analysis::summary::Summary;

/// Everything one briefing is built from.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    /// `GET /opportunities/:id`.
    pub opportunity: Value,
    /// `GET /opportunities/:id/interviews`.
    pub interviews: Vec<Value>,
    /// `GET /opportunities/:id/panels`.
    pub panels: Vec<Value>,
    /// `GET /opportunities/:id/feedback`: the scorecards.
    pub feedback: Vec<Value>,
    /// `GET /opportunities/:id/resumes`, with `parsedData`.
    pub resumes: Vec<Value>,
    /// panelflow's summaries of the opportunity's interviews (the latest
    /// pipeline version of each), oldest first.
    pub summaries: Vec<Summary>,
    /// Calibration of the reviewers (scope `all`), by reviewer id.
    pub calibration: BTreeMap<String, Calibration>,
}

/// How a reviewer rates across their panels (`reviewer_calibration`,
/// scope `all`).
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Ratings counted.
    pub ratings: i64,
    /// Ratings given with at least one other panelist.
    pub co_rated: i64,
    /// Mean offset from the rest of the panel (positive: more lenient).
    pub leniency: Option<f64>,
    /// Share of co-rated ratings within half a point of the panel.
    pub agreement_panel: Option<f64>,
}

impl Gathered {
    /// A hash of everything the briefing is built from (and of the
    /// briefing's own format version and the pipeline config), in a
    /// stable form: the same inputs give the same fingerprint, any new or
    /// changed scorecard, interview, panel, résumé or summary another. Of
    /// the opportunity only what the briefing shows counts (its
    /// `updatedAt` moves with every note written to it).
    pub fn fingerprint(&self, config_hash: &str) -> String {
        let ids = |items: &[Value]| -> Vec<Value> {
            let mut out = items.to_vec();
            out.sort_by_key(|v| v.get("id").map(Value::to_string).unwrap_or_default());
            out
        };
        let summaries: Vec<(String, String, String)> = self
            .summaries
            .iter()
            .map(|s| {
                (
                    s.interview_id.clone(),
                    s.pipeline.version.clone(),
                    s.correlation_id.clone(),
                )
            })
            .collect();
        let calibration: Vec<(String, i64, i64)> = self
            .calibration
            .iter()
            .map(|(r, c)| {
                let tenths = c.leniency.map_or(0, |l| (l * 10.0).round() as i64);
                (r.clone(), c.co_rated, tenths)
            })
            .collect();
        let opportunity = serde_json::json!({
            "id": self.opportunity.get("id"),
            "name": self.opportunity.get("name"),
            "headline": self.opportunity.get("headline"),
            "stage": self.opportunity.get("stage"),
        });
        let doc = serde_json::json!({
            "format": FORMAT,
            "config": config_hash,
            "opportunity": opportunity,
            "interviews": ids(&self.interviews),
            "panels": ids(&self.panels),
            "feedback": ids(&self.feedback),
            "resumes": ids(&self.resumes),
            "summaries": summaries,
            "calibration": calibration,
        });
        hex::encode(&Sha256::digest(doc.to_string().as_bytes())[..12])
    }
}

/// Reads what a briefing of `opportunity_id` is built from.
pub fn gather(
    client: &LeverClient,
    cfg: &BriefingConfig,
    opportunity_id: &str,
) -> Result<Gathered, BriefingError> {
    let opportunity = client.get_opportunity(opportunity_id)?;
    let list = |what: &str| client.list(&["opportunities", opportunity_id, what], &[]);
    let feedback: Vec<Value> = list("feedback")?
        .into_iter()
        .filter(|f| f.get("deletedAt").is_none_or(Value::is_null))
        .collect();
    let mut g = Gathered {
        interviews: list("interviews")?,
        panels: list("panels")?,
        resumes: list("resumes")?,
        feedback,
        summaries: read_summaries(&cfg.parquet_dir, cfg, opportunity_id)?,
        opportunity,
        calibration: BTreeMap::new(),
    };
    let reviewers: Vec<String> = g
        .feedback
        .iter()
        .filter_map(|f| id_of(f.get("user")))
        .collect();
    g.calibration = read_calibration(&cfg.aggregates_dir, &reviewers)?;
    tracing::debug!(
        opportunity_id,
        interviews = g.interviews.len(),
        panels = g.panels.len(),
        scorecards = g.feedback.len(),
        resumes = g.resumes.len(),
        summaries = g.summaries.len(),
        "briefing inputs read"
    );
    Ok(g)
}

/// panelflow's summaries of an opportunity's interviews from the
/// `interviews` table (decrypted with the pipeline's key ring): per
/// interview the row analysed last, transcribed ones only, oldest first.
pub fn read_summaries(
    parquet_dir: &Path,
    cfg: &BriefingConfig,
    opportunity_id: &str,
) -> Result<Vec<Summary>, BriefingError> {
    if !parquet_dir.join("interviews").is_dir() {
        return Ok(Vec::new());
    }
    let sink = ParquetSink::open_for(parquet_dir, &cfg.governance)?;
    let mut latest: BTreeMap<String, panelflow_connectors::parquet::InterviewRow> = BTreeMap::new();
    for row in sink.read_interviews()? {
        if row.opportunity_id != opportunity_id || row.outcome != Outcome::Transcribed {
            continue;
        }
        let newer = latest
            .get(&row.interview_id)
            .is_none_or(|r| r.analysis_completion_time < row.analysis_completion_time);
        if newer {
            latest.insert(row.interview_id.clone(), row);
        }
    }
    let mut rows: Vec<_> = latest.into_values().collect();
    rows.sort_by_key(|r| r.analysis_completion_time);
    let mut out = Vec::new();
    for row in rows {
        match row
            .summary_json
            .as_deref()
            .map(serde_json::from_str::<Summary>)
        {
            Some(Ok(s)) => out.push(s),
            Some(Err(e)) => {
                tracing::warn!(interview_id = %row.interview_id, error = %e, "a summary does not parse; left out of the briefing")
            }
            None => {}
        }
    }
    Ok(out)
}

/// The `reviewer_calibration` rows (scope `all`) of `reviewers`, from the
/// aggregates dataset at `dir` (holding `snapshot/`, or `aggregates/snapshot/`);
/// empty when there is no snapshot yet.
pub fn read_calibration(
    dir: &Path,
    reviewers: &[String],
) -> Result<BTreeMap<String, Calibration>, BriefingError> {
    let file = [dir.to_path_buf(), dir.join("aggregates")]
        .into_iter()
        .map(|d| d.join(SNAPSHOT_DIR).join("reviewer_calibration.parquet"))
        .find(|p| p.is_file());
    let Some(path) = file else {
        return Ok(BTreeMap::new());
    };
    let rows = read_rows(&path).map_err(|e| BriefingError::Calibration {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let mut out = BTreeMap::new();
    for row in &rows.rows {
        let get = |c: &str| rows.get(row, c);
        let Some(reviewer) = get("reviewer_id").as_str() else {
            continue;
        };
        if get("scope_kind").as_str() != Some("all") || !reviewers.iter().any(|r| r == reviewer) {
            continue;
        }
        out.insert(
            reviewer.to_owned(),
            Calibration {
                ratings: get("ratings").as_i64().unwrap_or(0),
                co_rated: get("co_rated").as_i64().unwrap_or(0),
                leniency: get("leniency").as_f64(),
                agreement_panel: get("agreement_panel").as_f64(),
            },
        );
    }
    Ok(out)
}
