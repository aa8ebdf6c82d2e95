//! `panelflow explain`: the story of one interview.

use super::*;

#[test]
fn explain_tells_the_story_of_one_interview() {
    let d = Deployment::new();
    populate(&d);
    let story =
        explain::story(&d.parquet(), &d.cfg.governance.audit_dir, "iv-bob-1").expect("story");
    let steps: Vec<&str> = story.events.iter().map(|e| e.step.as_str()).collect();
    // JSON lines and the audit table hold the same events: shown once each, in order.
    assert_eq!(
        steps,
        ["context", "media", "speech", "analysis", "lever_note"]
    );
    assert_eq!(story.rows.len(), 1);
    assert_eq!(story.rows[0].lever_note_id.as_deref(), Some("note-bob-1"));
    assert_eq!(story.lever_writes.len(), 1);

    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["explain", "iv-bob-1", "--config"])
        .arg(&d.config_file)
        .output()
        .expect("panelflow explain");
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let pos = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("`{s}` missing from:\n{text}"))
    };
    let steps_at = pos("Steps (5 audit events)");
    let step = |s: &str| {
        steps_at
            + text[steps_at..]
                .find(s)
                .unwrap_or_else(|| panic!("step {s} missing"))
    };
    assert!(
        step(" context ") < step(" media ")
            && step(" media ") < step(" speech ")
            && step(" speech ") < step(" lever_note ")
    );
    for s in [
        "moonshine-base-en",
        "0.1.4",
        "9f2c",
        "cfg-abc123",
        "media.example",
        "16000 ms",
        "pipeline:pilot@1",
        "note-bob-1",
    ] {
        pos(s);
    }
    assert!(
        !text.contains(SECRET_WORDS),
        "no transcript text in explain"
    );
    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["explain", "iv-bob-1", "--json", "--config"])
        .arg(&d.config_file)
        .output()
        .expect("panelflow explain --json");
    let v: Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(v["events"].as_array().map(Vec::len), Some(5));
    let run = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["explain", "no-such-interview", "--config"])
        .arg(&d.config_file)
        .output()
        .expect("panelflow explain");
    assert!(!run.status.success());
}
