//! Rediscovery: past candidates matching a new posting are tagged in Lever.

use super::*;

/// `panelflow backfill --rediscover`: past candidates whose stored skills
/// match a posting's are tagged `talent-pool:<posting>` in Lever (the
/// emulator), once however often it runs; others are left alone.
#[test]
fn rediscovery_tags_matching_past_candidates_in_lever() {
    let d = Deployment::new();
    populate(&d);
    let lever_dir = d.root.join("lever");
    std::fs::create_dir_all(&lever_dir).expect("lever dir");
    let opportunities: Vec<Value> = ["opp-iv-alice-1", "opp-iv-alice-2", "opp-iv-bob-1"]
        .iter()
        .map(|id| json!({"id": id, "name": "Candidate", "tags": ["referral"]}))
        .collect();
    std::fs::write(
        lever_dir.join("opportunities.json"),
        serde_json::to_vec(&opportunities).expect("json"),
    )
    .expect("seed");
    let lever = panelflow_devkit::emulator::spawn(panelflow_devkit::emulator::EmulatorConfig {
        api_key: "rediscovery-key".into(),
        ..panelflow_devkit::emulator::EmulatorConfig::new(&lever_dir)
    })
    .expect("emulator");
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_panelflow"))
            .args([
                "backfill",
                "--rediscover",
                "post-eng",
                "--skills",
                "python,rust",
                "--config",
            ])
            .arg(&d.config_file)
            .env("PANELFLOW_LEVER_URL", lever.base_url())
            .env("PANELFLOW_LEVER_API_KEY", "rediscovery-key")
            .output()
            .expect("panelflow backfill");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let printed = run();
    assert!(
        printed.contains("2 past candidates match post-eng"),
        "{printed}"
    );
    run();
    let tags = |opp: &str| -> Vec<String> {
        lever
            .opportunity(opp)
            .and_then(|o| serde_json::from_value(o["tags"].clone()).ok())
            .unwrap_or_default()
    };
    for opp in ["opp-iv-alice-1", "opp-iv-alice-2"] {
        let t = tags(opp);
        assert_eq!(
            t.iter().filter(|t| *t == "talent-pool:post-eng").count(),
            1,
            "{opp}: {t:?}"
        );
        assert!(
            t.contains(&"referral".to_owned()),
            "existing tags kept: {t:?}"
        );
    }
    assert_eq!(tags("opp-iv-bob-1"), vec!["referral".to_owned()]);
    // Each tagging is in the audit log, for the candidate it concerns.
    let log = AuditLog::open(&d.cfg.governance.audit_dir).expect("audit");
    let tagged = log
        .read_all()
        .expect("read")
        .into_iter()
        .filter(|e| e.step == "lever_tags" && e.candidate_id.as_deref() == Some(ALICE))
        .count();
    assert_eq!(tagged, 4, "two opportunities, two runs");
}
