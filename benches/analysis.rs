//! What the analysis adds to a 10-minute interview's transcription.
//!
//! A 10-minute recording is made from the dataset (`datasets/make_long.sh
//! --minutes 10`) and transcribed once, keeping its voice segments; criterion
//! then measures the whole analysis of it: the tone measures of every voice
//! segment (YIN pitch, loudness, pauses), then answers per question (sentence
//! embeddings and alignment), each question's competency, the evidence and
//! score of each answer, digests with key facts, highlights, skills and
//! sentiment. The bench prints the ratio to the transcription time and fails
//! when it exceeds the budget of 3 %.
//!
//! `PANELFLOW_BENCH_MINUTES` changes the length (default 10; 1 when
//! `cargo test --all-targets` runs it as a smoke test, without the budget).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use panelflow::config::PipelineConfig;
use panelflow_core::event::InterviewCompleted;
use panelflow_models::analysis::analyzer::{Analyzer, Context};
use panelflow_models::analysis::answers::Question;
use panelflow_models::analysis::summary::{PipelineRef, Summary};
use panelflow_models::analysis::tone::SegmentAudio;
use panelflow_models::media::vad::SpeechSegment;
use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};
use panelflow_models::speech::Transcript;

/// The analysis may add at most this share to the transcription time.
const BUDGET: f64 = 0.03;

fn long_recording(minutes: f64) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target").join("bench-data");
    let wav = dir.join(format!("long-{minutes}min.wav"));
    if !wav.exists() {
        std::fs::create_dir_all(&dir).expect("target/bench-data");
        let status = Command::new("bash")
            .arg(root.join("datasets/make_long.sh"))
            .args(["--minutes", &minutes.to_string()])
            .arg(&wav)
            .status()
            .expect("run datasets/make_long.sh");
        assert!(status.success(), "datasets/make_long.sh failed");
    }
    wav
}

fn analyse(
    analyzer: &mut Analyzer,
    transcript: &Transcript,
    speech: &[SpeechSegment],
    questions: &[Question],
) -> Summary {
    let audio: Vec<SegmentAudio> = speech
        .iter()
        .map(|s| SegmentAudio::measure(s.start_s(), &s.samples))
        .collect();
    let event = InterviewCompleted::new("bench", "long", "c", "o", vec![]);
    let pipeline = PipelineRef {
        name: "bench".into(),
        version: "1".into(),
        config_hash: String::new(),
    };
    let mut summary = Summary::build(
        &event,
        &pipeline,
        vec![(None, None, transcript.clone())],
        vec![],
    );
    analyzer.analyze(
        &mut summary,
        &[audio],
        &Context {
            questions,
            questions_from: Some("posting"),
            posting: None,
            role: None,
        },
    );
    summary
}

/// The question set of the dataset's backend engineering posting (as its
/// Lever application form lists it).
fn questions() -> Vec<Question> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("datasets/manifest.json"))
        .expect("datasets/manifest.json");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest JSON");
    manifest["postings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["job_family"] == "software_engineering")
        .and_then(|p| p["questions"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|q| Some(Question::new(q["id"].as_str()?, q["text"].as_str()?)))
        .collect()
}

fn bench(c: &mut Criterion) {
    // `cargo test --all-targets` runs benches without `--bench`: a quick
    // smoke run on one minute, without the budget (debug builds are slow).
    let benching = std::env::args().any(|a| a == "--bench");
    let default_minutes = if benching { 10.0 } else { 1.0 };
    let minutes: f64 = std::env::var("PANELFLOW_BENCH_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(default_minutes);
    let wav = long_recording(minutes);
    let questions = questions();
    let mut cfg = PipelineConfig::default();
    cfg.speech.threads = 2;
    let mut transcriber = match Transcriber::load(&TranscriberOptions::from_section(
        &cfg.speech,
        cfg.media.max_duration_s,
    )) {
        Ok(t) => t,
        Err(e) => panic!("models missing ({e}); run bash scripts/setup.sh"),
    };
    let mut analyzer = Analyzer::from_sections(&cfg.analysis, &cfg.roles, &cfg.speech)
        .expect("analysis models (run bash scripts/setup.sh)");

    // Transcription once: its time is the reference.
    let started = Instant::now();
    let measured = transcriber
        .transcribe_file_measured(&wav, SpeechSegment::clone)
        .expect("transcribe");
    let transcribe = started.elapsed();
    let (transcript, speech) = (measured.transcript, measured.measures);
    eprintln!(
        "analysis bench: {:.0} s of audio in {} voice segments, transcribed in {:.1} s",
        transcript.duration_s,
        speech.len(),
        transcribe.as_secs_f64()
    );

    let mut group = c.benchmark_group("analysis");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(40));
    group.bench_function(format!("analyze_{minutes}min"), |b| {
        b.iter(|| {
            let s = analyse(&mut analyzer, &transcript, &speech, &questions);
            assert!(!s.answers.is_empty());
        })
    });
    group.finish();

    if !benching {
        return;
    }
    // The budget, on a few more runs (after warm-up, as in production).
    let runs = 3;
    let started = Instant::now();
    for _ in 0..runs {
        analyse(&mut analyzer, &transcript, &speech, &questions);
    }
    let analysis = started.elapsed().as_secs_f64() / f64::from(runs);
    let ratio = analysis / transcribe.as_secs_f64();
    eprintln!(
        "analysis bench: analysis {:.3} s = {:.2} % of transcription {:.1} s (budget {:.0} %)",
        analysis,
        100.0 * ratio,
        transcribe.as_secs_f64(),
        100.0 * BUDGET
    );
    assert!(
        ratio <= BUDGET,
        "the analysis adds {:.1} % to transcription, over the {:.0} % budget",
        100.0 * ratio,
        100.0 * BUDGET
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
