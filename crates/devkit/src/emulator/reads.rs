//! The read-only resources besides opportunities, notes and feedback:
//! an opportunity's applications, interviews and files, contacts,
//! postings (and their application forms), requisitions, stages, feedback
//! templates and EEO responses; and resources added by the `/_emulator`
//! helper.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::paging::paged;
use super::records::{expand_applications, resource_id};
use super::reply::{opp_not_found, Reply};
use super::state::{lock, Shared, RESOURCE_KINDS};

impl Shared {
    /// The read-only resources besides opportunities, notes and feedback;
    /// `None` for other paths.
    pub(super) fn route_reads(
        &self,
        segs: &[&str],
        query: &BTreeMap<String, String>,
    ) -> Option<Reply> {
        let store = lock(&self.store);
        let kind = |k: &str| store.resources.get(k);
        let by_opportunity = |k: &str, opp: &str| -> Vec<&Value> {
            kind(k)
                .map(|m| {
                    m.values()
                        .filter(|v| v.get("opportunityId").and_then(Value::as_str) == Some(opp))
                        .collect()
                })
                .unwrap_or_default()
        };
        let one = |k: &str, id: &str, what: &str| match kind(k).and_then(|m| m.get(id)) {
            Some(v) => Reply::ok(StatusCode::OK, json!({ "data": v })),
            None => Reply::not_found(format!("{what} {id:?} not found")),
        };
        let all = |k: &str| -> Vec<&Value> { store.listed(k) };
        let reply = match segs {
            ["opportunities", id] => {
                let opp = store.opportunities.get(*id)?;
                let expand = query.get("expand").map(String::as_str).unwrap_or_default();
                if !expand.split(',').any(|e| e.trim() == "applications") {
                    return None;
                }
                let opp = expand_applications(&store, opp);
                Reply::ok(StatusCode::OK, json!({ "data": opp }))
            }
            ["opportunities", id, sub @ ("applications" | "interviews" | "files")] => {
                let Some(opp) = store.opportunities.get(*id) else {
                    return Some(opp_not_found(id));
                };
                let mut items = by_opportunity(sub, id);
                if *sub == "files" {
                    if let Some(inline) = opp.get("files").and_then(Value::as_array) {
                        items.extend(inline.iter());
                    }
                }
                paged(&items, query)
            }
            ["opportunities", id, "interviews", iid] => {
                if !store.opportunities.contains_key(*id) {
                    return Some(opp_not_found(id));
                }
                match kind("interviews").and_then(|m| m.get(*iid)) {
                    Some(v)
                        if v.get("opportunityId")
                            .and_then(Value::as_str)
                            .is_none_or(|o| o == *id) =>
                    {
                        Reply::ok(StatusCode::OK, json!({ "data": v }))
                    }
                    _ => Reply::not_found(format!("interview {iid:?} not found")),
                }
            }
            ["contacts", id] => match kind("contacts").and_then(|m| m.get(*id)) {
                Some(v) => Reply::ok(StatusCode::OK, json!({ "data": v })),
                None => match store
                    .opportunities
                    .values()
                    .find(|o| o.get("contact").and_then(Value::as_str) == Some(*id))
                {
                    Some(o) => Reply::ok(
                        StatusCode::OK,
                        json!({ "data": {
                            "id": id,
                            "name": o.get("name").cloned().unwrap_or(Value::Null),
                            "headline": o.get("headline").cloned().unwrap_or(Value::Null),
                            "emails": o.get("emails").cloned().unwrap_or(json!([])),
                            "phones": o.get("phones").cloned().unwrap_or(json!([])),
                            "location": o.get("location").cloned().unwrap_or(Value::Null),
                            "isAnonymized": false,
                        }}),
                    ),
                    None => Reply::not_found(format!("contact {id:?} not found")),
                },
            },
            ["postings"] => paged(&all("postings"), query),
            ["postings", id] => one("postings", id, "posting"),
            ["postings", id, "apply"] => match kind("postings").and_then(|m| m.get(*id)) {
                Some(p) => Reply::ok(
                    StatusCode::OK,
                    json!({ "data": {
                        "id": id,
                        "text": p.get("text").cloned().unwrap_or(Value::Null),
                        "customQuestions": p.get("customQuestions").cloned().unwrap_or(json!([])),
                        "personalInformation": [],
                        "urls": [],
                        "eeoQuestions": [],
                    }}),
                ),
                None => Reply::not_found(format!("posting {id:?} not found")),
            },
            ["requisitions"] => {
                let mut items = all("requisitions");
                if let Some(code) = query.get("requisition_code") {
                    items.retain(|r| {
                        r.get("requisitionCode").and_then(Value::as_str) == Some(code.as_str())
                    });
                }
                paged(&items, query)
            }
            ["requisitions", id] => one("requisitions", id, "requisition"),
            ["stages"] => paged(&all("stages"), query),
            ["feedback_templates"] => paged(&all("feedback_templates"), query),
            ["eeo", "responses", "pii"] => {
                let start = query
                    .get("created_at_start")
                    .and_then(|v| v.parse::<i64>().ok());
                let mut items = all("eeo_responses");
                items.retain(|r| {
                    let at = r.get("createdAt").and_then(Value::as_i64).unwrap_or(0);
                    start.is_none_or(|s| at >= s)
                });
                items.sort_by_key(|r| r.get("createdAt").and_then(Value::as_i64).unwrap_or(0));
                paged(&items, query)
            }
            _ => return None,
        };
        Some(reply)
    }

    pub(super) fn add_resources(&self, kind: &str, items: Vec<Value>) -> Result<usize, Reply> {
        if !RESOURCE_KINDS.contains(&kind) {
            return Err(Reply::not_found(format!("unknown resource kind {kind:?}")));
        }
        let mut pairs = Vec::with_capacity(items.len());
        for item in items {
            pairs.push((resource_id(&item).map_err(Reply::bad_request)?, item));
        }
        let n = pairs.len();
        self.write(|s| {
            for (id, item) in pairs {
                s.put_resource(kind, id, item);
            }
            Ok(())
        })?;
        Ok(n)
    }
}
