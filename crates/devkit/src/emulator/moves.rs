//! Changes to an opportunity: tags added and removed, stage moves (with
//! their `stageChanges`), archiving and restoring.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::records::set_field;
use super::reply::{opp_not_found, Reply};
use super::state::{now_ms, Shared};

impl Shared {
    pub(super) fn change_tags(&self, id: &str, add: bool, body: Option<&Value>) -> Reply {
        let Some(tags) = body.and_then(|b| b.get("tags")).and_then(Value::as_array) else {
            return Reply::bad_request("`tags` (array of strings) is required");
        };
        let mut wanted = Vec::with_capacity(tags.len());
        for t in tags {
            match t.as_str() {
                Some(s) if !s.trim().is_empty() => wanted.push(s.to_owned()),
                _ => return Reply::bad_request("every tag must be a non-empty string"),
            }
        }
        let res = self.write(|s| {
            let opp = s
                .opportunities
                .get_mut(id)
                .ok_or_else(|| opp_not_found(id))?;
            let mut current: Vec<String> = opp
                .get("tags")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if add {
                for t in wanted {
                    if !current.contains(&t) {
                        current.push(t);
                    }
                }
            } else {
                current.retain(|t| !wanted.contains(t));
            }
            set_field(opp, "tags", json!(current));
            set_field(opp, "updatedAt", json!(now_ms()));
            Ok(opp.clone())
        });
        match res {
            Ok(opp) => Reply::ok(StatusCode::OK, json!({ "data": opp })),
            Err(r) => r,
        }
    }

    pub(super) fn change_stage(
        &self,
        id: &str,
        body: Option<&Value>,
        perform_as: Option<&str>,
    ) -> Reply {
        let stage = match body.and_then(|b| b.get("stage")) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return Reply::bad_request("`stage` (a stage id) is required"),
        };
        let res = self.write(|s| {
            let opp = s
                .opportunities
                .get_mut(id)
                .ok_or_else(|| opp_not_found(id))?;
            let now = now_ms();
            set_field(opp, "stage", json!(stage));
            set_field(opp, "updatedAt", json!(now));
            let change = json!({ "toStageId": stage, "updatedAt": now, "userId": perform_as });
            if let Some(obj) = opp.as_object_mut() {
                match obj.get_mut("stageChanges").and_then(Value::as_array_mut) {
                    Some(changes) => changes.push(change),
                    None => {
                        obj.insert("stageChanges".into(), json!([change]));
                    }
                }
            }
            Ok(opp.clone())
        });
        match res {
            Ok(opp) => Reply::ok(StatusCode::OK, json!({ "data": opp })),
            Err(r) => r,
        }
    }

    pub(super) fn archive(&self, id: &str, body: Option<&Value>) -> Reply {
        let archived = match body.and_then(|b| b.get("reason")) {
            Some(Value::String(r)) if !r.trim().is_empty() => {
                json!({ "reason": r, "archivedAt": now_ms() })
            }
            Some(Value::Null) => Value::Null,
            _ => {
                return Reply::bad_request(
                    "`reason` (an archive reason id, or null to restore) is required",
                )
            }
        };
        let res = self.write(|s| {
            let opp = s
                .opportunities
                .get_mut(id)
                .ok_or_else(|| opp_not_found(id))?;
            set_field(opp, "archived", archived.clone());
            set_field(opp, "updatedAt", json!(now_ms()));
            Ok(opp.clone())
        });
        match res {
            Ok(opp) => Reply::ok(StatusCode::OK, json!({ "data": opp })),
            Err(r) => r,
        }
    }
}
