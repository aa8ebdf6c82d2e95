//! Files on an opportunity and removing what panelflow wrote: the calls the
//! hiring manager's briefing needs besides the reads every client has.
//!
//! - `POST /opportunities/:id/files[?perform_as=U]`, `multipart/form-data`
//!   with the file in the part named `file` → `{data: file}`;
//! - `DELETE /opportunities/:id/files/:file` → 204;
//! - `GET /opportunities/:id/files` (paged) → `{id, name, ext, downloadUrl,
//!   uploadedAt, status, size}`;
//! - `DELETE /opportunities/:id/notes/:note` → 204.

use reqwest::Method;
use serde_json::Value;

use super::call::{perform_as_query, take_data, Call};
use super::error::LeverError;
use super::LeverClient;

/// Largest file panelflow uploads (Lever's limit on attachments is larger;
/// a briefing is tens of kilobytes).
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

impl LeverClient {
    /// `POST /opportunities/:id/files[?perform_as=USER]`: uploads `bytes` as
    /// a file called `name` (multipart, the part named `file`); returns the
    /// file object Lever created.
    ///
    /// Not idempotent by itself: callers look at
    /// [`list_files`](Self::list_files) first.
    pub fn upload_file(
        &self,
        opportunity_id: &str,
        name: &str,
        content_type: &str,
        bytes: &[u8],
        perform_as: Option<&str>,
    ) -> Result<Value, LeverError> {
        let path = format!("/opportunities/{opportunity_id}/files");
        let invalid = |reason: &str| LeverError::InvalidArgument {
            method: "POST".into(),
            path: path.clone(),
            reason: reason.into(),
        };
        if name.trim().is_empty() {
            return Err(invalid("empty file name"));
        }
        if bytes.len() > MAX_UPLOAD_BYTES {
            return Err(invalid("file larger than 10 MiB"));
        }
        let (content, body) = multipart("file", name, content_type, bytes);
        let call = Call {
            method: Method::POST,
            segments: &["opportunities", opportunity_id, "files"],
            query: perform_as_query(perform_as),
            body: None,
        };
        let data = take_data(
            self.execute_with(call, Some((&content, &body)))?,
            "POST",
            &path,
        )?;
        if data.get("id").and_then(Value::as_str).is_none() {
            return Err(LeverError::Decode {
                method: "POST".into(),
                path,
                reason: "no string `data.id`".into(),
            });
        }
        Ok(data)
    }

    /// `GET /opportunities/:id/files`, every page.
    pub fn list_files(&self, opportunity_id: &str) -> Result<Vec<Value>, LeverError> {
        self.list(&["opportunities", opportunity_id, "files"], &[])
    }

    /// `DELETE /opportunities/:id/files/:file[?perform_as=USER]`.
    pub fn delete_file(
        &self,
        opportunity_id: &str,
        file_id: &str,
        perform_as: Option<&str>,
    ) -> Result<(), LeverError> {
        self.delete(
            &["opportunities", opportunity_id, "files", file_id],
            perform_as,
        )
    }

    /// `DELETE /opportunities/:id/notes/:note[?perform_as=USER]` (Lever lets
    /// an API key remove the notes it wrote).
    pub fn delete_note(
        &self,
        opportunity_id: &str,
        note_id: &str,
        perform_as: Option<&str>,
    ) -> Result<(), LeverError> {
        self.delete(
            &["opportunities", opportunity_id, "notes", note_id],
            perform_as,
        )
    }

    fn delete(&self, segments: &[&str], perform_as: Option<&str>) -> Result<(), LeverError> {
        let call = Call {
            method: Method::DELETE,
            segments,
            query: perform_as_query(perform_as),
            body: None,
        };
        self.execute(call).map(|_| ())
    }
}

/// A `multipart/form-data` body with one file part: its content type
/// (with the boundary) and its bytes.
fn multipart(field: &str, name: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("panelflow-{}", uuid::Uuid::new_v4().simple());
    // A header value cannot carry quotes or line breaks.
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c == '"' || c.is_control() { '_' } else { c })
            .collect()
    };
    let mut body = Vec::with_capacity(bytes.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n\
             Content-Type: {}\r\n\r\n",
            clean(field),
            clean(name),
            clean(content_type)
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_has_one_named_file_part() {
        let (ct, body) = multipart("file", "brief\"ing\n.pdf", "application/pdf", b"%PDF-1.7");
        let boundary = ct.split("boundary=").nth(1).expect("boundary");
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"file\"; filename=\"brief_ing_.pdf\""));
        assert!(text.contains("Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }
}
