//! `panelflow eval [DATASETS] [--config X.toml] [--json] [--only ID]...`:
//! the quality figures of transcription and analysis on the annotated dataset.

use std::path::PathBuf;

use panelflow_models::analysis::analyzer::Analyzer;
use panelflow_models::analysis::eval::{evaluate, EvalReport};
use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};

/// Runs the evaluation and prints the table (or the JSON report).
pub fn run(
    datasets: Option<PathBuf>,
    config: Option<PathBuf>,
    json: bool,
    only: &[String],
    threads: usize,
) -> anyhow::Result<EvalReport> {
    let mut cfg = crate::config::PipelineConfig::load_or_default(config.as_deref())?;
    if threads > 0 {
        cfg.speech.threads = threads;
    }
    let datasets = datasets.unwrap_or_else(crate::cli::datasets_dir);
    let mut transcriber = Transcriber::load(&TranscriberOptions::from_section(
        &cfg.speech,
        cfg.media.max_duration_s,
    ))?;
    let mut analyzer = Analyzer::from_sections(&cfg.analysis, &cfg.rubrics, &cfg.speech)?;
    let report = evaluate(&datasets, &mut transcriber, &mut analyzer, only)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(report)
}
