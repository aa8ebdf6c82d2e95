//! Erasure leaves no trace in any string column of any Parquet file, and
//! keeps everyone else.

use super::*;

#[test]
fn erasure_leaves_no_trace_in_parquet_and_keeps_everyone_else() {
    let d = Deployment::new();
    populate(&d);
    let keys = d.keys();
    let roots = [d.parquet(), d.cfg.governance.aggregates_dir.clone()];
    let roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    let alice_needles = [
        ALICE,
        "iv-alice-1",
        "iv-alice-2",
        "corr-iv-alice-1",
        "corr-iv-alice-2",
    ];
    let before = search(&roots, &alice_needles);
    assert!(
        before.values().map(|(_, h)| h).sum::<i64>() > 10,
        "{before:?}"
    );
    let bob_before = search(&roots, &[BOB, "iv-bob-1"]);

    let sent: Mutex<Vec<Retraction>> = Mutex::new(Vec::new());
    let publish = |r: &[Retraction]| {
        sent.lock().expect("lock").extend_from_slice(r);
        Ok(r.len())
    };
    let report = erase::erase(&d.targets(), &keys, ALICE, "test", Some(&publish)).expect("erase");
    assert_eq!(report.interviews, 2);
    assert_eq!(report.rows_removed["interviews"], 2);
    assert_eq!(report.rows_removed["segments"], 6);
    assert_eq!(report.rows_removed["audit"], 10);
    assert_eq!(report.audit_lines_removed, 10);
    assert_eq!(report.review_files_removed, 2, "the item and its decision");
    assert_eq!((report.retractions, report.retractions_published), (2, 2));
    // References elsewhere (Carol's audit detail, in the table and the log)
    // are replaced, her record kept; replays of Alice's interviews refused.
    assert!(report.references_redacted >= 2, "{report:?}");
    assert_eq!(report.tombstones, 2);
    let replay = panelflow_connectors::store::replay::ReplayStore::open(&d.cfg.ingest.state_dir)
        .expect("replay store");
    assert!(replay.is_tombstoned("iv-alice-1") && replay.is_tombstoned("iv-alice-2"));
    assert!(!replay.is_tombstoned("iv-bob-1"));
    assert!(
        report.not_reached.iter().any(|w| w.contains("Kafka")),
        "{report:?}"
    );

    // DuckDB: nothing of Alice in any string column of any file.
    let after = search(&roots, &alice_needles);
    for (f, (_, hits)) in &after {
        assert_eq!(*hits, 0, "{f} still holds the erased candidate");
    }
    // Bob is untouched: the same rows everywhere.
    let bob_after = search(&roots, &[BOB, "iv-bob-1"]);
    let hits = |m: &BTreeMap<String, (i64, i64)>| m.values().map(|(_, h)| h).sum::<i64>();
    assert_eq!(hits(&bob_after), hits(&bob_before));
    let sink = ParquetSink::open_for(&d.cfg.sinks.parquet_dir, &d.cfg.governance).expect("sink");
    let rows = sink.read_interviews().expect("read");
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .transcript
            .as_deref()
            .is_some_and(|t| t.starts_with(SECRET_WORDS)),
        "still decrypts"
    );
    assert_eq!(sink.read_segments().expect("segments").len(), 3);

    // The retractions cancel Alice's aggregate inputs exactly.
    for r in sent.lock().expect("lock").iter() {
        assert_eq!(r.key, ALICE);
        let (rec, diff) = decode(r.topic, r.message.to_string().as_bytes()).expect("decodes");
        assert_eq!(diff, -1);
        assert_eq!(rec.candidate().as_str(), ALICE);
    }

    // The audit log records the erasure with a salted hash, never the id.
    let log_text =
        std::fs::read_to_string(d.cfg.governance.audit_dir.join("audit.jsonl")).expect("log");
    assert!(!log_text.contains("alice"), "{log_text}");
    let events = AuditLog::open(&d.cfg.governance.audit_dir)
        .expect("log")
        .read_all()
        .expect("read");
    let erase_event = events.last().expect("event");
    assert_eq!(erase_event.step, "erase");
    assert_eq!(
        erase_event.detail["candidate_hash"],
        keys.erasure_hash(ALICE)
    );
    assert!(
        events.iter().any(|e| e.interview_id == "iv-bob-1"),
        "Bob's story stays"
    );
    let carol = events
        .iter()
        .find(|e| e.interview_id == "iv-carol-1")
        .expect("Carol's story stays");
    assert_eq!(carol.detail["lever"]["contact"], "[erased]");
    assert_eq!(carol.detail["lever"]["opportunity"], "[erased]");
    let audit_rows = sink.read_audit().expect("audit table");
    assert!(audit_rows
        .iter()
        .any(|e| e.step == "erase" && e.candidate_id.is_none()));
    assert!(!d.cfg.review.queue_dir.join("iv-alice-2.json").exists());
    assert!(d.cfg.review.queue_dir.join("iv-bob-1.json").exists());

    // Idempotent: a second erasure finds nothing and rewrites nothing.
    let again = erase::erase(&d.targets(), &keys, ALICE, "test", Some(&publish)).expect("again");
    assert_eq!(
        (again.total_rows(), again.files_rewritten, again.retractions),
        (0, 0, 0)
    );
    assert_eq!(again.candidate_hash, report.candidate_hash);

    // The CLI, with no broker reachable for retractions: still erases (nothing left) and says so.
    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["erase", BOB, "--no-retract", "--json", "--config"])
        .arg(&d.config_file)
        .output()
        .expect("panelflow erase");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out: Value = serde_json::from_slice(&run.stdout).expect("json report");
    assert_eq!(out["rows_removed"]["interviews"], 1);
    assert!(!String::from_utf8_lossy(&run.stdout).contains(BOB));
    let left = search(&roots, &[BOB, "iv-bob-1"]);
    assert_eq!(hits(&left), 0, "{left:?}");
}
