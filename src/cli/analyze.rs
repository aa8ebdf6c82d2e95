//! `panelflow analyze FILE... --questions FILE [--posting FILE] [--config X.toml] [--json]`:
//! the dataflow's transcription and analysis on local files. One file is a
//! whole recording (its answers are found by alignment to the questions);
//! several files are one answer each, in question order. Prints the note
//! Lever would get (with scores), or the summary object as JSON.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::Value;

use panelflow_core::event::InterviewCompleted;
use panelflow_models::analysis::analyzer::{Analyzer, Context};
use panelflow_models::analysis::answers::Question;
use panelflow_models::analysis::eval::transcribe_with_tone;
use panelflow_models::analysis::posting::Posting;
use panelflow_models::analysis::summary::{PipelineRef, Summary};
use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};

/// What `panelflow analyze` was asked.
#[derive(Debug, Clone)]
pub struct AnalyzeArgs {
    /// Media files.
    pub files: Vec<PathBuf>,
    /// JSON list of `{ "id", "text" }`.
    pub questions: Option<PathBuf>,
    /// A Lever posting as the API returns it.
    pub posting: Option<PathBuf>,
    /// Pipeline file (competencies, roles, thresholds); the embedded defaults otherwise.
    pub config: Option<PathBuf>,
    /// A role of the pipeline file, overriding the posting's.
    pub role: Option<String>,
    /// Print the summary object as JSON (else the note Lever would get).
    pub json: bool,
    /// ONNX Runtime threads per session.
    pub threads: usize,
}

/// Reads a questions file: a JSON list of `{ "id", "text" }` (or `{ "questions": [...] }`).
pub fn read_questions(path: &Path) -> anyhow::Result<Vec<Question>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let list = v.get("questions").unwrap_or(&v);
    let items = list.as_array().with_context(|| {
        format!(
            "{}: expected a JSON list of {{\"id\", \"text\"}}",
            path.display()
        )
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let id = q["id"]
                .as_str()
                .map(str::to_string)
                .or_else(|| q["id"].as_u64().map(|n| n.to_string()));
            match (id, q["text"].as_str()) {
                (Some(id), Some(text)) => Ok(Question::new(id, text)),
                _ => anyhow::bail!(
                    "{}: question {} lacks a string `id` or `text`",
                    path.display(),
                    i + 1
                ),
            }
        })
        .collect()
}

/// Runs the analysis and prints the summary object.
pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let mut cfg = crate::config::PipelineConfig::load_or_default(args.config.as_deref())?;
    if args.threads > 0 {
        cfg.speech.threads = args.threads;
    }
    let questions = match &args.questions {
        Some(p) => read_questions(p)?,
        None => Vec::new(),
    };
    let posting = match &args.posting {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let v: Value =
                serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
            Some(Posting::from_lever(&v))
        }
        None => None,
    };
    let mut transcriber = Transcriber::load(&TranscriberOptions {
        decoder: crate::isolated_decode::media_opener(&cfg.media),
        ..TranscriberOptions::from_section(&cfg.speech, cfg.media.max_duration_s)
    })?;
    let mut analyzer = Analyzer::from_sections(&cfg.analysis, &cfg.roles, &cfg.speech)?;
    let mut media = Vec::new();
    let mut audio = Vec::new();
    let several = args.files.len() > 1;
    for (i, file) in args.files.iter().enumerate() {
        let (t, a, _) = transcribe_with_tone(&mut transcriber, file)
            .with_context(|| format!("{}", file.display()))?;
        let q = if several { questions.get(i) } else { None };
        media.push((q.map(|q| q.id.clone()), q.map(|q| q.text.clone()), t));
        audio.push(a);
    }
    let id = args
        .files
        .first()
        .and_then(|f| f.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "interview".into());
    let event = InterviewCompleted::new("cli", &id, "unknown", "unknown", vec![]);
    let pipeline = PipelineRef {
        name: cfg.pipeline.name.clone(),
        version: cfg.pipeline.version.clone(),
        config_hash: cfg.config_hash(),
    };
    let mut models = vec![transcriber.model().clone()];
    models.extend(analyzer.models().iter().cloned());
    let mut summary = Summary::build(&event, &pipeline, media, models);
    let ctx = Context {
        questions: if several { &[] } else { &questions },
        questions_from: Some("platform"),
        posting: posting.as_ref(),
        role: args.role.as_deref(),
    };
    analyzer.analyze(&mut summary, &audio, &ctx);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}",
            crate::writeback::note::render_note(&summary, &summary.correlation_id)
        );
    }
    Ok(())
}
