//! The OAuth 2.0 token endpoint (`POST /oauth/token`, the refresh-token
//! grant), off until a client is enabled (`POST /_emulator/oauth`).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use panelflow_core::webhook::provider::constant_time_eq;
use serde_json::{json, Value};

use super::reply::Reply;
use super::state::{lock, OAuthState, Shared};

impl Shared {
    pub(super) fn enable_oauth(&self, body: &Value) -> Result<(), String> {
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| format!("`{k}` (non-empty string) is required"))
        };
        let ttl = body
            .get("access_ttl_s")
            .and_then(Value::as_f64)
            .unwrap_or(3600.0);
        if !(ttl.is_finite() && ttl > 0.0) {
            return Err("`access_ttl_s` must be positive".into());
        }
        *lock(&self.oauth) = Some(OAuthState {
            client_id: text("client_id")?,
            client_secret: text("client_secret")?,
            refresh_token: text("refresh_token")?,
            access_ttl: Duration::from_secs_f64(ttl),
            rotate: body.get("rotate").and_then(Value::as_bool).unwrap_or(true),
            access: BTreeMap::new(),
            grants: 0,
        });
        Ok(())
    }

    /// `POST /oauth/token`: the refresh-token grant.
    pub(super) fn token(&self, content_type: Option<&str>, body: &[u8]) -> Reply {
        let params: BTreeMap<String, String> = if content_type.is_some_and(|c| c.contains("json")) {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(m)) => m
                    .into_iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                    .collect(),
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "body is not a JSON object",
                    )
                }
            }
        } else {
            url::form_urlencoded::parse(body).into_owned().collect()
        };
        let mut guard = lock(&self.oauth);
        let Some(state) = guard.as_mut() else {
            return oauth_error(
                StatusCode::NOT_FOUND,
                "invalid_request",
                "OAuth is not enabled on this emulator",
            );
        };
        if params.get("grant_type").map(String::as_str) != Some("refresh_token") {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only refresh_token is supported",
            );
        }
        let given = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
        if !constant_time_eq(given("client_id").as_bytes(), state.client_id.as_bytes())
            || !constant_time_eq(
                given("client_secret").as_bytes(),
                state.client_secret.as_bytes(),
            )
        {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or wrong secret",
            );
        }
        if !constant_time_eq(
            given("refresh_token").as_bytes(),
            state.refresh_token.as_bytes(),
        ) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "refresh token unknown, revoked or already used",
            );
        }
        let access = format!("emu-at-{}", uuid::Uuid::new_v4().simple());
        state
            .access
            .insert(access.clone(), std::time::Instant::now() + state.access_ttl);
        if state.rotate {
            state.refresh_token = format!("emu-rt-{}", uuid::Uuid::new_v4().simple());
        }
        state.grants += 1;
        Reply::ok(
            StatusCode::OK,
            json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": state.access_ttl.as_secs_f64(),
                "refresh_token": state.refresh_token,
                "scope": "opportunities:read:admin notes:write:admin offline_access",
            }),
        )
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::ok(
        status,
        json!({ "error": error, "error_description": description }),
    )
}
