//! Expired signed media URLs, refreshed once: from the platform's API when
//! one is configured for the event's source, else from Lever for links
//! found there; fresh items replace expired ones by question, then place.

use std::sync::Arc;

use serde_json::Value;

use panelflow_core::event::{InterviewCompleted, MediaItem};

use super::ContextReader;

impl ContextReader {
    /// Fresh media for an event whose URLs expired: the platform's API when
    /// configured, else Lever (for links found there). Called once per event.
    pub(super) fn refresh(
        &self,
        event: &InterviewCompleted,
        media: &[MediaItem],
        opp: Option<&Value>,
    ) -> Result<Vec<MediaItem>, String> {
        if self.providers.has(&event.source) {
            return self.provider_media(event);
        }
        let from_lever = matches!(
            event.source.as_str(),
            panelflow_core::webhook::lever::SOURCE | panelflow_core::webhook::generic::SOURCE
        );
        match (&self.lever, from_lever) {
            (Some(client), true) => {
                // Read the opportunity again, past the cache.
                let key = format!("opportunities/{}", event.opportunity_id);
                self.cache.forget(&key);
                let opp = self
                    .opportunity(client, &event.opportunity_id)
                    .map_err(|e| e.to_string())
                    .or_else(|e| opp.map(|o| Arc::new(o.clone())).ok_or(e))?;
                let fresh = self
                    .lever_media(client, event, &opp)
                    .map_err(|e| e.to_string())?;
                if fresh.len() == media.len() || media.iter().all(|m| m.question_id.is_some()) {
                    Ok(fresh)
                } else {
                    Err(format!(
                        "Lever lists {} recording(s) where the event had {}",
                        fresh.len(),
                        media.len()
                    ))
                }
            }
            _ => Err(format!(
                "no API configured to refresh `{}` media ([context.providers.{}])",
                event.source, event.source
            )),
        }
    }
}

/// Who refreshes an event's media: its platform, or Lever.
pub(super) fn refresher_name(event: &InterviewCompleted, provider: bool) -> String {
    if provider {
        event.source.clone()
    } else {
        "Lever".into()
    }
}

/// Replaces expired items by fresh ones: same question id, else same place.
pub fn merge_fresh(
    media: Vec<MediaItem>,
    fresh: Vec<MediaItem>,
    expired: &dyn Fn(&MediaItem) -> bool,
) -> Vec<MediaItem> {
    let n = media.len();
    media
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            if !expired(&m) {
                return m;
            }
            let by_question = m
                .question_id
                .as_ref()
                .and_then(|q| fresh.iter().find(|f| f.question_id.as_ref() == Some(q)));
            let by_place = (fresh.len() == n).then(|| &fresh[i]);
            match by_question.or(by_place) {
                Some(f) => MediaItem {
                    url: f.url.clone(),
                    question_id: m.question_id.clone().or_else(|| f.question_id.clone()),
                    question_text: m.question_text.clone().or_else(|| f.question_text.clone()),
                    expires_at: f.expires_at.clone(),
                },
                None => m,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_media_replace_expired_ones_by_question_then_place() {
        let m = |url: &str, q: Option<&str>, exp: Option<&str>| MediaItem {
            url: url.into(),
            question_id: q.map(str::to_string),
            question_text: None,
            expires_at: exp.map(str::to_string),
        };
        let old = vec![
            m("https://o/1", Some("q1"), Some("2000-01-01T00:00:00Z")),
            m("https://o/2", Some("q2"), None),
        ];
        let fresh = vec![
            m("https://n/2", Some("q2"), None),
            m("https://n/1", Some("q1"), Some("2999-01-01T00:00:00Z")),
        ];
        let expired = |x: &MediaItem| x.expires_at.as_deref() == Some("2000-01-01T00:00:00Z");
        let merged = merge_fresh(old, fresh, &expired);
        assert_eq!(merged[0].url, "https://n/1");
        assert_eq!(merged[1].url, "https://o/2", "items still valid are kept");
    }
}
