//! Unit tests of the emulator's parts: paging, paths, opportunity checks,
//! authentication and loading a corrupt state.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{json, Value};

use super::config::{EmulatorConfig, EmulatorError};
use super::dispatch::split_path;
use super::paging::{page_token, paged};
use super::records::normalize_opportunity;
use super::state::Shared;

fn items(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({ "id": i })).collect()
}

fn q(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn paging_walks_all_items_once() {
    let all = items(250);
    let refs: Vec<&Value> = all.iter().collect();
    let mut seen = Vec::new();
    let mut offset: Option<String> = None;
    loop {
        let mut query = q(&[]);
        if let Some(o) = &offset {
            query.insert("offset".into(), o.clone());
        }
        let r = paged(&refs, &query);
        assert_eq!(r.status, StatusCode::OK);
        let data = r.body["data"].as_array().expect("data").clone();
        assert!(data.len() <= 100);
        seen.extend(data);
        if r.body["hasNext"] == json!(true) {
            offset = Some(r.body["next"].as_str().expect("next").to_owned());
        } else {
            assert!(r.body.get("next").is_none());
            break;
        }
    }
    assert_eq!(seen, all);
}

#[test]
fn paging_limits_and_bad_tokens() {
    let all = items(5);
    let refs: Vec<&Value> = all.iter().collect();
    let r = paged(&refs, &q(&[("limit", "2")]));
    assert_eq!(r.body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(r.body["hasNext"], json!(true));
    let r = paged(&refs, &q(&[("limit", "1000")]));
    assert_eq!(r.body["data"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        paged(&refs, &q(&[("limit", "0")])).status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        paged(&refs, &q(&[("limit", "x")])).status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        paged(&refs, &q(&[("offset", "garbage!")])).status,
        StatusCode::BAD_REQUEST
    );
    // An offset past the end is an empty last page.
    let r = paged(&refs, &q(&[("offset", &page_token(99))]));
    assert_eq!(r.body, json!({ "data": [], "hasNext": false }));
}

#[test]
fn paths_split_and_decode() {
    assert_eq!(
        split_path("/v1/opportunities/a%2Fb/notes"),
        Some(vec!["opportunities".into(), "a/b".into(), "notes".into()])
    );
    assert_eq!(split_path("/v1"), Some(vec![]));
    assert_eq!(split_path("/v2/opportunities"), None);
    assert_eq!(split_path("/v1/bad%zz"), None);
}

#[test]
fn opportunities_are_checked_and_completed() {
    let o = normalize_opportunity(json!({ "id": "o1", "name": "Ada" })).expect("valid");
    assert_eq!(o["tags"], json!([]));
    assert_eq!(o["name"], json!("Ada"));
    assert!(normalize_opportunity(json!({ "name": "no id" })).is_err());
    assert!(normalize_opportunity(json!({ "id": "o", "tags": [1] })).is_err());
    assert!(normalize_opportunity(json!(["o"])).is_err());
}

#[test]
fn basic_and_bearer_auth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = EmulatorConfig {
        data_dir: dir.path().into(),
        api_key: "k1".into(),
        rate_per_s: 10.0,
        burst: 20.0,
    };
    let sh = Shared::open(cfg).expect("open");
    let basic = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    assert!(sh
        .authenticate(Some(&basic("k1:")))
        .is_some_and(|u| u.starts_with("basic:")));
    assert!(sh.authenticate(Some(&basic("k1"))).is_some());
    assert!(sh.authenticate(Some(&basic("k2:"))).is_none());
    assert!(sh
        .authenticate(Some("Bearer k1"))
        .is_some_and(|u| u.starts_with("bearer:")));
    assert!(sh.authenticate(Some("Bearer k2")).is_none());
    assert!(sh.authenticate(Some("Basic %%%")).is_none());
    assert!(sh.authenticate(None).is_none());
    // The recorded identity never contains the key.
    assert!(!sh
        .authenticate(Some(&basic("k1:")))
        .unwrap_or_default()
        .contains("k1"));
}

#[test]
fn corrupt_state_is_an_error_not_a_reset() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("state.json"), b"{not json").expect("write");
    let err = Shared::open(EmulatorConfig::new(dir.path()))
        .err()
        .expect("must fail");
    assert!(matches!(err, EmulatorError::Data { .. }), "{err}");
}
