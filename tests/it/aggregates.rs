//! The aggregates: incremental = from scratch = DuckDB (property test);
//! injected bias and drift are flagged, an unbiased stream is not; the
//! Kafka runner lands inputs, change logs and snapshots that DuckDB reads;
//! the tables and messages follow `schemas/aggregates/`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use differential_dataflow::input::Input;
use panelflow::aggregates::bias::BiasRow;
use panelflow::aggregates::calibration::CalibrationRow;
use panelflow::aggregates::drift::DriftRow;
use panelflow::aggregates::harness::{build, run_batch, SinkOptions};
use panelflow::aggregates::inputs::input_tables;
use panelflow::aggregates::language::{LanguageRow, PhraseList};
use panelflow::aggregates::panel::PanelRow;
use panelflow::aggregates::questions::ConsistencyRow;
use panelflow::aggregates::records::*;
use panelflow::aggregates::reference::{self, AllRows};
use panelflow::aggregates::AggregateConfig;
use panelflow_connectors::parquet::aggregates::{Cell, Layout, TableRow};
use panelflow_core::topics::Topic;
use panelflow_devkit::simulate::{generate, parse_bias, parse_drift, SimConfig};
use proptest::prelude::*;
use serde_json::Value;

const TOLERANCE: f64 = 1e-9;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

// ---------------------------------------------------------------------------
// DuckDB

/// Runs several queries in one DuckDB process; rows as JSON per query name.
fn duckdb(queries: &[(&str, String)]) -> HashMap<String, Vec<Value>> {
    let python = panelflow_devkit::paths::venv_python();
    assert!(
        python.exists(),
        "{} missing: run bash scripts/setup.sh",
        python.display()
    );
    let script = "import duckdb, json, sys\nqs = json.loads(sys.argv[1])\nout = {}\nfor name, sql in qs:\n    rel = duckdb.sql(sql)\n    cols = rel.columns\n    out[name] = [dict(zip(cols, r)) for r in rel.fetchall()]\nprint(json.dumps(out, default=str))";
    let arg = serde_json::to_string(
        &queries
            .iter()
            .map(|(n, q)| (n.to_string(), q.clone()))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(arg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "duckdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sql(name: &str, inputs: &Path, cfg: &AggregateConfig) -> String {
    std::fs::read_to_string(
        root()
            .join("schemas/aggregates/sql")
            .join(format!("{name}.sql")),
    )
    .unwrap()
    .replace("{inputs}", &inputs.display().to_string())
    .replace("{reference_weeks}", &cfg.reference_weeks.to_string())
}

// ---------------------------------------------------------------------------
// Comparing rows

fn cell_eq(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::F64(x), Cell::F64(y)) => (x - y).abs() <= TOLERANCE || x == y,
        _ => a == b,
    }
}

/// Incremental vs from scratch: same rows in the same order, floats to 1e-9.
fn same_rows<R: TableRow>(got: &[R], want: &[R]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "{}: {} rows, from scratch {}\n got {got:#?}\nwant {want:#?}",
            R::TABLE,
            got.len(),
            want.len()
        ));
    }
    for (g, w) in got.iter().zip(want) {
        let (gc, wc) = (g.cells(), w.cells());
        if gc.len() != wc.len() || !gc.iter().zip(&wc).all(|(a, b)| cell_eq(a, b)) {
            return Err(format!("{}: row differs\n got {g:?}\nwant {w:?}", R::TABLE));
        }
    }
    Ok(())
}

fn same_all(got: &AllRows, want: &AllRows) -> Result<(), String> {
    same_rows(&got.bias, &want.bias)?;
    same_rows(&got.calibration, &want.calibration)?;
    same_rows(&got.panel, &want.panel)?;
    same_rows(&got.drift, &want.drift)?;
    same_rows(&got.questions, &want.questions)?;
    same_rows(&got.language, &want.language)
}

fn json_matches(cell: &Cell, v: &Value) -> bool {
    match (cell, v) {
        (Cell::Null, Value::Null) => true,
        (Cell::Str(s), Value::String(t)) => s == t,
        (Cell::Bool(b), Value::Bool(c)) => b == c,
        (Cell::I64(i), v) => v.as_f64().is_some_and(|x| x == *i as f64),
        (Cell::F64(x), v) => v.as_f64().is_some_and(|y| (x - y).abs() <= TOLERANCE),
        _ => false,
    }
}

/// Dataflow rows vs DuckDB's, matched by key, every column to 1e-9.
fn matches_duckdb<R: TableRow>(got: &[R], duck: &[Value]) -> Result<(), String> {
    let cols = R::columns();
    let key_of_cells = |cells: &[Cell]| -> String {
        R::KEY
            .iter()
            .map(|k| {
                let i = cols.iter().position(|c| c.name == *k).unwrap();
                format!("{:?}", cells[i])
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut ours: BTreeMap<String, Vec<Cell>> = BTreeMap::new();
    for r in got {
        let cells = r.cells();
        ours.insert(key_of_cells(&cells), cells);
    }
    let mut theirs: BTreeMap<String, &Value> = BTreeMap::new();
    for v in duck {
        let cells: Vec<Cell> = cols
            .iter()
            .map(|c| match &v[c.name] {
                Value::String(s) => Cell::Str(s.clone()),
                Value::Null => Cell::Null,
                Value::Bool(b) => Cell::Bool(*b),
                Value::Number(n) if n.is_i64() => Cell::I64(n.as_i64().unwrap()),
                Value::Number(n) => Cell::F64(n.as_f64().unwrap()),
                other => Cell::Str(other.to_string()),
            })
            .collect();
        theirs.insert(key_of_cells(&cells), v);
    }
    if ours.len() != theirs.len() || ours.keys().ne(theirs.keys()) {
        return Err(format!(
            "{}: keys differ\n dataflow {:?}\n duckdb   {:?}",
            R::TABLE,
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>()
        ));
    }
    for (key, cells) in &ours {
        let v = theirs[key];
        for (c, cell) in cols.iter().zip(cells) {
            if !json_matches(cell, &v[c.name]) {
                return Err(format!(
                    "{} {key}: column {} is {cell:?} in the dataflow, {} in DuckDB",
                    R::TABLE,
                    c.name,
                    v[c.name]
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Random streams of inserts and retractions

#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
enum Op {
    Insert(InputRecord),
    Retract(usize),
    Erase(usize),
}

const DAY: i64 = 86_400_000;
const T0: i64 = 1_736_121_600_000; // Monday 2025-01-06

fn s(v: &str) -> Sym {
    Sym::from(v)
}

fn score_strategy() -> impl Strategy<Value = InputRecord> {
    let centi = prop_oneof![Just(100), Just(250), Just(300), Just(325), 100..=400i32];
    (
        0..5usize,
        0..2usize,
        0..2usize,
        0..4i64,
        proptest::collection::vec((0..2usize, centi), 1..3),
        proptest::option::of(-100..=100i32),
        proptest::option::of(0..=100i32),
    )
        .prop_map(|(c, p, m, week, comps, sentiment, tc)| {
            let mut competencies: Vec<(Sym, i32, Option<i32>)> = comps
                .into_iter()
                .map(|(k, v)| (Sym::from(format!("k{k}")), v, Some(80)))
                .collect();
            competencies.sort();
            let at = T0 + week * 7 * DAY + DAY;
            InputRecord::Score(ScoreRecord {
                interview: Sym::from(format!("iv{c}-{p}")),
                candidate: Sym::from(format!("c{c}")),
                posting: Sym::from(format!("p{p}")),
                family: s(if p == 0 { "eng" } else { "sales" }),
                model_name: s("rubric"),
                model: Sym::from(format!("m{m}")),
                at_ms: at,
                week: week_of(at),
                sentiment,
                transcription_confidence: tc,
                flags: s(""),
                competencies,
            })
        })
}

fn rating_strategy() -> impl Strategy<Value = InputRecord> {
    (0..3usize, 0..5usize, 0..2usize, 0..2usize, 1..=4i8).prop_map(|(r, c, p, k, rating)| {
        InputRecord::Rating(RatingRecord {
            reviewer: Sym::from(format!("r{r}")),
            candidate: Sym::from(format!("c{c}")),
            posting: Sym::from(format!("p{p}")),
            competency: Sym::from(format!("k{k}")),
            rating,
            interview: None,
            source: s("lever_feedback"),
            at_ms: T0,
        })
    })
}

fn decision_strategy() -> impl Strategy<Value = InputRecord> {
    (0..5usize, 0..2usize, any::<bool>()).prop_map(|(c, p, advance)| {
        InputRecord::Decision(DecisionRecord {
            candidate: Sym::from(format!("c{c}")),
            posting: Sym::from(format!("p{p}")),
            advance,
            stage: None,
            source: s("lever"),
            at_ms: T0,
        })
    })
}

fn demographics_strategy() -> impl Strategy<Value = InputRecord> {
    let sex = prop_oneof![Just(Some(s("female"))), Just(Some(s("male"))), Just(None)];
    let race = prop_oneof![
        Just(Some(s("asian"))),
        Just(Some(s("black"))),
        Just(Some(s("white"))),
        Just(None)
    ];
    (0..5usize, sex, race).prop_map(|(c, sex, race)| {
        InputRecord::Demographics(DemographicsRecord {
            candidate: Sym::from(format!("c{c}")),
            posting: s("p0"),
            sex,
            race,
            at_ms: T0,
        })
    })
}

fn question_strategy() -> impl Strategy<Value = InputRecord> {
    let asked = prop_oneof![
        Just("Tell me about a project you are proud of."),
        Just("So tell me about a project you were proud of."),
        Just("Tell me about a project you are proud of. How old are you, by the way?"),
        Just("Do you have kids? Where are you from originally?"),
    ];
    (0..5usize, 0..2usize, asked).prop_map(|(c, p, asked)| {
        InputRecord::Question(QuestionRecord {
            interview: Sym::from(format!("iv{c}-{p}")),
            candidate: Sym::from(format!("c{c}")),
            posting: Sym::from(format!("p{p}")),
            interviewer: Some(s("r1")),
            question: s("q1"),
            canonical: "Tell me about a project you are proud of.".into(),
            asked: asked.into(),
            at_ms: T0,
        })
    })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let record = prop_oneof![4 => score_strategy(), 3 => rating_strategy(), 2 => decision_strategy(), 3 => demographics_strategy(), 1 => question_strategy()];
    prop_oneof![8 => record.prop_map(Op::Insert), 2 => any::<usize>().prop_map(Op::Retract), 1 => (0..5usize).prop_map(Op::Erase)]
}

fn in_memory_files(dir: &Path) -> SinkOptions {
    SinkOptions {
        layout: Some(Layout::new(dir)),
        changelog_flush: Duration::ZERO,
        snapshot_interval: Duration::from_secs(3600),
        write_inputs: true,
        durable: false,
    }
}

/// Runs the steps through the dataflow, checking against the from-scratch
/// recomputation after each; returns the final rows.
fn run_steps(steps: Vec<Vec<Op>>, dir: PathBuf, cfg: AggregateConfig) -> Result<AllRows, String> {
    let phrases = Arc::new(PhraseList::embedded().unwrap());
    timely::execute_directly(move |worker| {
        let opts = in_memory_files(&dir);
        let (mut input, tables, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, records) = scope.new_collection::<InputRecord, isize>();
            let (tables, probe) = build(records, &cfg, phrases.clone(), &opts, 0);
            (input, tables, probe)
        });
        let mut live: Vec<InputRecord> = Vec::new();
        let mut state: BTreeMap<InputRecord, isize> = BTreeMap::new();
        for (i, step) in steps.into_iter().enumerate() {
            for op in step {
                let mut retract = |r: InputRecord,
                                   input: &mut differential_dataflow::input::InputSession<
                    u64,
                    InputRecord,
                    isize,
                >| {
                    input.update(r.clone(), -1);
                    *state.entry(r).or_default() -= 1;
                };
                match op {
                    Op::Insert(r) => {
                        input.update(r.clone(), 1);
                        *state.entry(r.clone()).or_default() += 1;
                        live.push(r);
                    }
                    Op::Retract(k) if !live.is_empty() => {
                        let r = live.remove(k % live.len());
                        retract(r, &mut input);
                    }
                    Op::Retract(_) => {}
                    Op::Erase(c) => {
                        let candidate = Sym::from(format!("c{c}"));
                        let (gone, kept): (Vec<_>, Vec<_>) =
                            live.drain(..).partition(|r| r.candidate() == &candidate);
                        live = kept;
                        for r in gone {
                            retract(r, &mut input);
                        }
                    }
                }
            }
            state.retain(|_, n| *n != 0);
            input.advance_to(i as u64 + 1);
            input.flush();
            worker.step_while(|| probe.less_than(input.time()));
            let want = reference::compute(&state, &cfg, &PhraseList::embedded().unwrap());
            same_all(&tables.rows(), &want).map_err(|e| format!("after step {}: {e}", i + 1))?;
        }
        Ok(tables.rows())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 64, ..ProptestConfig::default() })]

    /// For random streams of inserts and retractions, the incremental
    /// results equal a from-scratch recomputation after every step, and the
    /// final ones equal DuckDB's computation over the Parquet inputs to 1e-9;
    /// the change logs, consolidated, equal the current rows.
    #[test]
    fn incremental_equals_from_scratch_and_duckdb(steps in proptest::collection::vec(proptest::collection::vec(op_strategy(), 1..16), 1..8)) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = AggregateConfig { reference_weeks: 1, ..AggregateConfig::default() };
        let rows = run_steps(steps, dir.path().to_path_buf(), cfg.clone());
        prop_assert!(rows.is_ok(), "{}", rows.err().unwrap_or_default());
        let rows = rows.unwrap();

        let inputs = dir.path().join("inputs");
        let mut queries: Vec<(&str, String)> = Vec::new();
        let have = |t: &str| inputs.join(t).is_dir();
        if have("scores") {
            queries.push(("bias_audit", sql("bias_audit", &inputs, &cfg)));
            queries.push(("drift", sql("drift", &inputs, &cfg)));
        }
        if have("ratings") {
            queries.push(("panel_view", sql("panel_view", &inputs, &cfg)));
            if have("scores") {
                queries.push(("reviewer_calibration", sql("reviewer_calibration", &inputs, &cfg)));
            }
        }
        let layout = Layout::new(dir.path());
        let mut logs: Vec<(String, String)> = Vec::new();
        for table in ["bias_audit", "reviewer_calibration", "panel_view", "drift", "question_consistency", "interviewer_language"] {
            if layout.changelog_dir(table).is_dir() {
                logs.push((format!("log:{table}"), format!(
                    "select * exclude (time, diff), sum(diff) as n from read_parquet('{}') group by all having sum(diff) <> 0",
                    layout.changelog_glob(table))));
            }
        }
        let mut all: Vec<(&str, String)> = queries;
        all.extend(logs.iter().map(|(n, q)| (n.as_str(), q.clone())));
        let duck = if all.is_empty() { HashMap::new() } else { duckdb(&all) };
        let check = |r: Result<(), String>| r;
        eprintln!(
            "case: bias {} (duckdb {}), calibration {} ({}), panel {} ({}), drift {} ({}), questions {}, language {}",
            rows.bias.len(), duck.get("bias_audit").map_or(0, Vec::len),
            rows.calibration.len(), duck.get("reviewer_calibration").map_or(0, Vec::len),
            rows.panel.len(), duck.get("panel_view").map_or(0, Vec::len),
            rows.drift.len(), duck.get("drift").map_or(0, Vec::len),
            rows.questions.len(), rows.language.len()
        );
        if let Some(v) = duck.get("bias_audit") { let r = check(matches_duckdb::<BiasRow>(&rows.bias, v)); prop_assert!(r.is_ok(), "{}", r.unwrap_err()); }
        else { prop_assert!(rows.bias.is_empty()); }
        if let Some(v) = duck.get("drift") { let r = matches_duckdb::<DriftRow>(&rows.drift, v); prop_assert!(r.is_ok(), "{}", r.unwrap_err()); }
        if let Some(v) = duck.get("panel_view") { let r = matches_duckdb::<PanelRow>(&rows.panel, v); prop_assert!(r.is_ok(), "{}", r.unwrap_err()); }
        if let Some(v) = duck.get("reviewer_calibration") { let r = matches_duckdb::<CalibrationRow>(&rows.calibration, v); prop_assert!(r.is_ok(), "{}", r.unwrap_err()); }

        {
            for (name, current) in duck.iter().filter(|(n, _)| n.starts_with("log:")) {
                let table = name.trim_start_matches("log:").to_string();
                let expected = match table.as_str() {
                    "bias_audit" => rows.bias.len(),
                    "reviewer_calibration" => rows.calibration.len(),
                    "panel_view" => rows.panel.len(),
                    "drift" => rows.drift.len(),
                    "question_consistency" => rows.questions.len(),
                    _ => rows.language.len(),
                };
                let n: i64 = current.iter().map(|r| r["n"].as_i64().unwrap_or(0)).sum();
                prop_assert!(current.iter().all(|r| r["n"].as_i64() == Some(1)) || table == "interviewer_language", "{table}: change log does not consolidate to single rows: {current:?}");
                prop_assert_eq!(n as usize, expected, "{}: change log consolidates to {} rows, the snapshot has {}", table, n, expected);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Injected bias and drift

fn records(cfg: &SimConfig) -> Vec<(InputRecord, isize)> {
    generate(cfg)
        .iter()
        .map(|m| decode_json(m.topic(), &m.to_json()).expect("simulated messages are valid"))
        .collect()
}

fn overall<'a>(rows: &'a [BiasRow], dimension: &str, category: &str) -> &'a BiasRow {
    rows.iter()
        .find(|r| {
            r.scope.kind() == "overall"
                && r.dimension.as_str() == dimension
                && r.category.as_str() == category
        })
        .unwrap_or_else(|| panic!("no overall {dimension} {category} row"))
}

/// Categories large enough that sampling noise alone rarely moves an impact
/// ratio by 0.2: at 300 candidates the standard error of a 40 % rate is
/// 0.028, so a ratio of 0.8 is about 3 standard errors away.
const LARGE: i64 = 300;

#[test]
fn injected_four_fifths_violation_and_drift_are_flagged_unbiased_stream_is_not() {
    let cfg = AggregateConfig::default();
    let base = SimConfig {
        candidates: 3000,
        seed: 11,
        weeks: 6,
        correction_share: 0.02,
        ..SimConfig::default()
    };

    // Unbiased: no large category flagged anywhere, no score drift.
    let fair = run_batch(records(&base), 2, &cfg, &SinkOptions::in_memory()).unwrap();
    let min_ir = |rows: &[BiasRow], kind: &str| {
        rows.iter()
            .filter(|r| r.scope.kind() == kind && !r.small_category && r.assessed >= LARGE)
            .flat_map(|r| [r.impact_ratio_selection, r.impact_ratio_scoring])
            .flatten()
            .map(|v| v.0)
            .fold(f64::MAX, f64::min)
    };
    eprintln!(
        "unbiased: {} audit rows, {} flagged in all ({} of them with >= {LARGE} candidates); lowest impact ratio of large categories: overall {:.3}, posting {:.3}",
        fair.bias.len(),
        fair.bias.iter().filter(|r| r.flagged).count(),
        fair.bias.iter().filter(|r| r.flagged && r.assessed >= LARGE).count(),
        min_ir(&fair.bias, "overall"),
        min_ir(&fair.bias, "posting")
    );
    let large_flagged: Vec<_> = fair
        .bias
        .iter()
        .filter(|r| r.flagged && r.assessed >= LARGE)
        .collect();
    assert!(
        large_flagged.is_empty(),
        "unbiased stream flagged: {large_flagged:#?}"
    );
    for dim in ["sex", "race_ethnicity"] {
        for r in fair.bias.iter().filter(|r| {
            r.scope.kind() == "overall" && r.dimension.as_str() == dim && !r.small_category
        }) {
            assert!(r.impact_ratio_selection.unwrap().0 > 0.8, "{r:?}");
        }
    }
    let drifted: Vec<_> = fair
        .drift
        .iter()
        .filter(|r| r.flagged && r.metric.as_str() == "score" && r.n >= 500)
        .collect();
    assert!(drifted.is_empty(), "unbiased stream drifted: {drifted:#?}");
    assert!(
        fair.bias.iter().any(|r| r.small_category),
        "small categories are reported"
    );
    assert!(
        fair.bias.iter().all(|r| !(r.small_category && r.flagged)),
        "small categories are never flagged"
    );

    // Biased selection of women, and lower AI scores for Black candidates.
    let mut biased_cfg = base.clone();
    biased_cfg.bias = Some(parse_bias("sex=female:0.5", 0.0).unwrap());
    let biased = run_batch(records(&biased_cfg), 2, &cfg, &SinkOptions::in_memory()).unwrap();
    let female = overall(&biased.bias, "sex", "female");
    let male = overall(&biased.bias, "sex", "male");
    eprintln!(
        "biased: female selection rate {:.3} vs male {:.3}, impact ratio {:.3}",
        female.selection_rate.0,
        male.selection_rate.0,
        female.impact_ratio_selection.unwrap().0
    );
    assert!(
        female.flagged_selection && female.impact_ratio_selection.unwrap().0 < 0.65,
        "{female:?}"
    );
    assert!(!male.flagged, "{male:?}");
    assert!(
        female.unknown_excluded > 0,
        "declined answers are counted as unknown"
    );
    let female_intersections = biased.bias.iter().filter(|r| {
        r.scope.kind() == "overall"
            && r.dimension.as_str() == "intersection"
            && r.category.starts_with("female /")
            && r.assessed >= LARGE
    });
    for r in female_intersections {
        assert!(r.flagged_selection, "intersection {r:?}");
    }

    let mut scored_cfg = base.clone();
    scored_cfg.bias = Some(parse_bias("race_ethnicity=black:1.0", 0.5).unwrap());
    let scored = run_batch(records(&scored_cfg), 2, &cfg, &SinkOptions::in_memory()).unwrap();
    let black = overall(&scored.bias, "race_ethnicity", "black");
    eprintln!(
        "score-biased: black scoring-rate impact ratio {:.3}, selection {:.3}",
        black.impact_ratio_scoring.unwrap().0,
        black.impact_ratio_selection.unwrap().0
    );
    assert!(
        black.flagged_scoring && !black.flagged_selection,
        "{black:?}"
    );

    // Drift of rubric@1.0 from week 3: PSI major from then on, stable before.
    let mut drift_cfg = base.clone();
    drift_cfg.drift = Some(parse_drift("rubric@1.0:3:0.5").unwrap());
    let drifting = run_batch(records(&drift_cfg), 2, &cfg, &SinkOptions::in_memory()).unwrap();
    let weeks: Vec<&DriftRow> = drifting
        .drift
        .iter()
        .filter(|r| r.model.as_str() == "rubric@1.0" && r.metric.as_str() == "score")
        .collect();
    assert_eq!(weeks.len(), 6, "{weeks:#?}");
    let start = weeks[0].week;
    eprintln!(
        "drift: rubric@1.0 score PSI by week {:?}",
        weeks
            .iter()
            .map(|r| (r.psi.0 * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>()
    );
    for r in &weeks {
        let week = (r.week - start) / 7;
        if week >= 3 {
            assert!(
                r.psi_level.as_str() == "major" && r.ks_significant,
                "week {week}: {r:?}"
            );
        } else {
            assert!(!r.flagged, "week {week}: {r:?}");
        }
    }
    let shadow: Vec<_> = drifting
        .drift
        .iter()
        .filter(|r| {
            r.model.as_str() == "rubric@1.1"
                && r.metric.as_str() == "score"
                && r.n >= 500
                && r.flagged
        })
        .collect();
    assert!(
        shadow.is_empty(),
        "the shadow model did not drift: {shadow:#?}"
    );
}

// ---------------------------------------------------------------------------
// Kafka → aggregate runner → Parquet, read by DuckDB and the audit

#[test]
fn kafka_topics_to_parquet_snapshots_and_audit_report() {
    use panelflow::aggregates::runner::{run, RunnerConfig};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

    let dir = tempfile::tempdir().unwrap();
    let mut broker = panelflow_devkit::broker::Broker::start(&dir.path().join("broker"), None)
        .expect("Tansu broker (run bash scripts/setup.sh)");
    let sim = SimConfig {
        candidates: 300,
        seed: 5,
        bias: Some(parse_bias("sex=female:0.4", 0.0).unwrap()),
        ..SimConfig::default()
    };
    let messages = generate(&sim);
    let sent = panelflow_devkit::simulate::produce(&broker.bootstrap(), &messages, &|t| {
        t.default_name().to_string()
    })
    .unwrap();
    assert_eq!(sent.per_topic.values().sum::<usize>(), messages.len());
    // One message that is not a valid rating: dead-lettered, not a crash.
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    producer
        .send(
            BaseRecord::to(Topic::Ratings.default_name())
                .key("bad")
                .payload(r#"{"reviewer_id":"r","rating":9}"#),
        )
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
    // Redeliveries, as a producer that crashed after sending sends again:
    // score inserts whose records are never retracted, sent a second time.
    let retracted: std::collections::HashSet<String> = messages
        .iter()
        .filter_map(|m| match m {
            panelflow_devkit::simulate::Message::Score(s) if s.diff < 0 => Some(
                serde_json::to_string(&panelflow_core::wire::ScoreMessage {
                    diff: 1,
                    ..s.clone()
                })
                .unwrap(),
            ),
            _ => None,
        })
        .collect();
    let again: Vec<_> = messages
        .iter()
        .filter(|m| match m {
            panelflow_devkit::simulate::Message::Score(s) => {
                s.diff > 0 && !retracted.contains(&serde_json::to_string(s).unwrap())
            }
            _ => false,
        })
        .take(40)
        .cloned()
        .collect();
    assert_eq!(again.len(), 40);
    panelflow_devkit::simulate::produce(&broker.bootstrap(), &again, &|t| {
        t.default_name().to_string()
    })
    .unwrap();

    let mut cfg = RunnerConfig::default();
    cfg.kafka.brokers = broker.bootstrap();
    cfg.output.dir = dir.path().join("aggregates");
    cfg.output.durable = false;
    let stats = run(&cfg, 2, true, Some(Duration::from_secs(120))).unwrap();
    assert_eq!(
        stats.consumed.load(std::sync::atomic::Ordering::Relaxed) as usize,
        messages.len() + 1 + again.len()
    );
    assert_eq!(
        stats.redelivered.load(std::sync::atomic::Ordering::Relaxed) as usize,
        again.len(),
        "every redelivery dropped, nothing else"
    );
    assert_eq!(
        stats.malformed.load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    let layout = Layout::new(&cfg.output.dir);
    for t in [
        "bias_audit",
        "reviewer_calibration",
        "panel_view",
        "drift",
        "question_consistency",
        "interviewer_language",
    ] {
        assert!(layout.snapshot_file(t).exists(), "snapshot of {t}");
    }
    // DuckDB: the snapshot equals the SQL over the input tables both workers wrote,
    // and the change log consolidates to the snapshot.
    let inputs = cfg.output.dir.join("inputs");
    let snapshot = |t: &str| {
        format!(
            "select * exclude (as_of_time) from read_parquet('{}')",
            layout.snapshot_file(t).display()
        )
    };
    let duck = duckdb(&[
        ("expected", sql("bias_audit", &inputs, &cfg.aggregates)),
        ("snapshot", snapshot("bias_audit")),
        ("calibration_expected", sql("reviewer_calibration", &inputs, &cfg.aggregates)),
        ("calibration_snapshot", snapshot("reviewer_calibration")),
        (
            "log_minus_snapshot",
            format!(
                "(select * exclude (time, diff) from read_parquet('{}') group by all having sum(diff) > 0) except all ({})",
                layout.changelog_glob("bias_audit"),
                snapshot("bias_audit")
            ),
        ),
    ]);
    assert!(duck["snapshot"].len() > 20);
    // Compare the two DuckDB results with each other, column by column.
    let key = |v: &Value| {
        format!(
            "{}|{}|{}|{}",
            v["scope_kind"], v["scope"], v["dimension"], v["category"]
        )
    };
    let expected: BTreeMap<String, &Value> = duck["expected"].iter().map(|v| (key(v), v)).collect();
    let snap: BTreeMap<String, &Value> = duck["snapshot"].iter().map(|v| (key(v), v)).collect();
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        snap.keys().collect::<Vec<_>>()
    );
    for (k, e) in &expected {
        for c in BiasRow::columns() {
            let (a, b) = (&e[c.name], &snap[k][c.name]);
            let same = match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= TOLERANCE,
                _ => a == b,
            };
            assert!(same, "{k} {}: SQL {a}, snapshot {b}", c.name);
        }
    }
    assert_eq!(
        duck["calibration_expected"].len(),
        duck["calibration_snapshot"].len()
    );
    assert!(
        duck["log_minus_snapshot"].is_empty(),
        "{:?}",
        duck["log_minus_snapshot"]
    );

    // The audit, through the binary.
    let html = dir.path().join("audit.html");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args([
            "audit",
            &cfg.output.dir.display().to_string(),
            "--html",
            &html.display().to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("overall overall · sex"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("female") && l.contains("FLAG selection")),
        "{text}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.matches("<svg").count() >= 4,
        "impact, leniency and PSI plots"
    );
    assert!(page.contains("0.8"));
    broker.stop().unwrap();
}

// ---------------------------------------------------------------------------
// Contracts

fn doc(table: &str) -> Value {
    let path = root()
        .join("schemas/aggregates/tables")
        .join(format!("{table}.json"));
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn doc_columns(v: &Value, field: &str) -> Vec<(String, String, bool)> {
    v[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["duckdb_type"].as_str().unwrap().to_string(),
                c["nullable"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn code_columns(
    cols: Vec<panelflow_connectors::parquet::aggregates::Column>,
) -> Vec<(String, String, bool)> {
    cols.into_iter()
        .map(|c| (c.name.to_string(), c.ty.duckdb().to_string(), c.nullable))
        .collect()
}

fn check_aggregate<R: TableRow>() {
    let d = doc(R::TABLE);
    assert_eq!(
        doc_columns(&d, "columns"),
        code_columns(R::columns()),
        "{}",
        R::TABLE
    );
    let key: Vec<&str> = d["key"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(key, R::KEY, "{}", R::TABLE);
    assert_eq!(
        doc_columns(&d, "changelog_columns"),
        vec![
            ("time".into(), "BIGINT".into(), false),
            ("diff".into(), "BIGINT".into(), false)
        ]
    );
}

#[test]
fn tables_match_their_documentation() {
    check_aggregate::<BiasRow>();
    check_aggregate::<CalibrationRow>();
    check_aggregate::<PanelRow>();
    check_aggregate::<DriftRow>();
    check_aggregate::<ConsistencyRow>();
    check_aggregate::<LanguageRow>();
    for (table, cols) in input_tables() {
        let d = doc(table);
        let mut want = code_columns(cols);
        want.push(("time".into(), "BIGINT".into(), false));
        want.push(("diff".into(), "BIGINT".into(), false));
        assert_eq!(doc_columns(&d, "columns"), want, "{table}");
    }
    // The issue's required bias_audit columns.
    let cols: Vec<&str> = BiasRow::columns()
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .leak()
        .to_vec();
    for c in [
        "scope",
        "dimension",
        "category",
        "assessed",
        "selected",
        "selection_rate",
        "scoring_rate",
        "impact_ratio_selection",
        "impact_ratio_scoring",
        "flagged",
        "unknown_excluded",
    ] {
        assert!(cols.contains(&c), "bias_audit lacks {c}");
    }
}

// A small JSON Schema checker: the subset the aggregates' schemas use.
fn check_schema(s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let type_ok = |t: &str| match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64(),
        "number" => v.is_number(),
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        _ => false,
    };
    match &s["type"] {
        Value::String(t) if !type_ok(t) => errs.push(format!("{path}: not {t}")),
        Value::Array(ts) if !ts.iter().any(|t| type_ok(t.as_str().unwrap_or(""))) => {
            errs.push(format!("{path}: not {ts:?}"))
        }
        _ => {}
    }
    if let (Some(e), true) = (s["enum"].as_array(), !s["enum"].is_null()) {
        if !e.contains(v) {
            errs.push(format!("{path}: {v} not in {e:?}"));
        }
    }
    if let (Some(min), Some(x)) = (s["minimum"].as_f64(), v.as_f64()) {
        if x < min {
            errs.push(format!("{path}: below {min}"));
        }
    }
    if let (Some(max), Some(x)) = (s["maximum"].as_f64(), v.as_f64()) {
        if x > max {
            errs.push(format!("{path}: above {max}"));
        }
    }
    if let (Some(min), Some(x)) = (s["minLength"].as_u64(), v.as_str()) {
        if (x.len() as u64) < min {
            errs.push(format!("{path}: shorter than {min}"));
        }
    }
    if let (Some(min), Some(x)) = (s["minItems"].as_u64(), v.as_array()) {
        if (x.len() as u64) < min {
            errs.push(format!("{path}: fewer than {min} items"));
        }
    }
    if let Some(obj) = v.as_object() {
        for req in s["required"].as_array().into_iter().flatten() {
            if !obj.contains_key(req.as_str().unwrap()) {
                errs.push(format!("{path}: missing {req}"));
            }
        }
        for (k, val) in obj {
            match s["properties"].get(k) {
                Some(ps) => check_schema(ps, val, &format!("{path}.{k}"), errs),
                None if s["additionalProperties"] == Value::Bool(false) => {
                    errs.push(format!("{path}: unexpected {k}"))
                }
                None => {}
            }
        }
    }
    if let (Some(arr), false) = (v.as_array(), s["items"].is_null()) {
        for (i, item) in arr.iter().enumerate() {
            check_schema(&s["items"], item, &format!("{path}[{i}]"), errs);
        }
    }
}

#[test]
fn simulated_messages_follow_their_schemas_and_bad_ones_are_refused() {
    let schemas: HashMap<Topic, Value> = Topic::ALL
        .iter()
        .map(|t| {
            let path = root().join("schemas/aggregates").join(t.schema_file());
            (
                *t,
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap(),
            )
        })
        .collect();
    let messages = generate(&SimConfig {
        candidates: 200,
        ..SimConfig::default()
    });
    let mut seen: HashMap<Topic, usize> = HashMap::new();
    for m in &messages {
        let mut errs = Vec::new();
        check_schema(&schemas[&m.topic()], &m.to_json(), "$", &mut errs);
        assert!(
            errs.is_empty(),
            "{:?}: {errs:?}\n{}",
            m.topic(),
            m.to_json()
        );
        // What the schema accepts, the decoder accepts.
        decode(m.topic(), &serde_json::to_vec(&m.to_json()).unwrap()).unwrap();
        *seen.entry(m.topic()).or_default() += 1;
    }
    assert_eq!(seen.len(), 5, "every topic is simulated: {seen:?}");
    assert!(
        messages.iter().filter(|m| m.diff() < 0).count() > 0,
        "retractions are simulated"
    );

    let bad = serde_json::json!({"candidate_id": "c", "posting_id": "p", "decision": "hired", "source": "lever", "decided_at": "2025-01-01T00:00:00Z"});
    let mut errs = Vec::new();
    check_schema(&schemas[&Topic::Decisions], &bad, "$", &mut errs);
    assert!(!errs.is_empty());
    assert!(decode(Topic::Decisions, &serde_json::to_vec(&bad).unwrap()).is_err());
}

/// What `panelflow demo --out DIR` adds: a simulated population sent to the
/// demo's broker and aggregated into `DIR/aggregates`, which `panelflow
/// audit DIR` finds.
#[test]
fn demo_population_leaves_a_populated_audit() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = panelflow_devkit::broker::Broker::start(&dir.path().join("broker"), None)
        .expect("Tansu broker (run bash scripts/setup.sh)");
    panelflow_devkit::simulate::send_demo_population(&broker.bootstrap()).unwrap();
    let mut rcfg = panelflow::aggregates::runner::RunnerConfig::default();
    rcfg.kafka.brokers = broker.bootstrap();
    rcfg.output.dir = dir.path().join("aggregates");
    panelflow::aggregates::runner::run(&rcfg, 2, true, Some(Duration::from_secs(300))).unwrap();
    let audit = panelflow::cli::audit::Audit::load(dir.path()).unwrap();
    assert!(
        audit.bias.rows.len() > 50,
        "{} bias rows",
        audit.bias.rows.len()
    );
    assert!(
        !audit.calibration.rows.is_empty()
            && !audit.drift.rows.is_empty()
            && !audit.panel.rows.is_empty()
    );
    assert!(
        !audit.flagged().is_empty(),
        "the injected violation is visible"
    );
    assert!(!audit.drifted().is_empty(), "the injected drift is visible");
    assert!(audit.html().unwrap().contains("<svg"));
    broker.stop().unwrap();
}
