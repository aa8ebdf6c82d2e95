//! `panelflow eval [DATASETS] [--config X.toml] [--json] [--only ID]... [--fit FILE]`:
//! the quality figures of transcription and analysis.
//!
//! 1. The sample interviews (`DATASETS/manifest.json`), as a pipeline sees
//!    them: word error rate, answer boundaries, skills, unanswered questions.
//! 2. The development split (the samples' labelled answers and
//!    `DATASETS/devset/`) and the frozen test split (`DATASETS/holdout/`,
//!    checked against its `SHA256SUMS` first): coverage, Spearman ρ,
//!    within-question pairwise accuracy, the uncertainty flag, key-fact
//!    recall and the confidence's reliability, each beside trivial
//!    baselines; and the same figures on the answers' own texts (the
//!    analysis alone, as if speech recognition were perfect).
//!
//! `--fit FILE` first fits the scoring model on the development split (never
//! on the test split) and writes it to FILE; the figures then use it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use panelflow_models::analysis::analyzer::Analyzer;
use panelflow_models::analysis::eval::answers::{evaluate_split, fit, SplitReport};
use panelflow_models::analysis::eval::{evaluate, EvalReport};
use panelflow_models::analysis::splits::{load_samples, load_split, verify_checksums, Split};
use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};

/// What `panelflow eval` was asked.
#[derive(Debug, Clone, Default)]
pub struct EvalArgs {
    /// The datasets folder (holding manifest.json, devset/, holdout/).
    pub datasets: Option<PathBuf>,
    /// Pipeline file; the embedded defaults otherwise.
    pub config: Option<PathBuf>,
    /// Print the report as JSON.
    pub json: bool,
    /// Only these sample interviews (the recordings report only).
    pub only: Vec<String>,
    /// ONNX Runtime threads per session (0: the config's).
    pub threads: usize,
    /// Fit the scoring model on the development split and write it here.
    pub fit: Option<PathBuf>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRun {
    /// The sample recordings, as a pipeline sees them.
    pub recordings: EvalReport,
    /// The development split (tuned and fitted on).
    pub development: SplitReport,
    /// The frozen test split (never tuned on).
    pub test: Option<SplitReport>,
}

/// The development split: the samples' labelled answers and `devset/`.
pub fn development_split(datasets: &Path) -> anyhow::Result<Split> {
    let mut dev = load_samples(datasets)?;
    let devset = datasets.join("devset");
    if devset.join("manifest.json").is_file() {
        let more = load_split(&devset)?;
        dev.answers.extend(more.answers);
        dev.name = format!("development ({} + {})", dev.name, more.name);
        dev.sha256 = format!("{}+{}", &dev.sha256[..12], &more.sha256[..12]);
    }
    Ok(dev)
}

/// The frozen test split, when present, after its checksums are verified.
pub fn test_split(datasets: &Path) -> anyhow::Result<Option<Split>> {
    let dir = datasets.join("holdout");
    if !dir.join("manifest.json").is_file() {
        return Ok(None);
    }
    verify_checksums(&dir).context("the frozen test split")?;
    let mut split = load_split(&dir)?;
    split.name = format!("test (frozen, never tuned on: {})", split.name);
    Ok(Some(split))
}

/// Runs the evaluation and prints the tables (or the JSON report).
pub fn run(args: &EvalArgs) -> anyhow::Result<EvalRun> {
    let mut cfg = crate::config::PipelineConfig::load_or_default(args.config.as_deref())?;
    if args.threads > 0 {
        cfg.speech.threads = args.threads;
    }
    let datasets = args
        .datasets
        .clone()
        .unwrap_or_else(crate::cli::datasets_dir);
    let mut transcriber = Transcriber::load(&TranscriberOptions::from_section(
        &cfg.speech,
        cfg.media.max_duration_s,
    ))?;
    let dev = development_split(&datasets)?;
    let test = test_split(&datasets)?;
    if let Some(out) = &args.fit {
        let mut analyzer = Analyzer::from_sections(&cfg.analysis, &cfg.roles, &cfg.speech)?;
        let version = format!(
            "evidence-ordinal@{}",
            chrono::Utc::now().format("%Y%m%dT%H%M")
        );
        // The model file names its split relative to the datasets folder, so
        // a refit elsewhere writes the same line.
        let mut named = dev.clone();
        named.name = named
            .name
            .replace(&format!("{}/", datasets.display()), "datasets/");
        let model = fit(
            std::slice::from_ref(&named),
            &mut transcriber,
            &mut analyzer,
            &version,
        )?;
        let text = format!(
            "# The frozen scoring model (see mod.rs): one weight per feature of\n\
             # crates/models/src/analysis/evidence, three cut points on Lever's 1-4 scale,\n\
             # and the confidence calibration. Written by `panelflow eval --fit` on the\n\
             # development split only; the test split (datasets/holdout) is never used.\n{}",
            toml::to_string(&model)?
        );
        std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
        eprintln!(
            "scoring model fitted on {} answers: {}",
            dev.answers.len(),
            out.display()
        );
        cfg.analysis.scoring_model = Some(out.clone());
    }
    let mut analyzer = Analyzer::from_sections(&cfg.analysis, &cfg.roles, &cfg.speech)?;
    let recordings = evaluate(&datasets, &mut transcriber, &mut analyzer, &args.only)?;
    let development = evaluate_split(&dev, &mut transcriber, &mut analyzer)?;
    let test = match &test {
        Some(t) => Some(evaluate_split(t, &mut transcriber, &mut analyzer)?),
        None => None,
    };
    let run = EvalRun {
        recordings,
        development,
        test,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        print!("{}", run.recordings.table());
        println!();
        println!(
            "scoring model {} ({})",
            analyzer.scoring().version,
            analyzer.scoring().fitted_on
        );
        print!("{}", run.development.table());
        match &run.test {
            Some(t) => {
                println!();
                print!("{}", t.table());
            }
            None => println!("(no test split at {})", datasets.join("holdout").display()),
        }
    }
    Ok(run)
}
