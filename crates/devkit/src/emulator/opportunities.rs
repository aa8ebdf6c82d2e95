//! The opportunity routes: listing (by `updatedAt`, applications
//! expanded), one opportunity, its notes and feedback read and written,
//! tag and stage changes, archiving; and opportunities added by the
//! `/_emulator` helper.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::paging::paged;
use super::records::{expand_applications, normalize_opportunity, opp_id};
use super::reply::{opp_not_found, Reply};
use super::state::{lock, Shared};

impl Shared {
    pub(super) fn route(
        &self,
        method: &Method,
        segs: &[&str],
        query: &BTreeMap<String, String>,
        body: Option<&Value>,
        perform_as: Option<&str>,
    ) -> Reply {
        let m = method.clone();
        if m == Method::GET {
            if let Some(reply) = self.route_reads(segs, query) {
                return reply;
            }
        }
        match segs {
            ["opportunities"] if m == Method::GET => {
                let store = lock(&self.store);
                let bound = |k: &str| query.get(k).and_then(|v| v.parse::<i64>().ok());
                let (start, end) = (bound("updated_at_start"), bound("updated_at_end"));
                let expand = query
                    .get("expand")
                    .is_some_and(|e| e.split(',').any(|x| x.trim() == "applications"));
                let listed: Vec<Value> = store
                    .opportunities
                    .values()
                    .filter(|o| {
                        let at = o.get("updatedAt").and_then(Value::as_i64).unwrap_or(0);
                        start.is_none_or(|s| at >= s) && end.is_none_or(|e| at < e)
                    })
                    .map(|o| {
                        if expand {
                            expand_applications(&store, o)
                        } else {
                            o.clone()
                        }
                    })
                    .collect();
                paged(&listed.iter().collect::<Vec<_>>(), query)
            }
            ["opportunities", id, "feedback", fid] if m == Method::DELETE => {
                self.delete_feedback(id, fid)
            }
            ["opportunities", id, "archived"] if m == Method::PUT => self.archive(id, body),
            ["opportunities", id] if m == Method::GET => {
                match lock(&self.store).opportunities.get(*id) {
                    Some(opp) => Reply::ok(StatusCode::OK, json!({ "data": opp })),
                    None => opp_not_found(id),
                }
            }
            ["opportunities", id, "notes"] if m == Method::GET => {
                let store = lock(&self.store);
                if !store.opportunities.contains_key(*id) {
                    return opp_not_found(id);
                }
                let notes: Vec<&Value> = store
                    .notes
                    .get(*id)
                    .map(|n| n.iter().collect())
                    .unwrap_or_default();
                paged(&notes, query)
            }
            ["opportunities", id, "notes"] if m == Method::POST => {
                self.add_note(id, body, perform_as)
            }
            ["opportunities", id, op @ ("addTags" | "removeTags")] if m == Method::POST => {
                self.change_tags(id, *op == "addTags", body)
            }
            ["opportunities", id, "stage"] if m == Method::PUT => {
                self.change_stage(id, body, perform_as)
            }
            ["opportunities", id, "feedback"] if m == Method::GET => {
                let store = lock(&self.store);
                if !store.opportunities.contains_key(*id) {
                    return opp_not_found(id);
                }
                let items: Vec<&Value> = store
                    .feedback
                    .get(*id)
                    .map(|n| n.iter().collect())
                    .unwrap_or_default();
                paged(&items, query)
            }
            ["opportunities", id, "feedback"] if m == Method::POST => {
                self.add_feedback(id, body, perform_as)
            }
            ["opportunities"]
            | ["opportunities", _]
            | ["opportunities", _, "feedback", _]
            | ["opportunities", _, "notes" | "addTags" | "removeTags" | "stage" | "feedback" | "archived"] => {
                Reply::error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    format!("{m} is not allowed here"),
                )
            }
            _ => Reply::not_found(format!("no such resource: /{}", segs.join("/"))),
        }
    }

    pub(super) fn add_opportunities(&self, items: Vec<Value>) -> Result<usize, Reply> {
        let mut opps = Vec::with_capacity(items.len());
        for item in items {
            opps.push(normalize_opportunity(item).map_err(Reply::bad_request)?);
        }
        let n = opps.len();
        self.write(|s| {
            for opp in opps {
                s.opportunities.insert(opp_id(&opp), opp);
            }
            Ok(())
        })?;
        Ok(n)
    }
}
