//! Feedback forms (scorecards): submitted on a template, with Lever's
//! `fields` filled from the stored template, and deleted.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::records::set_field;
use super::reply::{opp_not_found, Reply};
use super::state::{lock, now_ms, Shared};

impl Shared {
    pub(super) fn add_feedback(
        &self,
        id: &str,
        body: Option<&Value>,
        perform_as: Option<&str>,
    ) -> Reply {
        let Some(perform_as) = perform_as else {
            return Reply::bad_request("`perform_as` is required to submit feedback");
        };
        let Some(obj) = body.and_then(Value::as_object) else {
            return Reply::bad_request("the body must be a JSON object");
        };
        let Some(template) = obj
            .get("baseTemplateId")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        else {
            return Reply::bad_request("`baseTemplateId` (string) is required");
        };
        let Some(field_values) = obj.get("fieldValues").and_then(Value::as_array) else {
            return Reply::bad_request("`fieldValues` (array) is required");
        };
        if field_values
            .iter()
            .any(|f| f.get("id").and_then(Value::as_str).is_none())
        {
            return Reply::bad_request("every entry of `fieldValues` needs a string `id`");
        }
        let now = now_ms();
        let stored_template = lock(&self.store)
            .resources
            .get("feedback_templates")
            .and_then(|m| m.get(template))
            .cloned();
        let (text, fields) = form_fields(stored_template.as_ref(), field_values);
        let feedback = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "type": "interview",
            "text": text,
            "baseTemplateId": template,
            "panel": obj.get("panel").cloned().unwrap_or(Value::Null),
            "interview": obj.get("interview").cloned().unwrap_or(Value::Null),
            "fields": fields,
            "fieldValues": field_values,
            "user": perform_as,
            "createdAt": now,
            "completedAt": now,
            "updatedAt": now,
            "deletedAt": Value::Null,
        });
        let res = self.write(|s| {
            let Some(opp) = s.opportunities.get_mut(id) else {
                return Err(opp_not_found(id));
            };
            set_field(opp, "updatedAt", json!(now));
            s.feedback
                .entry(id.to_owned())
                .or_default()
                .push(feedback.clone());
            Ok(())
        });
        match res {
            Ok(()) => Reply::ok(StatusCode::CREATED, json!({ "data": feedback })),
            Err(r) => r,
        }
    }

    pub(super) fn delete_feedback(&self, id: &str, feedback_id: &str) -> Reply {
        let res = self.write(|s| {
            let Some(opp) = s.opportunities.get_mut(id) else {
                return Err(opp_not_found(id));
            };
            let forms = s.feedback.entry(id.to_owned()).or_default();
            let before = forms.len();
            forms.retain(|f| f.get("id").and_then(Value::as_str) != Some(feedback_id));
            if forms.len() == before {
                return Err(Reply::not_found(format!(
                    "feedback {feedback_id:?} not found"
                )));
            }
            set_field(opp, "updatedAt", json!(now_ms()));
            Ok(())
        });
        match res {
            Ok(()) => Reply::ok(StatusCode::NO_CONTENT, Value::Null),
            Err(r) => r,
        }
    }
}

/// A submitted form's title and Lever `fields`: the template's fields, each
/// with the submitted value (`null` when not answered); without a stored
/// template, one field per submitted value.
fn form_fields(template: Option<&Value>, values: &[Value]) -> (Value, Value) {
    let value_of = |id: &str| {
        values
            .iter()
            .find(|v| v.get("id").and_then(Value::as_str) == Some(id))
            .and_then(|v| v.get("value"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    match template.and_then(|t| t.get("fields").and_then(Value::as_array).map(|f| (t, f))) {
        Some((t, fields)) => {
            let filled: Vec<Value> = fields
                .iter()
                .map(|f| {
                    let mut f = f.clone();
                    let id = f.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                    set_field(&mut f, "value", value_of(&id));
                    f
                })
                .collect();
            (t.get("text").cloned().unwrap_or(Value::Null), Value::Array(filled))
        }
        None => (
            Value::Null,
            Value::Array(
                values
                    .iter()
                    .map(|v| json!({ "id": v.get("id"), "type": "unknown", "text": v.get("id"), "value": v.get("value") }))
                    .collect(),
            ),
        ),
    }
}
