//! Notes: `POST /v1/opportunities/:id/notes` and
//! `DELETE /v1/opportunities/:id/notes/:nid`.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::reply::{opp_not_found, Reply};
use super::state::{now_ms, Shared};

impl Shared {
    pub(super) fn add_note(
        &self,
        id: &str,
        body: Option<&Value>,
        perform_as: Option<&str>,
    ) -> Reply {
        let Some(obj) = body.and_then(Value::as_object) else {
            return Reply::bad_request("the body must be a JSON object");
        };
        let value = match obj.get("value") {
            Some(Value::String(v)) if !v.trim().is_empty() => v.clone(),
            Some(Value::String(_)) => return Reply::bad_request("`value` must not be empty"),
            _ => return Reply::bad_request("`value` (string) is required"),
        };
        let secret = match obj.get("secret") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Reply::bad_request("`secret` must be a boolean"),
        };
        let score = match obj.get("score") {
            None | Some(Value::Null) => Value::Null,
            Some(n @ Value::Number(_)) => n.clone(),
            Some(_) => return Reply::bad_request("`score` must be a number"),
        };
        if let Some(v) = obj.get("notifyFollowers") {
            if !v.is_boolean() && !v.is_null() {
                return Reply::bad_request("`notifyFollowers` must be a boolean");
            }
        }
        let note_id = uuid::Uuid::new_v4().to_string();
        let created = now_ms();
        let note = json!({
            "id": note_id,
            "text": value,
            "fields": [{ "type": "text", "value": value }],
            "secret": secret,
            "score": score,
            "user": perform_as,
            "createdAt": created,
            "completedAt": created,
            "deletedAt": null,
        });
        let res = self.write(|s| {
            if !s.opportunities.contains_key(id) {
                return Err(opp_not_found(id));
            }
            s.notes.entry(id.to_owned()).or_default().push(note);
            Ok(())
        });
        match res {
            Ok(()) => Reply::ok(
                StatusCode::CREATED,
                json!({ "data": { "noteId": note_id } }),
            ),
            Err(r) => r,
        }
    }

    pub(super) fn delete_note(&self, id: &str, note_id: &str) -> Reply {
        let res = self.write(|s| {
            if !s.opportunities.contains_key(id) {
                return Err(opp_not_found(id));
            }
            let notes = s.notes.entry(id.to_owned()).or_default();
            let before = notes.len();
            notes.retain(|n| n.get("id").and_then(Value::as_str) != Some(note_id));
            if notes.len() == before {
                return Err(Reply::not_found(format!("note {note_id:?} not found")));
            }
            Ok(())
        });
        match res {
            Ok(()) => Reply::ok(StatusCode::NO_CONTENT, Value::Null),
            Err(r) => r,
        }
    }
}
