//! Sealing at rest: what the candidate said (the summary, the note texts)
//! is encrypted in the stored item and decrypted when it is read.

use super::item::ReviewItem;
use super::ReviewQueue;
use crate::store::crypto;

/// Item fields holding what the candidate said, encrypted at rest.
const SEALED: [&str; 2] = ["summary", "note"];

/// The sealed fields of a stored item: `summary`, `plan.note` and every
/// decision's `edited_note`.
fn sealed_slots(v: &mut serde_json::Value) -> Vec<(&'static str, &mut serde_json::Value)> {
    let mut out = Vec::new();
    let Some(obj) = v.as_object_mut() else {
        return out;
    };
    let (mut summary, mut plan, mut decisions) = (None, None, None);
    for (k, val) in obj.iter_mut() {
        match k.as_str() {
            "summary" => summary = Some(val),
            "plan" => plan = Some(val),
            "decisions" => decisions = Some(val),
            _ => {}
        }
    }
    if let Some(s) = summary {
        out.push((SEALED[0], s));
    }
    if let Some(note) = plan.and_then(|p| p.get_mut(SEALED[1])) {
        out.push(("plan_note", note));
    }
    if let Some(ds) = decisions.and_then(serde_json::Value::as_array_mut) {
        for d in ds {
            if let Some(n) = d.get_mut("edited_note") {
                out.push(("edited_note", n));
            }
        }
    }
    out
}

impl ReviewQueue {
    /// The item as stored: the summary and the note text sealed (AES-GCM,
    /// bound to the item's key and the field).
    pub(super) fn seal(&self, item: &ReviewItem) -> Result<serde_json::Value, String> {
        let mut v = serde_json::to_value(item).map_err(|e| e.to_string())?;
        let Some(keys) = &self.keys else {
            return Ok(v);
        };
        let key = [item.interview_id.as_str(), item.pipeline_version.as_str()];
        for (field, slot) in sealed_slots(&mut v) {
            if slot.is_null() {
                continue;
            }
            let plain = match slot.take() {
                serde_json::Value::String(s) => s,
                other => format!("json:{other}"),
            };
            let aad = crypto::aad("review_queue", field, &key);
            *slot =
                serde_json::Value::String(keys.encrypt(&plain, &aad).map_err(|e| e.to_string())?);
        }
        Ok(v)
    }

    /// The stored form back to an item.
    pub(super) fn unseal(&self, mut v: serde_json::Value) -> Result<serde_json::Value, String> {
        let id = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (interview, version) = (id("interview_id"), id("pipeline_version"));
        let key = [interview.as_str(), version.as_str()];
        for (field, slot) in sealed_slots(&mut v) {
            let Some(text) = slot.as_str().filter(|t| crypto::is_encrypted(t)) else {
                continue;
            };
            let keys = self
                .keys
                .as_ref()
                .ok_or("an encrypted review item, and no PII key configured")?;
            let aad = crypto::aad("review_queue", field, &key);
            let plain = keys
                .decrypt_in("review_queue", field, text, &aad)
                .map_err(|e| e.to_string())?;
            *slot = match plain.strip_prefix("json:") {
                Some(json) => serde_json::from_str(json).map_err(|e| e.to_string())?,
                None => serde_json::Value::String(plain),
            };
        }
        Ok(v)
    }
}
