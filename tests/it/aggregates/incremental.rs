//! The property test: random streams of inserts and retractions, fed in
//! steps, give the same tables incrementally as from scratch and as DuckDB.

use super::*;

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
