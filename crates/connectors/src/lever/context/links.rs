//! Recording links found through Lever: on the Lever interview (its note
//! or location), on the opportunity (`links`, `files`), or in its notes (a
//! link pasted in a note, an e-mail logged from the e-mail dropbox).

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use panelflow_core::event::{InterviewCompleted, MediaItem};
use panelflow_core::webhook::recording_link;

use super::ContextError;
use crate::lever::client::LeverClient;

/// Marker of panelflow's own notes (never searched for recording links).
const OWN_NOTE_MARKER: &str = "panelflow-correlation-id";

/// Recording links found through Lever: the Lever interview, the
/// opportunity's links and files, then its notes (first place that has any).
pub(crate) fn lever_media(
    client: &LeverClient,
    event: &InterviewCompleted,
    opp: &Value,
    calls: &AtomicU64,
) -> Result<Vec<MediaItem>, ContextError> {
    let as_media = |urls: Vec<String>| -> Vec<MediaItem> {
        urls.into_iter()
            .map(|url| MediaItem {
                url,
                question_id: None,
                question_text: None,
                expires_at: None,
            })
            .collect()
    };
    let opp_id = event.opportunity_id.as_str();
    let is_interview_event = event.source == panelflow_core::webhook::lever::SOURCE
        && matches!(
            event.source_event.as_deref(),
            Some("interviewCreated" | "interviewUpdated")
        );
    if is_interview_event {
        calls.fetch_add(1, Ordering::Relaxed);
        match client.get_object(
            &["opportunities", opp_id, "interviews", event.source_id()],
            &[],
        ) {
            Ok(interview) => {
                let links = recording_link::find_in_json(&interview);
                if !links.is_empty() {
                    return Ok(as_media(links));
                }
            }
            Err(e) if e.status() == Some(404) => {
                tracing::info!(opportunity_id = %opp_id, "Lever interview not found; looking on the opportunity");
            }
            Err(e) => return Err(ContextError::Lever(e)),
        }
    }
    let mut links = opportunity_links(opp);
    if links.is_empty() {
        calls.fetch_add(1, Ordering::Relaxed);
        match client.list(&["opportunities", opp_id, "files"], &[]) {
            Ok(files) => links.extend(file_links(&files)),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(ContextError::Lever(e)),
        }
    }
    if links.is_empty() {
        calls.fetch_add(1, Ordering::Relaxed);
        let notes = client.list_notes(opp_id)?;
        for n in notes
            .iter()
            .filter(|n| !n.value_text.contains(OWN_NOTE_MARKER))
        {
            for l in recording_link::find_recording_links(&n.value_text) {
                if !links.contains(&l) {
                    links.push(l);
                }
            }
        }
    }
    Ok(as_media(links))
}

/// Recording links on an opportunity object (`links`, `files[].downloadUrl`).
pub fn opportunity_links(opp: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in opp
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(s) = l.as_str() {
            for found in recording_link::find_recording_links(s) {
                if !out.contains(&found) {
                    out.push(found);
                }
            }
        }
    }
    if let Some(files) = opp.get("files").and_then(Value::as_array) {
        for l in file_links(files) {
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    out
}

/// The download links of Lever file objects that are recordings (by URL,
/// name or extension).
pub fn file_links(files: &[Value]) -> Vec<String> {
    let media_name = |s: &str| {
        let lower = s.to_ascii_lowercase();
        recording_link::MEDIA_EXTENSIONS
            .iter()
            .any(|e| lower.ends_with(e))
    };
    files
        .iter()
        .filter_map(|f| {
            let url = f
                .get("downloadUrl")
                .or_else(|| f.get("url"))
                .and_then(Value::as_str)?;
            let parsed = url::Url::parse(url).ok()?;
            let by_url = recording_link::is_recording_link(&parsed);
            let by_name = f
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(media_name);
            let by_ext = f
                .get("ext")
                .and_then(Value::as_str)
                .is_some_and(|e| media_name(&format!(".{}", e.trim_start_matches('.'))));
            (matches!(parsed.scheme(), "http" | "https") && (by_url || by_name || by_ext))
                .then(|| parsed.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn files_and_links_that_are_recordings() {
        let opp = json!({"links": ["https://github.com/x", "see https://v.example/a.webm"],
            "files": [{"downloadUrl": "https://api.lever.co/v1/opportunities/o/files/f1/download", "name": "interview.MP4"},
                      {"downloadUrl": "https://api.lever.co/v1/opportunities/o/files/f2/download", "name": "resume.pdf"},
                      {"downloadUrl": "https://api.lever.co/v1/opportunities/o/files/f3/download", "ext": "m4a"}]});
        let links = opportunity_links(&opp);
        assert_eq!(links.len(), 3, "{links:?}");
        assert_eq!(links[0], "https://v.example/a.webm");
    }
}
