//! Personal data out of events: what a source keeps of a payload beyond
//! the fields it maps travels in clear on the event topic, so names,
//! e-mails, phones and addresses are dropped before it does.

use serde_json::{Map, Value};

/// `obj` without the keys the normalization used, and without personal
/// data ([`strip_pii`]): what is kept travels in clear on the event topic.
pub fn unmapped(obj: &Map<String, Value>, used: &[&str]) -> Map<String, Value> {
    let mut kept: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !used.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    strip_pii(&mut kept);
    kept
}

/// Field names (lowercased, without `_`, `-` and spaces) that hold a
/// person's identity or contact details in the platforms' payloads.
const PII_FIELDS: [&str; 25] = [
    "name",
    "fullname",
    "firstname",
    "lastname",
    "givenname",
    "familyname",
    "displayname",
    "candidatename",
    "email",
    "emails",
    "emailaddress",
    "candidateemail",
    "phone",
    "phones",
    "phonenumber",
    "mobile",
    "address",
    "location",
    "birthdate",
    "dateofbirth",
    "dob",
    "linkedin",
    "resume",
    "photo",
    "avatar",
];

/// Removes personal data from a payload's kept fields, at any depth:
/// fields named like [`PII_FIELDS`] (`name`, `email`, `phone`, …), fields
/// whose name is an e-mail address, and any string holding one. The ids the event needs are mapped
/// before this runs; nothing else about a candidate is needed downstream.
///
/// ```
/// let mut m = serde_json::json!({"candidate": {"name": "Ann Lee", "email": "ann@x.io", "id": "c1"},
///     "note": "reach me at ann@x.io", "tags": ["a"]}).as_object().unwrap().clone();
/// panelflow_core::webhook::pii::strip_pii(&mut m);
/// assert_eq!(serde_json::Value::Object(m), serde_json::json!({"candidate": {"id": "c1"}, "tags": ["a"]}));
/// ```
pub fn strip_pii(obj: &mut Map<String, Value>) {
    obj.retain(|k, v| {
        if looks_like_email(k) {
            return false;
        }
        let norm: String = k
            .chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        if PII_FIELDS.contains(&norm.as_str()) {
            return false;
        }
        !strip_value(v)
    });
}

/// Strips `v` in place; true when `v` itself must go (a string holding an
/// e-mail address).
fn strip_value(v: &mut Value) -> bool {
    match v {
        Value::Object(m) => {
            strip_pii(m);
            false
        }
        Value::Array(items) => {
            items.retain_mut(|i| !strip_value(i));
            false
        }
        Value::String(s) => looks_like_email(s),
        _ => false,
    }
}

/// Whether `s` holds an e-mail address (a word `user@domain.tld`).
pub fn looks_like_email(s: &str) -> bool {
    s.split_whitespace().any(|w| {
        w.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
    })
}
