//! The hiring manager's briefing: files (upload, list, delete), removing a
//! note, panels, résumés with `parsedData`, and opportunities by stage.
//!
//! The routes are here; the files' and notes' handlers are in `files.rs`
//! and `notes.rs`.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::Value;

use super::files::Upload;
use super::paging::paged;
use super::reply::{opp_not_found, Reply};
use super::state::{lock, Shared};

impl Shared {
    /// The briefing's routes; `None` for other requests.
    pub(super) fn route_briefing(
        &self,
        method: &Method,
        segs: &[&str],
        query: &BTreeMap<String, String>,
        upload: Option<&Upload>,
        perform_as: Option<&str>,
    ) -> Option<Reply> {
        let reply = match segs {
            ["opportunities"] if *method == Method::GET && query.contains_key("stage_id") => {
                let store = lock(&self.store);
                let stage = query.get("stage_id").map(String::as_str);
                let at: Vec<&Value> = store
                    .opportunities
                    .values()
                    .filter(|o| o.get("stage").and_then(Value::as_str) == stage)
                    .collect();
                paged(&at, query)
            }
            ["opportunities", id, kind @ ("panels" | "resumes")] if *method == Method::GET => {
                let store = lock(&self.store);
                if !store.opportunities.contains_key(*id) {
                    return Some(opp_not_found(id));
                }
                let items: Vec<&Value> = store
                    .listed(kind)
                    .into_iter()
                    .filter(|v| v.get("opportunityId").and_then(Value::as_str) == Some(*id))
                    .collect();
                paged(&items, query)
            }
            ["opportunities", id, "files"] if *method == Method::POST => match upload {
                Some(u) => self.add_file(id, u, perform_as),
                None => {
                    Reply::bad_request("a multipart/form-data body with a `file` part is required")
                }
            },
            ["opportunities", id, "files", fid] if *method == Method::DELETE => {
                self.delete_file(id, fid)
            }
            ["opportunities", id, "notes", nid] if *method == Method::DELETE => {
                self.delete_note(id, nid)
            }
            _ => return None,
        };
        Some(reply)
    }
}
