//! Writing a briefing to Lever so that exactly one version is current: the
//! file named by its fingerprint and the secret note carrying its marker
//! are written when they are not there yet, then every earlier briefing
//! file and note on the opportunity is removed. Each step looks before it
//! writes, so a crash anywhere, a replay or two runs in a row converge on
//! one file and one note, and an unchanged briefing writes nothing.

use chrono::Utc;
use serde::Serialize;
use serde_json::{json, Value};

use super::compose::{self, Briefing, FILE_PREFIX, NOTE_MARKER};
use super::gather::{gather, Gathered};
use super::{id_of, pdf, BriefingConfig, BriefingError};
use panelflow_connectors::lever::client::LeverClient;
use panelflow_connectors::store::audit::{AuditEvent, AuditLog};

/// What writing one briefing did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BriefReport {
    /// The opportunity.
    pub opportunity_id: String,
    /// The version's fingerprint (empty when skipped before composing).
    pub fingerprint: String,
    /// Why nothing was written, when nothing could be (not at a debrief stage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The current briefing file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// The current briefing note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note_id: Option<String>,
    /// Whether the file was uploaded now.
    pub file_written: bool,
    /// Whether the note was written now.
    pub note_written: bool,
    /// Earlier (or doubled) briefing files removed.
    pub files_removed: usize,
    /// Earlier (or doubled) briefing notes removed.
    pub notes_removed: usize,
}

impl BriefReport {
    /// Whether it changed anything in Lever.
    pub fn wrote(&self) -> bool {
        self.file_written || self.note_written || self.files_removed > 0 || self.notes_removed > 0
    }
}

/// Whether the opportunity is at one of `[briefing] stages` (ids or names;
/// none configured: every stage is).
pub fn at_debrief_stage(
    client: &LeverClient,
    cfg: &BriefingConfig,
    opportunity: &Value,
) -> Result<bool, BriefingError> {
    let wanted = &cfg.briefing.stages;
    if wanted.is_empty() {
        return Ok(true);
    }
    let Some(stage) = id_of(opportunity.get("stage")) else {
        return Ok(false);
    };
    if wanted.iter().any(|w| w == &stage) {
        return Ok(true);
    }
    let name = client
        .list(&["stages"], &[])?
        .into_iter()
        .find(|s| id_of(Some(s)).as_deref() == Some(stage.as_str()))
        .and_then(|s| s.get("text").and_then(Value::as_str).map(str::to_owned));
    Ok(name.is_some_and(|n| wanted.iter().any(|w| w.eq_ignore_ascii_case(&n))))
}

/// Reads, composes and writes the briefing of one opportunity, and records
/// it in the audit log as `actor`.
pub fn brief(
    client: &LeverClient,
    cfg: &BriefingConfig,
    opportunity_id: &str,
    actor: &str,
) -> Result<(BriefReport, Option<Briefing>), BriefingError> {
    if !cfg.briefing.allowed_in(cfg.phase) {
        return Err(BriefingError::Disabled(cfg.phase));
    }
    let started = Utc::now();
    let g = gather(client, cfg, opportunity_id)?;
    if !at_debrief_stage(client, cfg, &g.opportunity)? {
        tracing::info!(opportunity_id, "not at a debrief stage; no briefing");
        return Ok((
            BriefReport {
                opportunity_id: opportunity_id.to_owned(),
                skipped: Some("not at a debrief stage ([briefing] stages)".into()),
                ..BriefReport::default()
            },
            None,
        ));
    }
    let briefing = compose_for(&g, cfg);
    let report = write(client, cfg.perform_as.as_deref(), &briefing)?;
    let candidate = id_of(g.opportunity.get("contact")).unwrap_or_else(|| opportunity_id.into());
    let event = AuditEvent::step("", "", "briefing", "ok")
        .timed(started, Utc::now())
        .by(actor)
        .for_candidate(candidate)
        .with_config_hash(cfg.config_hash.clone())
        .with_detail(json!({
            "opportunity_id": opportunity_id,
            "report": report,
            "read": {
                "interviews": g.interviews.iter().filter_map(|v| id_of(Some(v))).collect::<Vec<_>>(),
                "panels": g.panels.iter().filter_map(|v| id_of(Some(v))).collect::<Vec<_>>(),
                "feedback": g.feedback.iter().filter_map(|v| id_of(Some(v))).collect::<Vec<_>>(),
                "resumes": g.resumes.iter().filter_map(|v| id_of(Some(v))).collect::<Vec<_>>(),
                "summaries": g.summaries.iter().map(|s| format!("{}@{}", s.interview_id, s.pipeline.version)).collect::<Vec<_>>(),
            },
        }));
    AuditLog::open(&cfg.governance.audit_dir)?.append(std::slice::from_ref(&event))?;
    tracing::info!(
        opportunity_id,
        fingerprint = %report.fingerprint,
        wrote = report.wrote(),
        "briefing current"
    );
    Ok((report, Some(briefing)))
}

/// The briefing of what `g` holds, now.
pub fn compose_for(g: &Gathered, cfg: &BriefingConfig) -> Briefing {
    compose::compose(g, cfg, &g.fingerprint(&cfg.config_hash), Utc::now())
}

/// Makes `b` the one current briefing of its opportunity in Lever: its
/// PDF file and its secret note are written unless present, then earlier
/// briefing files and notes are removed.
pub fn write(
    client: &LeverClient,
    perform_as: Option<&str>,
    b: &Briefing,
) -> Result<BriefReport, BriefingError> {
    let opp = b.opportunity_id.as_str();
    let mut report = BriefReport {
        opportunity_id: opp.to_owned(),
        fingerprint: b.fingerprint.clone(),
        ..BriefReport::default()
    };
    let name = b.file_name();
    let marker = b.marker();
    let ours_prefix = format!("{NOTE_MARKER}{opp}/");
    let file_name_of = |f: &Value| {
        f.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };

    let files = client.list_files(opp)?;
    report.file_id = files
        .iter()
        .find(|f| file_name_of(f) == name)
        .and_then(|f| id_of(Some(f)));
    if report.file_id.is_none() {
        let bytes = pdf::render(b);
        let created = client.upload_file(opp, &name, "application/pdf", &bytes, perform_as)?;
        report.file_id = id_of(Some(&created));
        report.file_written = true;
        tracing::info!(opportunity_id = opp, file_id = ?report.file_id, bytes = bytes.len(), "briefing file uploaded");
    }

    let notes = client.list_notes(opp)?;
    report.note_id = notes
        .iter()
        .find(|n| n.value_text.lines().any(|l| l.trim() == marker))
        .map(|n| n.id.clone());
    if report.note_id.is_none() {
        let id = client.add_note(opp, &b.text(), true, perform_as)?;
        tracing::info!(opportunity_id = opp, note_id = %id, "briefing note written");
        report.note_id = Some(id);
        report.note_written = true;
    }

    // Earlier versions (and any double of this one) go.
    for f in &files {
        let id = id_of(Some(f));
        if file_name_of(f).starts_with(FILE_PREFIX) && id != report.file_id {
            if let Some(id) = id {
                client.delete_file(opp, &id, perform_as)?;
                report.files_removed += 1;
            }
        }
    }
    for n in &notes {
        let ours = n
            .value_text
            .lines()
            .any(|l| l.trim().starts_with(&ours_prefix));
        if ours && Some(&n.id) != report.note_id.as_ref() {
            client.delete_note(opp, &n.id, perform_as)?;
            report.notes_removed += 1;
        }
    }
    if report.files_removed + report.notes_removed > 0 {
        tracing::info!(
            opportunity_id = opp,
            files = report.files_removed,
            notes = report.notes_removed,
            "earlier briefing removed"
        );
    }
    Ok(report)
}

/// What one round of `panelflow brief --watch` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoundReport {
    /// Opportunities at a debrief stage.
    pub opportunities: usize,
    /// Briefings written or replaced.
    pub written: usize,
    /// Briefings already current.
    pub current: usize,
    /// Opportunities whose briefing failed (logged, tried again next round).
    pub failed: usize,
}

/// One round: the briefing of every opportunity at a debrief stage made
/// current (`GET /opportunities?stage_id=…` per stage).
pub fn round(
    client: &LeverClient,
    cfg: &BriefingConfig,
    actor: &str,
) -> Result<RoundReport, BriefingError> {
    if !cfg.briefing.allowed_in(cfg.phase) {
        return Err(BriefingError::Disabled(cfg.phase));
    }
    let wanted = &cfg.briefing.stages;
    let stage_ids: Vec<String> = if wanted.is_empty() {
        Vec::new()
    } else {
        client
            .list(&["stages"], &[])?
            .into_iter()
            .filter(|s| {
                let id = id_of(Some(s)).unwrap_or_default();
                let text = s.get("text").and_then(Value::as_str).unwrap_or_default();
                wanted
                    .iter()
                    .any(|w| *w == id || w.eq_ignore_ascii_case(text))
            })
            .filter_map(|s| id_of(Some(&s)))
            .chain(wanted.iter().cloned())
            .collect()
    };
    let mut stage_ids = stage_ids;
    stage_ids.sort();
    stage_ids.dedup();
    let mut ids: Vec<String> = Vec::new();
    if stage_ids.is_empty() {
        tracing::warn!(
            "[briefing] stages is empty: --watch briefs no one (set the debrief stages)"
        );
    }
    for stage in &stage_ids {
        for o in client.list(&["opportunities"], &[("stage_id", stage)])? {
            if let Some(id) = id_of(Some(&o)) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    let mut out = RoundReport {
        opportunities: ids.len(),
        ..RoundReport::default()
    };
    for id in &ids {
        match brief(client, cfg, id, actor) {
            Ok((r, _)) if r.wrote() => out.written += 1,
            Ok(_) => out.current += 1,
            Err(e) => {
                tracing::warn!(opportunity_id = %id, error = %e, "briefing failed; tried again next round");
                out.failed += 1;
            }
        }
    }
    Ok(out)
}
