//! `panelflow aggregate` as a timely cluster of two processes on loopback:
//! the same tables as one process, row by row.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use panelflow::aggregates::runner::{run, RunnerConfig};
use panelflow_connectors::parquet::aggregates::{read_rows, Cell, Layout};

/// The aggregates' tables and the input tables, as sorted row texts: the
/// snapshots without `as_of_time`, the inputs consolidated (rows with their
/// net count, without `time` and `diff`). Floats are compared to 9
/// significant digits: workers add in different orders.
fn tables(root: &Path) -> BTreeMap<String, Vec<String>> {
    let layout = Layout::new(root);
    let text = |c: &Cell| match c {
        Cell::F64(v) => format!("{v:.9e}"),
        other => format!("{other:?}"),
    };
    let mut out = BTreeMap::new();
    for t in crate::support::SNAPSHOT_TABLES {
        let rows = read_rows(&layout.snapshot_file(t)).expect("snapshot");
        let skip = rows.col("as_of_time");
        let mut v: Vec<String> = rows
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != skip)
                    .map(|(_, c)| text(c))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        v.sort();
        out.insert(format!("snapshot/{t}"), v);
    }
    for (t, _) in panelflow::aggregates::inputs::input_tables() {
        let rows = read_rows(&layout.input_dir(t)).expect("inputs");
        let (time, diff) = (rows.col("time"), rows.col("diff"));
        let mut net: BTreeMap<String, i64> = BTreeMap::new();
        for r in &rows.rows {
            let key = r
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != time && Some(*i) != diff)
                .map(|(_, c)| text(c))
                .collect::<Vec<_>>()
                .join("|");
            let d = diff.and_then(|i| r[i].as_i64()).unwrap_or(1);
            *net.entry(key).or_default() += d;
        }
        out.insert(
            format!("inputs/{t}"),
            net.into_iter()
                .filter(|(_, n)| *n != 0)
                .map(|(k, n)| format!("{k}×{n}"))
                .collect(),
        );
    }
    out
}

#[test]
fn a_two_process_cluster_gives_the_tables_of_one_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = panelflow_devkit::broker::Broker::start(&dir.path().join("broker"), None)
        .expect("Tansu broker (run bash scripts/setup.sh)");
    let sent = panelflow_devkit::simulate::send_demo_population(&broker.bootstrap()).expect("send");
    assert!(sent > 1000, "{sent} messages");

    // One process, two workers.
    let mut one = RunnerConfig::default();
    one.kafka.brokers = broker.bootstrap();
    one.kafka.group_id = "cluster-test-one".into();
    one.output.dir = dir.path().join("one");
    one.output.durable = false;
    let stats = run(&one, 2, true, Some(Duration::from_secs(300))).expect("one process");
    assert_eq!(
        stats.consumed.load(std::sync::atomic::Ordering::Relaxed) as usize,
        sent
    );

    // Two processes of one worker each, as a user starts them.
    let config = dir.path().join("aggregate.toml");
    std::fs::write(
        &config,
        format!(
            "[kafka]\nbrokers = \"{}\"\ngroup_id = \"cluster-test-two\"\n[output]\ndir = \"{}\"\ndurable = false\n",
            broker.bootstrap(),
            dir.path().join("two").display()
        ),
    )
    .expect("config");
    let hostfile = dir.path().join("hosts.txt");
    let ports = [
        panelflow_devkit::broker::free_port().expect("port"),
        panelflow_devkit::broker::free_port().expect("port"),
    ];
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
    )
    .expect("hostfile");
    let mut children: Vec<_> = (0..2)
        .map(|p| {
            Command::new(env!("CARGO_BIN_EXE_panelflow"))
                .args([
                    "aggregate",
                    "--until-caught-up",
                    "--workers",
                    "1",
                    "-n",
                    "2",
                ])
                .args(["-p", &p.to_string()])
                .arg("--config")
                .arg(&config)
                .arg("--hostfile")
                .arg(&hostfile)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("panelflow aggregate")
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(300);
    while children
        .iter_mut()
        .any(|c| c.try_wait().expect("wait").is_none())
    {
        if Instant::now() > deadline {
            for c in &mut children {
                let _ = c.kill();
            }
            panic!("the cluster did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut consumed = 0;
    for child in children {
        let out = child.wait_with_output().expect("output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // "aggregated N messages (…)": each process read its partitions.
        let n: usize = stdout
            .lines()
            .find_map(|l| l.strip_prefix("aggregated "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {stdout:?}"));
        assert!(n > 0, "every process read some partitions: {stdout}");
        consumed += n;
    }
    assert_eq!(consumed, sent, "every message read once in the cluster");

    let (a, b) = (tables(&one.output.dir), tables(&dir.path().join("two")));
    assert!(a["snapshot/bias_audit"].len() > 50);
    for (table, rows) in &a {
        assert_eq!(rows.len(), b[table].len(), "{table}: row count");
        for (x, y) in rows.iter().zip(&b[table]) {
            assert_eq!(x, y, "{table}");
        }
    }
    broker.stop().expect("broker");
}
