//! Notes on an opportunity: listed, written, and written at most once
//! ([`LeverClient::ensure_note`]).

use reqwest::Method;
use serde_json::{json, Value};

use super::call::{perform_as_query, take_data, Call};
use super::error::LeverError;
use super::model::{Note, NoteOutcome};
use super::LeverClient;

impl LeverClient {
    /// `GET /opportunities/:id/notes`, every page.
    pub fn list_notes(&self, opportunity_id: &str) -> Result<Vec<Note>, LeverError> {
        let segments = ["opportunities", opportunity_id, "notes"];
        let raw = self.get_all(&segments)?;
        raw.iter()
            .map(|n| {
                Note::from_lever(n).ok_or_else(|| LeverError::Decode {
                    method: "GET".into(),
                    path: format!("/opportunities/{opportunity_id}/notes"),
                    reason: "a note without a string `id`".into(),
                })
            })
            .collect()
    }

    /// `POST /opportunities/:id/notes[?perform_as=USER]` with
    /// `{ value, secret, notifyFollowers: false }`; returns the new note's id.
    ///
    /// Not idempotent by itself: use [`ensure_note`](Self::ensure_note) for
    /// anything that may be replayed.
    pub fn add_note(
        &self,
        opportunity_id: &str,
        value: &str,
        secret: bool,
        perform_as: Option<&str>,
    ) -> Result<String, LeverError> {
        let call = Call {
            method: Method::POST,
            segments: &["opportunities", opportunity_id, "notes"],
            query: perform_as_query(perform_as),
            body: Some(json!({ "value": value, "secret": secret, "notifyFollowers": false })),
        };
        let path = call.path();
        let data = take_data(self.execute(call)?, "POST", &path)?;
        match data.get("noteId") {
            Some(Value::String(id)) => Ok(id.clone()),
            _ => Err(LeverError::Decode {
                method: "POST".into(),
                path,
                reason: "no string `data.noteId`".into(),
            }),
        }
    }

    /// Writes a note unless one carrying `marker` is already on the
    /// opportunity. `marker` (e.g. `panelflow-correlation-id: <uuid>`) is
    /// appended to `value` on its own line if `value` does not contain it, so
    /// the note can always be found again.
    pub fn ensure_note(
        &self,
        opportunity_id: &str,
        marker: &str,
        value: &str,
        secret: bool,
        perform_as: Option<&str>,
    ) -> Result<NoteOutcome, LeverError> {
        if marker.trim().is_empty() {
            return Err(LeverError::InvalidArgument {
                method: "POST".into(),
                path: format!("/opportunities/{opportunity_id}/notes"),
                reason: "empty note marker".into(),
            });
        }
        if let Some(existing) = self
            .list_notes(opportunity_id)?
            .into_iter()
            .find(|n| n.value_text.contains(marker))
        {
            tracing::info!(opportunity_id, note_id = %existing.id, "Lever note already present; not writing again");
            return Ok(NoteOutcome::AlreadyPresent(existing.id));
        }
        let written = if value.contains(marker) {
            self.add_note(opportunity_id, value, secret, perform_as)
        } else {
            let with_marker = format!("{}\n{marker}", value.trim_end());
            self.add_note(opportunity_id, &with_marker, secret, perform_as)
        };
        let id = match written {
            Ok(id) => id,
            // The reply was lost (or a proxy answered 5xx): the note may be
            // there. Look again before saying the write failed.
            Err(e) if e.is_ambiguous() => {
                tracing::warn!(opportunity_id, error = %e, "Lever note reply lost; looking again");
                match self
                    .list_notes(opportunity_id)?
                    .into_iter()
                    .find(|n| n.value_text.contains(marker))
                {
                    Some(found) => {
                        tracing::info!(opportunity_id, note_id = %found.id, "the note was stored; its reply was lost");
                        return Ok(NoteOutcome::Created(found.id));
                    }
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        tracing::info!(opportunity_id, note_id = %id, "Lever note written");
        Ok(NoteOutcome::Created(id))
    }
}
