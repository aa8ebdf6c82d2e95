//! The Lever objects of an interview, each read once per TTL: the
//! opportunity and its application, the contact, the posting (and its
//! application form) and the requisition — the latter best effort.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;

use panelflow_core::event::{InterviewCompleted, MediaItem};

use super::{links, ContextError, ContextRead, ContextReader};
use crate::lever::client::{LeverClient, LeverError};

impl ContextReader {
    /// The object at `key`, from the cache or `fetch` (counted in `counter`).
    fn cached(
        &self,
        key: &str,
        counter: &AtomicU64,
        fetch: impl FnOnce() -> Result<Value, LeverError>,
    ) -> Result<Arc<Value>, LeverError> {
        let (value, hit) = self.cache.get_or_fetch(key, || {
            counter.fetch_add(1, Ordering::Relaxed);
            fetch()
        })?;
        if hit {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(value)
    }

    /// The opportunity, with its applications expanded.
    pub(super) fn opportunity(
        &self,
        client: &LeverClient,
        id: &str,
    ) -> Result<Arc<Value>, LeverError> {
        self.cached(
            &format!("opportunities/{id}"),
            &self.counters.opportunity,
            || client.get_object(&["opportunities", id], &[("expand", "applications")]),
        )
    }

    /// The opportunity's (first posting) application: expanded in the
    /// opportunity, else listed.
    pub(super) fn application(&self, client: &LeverClient, opp: &Value) -> Option<Value> {
        let apps = opp.get("applications").and_then(Value::as_array)?;
        let expanded = apps
            .iter()
            .filter(|a| a.is_object())
            .find(|a| a.get("posting").and_then(Value::as_str).is_some())
            .or_else(|| apps.iter().find(|a| a.is_object()));
        if let Some(a) = expanded {
            return Some(a.clone());
        }
        // Ids only (no expansion): list them.
        let opp_id = opp.get("id").and_then(Value::as_str)?;
        if apps.is_empty() {
            return None;
        }
        match client.list(&["opportunities", opp_id, "applications"], &[]) {
            Ok(list) => list
                .into_iter()
                .find(|a| a.get("posting").and_then(Value::as_str).is_some()),
            Err(e) => {
                tracing::warn!(opportunity_id = %opp_id, error = %e, "applications not read");
                None
            }
        }
    }

    /// Contact, posting (+ questions) and requisition: best effort.
    pub(super) fn enrich(
        &self,
        client: &LeverClient,
        event: &InterviewCompleted,
        opp: &Value,
        application: Option<&Value>,
        ctx: &mut ContextRead,
    ) {
        if self.settings.fetch_contact {
            let contact_id = opp
                .get("contact")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    (event.candidate_id != event.opportunity_id).then(|| event.candidate_id.clone())
                });
            if let Some(id) = contact_id.filter(|c| !c.is_empty()) {
                match self.cached(&format!("contacts/{id}"), &self.counters.contact, || {
                    client.get_object(&["contacts", &id], &[])
                }) {
                    Ok(c) => ctx.contact = Some(c),
                    Err(e) => tracing::warn!(error = %e, "contact not read"),
                }
            }
        }
        let posting_id = application
            .and_then(|a| a.get("posting"))
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        if let Some(pid) = &posting_id {
            match self.cached(&format!("postings/{pid}"), &self.counters.posting, || {
                client.get_object(&["postings", pid], &[])
            }) {
                Ok(p) => ctx.posting = Some(p),
                Err(e) => tracing::warn!(posting_id = %pid, error = %e, "posting not read"),
            }
        }
        if self.settings.fetch_requisition {
            let by_id = application
                .and_then(|a| a.get("requisitionForHire"))
                .and_then(|r| r.get("id"))
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
                .map(str::to_string);
            let by_code = ctx
                .posting
                .as_ref()
                .and_then(|p| p.get("requisitionCodes"))
                .and_then(Value::as_array)
                .and_then(|codes| {
                    codes
                        .iter()
                        .filter_map(Value::as_str)
                        .find(|c| !c.is_empty())
                })
                .map(str::to_string);
            let found = if let Some(rid) = by_id {
                self.cached(
                    &format!("requisitions/{rid}"),
                    &self.counters.requisition,
                    || client.get_object(&["requisitions", &rid], &[]),
                )
                .map(Some)
            } else if let Some(code) = by_code {
                self.cached(
                    &format!("requisitions?code={code}"),
                    &self.counters.requisition,
                    || {
                        let list =
                            client.list(&["requisitions"], &[("requisition_code", &code)])?;
                        Ok(list.into_iter().next().unwrap_or(Value::Null))
                    },
                )
                .map(|v| (!v.is_null()).then_some(v))
            } else {
                Ok(None)
            };
            match found {
                Ok(r) => ctx.requisition = r,
                Err(e) => tracing::warn!(error = %e, "requisition not read"),
            }
        }
    }

    /// A posting's application form (`GET /postings/:id/apply`), cached;
    /// `None` without Lever or when it cannot be read (logged).
    pub fn posting_form(&self, posting_id: &str) -> Option<Arc<Value>> {
        let client = self.lever.as_ref()?;
        match self.cached(
            &format!("postings/{posting_id}/apply"),
            &self.counters.posting_questions,
            || client.get_object(&["postings", posting_id, "apply"], &[]),
        ) {
            Ok(form) => Some(form),
            Err(e) => {
                tracing::warn!(posting_id, error = %e, "application questions not read");
                None
            }
        }
    }

    /// Recording links found through Lever (see [`links`]).
    pub(super) fn lever_media(
        &self,
        client: &LeverClient,
        event: &InterviewCompleted,
        opp: &Value,
    ) -> Result<Vec<MediaItem>, ContextError> {
        links::lever_media(client, event, opp, &self.counters.lever_media)
    }

    /// The media of the event's interview from the platform's API.
    pub(super) fn provider_media(
        &self,
        event: &InterviewCompleted,
    ) -> Result<Vec<MediaItem>, String> {
        self.providers.media(event, &self.counters.provider)
    }
}
