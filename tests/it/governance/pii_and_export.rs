//! PII sealed in Parquet (DuckDB sees ciphertext), opened by a candidate's export.

use super::*;

#[test]
fn pii_is_sealed_for_duckdb_and_opened_by_the_export() {
    let d = Deployment::new();
    populate(&d);
    // DuckDB, an analyst's client: no plaintext anywhere, sealed values in the PII columns.
    let found = search(&[&d.parquet()], &[SECRET_WORDS, "Kubernetes"]);
    assert!(found.len() >= 5, "{found:?}");
    for (f, (total, hits)) in &found {
        // responses.skills holds "Kubernetes" for Bob's answers: skills are not PII text.
        if f.contains("/responses/") {
            assert!(*hits <= 1, "{f}: {hits} of {total}");
        } else {
            assert_eq!(*hits, 0, "{f}: plaintext in {hits} of {total} rows");
        }
    }
    let script = r#"
import duckdb, json, sys
r = sys.argv[1]
q = lambda s: duckdb.sql(s.replace("R", r)).fetchall()
print(json.dumps({
  "transcript": q("select transcript from read_parquet('R/interviews/**/*.parquet') where interview_id = 'iv-bob-1'")[0][0],
  "segments": q("select count(*), count(*) filter (where starts_with(text, 'pfenc:v1:')) from read_parquet('R/segments/**/*.parquet')")[0],
  "responses": q("select count(*) filter (where starts_with(text, 'pfenc:v1:')) from read_parquet('R/responses/**/*.parquet')")[0][0],
  "evidence": q("select count(*) filter (where starts_with(evidence_json, 'pfenc:v1:')) from read_parquet('R/scores/**/*.parquet')")[0][0],
  "events": q("select count(*) filter (where starts_with(event_json, 'pfenc:v1:')) from read_parquet('R/interviews/**/*.parquet')")[0][0],
}))
"#;
    let v = duckdb(script, &[d.parquet().display().to_string()]);
    let keys = d.keys();
    let sealed = v["transcript"].as_str().expect("transcript");
    assert!(
        sealed.starts_with(&format!("pfenc:v1:{}:", keys.active_key_id())),
        "{sealed}"
    );
    assert_eq!(v["segments"], json!([9, 9]));
    assert_eq!(
        (
            v["responses"].as_i64(),
            v["evidence"].as_i64(),
            v["events"].as_i64()
        ),
        (Some(3), Some(3), Some(3))
    );

    // The export decrypts, holds every table, the notice, and is itself audited.
    let doc = export::export(&d.targets(), &keys, &d.cfg.governance.notice, ALICE, "test")
        .expect("export");
    assert_eq!(doc.interview_ids, ["iv-alice-1", "iv-alice-2"]);
    assert!(doc.notice.contains("analysed by AI"));
    let iv = &doc.tables["interviews"];
    assert_eq!(iv.len(), 2);
    assert!(iv.iter().all(|r| r["candidate_id"] == ALICE));
    assert!(iv[0]["transcript"]
        .as_str()
        .is_some_and(|t| t.starts_with(SECRET_WORDS)));
    assert_eq!(
        iv[0]["summary_json"]["answers"][0]["text"], SECRET_WORDS,
        "parsed JSON"
    );
    assert_eq!(doc.tables["segments"].len(), 6);
    assert!(doc.tables["segments"].iter().all(|s| s["text"]
        .as_str()
        .is_some_and(|t| t.starts_with(SECRET_WORDS))));
    assert_eq!(doc.tables["responses"][0]["text"], SECRET_WORDS);
    assert_eq!(
        doc.tables["scores"][0]["evidence_json"]["quote"],
        SECRET_WORDS
    );
    assert_eq!(doc.tables["audit"].len(), 10, "5 events per interview");
    assert_eq!(doc.aggregates["inputs/scores"].len(), 1);
    assert_eq!(doc.aggregates["inputs/ratings"].len(), 1);
    assert_eq!(
        doc.review.len(),
        2,
        "the item and its decision: {:?}",
        doc.review
    );
    assert_eq!(doc.audit_log.len(), 10);
    let text = serde_json::to_string(&doc).expect("json");
    assert!(
        !text.contains(BOB) && !text.contains("iv-bob-1"),
        "nothing of another candidate"
    );
    let last = AuditLog::open(&d.cfg.governance.audit_dir)
        .expect("log")
        .read_all()
        .expect("read");
    let last = last.last().expect("event");
    assert_eq!(
        (last.step.as_str(), last.candidate_id.as_deref()),
        ("export", Some(ALICE))
    );

    // The CLI writes the same document; a wrong key fails clearly.
    let out_file = d.root.join("alice.json");
    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["export", ALICE, "--out"])
        .arg(&out_file)
        .arg("--config")
        .arg(&d.config_file)
        .output()
        .expect("panelflow export");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let cli: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).expect("out")).expect("json");
    assert_eq!(
        cli["tables"]["interviews"].as_array().map(Vec::len),
        Some(2)
    );
    std::fs::write(
        d.root.join("pii.key"),
        format!("{}\n", PiiKeys::generate_base64()),
    )
    .expect("rekey");
    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["export", ALICE, "--config"])
        .arg(&d.config_file)
        .output()
        .expect("panelflow export");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        err.contains("not in the key ring") && err.contains(keys.active_key_id()),
        "{err}"
    );
}
