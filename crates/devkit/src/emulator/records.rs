//! Lever's record shapes: resource ids, opportunities checked and completed
//! with the fields Lever always has, and applications expanded in place.

use serde_json::{json, Value};

use super::state::{now_ms, Store};

/// The `id` of a stored resource (a non-empty string).
pub(super) fn resource_id(item: &Value) -> Result<String, String> {
    match item.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err("every resource needs a non-empty string `id`".into()),
    }
}

pub(super) fn opp_id(opp: &Value) -> String {
    opp.get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

pub(super) fn set_field(obj: &mut Value, key: &str, value: Value) {
    if let Some(o) = obj.as_object_mut() {
        o.insert(key.to_owned(), value);
    }
}

/// The opportunity with its application objects in place of their ids
/// (`expand=applications`).
pub(super) fn expand_applications(store: &Store, opp: &Value) -> Value {
    let mut opp = opp.clone();
    if let Some(ids) = opp.get("applications").and_then(Value::as_array).cloned() {
        let apps = store.resources.get("applications");
        let expanded: Vec<Value> = ids
            .iter()
            .map(|a| {
                a.as_str()
                    .and_then(|aid| apps.and_then(|m| m.get(aid)))
                    .cloned()
                    .unwrap_or_else(|| a.clone())
            })
            .collect();
        set_field(&mut opp, "applications", Value::Array(expanded));
    }
    opp
}

/// Checks an opportunity object and fills the fields Lever always has.
pub(super) fn normalize_opportunity(v: Value) -> Result<Value, String> {
    let Value::Object(mut obj) = v else {
        return Err("an opportunity must be a JSON object".into());
    };
    match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err("an opportunity needs a non-empty string `id`".into()),
    }
    if let Some(tags) = obj.get("tags") {
        if !tags
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string))
        {
            return Err("`tags` must be an array of strings".into());
        }
    }
    let now = now_ms();
    let defaults: [(&str, Value); 8] = [
        ("name", json!("")),
        ("contact", Value::Null),
        ("emails", json!([])),
        ("links", json!([])),
        ("tags", json!([])),
        ("stage", Value::Null),
        ("stageChanges", json!([])),
        ("createdAt", json!(now)),
    ];
    for (k, d) in defaults {
        obj.entry(k.to_owned()).or_insert(d);
    }
    obj.entry("updatedAt".to_owned()).or_insert(json!(now));
    Ok(Value::Object(obj))
}
