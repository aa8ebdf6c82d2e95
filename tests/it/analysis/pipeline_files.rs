//! Pipeline files bind competencies and roles; the dataflow's `responses`
//! and `scores` tables read back by DuckDB.

use super::*;

/// Competencies and roles in a pipeline file: a recruiter's own competency
/// in plain language, a question bound to it, a role's question set;
/// unknown fields and bindings to unknown competencies are refused.
#[test]
fn pipeline_files_bind_competencies_and_roles() {
    for f in ["pilot", "review", "automate"] {
        PipelineConfig::load(&root().join(format!("dataflows/{f}.toml"))).unwrap();
    }
    let cfg = PipelineConfig::from_toml(
        r#"
        [analysis]
        embeddings = "off"
        [analysis.question_competencies]
        "q-77" = ["safe_practice"]
        [[analysis.competencies]]
        id = "safe_practice"
        name = "Safe clinical practice"
        definition = "Follows and improves the procedures that keep patients safe."
        anchors = ["Ignores or dismisses procedures.", "Knows them in general terms.",
                   "Follows them in a real case and explains why.", "Improved one, with a measured result for patients."]
        [roles.nurse]
        match = ["registered nurse"]
        questions = [{ id = "q-78", text = "Tell us about a shift that went wrong.", competencies = ["ownership"] }]
        "#,
    )
    .unwrap();
    let mut a = Analyzer::from_sections(&cfg.analysis, &cfg.roles, &cfg.speech).unwrap();
    assert!(!a.has_embeddings());
    let event = InterviewCompleted::new("generic", "iv-2", "c", "o", vec![]);
    let answer = |id: &str| {
        (
            Some(id.to_string()),
            None,
            transcript(vec![seg(0.5, 9.0, "Last winter I noticed two patients with the same name on my ward. I added a second identity check to our handover, and we had no mix-ups in six months.")]),
        )
    };
    let mut s = Summary::build(
        &event,
        &pipeline(),
        vec![answer("q-77"), answer("q-78"), answer("q-79")],
        vec![],
    );
    a.analyze(&mut s, &[vec![], vec![], vec![]], &Context::default());
    let by = |q: &str| s.scores.iter().find(|x| x.question_id == q).unwrap();
    assert_eq!(
        (
            by("q-77").competency.as_str(),
            by("q-77").mapped_by.as_str()
        ),
        ("safe_practice", "pipeline")
    );
    assert_eq!(by("q-77").name, "Safe clinical practice");
    assert_eq!(
        (
            by("q-78").competency.as_str(),
            by("q-78").mapped_by.as_str()
        ),
        ("ownership", "pipeline")
    );
    assert_eq!(
        by("q-79").mapped_by,
        "answer",
        "no question text: mapped by the answer"
    );
    assert_eq!(
        s.answers[1].question.as_deref(),
        Some("Tell us about a shift that went wrong.")
    );

    assert!(PipelineConfig::from_toml("[roles.x]\ncompetences = []\n").is_err());
    assert!(PipelineConfig::from_toml("[analysis]\nembedings = \"off\"\n").is_err());
    assert!(
        PipelineConfig::from_toml("[rubrics.x]\n").is_err(),
        "the old keyword rubrics are gone"
    );
    let bad = PipelineConfig::from_toml("[analysis.question_competencies]\n\"q\" = [\"nope\"]\n")
        .unwrap();
    let err = Analyzer::from_sections(&bad.analysis, &bad.roles, &bad.speech).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

/// The dataflow's per-interview processing runs the analysis: a single
/// recording whose platform sends its questions gets its answers per
/// question and its scores, and the `responses` and `scores` tables it
/// writes read back in DuckDB joined to `interviews`.
#[test]
fn the_dataflow_writes_responses_and_scores_that_duckdb_reads() {
    use panelflow::pipeline::Processor;
    use panelflow_connectors::parquet::ParquetSink;
    use panelflow_core::event::{MediaItem, QuestionRef};
    use panelflow_devkit::media_server::MediaServer;

    let media = MediaServer::start(&datasets()).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let mut cfg = PipelineConfig::default();
    crate::support::use_built_decoder(&mut cfg);
    cfg.media.allow_private_networks = true;
    cfg.review.queue_dir = scratch.path().join("review");
    cfg.governance.audit_dir = scratch.path().join("audit");
    let mut processor = Processor::new(&cfg, None).expect("models (run bash scripts/setup.sh)");
    let item = MediaItem {
        url: media.url("interviews/sales-02.webm"),
        question_id: None,
        question_text: None,
        expires_at: None,
    };
    let mut event = InterviewCompleted::new("generic", "sales-02", "cand", "opp", vec![item]);
    event.questions = [
        ("sales-q1", "Tell us about your sales experience."),
        ("sales-q2", "Describe a deal you are proud of closing. What was the situation, and what was your approach?"),
        ("sales-q3", "How do you manage your pipeline and your forecast?"),
        ("sales-q4", "Why are you looking to leave your current role?"),
    ]
    .iter()
    .map(|(id, text)| QuestionRef {
        id: id.to_string(),
        text: Some(text.to_string()),
    })
    .collect();
    let done = processor.process(&event);
    assert_eq!(
        done.interview.outcome, "transcribed",
        "{:?}",
        done.interview.failure_reason
    );
    assert_eq!(done.analysis.responses.len(), 4);
    assert_eq!(done.analysis.scores.len(), 4);
    let mut keys: Vec<(i32, i32)> = done
        .segments
        .iter()
        .map(|s| (s.media_index, s.segment_index))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "segment indexes are unique per media item");
    assert!(
        done.segments.iter().all(|s| s.question_id.is_some()),
        "segments know their question"
    );
    let summary: Value =
        serde_json::from_str(done.interview.summary_json.as_deref().unwrap()).unwrap();
    assert_valid("summary.schema.json", &summary);

    let dir = tempfile::tempdir().unwrap();
    let sink = ParquetSink::open(dir.path()).unwrap();
    sink.write_batch_with(
        std::slice::from_ref(&done.interview),
        &done.segments,
        &done.analysis,
    )
    .unwrap();
    let root = dir.path().display().to_string();
    let t =
        |name: &str| format!("read_parquet('{root}/{name}/**/*.parquet', hive_partitioning=true)");
    let responses = support::duckdb_json(&format!(
        "select r.question_id, r.answered, r.sentiment_label, r.flags, r.words_per_minute, r.pitch_hz, i.outcome \
         from {} r join {} i using (interview_id, pipeline_version) order by r.question_index",
        t("responses"),
        t("interviews")
    ));
    let ids: Vec<&str> = responses
        .iter()
        .map(|r| r["question_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["sales-q1", "sales-q2", "sales-q3", "sales-q4"]);
    assert_eq!(responses[2]["answered"], false);
    assert!(
        responses[3]["flags"]
            .as_str()
            .unwrap()
            .contains("blames_others"),
        "{responses:?}"
    );
    assert!(
        responses[0]["pitch_hz"].as_f64().is_some(),
        "tone from the audio: {responses:?}"
    );
    let scores = support::duckdb_json(&format!(
        "select competency, score, level, mapped_by, model_version, low_confidence, typeof(score) as t from {} order by competency",
        t("scores")
    ));
    assert_eq!(scores.len(), 4);
    assert!(scores.iter().all(|s| s["t"] == "INTEGER"
        && (1..=4).contains(&s["score"].as_i64().unwrap())
        && s["mapped_by"] == "similarity"
        && s["model_version"]
            .as_str()
            .is_some_and(|m| m.starts_with("evidence-ordinal@"))));
}
