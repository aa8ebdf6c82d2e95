//! Fault injection: the next N admitted `/v1` requests (or only writes)
//! fail with 429 or a 5xx (`POST /_emulator/faults`). The rate limit and
//! the lost note replies are applied as each request is handled
//! (`dispatch.rs`).

use axum::http::StatusCode;
use serde_json::Value;

use super::state::{lock, Fault, Shared};

impl Shared {
    pub(super) fn take_fault(&self, is_write: bool) -> Option<Fault> {
        let mut guard = lock(&self.fault);
        let fault = (*guard)?;
        if fault.writes_only && !is_write {
            return None;
        }
        if fault.remaining <= 1 {
            *guard = None;
        } else if let Some(f) = guard.as_mut() {
            f.remaining -= 1;
        }
        Some(fault)
    }

    pub(super) fn set_fault(&self, body: &Value) -> Result<(), String> {
        let status = body
            .get("status")
            .and_then(Value::as_u64)
            .ok_or("`status` (number) is required")?;
        let count = body.get("count").and_then(Value::as_u64).unwrap_or(1);
        let retry_after = match body.get("retry_after") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or("`retry_after` must be whole seconds")?),
        };
        let status = u16::try_from(status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .filter(|s| *s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error())
            .ok_or("`status` must be 429 or 5xx")?;
        let count = u32::try_from(count).map_err(|_| "`count` is too large")?;
        let writes_only = body
            .get("writes_only")
            .map(|v| v.as_bool().ok_or("`writes_only` must be a boolean"))
            .transpose()?
            .unwrap_or(false);
        *lock(&self.fault) = (count > 0).then_some(Fault {
            status,
            remaining: count,
            retry_after,
            writes_only,
        });
        tracing::info!(
            status = status.as_u16(),
            count,
            "lever emulator: faults armed"
        );
        Ok(())
    }
}
