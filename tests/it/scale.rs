//! Runners side by side: three `panelflow run` processes of one consumer
//! group (real processes) on the bundled broker, one SIGKILLed and started
//! again and one more joining mid-run, against the Lever emulator holding Lever's
//! documented limit (10 requests a second, bursts of 20). Every interview
//! gets exactly one row and one note, and the runners together never make
//! Lever answer 429: each holds its share of the group's partitions, and so
//! of the key's budget.

use std::time::Duration;

/// 200 interviews through 3 runners (1 worker each), the first SIGKILLed
/// once a quarter is written and started again 5 s later (as its supervisor
/// would; on the bundled Tansu 0.6.0 a static member that never comes back
/// keeps its partitions — README, "Past one machine"), a fourth joining at
/// half.
#[test]
fn three_runners_one_killed_one_joining_share_the_work_and_the_lever_budget() {
    let dir = tempfile::tempdir().unwrap();
    let o = panelflow_devkit::chaos::ScaleOptions {
        panelflow: env!("CARGO_BIN_EXE_panelflow").into(),
        out: dir.path().join("scale"),
        interviews: 200,
        processes: 3,
        workers: 1,
        kill_at: Some(0.25),
        restart_after: Some(Duration::from_secs(5)),
        join_at: Some(0.5),
        lever_limit: None,
        partitions: 6,
        deadline: Duration::from_secs(1500),
    };
    let report = panelflow_devkit::chaos::scale(&o).expect("scale run");
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report.killed, 1);
    assert_eq!(report.restarted, 1);
    assert_eq!(report.joined, 1);
    assert_eq!(report.one_row, 200, "{report:?}");
    assert_eq!(report.duplicate_rows, 0);
    assert_eq!(report.one_note, 200, "{report:?}");
    assert_eq!(report.duplicate_notes + report.missing_notes, 0);
    assert_eq!(report.duplicate_scorecards, 0);
    // Lever's limit held, as the emulator recorded it.
    assert_eq!(report.lever.answered_429, 0, "{:?}", report.lever);
    assert_eq!(report.lever.bucket_violations, 0, "{:?}", report.lever);
    // A full burst (20) and a second's flow (10) may meet in one second;
    // over 10 s the flow dominates: at most (20 + 10 × 10) / 10 a second.
    assert!(
        report.lever.max_in_any_1s_window <= 30,
        "{:?}",
        report.lever
    );
    assert!(
        report.lever.max_10s_average_per_s <= 12.0,
        "{:?}",
        report.lever
    );
    assert!(report.holds());
}
