//! `panelflow eval [DATASETS] [--config X.toml] [--json] [--only ID]...`:
//! the quality figures of transcription and analysis on the annotated dataset.

use std::path::PathBuf;

use crate::analysis::analyzer::Analyzer;
use crate::analysis::eval::{evaluate, EvalReport};
use crate::speech::transcriber::{Transcriber, TranscriberOptions};

/// Runs the evaluation and prints the table (or the JSON report).
pub fn run(
    datasets: Option<PathBuf>,
    config: Option<PathBuf>,
    json: bool,
    only: &[String],
    threads: usize,
) -> anyhow::Result<EvalReport> {
    let mut cfg = crate::cli::run::load_config(config.as_deref())?;
    if threads > 0 {
        cfg.speech.threads = threads;
    }
    let datasets = datasets.unwrap_or_else(crate::paths::datasets_dir);
    let mut transcriber = Transcriber::load(&TranscriberOptions::from_config(&cfg))?;
    let mut analyzer = Analyzer::from_config(&cfg)?;
    let report = evaluate(&datasets, &mut transcriber, &mut analyzer, only)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(report)
}
