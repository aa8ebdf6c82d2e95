//! Unit tests of the Lever client (its files' private parts included).

use super::call::Call;
use super::retry::{retry_after, MAX_BACKOFF};
use super::*;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::Method;
use serde_json::json;

#[test]
fn page_parse_reads_data_and_next() {
    let p =
        Page::parse(&json!({"data": [{"id": "a"}], "hasNext": true, "next": "tok"})).expect("page");
    assert_eq!(p.data.len(), 1);
    assert_eq!(p.next.as_deref(), Some("tok"));
    let last = Page::parse(&json!({"data": [], "hasNext": false})).expect("last page");
    assert_eq!(last.next, None);
    // `next` without `hasNext` means no further page.
    let last = Page::parse(&json!({"data": [], "next": "x"})).expect("last page");
    assert_eq!(last.next, None);
}

#[test]
fn page_parse_refuses_broken_envelopes() {
    assert!(Page::parse(&json!({"hasNext": false})).is_err());
    assert!(Page::parse(&json!({"data": {}, "hasNext": false})).is_err());
    assert!(Page::parse(&json!({"data": [], "hasNext": true})).is_err());
    assert!(Page::parse(&json!({"data": [], "hasNext": true, "next": ""})).is_err());
}

#[test]
fn note_text_from_fields_value_or_text() {
    let n = Note::from_lever(&json!({
        "id": "n1",
        "text": "label",
        "fields": [{"type": "text", "value": "line one"}, {"type": "score", "value": 3}, {"value": "line two"}]
    }))
    .expect("note");
    assert_eq!(
        n,
        Note {
            id: "n1".into(),
            value_text: "line one\nline two".into()
        }
    );
    let n = Note::from_lever(&json!({"id": "n2", "value": "v"})).expect("note");
    assert_eq!(n.value_text, "v");
    let n = Note::from_lever(&json!({"id": "n3", "text": "t", "fields": []})).expect("note");
    assert_eq!(n.value_text, "t");
    let n = Note::from_lever(&json!({"id": "n4"})).expect("note");
    assert_eq!(n.value_text, "");
    assert!(Note::from_lever(&json!({"id": 5})).is_none());
}

#[test]
fn retry_after_seconds_and_dates() {
    let mut h = HeaderMap::new();
    assert_eq!(retry_after(&h), None);
    h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
    assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    h.insert(RETRY_AFTER, HeaderValue::from_static("0.25"));
    assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
    h.insert(RETRY_AFTER, HeaderValue::from_static("100000"));
    assert_eq!(retry_after(&h), Some(MAX_BACKOFF));
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&h), Some(Duration::ZERO)); // in the past
    h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
    assert_eq!(retry_after(&h), None);
}

fn client(base: &str) -> LeverClient {
    LeverClient::new(
        base,
        LeverAuth::ApiKey("k".into()),
        ClientOptions::default(),
    )
    .expect("client")
}

#[test]
fn urls_encode_ids_as_single_segments() {
    let c = client("http://127.0.0.1:9/v1/");
    let call = Call {
        method: Method::POST,
        segments: &["opportunities", "a/../b?c", "notes"],
        query: vec![("perform_as", "u 1".into())],
        body: None,
    };
    let url = c.url(&call).expect("url");
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:9/v1/opportunities/a%2F..%2Fb%3Fc/notes?perform_as=u+1"
    );
    let c = client("https://api.lever.co/v1");
    let call = Call {
        method: Method::GET,
        segments: &["opportunities", "x"],
        query: vec![],
        body: None,
    };
    assert_eq!(
        c.url(&call).expect("url").as_str(),
        "https://api.lever.co/v1/opportunities/x"
    );
}

#[test]
fn bad_base_urls_are_refused() {
    for bad in ["not a url", "ftp://example.com/v1", "mailto:x@example.com"] {
        let err = LeverClient::new(bad, LeverAuth::Bearer("t".into()), ClientOptions::default())
            .expect_err(bad);
        assert!(
            matches!(err, LeverError::InvalidBaseUrl { .. }),
            "{bad}: {err}"
        );
    }
}

#[test]
fn backoff_grows_with_jitter_and_is_capped() {
    let opts = ClientOptions {
        base_backoff: Duration::from_millis(100),
        ..ClientOptions::default()
    };
    let c = LeverClient::new("http://127.0.0.1:9/v1", LeverAuth::ApiKey("k".into()), opts)
        .expect("client");
    for attempt in 1..=4u32 {
        let full = Duration::from_millis(100 * (1 << (attempt - 1)));
        let b = c.backoff(attempt);
        assert!(b >= full / 2 && b <= full, "attempt {attempt}: {b:?}");
    }
    assert!(c.backoff(40) <= MAX_BACKOFF);
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let c = client("http://127.0.0.1:9/v1");
    let s = format!("{c:?}");
    assert!(!s.contains("\"k\""), "{s}");
    assert!(s.contains("redacted"));
}

#[test]
fn empty_ids_and_markers_are_refused_before_any_request() {
    let c = client("http://127.0.0.1:9/v1");
    let err = c.get_opportunity("").expect_err("empty id");
    assert!(matches!(err, LeverError::InvalidArgument { .. }), "{err}");
    let err = c
        .ensure_note("opp", " ", "v", true, None)
        .expect_err("empty marker");
    assert!(matches!(err, LeverError::InvalidArgument { .. }), "{err}");
}
