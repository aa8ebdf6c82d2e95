//! What the client reads back from Lever: notes ([`Note`]), the outcome of
//! writing one ([`NoteOutcome`]) and pages of a listing ([`Page`]).

use serde_json::Value;

/// A note on an opportunity, as read back from Lever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Lever's note id.
    pub id: String,
    /// The note's text: its `fields[].value` strings joined by newlines, or
    /// else its `value` or `text`.
    pub value_text: String,
}

impl Note {
    /// Reads Lever's note object. `None` when it has no string `id`.
    pub fn from_lever(obj: &Value) -> Option<Note> {
        let id = obj.get("id")?.as_str()?.to_owned();
        let from_fields: Vec<&str> = obj
            .get("fields")
            .and_then(Value::as_array)
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|f| f.get("value").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        let value_text = if !from_fields.is_empty() {
            from_fields.join("\n")
        } else {
            obj.get("value")
                .and_then(Value::as_str)
                .or_else(|| obj.get("text").and_then(Value::as_str))
                .unwrap_or_default()
                .to_owned()
        };
        Some(Note { id, value_text })
    }
}

/// What [`LeverClient::ensure_note`](super::LeverClient::ensure_note) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteOutcome {
    /// A new note was written; its id.
    Created(String),
    /// A note carrying the marker was already there; its id. Nothing written.
    AlreadyPresent(String),
}

impl NoteOutcome {
    /// The note's id either way.
    pub fn note_id(&self) -> &str {
        match self {
            NoteOutcome::Created(id) | NoteOutcome::AlreadyPresent(id) => id,
        }
    }
}

/// One page of a `{data, hasNext, next}` listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page's objects.
    pub data: Vec<Value>,
    /// The opaque token for the next page, when `hasNext` is true.
    pub next: Option<String>,
}

impl Page {
    /// Parses Lever's paged envelope. `hasNext: true` without a string
    /// `next` is an error (it would loop or stop silently).
    pub fn parse(body: &Value) -> Result<Page, String> {
        let data = body
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| "no `data` array in a paged response".to_owned())?
            .clone();
        let has_next = body
            .get("hasNext")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let next = if has_next {
            match body.get("next") {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                _ => return Err("`hasNext` is true but `next` is missing".to_owned()),
            }
        } else {
            None
        };
        Ok(Page { data, next })
    }
}
