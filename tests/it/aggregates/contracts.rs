//! Contracts: the tables match `schemas/aggregates/`, simulated messages
//! follow their schemas, and the demo's population leaves a populated audit.

use super::*;

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
    // The required bias_audit columns.
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
