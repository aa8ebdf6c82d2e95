//! The analysis: the summary object against its JSON Schema, `panelflow
//! analyze` on a recording with spoken questions, the quality floors of
//! `panelflow eval` on the annotated dataset, and the pipeline files' rubrics.
//! Needs the set-up's models (bash scripts/setup.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

use panelflow::config::PipelineConfig;
use panelflow_core::event::InterviewCompleted;
use panelflow_models::analysis::analyzer::{Analyzer, Context};
use panelflow_models::analysis::eval::evaluate;
use panelflow_models::analysis::posting::Posting;
use panelflow_models::analysis::summary::{PipelineRef, Summary};
use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};
use panelflow_models::speech::{Segment, Transcript};
use serde_json::{json, Value};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn datasets() -> PathBuf {
    root().join("datasets")
}

// ---------------------------------------------------------------------------

fn seg(start: f64, end: f64, text: &str) -> Segment {
    Segment {
        start,
        end,
        text: text.into(),
        confidence: 0.9,
    }
}

fn transcript(segments: Vec<Segment>) -> Transcript {
    let text = segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let duration_s = segments.last().map(|s| s.end + 0.5).unwrap_or(0.0);
    Transcript {
        duration_s,
        language: "en".into(),
        model: "test".into(),
        segments,
        text,
    }
}

fn analyzer() -> Analyzer {
    let cfg = PipelineConfig::default();
    Analyzer::from_sections(&cfg.analysis, &cfg.rubrics, &cfg.speech)
        .expect("analysis models (run bash scripts/setup.sh)")
}

fn posting(family: &str) -> Posting {
    let postings: Value = serde_json::from_str(
        &std::fs::read_to_string(datasets().join("lever_postings.json")).unwrap(),
    )
    .unwrap();
    let p = postings
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tags"].as_array().unwrap().iter().any(|t| t == family))
        .unwrap();
    Posting::from_lever(p)
}

/// A single recording without question ids: the family is recognised from
/// the answers, a skipped question is reported unanswered, and the summary
/// object (with and without the analysis) follows its schema.
#[test]
fn summary_object_follows_its_schema() {
    let event = InterviewCompleted::new("generic", "iv-schema", "cand-1", "opp-1", vec![]);
    let pipeline = PipelineRef {
        name: "pilot".into(),
        version: "1".into(),
        config_hash: "ab12".into(),
    };
    let t = transcript(vec![
        seg(0.4, 6.2, "I have spent five years in business to business software sales as an account executive."),
        seg(6.3, 12.0, "I have beaten my quota every year and last year I closed 120% of target."),
        seg(13.2, 24.0, "A logistics customer was about to choose a competitor. I built a business case around saving forty hours a week and we closed a three year contract worth $200,000."),
        seg(25.3, 33.0, "I want to leave my current role because my manager is terrible and the company is a mess. I am tired of being blamed."),
    ]);
    let plain = Summary::build(&event, &pipeline, vec![(None, None, t.clone())], vec![]);
    assert_valid(
        "summary.schema.json",
        &serde_json::to_value(&plain).unwrap(),
    );

    let mut a = analyzer();
    let mut summary = Summary::build(
        &event,
        &pipeline,
        vec![(None, None, t)],
        a.models().to_vec(),
    );
    a.analyze(&mut summary, &[vec![]], &Context::default());
    let v = serde_json::to_value(&summary).unwrap();
    assert_valid("summary.schema.json", &v);
    assert_eq!(
        summary.analysis.job_family.as_deref(),
        Some("sales"),
        "{:?}",
        summary.analysis
    );
    let ids: Vec<&str> = summary
        .answers
        .iter()
        .filter(|a| a.answered)
        .filter_map(|a| a.question_id.as_deref())
        .collect();
    assert_eq!(ids, ["sales-q1", "sales-q2", "sales-q4"], "{v:#}");
    assert_eq!(summary.unanswered_questions, ["sales-q3"]);
    assert!(summary
        .flags
        .iter()
        .any(|f| f.name == "negativity_about_employer"
            && f.question_id.as_deref() == Some("sales-q4")));
    assert!(summary
        .flags
        .iter()
        .any(|f| f.name == "no_answer" && f.question_id.as_deref() == Some("sales-q3")));
    let skills: Vec<&str> = summary
        .key_skills_matched
        .iter()
        .map(|m| m.skill.as_str())
        .collect();
    assert!(
        skills.contains(&"B2B sales") && skills.contains(&"business case"),
        "{skills:?}"
    );
    assert!(summary.skills_missing.contains(&"Salesforce".to_string()));
    assert!((0.0..=1.0).contains(&summary.sentiment_score));
    assert_eq!(summary.scores.len(), 4, "one score per competency");
    assert!(summary
        .scores
        .iter()
        .all(|s| (1..=4).contains(&s.score) && (0.0..=1.0).contains(&s.confidence)));
    assert!(
        summary
            .interview_transcript_summary
            .starts_with("Candidate discussed five years of experience"),
        "{}",
        summary.interview_transcript_summary
    );
    assert!(summary.models.iter().any(|m| m.name.contains("MiniLM")));

    // The Lever note carries the analysis.
    let note = panelflow::writeback::note::render_note(&v, &summary.correlation_id);
    for part in [
        "Skills matched: ",
        "not mentioned: ",
        "Sentiment: ",
        "To review: ",
        "Scores (overall ",
    ] {
        assert!(
            note.contains(part),
            "{part:?} missing from the note:\n{note}"
        );
    }
}

/// `panelflow analyze` on a single recording where an interviewer reads the
/// questions out: answers found within the annotated boundaries, the
/// off-topic answer and the hesitant one flagged, skills from the posting.
#[test]
fn analyze_cli_finds_answers_in_a_recording_with_spoken_questions() {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(datasets().join("manifest.json")).unwrap())
            .unwrap();
    let it = manifest["interviews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["interview_id"] == "swe-03")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let questions = dir.path().join("questions.json");
    std::fs::write(&questions, it["questions"].to_string()).unwrap();
    let postings: Value = serde_json::from_str(
        &std::fs::read_to_string(datasets().join("lever_postings.json")).unwrap(),
    )
    .unwrap();
    let p = postings
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == it["posting_id"])
        .unwrap();
    let posting = dir.path().join("posting.json");
    std::fs::write(&posting, json!({ "data": p }).to_string()).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .arg("analyze")
        .arg(datasets().join("interviews/swe-03.webm"))
        .arg("--questions")
        .arg(&questions)
        .arg("--posting")
        .arg(&posting)
        .args(["--config", "dataflows/pilot.toml", "--json"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid("summary.schema.json", &v);
    assert_eq!(v["analysis"]["answers_from"], "aligned");
    assert_eq!(v["analysis"]["job_family"], "software_engineering");
    let answers = v["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 4);
    for (got, want) in answers.iter().zip(it["answers"].as_array().unwrap()) {
        assert_eq!(got["question_id"], want["question_id"]);
        for (g, w) in [("start", "start_s"), ("end", "end_s")] {
            let err = (got[g].as_f64().unwrap() - want[w].as_f64().unwrap()).abs();
            assert!(
                err <= 1.5,
                "{} {g}: {} vs {}",
                want["question_id"],
                got[g],
                want[w]
            );
        }
    }
    let flags = |q: &str| -> Vec<String> {
        answers.iter().find(|a| a["question_id"] == q).unwrap()["flags"]
            .as_array()
            .map(|f| f.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    assert!(
        flags("swe-q2").contains(&"uncertain_needs_clarification".to_string()),
        "{:?}",
        flags("swe-q2")
    );
    assert!(
        flags("swe-q2").contains(&"long_silences".to_string()),
        "{:?}",
        flags("swe-q2")
    );
    assert!(
        flags("swe-q3").contains(&"off_topic_answer".to_string()),
        "{:?}",
        flags("swe-q3")
    );
    let tone = &answers[1]["tone"];
    assert!(tone["longest_pause_s"].as_f64().unwrap() >= 2.0, "{tone}");
    assert!(
        tone["pitch_hz"]
            .as_f64()
            .is_some_and(|f| (60.0..400.0).contains(&f)),
        "{tone}"
    );
    let skills: Vec<&str> = v["key_skills_matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["skill"].as_str().unwrap())
        .collect();
    assert!(
        skills.contains(&"Kafka") && skills.contains(&"Docker"),
        "{skills:?}"
    );
    let kafka = v["key_skills_matched"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["skill"] == "Kafka")
        .unwrap();
    let at = kafka["mentions"][0]["at"].as_f64().unwrap();
    assert!((55.0..61.0).contains(&at), "Kafka mentioned at {at}");
    assert!(v["scores"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["question_id"] == "swe-q3" && s["score"] == 1));
}

/// The quality floors on the annotated dataset: what the current code
/// reaches, so that a change that degrades quality fails.
#[test]
fn eval_meets_the_quality_floors() {
    let cfg = PipelineConfig::default();
    let mut transcriber = Transcriber::load(&TranscriberOptions {
        threads: 2,
        ..TranscriberOptions::from_section(&cfg.speech, cfg.media.max_duration_s)
    })
    .expect("models (run bash scripts/setup.sh)");
    let mut a = analyzer();
    let r = evaluate(&datasets(), &mut transcriber, &mut a, &[]).expect("eval");
    println!("{}", r.table());
    assert!(
        r.answers >= 20 && r.job_families.len() >= 3,
        "{} answers over {:?}",
        r.answers,
        r.job_families
    );
    assert!(r.embeddings);
    assert!(r.skills.f1() >= 0.85, "skills F1 {:.3}", r.skills.f1());
    assert!(
        r.boundary_error_s <= 1.5,
        "boundary error {:.3} s",
        r.boundary_error_s
    );
    assert!(r.rubric_mae <= 0.75, "rubric MAE {:.3}", r.rubric_mae);
    assert!(r.rubric_n >= 20, "{} rubric keys", r.rubric_n);
    assert!(r.flags.f1() >= 0.85, "flags F1 {:.3}", r.flags.f1());
    assert!(
        r.sentiment_accuracy >= 0.6,
        "sentiment accuracy {:.3}",
        r.sentiment_accuracy
    );
    assert!(r.wer <= 0.2, "WER {:.3}", r.wer);
}

/// Rubric sections: the shipped pipeline files parse with rubrics; a file's
/// own `[rubrics.*]` replaces the built-in set; unknown fields are refused.
#[test]
fn pipeline_files_carry_rubrics() {
    let cfg = PipelineConfig::load(&root().join("dataflows/pilot.toml")).unwrap();
    assert!(cfg.rubrics.0.len() >= 3);
    let own = PipelineConfig::from_toml(
        "[rubrics.support]\nquestions = [{ id = \"q1\", text = \"Why us?\" }]\n[[rubrics.support.competencies]]\nid = \"m\"\nquestions = [\"q1\"]\nconcepts = [\"team\"]\n",
    )
    .unwrap();
    assert_eq!(own.rubrics.0.keys().collect::<Vec<_>>(), ["support"]);
    assert_eq!(
        own.rubrics.0["support"].competencies[0].min_words, 20,
        "defaults fill the rest"
    );
    assert!(PipelineConfig::from_toml("[rubrics.x]\ncompetences = []\n").is_err());
    assert!(PipelineConfig::from_toml("[analysis]\nembedings = \"off\"\n").is_err());
    let off = PipelineConfig::from_toml(
        "[analysis]\nembeddings = \"off\"\n[analysis.tone]\nfast_wpm = 180.0\n",
    )
    .unwrap();
    assert_eq!(off.analysis.tone.fast_wpm, 180.0);
    assert_ne!(off.config_hash(), PipelineConfig::default().config_hash());

    // Without embeddings the analysis still runs (word overlap), per-answer media map directly.
    let mut a = Analyzer::from_sections(&off.analysis, &off.rubrics, &off.speech).unwrap();
    assert!(!a.has_embeddings());
    let event = InterviewCompleted::new("generic", "iv-2", "c", "o", vec![]);
    let pipeline = PipelineRef {
        name: "p".into(),
        version: "1".into(),
        config_hash: String::new(),
    };
    let q = |id: &str| {
        (
            Some(id.to_string()),
            None,
            transcript(vec![seg(
                0.5,
                6.0,
                "I write SQL every day and build dashboards in Tableau for five years.",
            )]),
        )
    };
    let mut s = Summary::build(&event, &pipeline, vec![q("data-q1"), q("data-q3")], vec![]);
    let p = posting("data_analytics");
    // The question list given: the questions without media are unanswered.
    let asked = off.rubrics.0["data_analytics"].questions.clone();
    a.analyze(
        &mut s,
        &[vec![], vec![]],
        &Context {
            questions: &asked,
            posting: Some(&p),
            family: None,
        },
    );
    assert_eq!(s.analysis.answers_from.as_deref(), Some("per_answer_media"));
    assert_eq!(s.analysis.job_family_from.as_deref(), Some("posting"));
    let ids: Vec<(&str, bool)> = s
        .answers
        .iter()
        .map(|a| (a.question_id.as_deref().unwrap_or(""), a.answered))
        .collect();
    assert_eq!(
        ids,
        [
            ("data-q1", true),
            ("data-q2", false),
            ("data-q3", true),
            ("data-q4", false)
        ]
    );
    assert!(
        s.skills_requested.contains(&"Snowflake".to_string()),
        "posting skills: {:?}",
        s.skills_requested
    );
}

use crate::support;

use support::schema::assert_valid;

/// The dataflow's per-interview processing runs the analysis: a single
/// recording (no question ids, no Lever) gets its family, its answers per
/// question and its scores, and the `responses` and `scores` tables it writes
/// read back in DuckDB joined to `interviews`.
#[test]
fn the_dataflow_writes_responses_and_scores_that_duckdb_reads() {
    use panelflow::pipeline::Processor;
    use panelflow_connectors::parquet::ParquetSink;
    use panelflow_core::event::MediaItem;
    use panelflow_devkit::media_server::MediaServer;

    let media = MediaServer::start(&datasets()).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let mut cfg = PipelineConfig::default();
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
    let event = InterviewCompleted::new("generic", "sales-02", "cand", "opp", vec![item]);
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
            .contains("negativity_about_employer"),
        "{responses:?}"
    );
    assert!(
        responses[0]["pitch_hz"].as_f64().is_some(),
        "tone from the audio: {responses:?}"
    );
    let scores = support::duckdb_json(&format!(
        "select competency, score, low_confidence, typeof(score) as t from {} order by competency",
        t("scores")
    ));
    assert_eq!(scores.len(), 4);
    assert!(scores
        .iter()
        .all(|s| s["t"] == "INTEGER" && (1..=4).contains(&s["score"].as_i64().unwrap())));
}
