//! Files: `multipart/form-data` uploads to an opportunity (the bytes kept
//! under `DIR/files/<id>`), and their deletion.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::records::set_field;
use super::reply::{opp_not_found, Reply};
use super::state::{lock, now_ms, Shared};

/// A file part of a `multipart/form-data` upload.
#[derive(Debug, Clone)]
pub(super) struct Upload {
    name: String,
    content_type: String,
    bytes: Vec<u8>,
}

impl Upload {
    /// What the request log keeps of it (never the bytes).
    pub(super) fn describe(&self) -> Value {
        json!({ "file": {
            "name": self.name,
            "contentType": self.content_type,
            "size": self.bytes.len(),
            "sha256": hex::encode(Sha256::digest(&self.bytes)),
        }})
    }
}

/// The boundary of a `multipart/form-data` content type.
pub(super) fn multipart_boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

fn find_bytes(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The part named `file` of a multipart body.
pub(super) fn parse_upload(body: &[u8], boundary: &str) -> Option<Upload> {
    let delim = format!("--{boundary}");
    let mut at = find_bytes(body, delim.as_bytes(), 0)?;
    loop {
        let start = at + delim.len();
        if body.get(start..start + 2) == Some(b"--") {
            return None; // the closing delimiter: no file part
        }
        let head_end = find_bytes(body, b"\r\n\r\n", start)?;
        let head = String::from_utf8_lossy(&body[start..head_end]).to_string();
        let next = find_bytes(body, format!("\r\n{delim}").as_bytes(), head_end + 4)?;
        let param = |line: &str, key: &str| {
            line.split(';').find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        let mut name = None;
        let mut filename = None;
        let mut content_type = "application/octet-stream".to_owned();
        for line in head.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                name = param(v, "name");
                filename = param(v, "filename");
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                content_type = v.trim().to_owned();
            }
        }
        if name.as_deref() == Some("file") {
            return Some(Upload {
                name: filename
                    .filter(|f| !f.is_empty())
                    .unwrap_or_else(|| "file".into()),
                content_type,
                bytes: body[head_end + 4..next].to_vec(),
            });
        }
        at = next + 2;
    }
}

impl Shared {
    /// Where uploaded files' bytes are kept (`DIR/files/<id>`).
    pub(super) fn files_dir(&self) -> PathBuf {
        self.state_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("files")
    }

    pub(super) fn add_file(&self, id: &str, upload: &Upload, perform_as: Option<&str>) -> Reply {
        if !lock(&self.store).opportunities.contains_key(id) {
            return opp_not_found(id);
        }
        let file_id = uuid::Uuid::new_v4().to_string();
        let dir = self.files_dir();
        let stored = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(&file_id), &upload.bytes));
        if let Err(e) = stored {
            tracing::error!(error = %e, "lever emulator: storing an uploaded file failed");
            return Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "could not store the file",
            );
        }
        let ext = upload
            .name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let file = json!({
            "id": file_id,
            "name": upload.name,
            "ext": ext,
            "downloadUrl": format!("/v1/opportunities/{id}/files/{file_id}/download"),
            "uploadedAt": now_ms(),
            "status": "processed",
            "size": upload.bytes.len(),
            "user": perform_as,
            "opportunityId": id,
        });
        let res = self.write(|s| {
            let opp = s
                .opportunities
                .get_mut(id)
                .ok_or_else(|| opp_not_found(id))?;
            set_field(opp, "updatedAt", json!(now_ms()));
            s.put_resource("files", file_id.clone(), file.clone());
            Ok(())
        });
        match res {
            Ok(()) => Reply::ok(StatusCode::OK, json!({ "data": file })),
            Err(r) => r,
        }
    }

    pub(super) fn delete_file(&self, id: &str, file_id: &str) -> Reply {
        let res = self.write(|s| {
            if !s.opportunities.contains_key(id) {
                return Err(opp_not_found(id));
            }
            let owned = s
                .resources
                .get("files")
                .and_then(|m| m.get(file_id))
                .is_some_and(|f| f.get("opportunityId").and_then(Value::as_str) == Some(id));
            if !owned {
                return Err(Reply::not_found(format!("file {file_id:?} not found")));
            }
            if let Some(m) = s.resources.get_mut("files") {
                m.remove(file_id);
            }
            if let Some(o) = s.order.get_mut("files") {
                o.retain(|f| f != file_id);
            }
            Ok(())
        });
        match res {
            Ok(()) => {
                let _ = std::fs::remove_file(self.files_dir().join(file_id));
                Reply::ok(StatusCode::NO_CONTENT, Value::Null)
            }
            Err(r) => r,
        }
    }
}
