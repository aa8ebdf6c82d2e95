//! Unit tests of the PII encryption.

use super::*;
use arrow::array::Int32Array;
use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use arrow::datatypes::{Field, Schema};
use std::sync::Arc;

fn ring() -> PiiKeys {
    PiiKeys::from_base64(&[&PiiKeys::generate_base64()], "test").expect("ring")
}

#[test]
fn nonces_differ_and_values_are_bound_to_their_row() {
    let k = ring();
    let ad = aad("responses", "text", &["iv", "v1", "0"]);
    let a = k.encrypt("hello", &ad).expect("enc");
    let b = k.encrypt("hello", &ad).expect("enc");
    assert_ne!(a, b, "a fresh nonce per value");
    assert!(!a.contains("hello"));
    assert_eq!(k.decrypt(&a, &ad).expect("dec"), "hello");
    for other in [
        aad("responses", "text", &["iv", "v1", "1"]),
        aad("segments", "text", &["iv", "v1", "0"]),
        aad("responses", "question", &["iv", "v1", "0"]),
    ] {
        assert!(matches!(
            k.decrypt(&a, &other),
            Err(CryptoError::Decrypt { .. })
        ));
    }
    // Length prefixes: ("ab","c") and ("a","bc") differ.
    assert_ne!(aad("t", "c", &["ab", "c"]), aad("t", "c", &["a", "bc"]));
}

#[test]
fn a_ring_reads_old_keys_and_a_wrong_key_fails_clearly() {
    let old = PiiKeys::generate_base64();
    let new = PiiKeys::generate_base64();
    let before = PiiKeys::from_base64(&[&old], "t").expect("ring");
    let ad = aad("interviews", "transcript", &["iv", "v1"]);
    let sealed = before.encrypt("secret words", &ad).expect("enc");
    let rotated =
        PiiKeys::from_key_file_text(&format!("# ring\n{new}\n\n{old}\n"), "f").expect("ring");
    assert_eq!(rotated.key_ids().len(), 2);
    assert_ne!(rotated.active_key_id(), before.active_key_id());
    assert_eq!(
        rotated.decrypt(&sealed, &ad).expect("old key reads"),
        "secret words"
    );
    let only_new = PiiKeys::from_base64(&[&new], "t").expect("ring");
    let err = only_new
        .decrypt_in("interviews", "transcript", &sealed, &ad)
        .unwrap_err();
    assert!(matches!(err, CryptoError::UnknownKey { .. }), "{err}");
    assert!(err.to_string().contains(before.active_key_id()), "{err}");
    // Bad keys are refused with their position.
    let err = PiiKeys::from_base64(&["c2hvcnQ="], "t").unwrap_err();
    assert!(err.to_string().contains("5 bytes"), "{err}");
    // Plain (pre-encryption) values pass through.
    assert_eq!(only_new.decrypt("plain", &ad).expect("plain"), "plain");
}

#[test]
fn batches_round_trip_and_keys_come_from_a_generated_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keys/pii.key");
    let k = PiiKeys::default_key_file(&path).expect("generated");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = PiiKeys::default_key_file(&path).expect("read back");
    assert_eq!(k.key_ids(), again.key_ids());
    assert_eq!(k.erasure_hash("cand-1"), again.erasure_hash("cand-1"));
    assert_ne!(k.erasure_hash("cand-1"), k.erasure_hash("cand-2"));

    let schema = Arc::new(Schema::new(vec![
        Field::new("interview_id", DataType::Utf8, false),
        Field::new("pipeline_version", DataType::Utf8, false),
        Field::new("question_index", DataType::Int32, false),
        Field::new("text", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["a", "b"])),
            Arc::new(StringArray::from(vec!["v", "v"])),
            Arc::new(Int32Array::from(vec![0, 1])),
            Arc::new(StringArray::from(vec![Some("words"), None])),
        ],
    )
    .expect("batch");
    let sealed = k.encrypt_batch("responses", &batch).expect("enc");
    let text = sealed.column(3).as_string::<i32>();
    assert!(is_encrypted(text.value(0)));
    assert!(text.is_null(1));
    let open = decrypt_batch(Some(&k), "responses", &sealed).expect("dec");
    assert_eq!(open, batch);
    assert!(matches!(
        decrypt_batch(None, "responses", &sealed),
        Err(CryptoError::NoKeyConfigured { .. })
    ));
    // The JSON view decrypts too.
    let mut row = serde_json::json!({"interview_id": "a", "pipeline_version": "v", "question_index": 0,
                                     "text": text.value(0)});
    let map = row.as_object_mut().expect("object");
    decrypt_json_row(&k, "responses", map).expect("json");
    assert_eq!(map["text"], "words");
}
