//! The analysis: the summary object against its JSON Schema; questions from
//! the posting, heard in the recording, or not known (then nothing is
//! scored and nothing invented); voice and sentiment never moving a score,
//! hedging lowering confidence only; the quality floors of `panelflow eval`
//! on the development and the frozen test split; the dataflow's `responses`
//! and `scores` tables read back by DuckDB. Needs the set-up's models
//! (bash scripts/setup.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

use panelflow::config::PipelineConfig;
use panelflow_core::event::InterviewCompleted;
use panelflow_models::analysis::analyzer::{Analyzer, Context};
use panelflow_models::analysis::answers::Question;
use panelflow_models::analysis::posting::Posting;
use panelflow_models::analysis::summary::{PipelineRef, Summary};
use panelflow_models::analysis::tone::SegmentAudio;
use panelflow_models::speech::{Segment, Transcript};
use serde_json::{json, Value};

use crate::support;
use support::schema::assert_valid;

mod fairness;
mod pipeline_files;
mod quality;
mod recordings;
mod summary_object;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn datasets() -> PathBuf {
    root().join("datasets")
}

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
    Analyzer::from_sections(&cfg.analysis, &cfg.roles, &cfg.speech)
        .expect("analysis models (run bash scripts/setup.sh)")
}

fn pipeline() -> PipelineRef {
    PipelineRef {
        name: "pilot".into(),
        version: "1".into(),
        config_hash: "ab12".into(),
    }
}

/// The dataset's first posting (as Lever returns it) that `pick` accepts.
fn lever_posting(pick: impl Fn(&Value) -> bool) -> Value {
    let postings: Value = serde_json::from_str(
        &std::fs::read_to_string(datasets().join("lever_postings.json")).unwrap(),
    )
    .unwrap();
    postings
        .as_array()
        .unwrap()
        .iter()
        .find(|p| pick(p))
        .cloned()
        .unwrap()
}

/// The dataset's posting with this tag (a job family), as Lever returns it.
fn posting(tag: &str) -> Posting {
    let p = lever_posting(|p| p["tags"].as_array().unwrap().iter().any(|t| t == tag));
    Posting::from_lever(&p)
}

/// Analyses one answer given as a platform sends it (its question id and text).
fn analyse_answer(
    a: &mut Analyzer,
    question: &str,
    segments: Vec<Segment>,
    audio: Vec<SegmentAudio>,
) -> Summary {
    let event = InterviewCompleted::new("generic", "iv-one", "cand-1", "opp-1", vec![]);
    let q = Question::new("q_51f0a2", question);
    let mut s = Summary::build(
        &event,
        &pipeline(),
        vec![(
            Some(q.id.clone()),
            Some(q.text.clone()),
            transcript(segments),
        )],
        a.models().to_vec(),
    );
    a.analyze(
        &mut s,
        &[audio],
        &Context {
            questions: std::slice::from_ref(&q),
            questions_from: Some("platform"),
            posting: None,
            role: None,
        },
    );
    s
}
