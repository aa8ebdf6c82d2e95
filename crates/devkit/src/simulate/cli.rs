//! `panelflow simulate`: its arguments and the run.

use std::path::PathBuf;
use std::time::Instant;

use panelflow_connectors::kafka::KafkaSection;

use super::config::{parse_bias, parse_drift, SimConfig};
use super::emit::{produce, write_jsonl};
use super::population::generate;

/// Options of the `simulate` subcommand.
#[derive(Clone, Debug, clap::Args)]
pub struct SimulateArgs {
    /// Candidates to simulate.
    #[arg(long, default_value_t = 500)]
    pub candidates: usize,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Weeks the funnel spans.
    #[arg(long, default_value_t = 6)]
    pub weeks: u32,
    /// Inject a four-fifths violation: DIMENSION=CATEGORY:FACTOR (e.g. sex=female:0.5).
    #[arg(long)]
    pub bias: Option<String>,
    /// With --bias: also lower that category's AI scores by this much.
    #[arg(long, default_value_t = 0.0)]
    pub score_bias: f64,
    /// Inject drift: MODEL_VERSION:FROM_WEEK:SHIFT (e.g. rubric@1.0:4:0.5).
    #[arg(long)]
    pub drift: Option<String>,
    /// Kafka bootstrap servers (default: $PANELFLOW_BROKERS or 127.0.0.1:19092).
    #[arg(long)]
    pub brokers: Option<String>,
    /// Write JSON lines to this file instead of Kafka.
    #[arg(long)]
    pub jsonl: Option<PathBuf>,
}

impl SimulateArgs {
    /// The generator's configuration.
    pub fn config(&self) -> anyhow::Result<SimConfig> {
        Ok(SimConfig {
            candidates: self.candidates,
            seed: self.seed,
            weeks: self.weeks,
            bias: self
                .bias
                .as_deref()
                .map(|b| parse_bias(b, self.score_bias))
                .transpose()?,
            drift: self.drift.as_deref().map(parse_drift).transpose()?,
            ..SimConfig::default()
        })
    }
}

/// Runs `panelflow simulate`.
pub fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    let cfg = args.config()?;
    let started = Instant::now();
    let messages = generate(&cfg);
    if let Some(path) = &args.jsonl {
        write_jsonl(path, &messages)?;
        println!("wrote {} messages to {}", messages.len(), path.display());
        return Ok(());
    }
    let brokers = args
        .brokers
        .clone()
        .or_else(|| std::env::var("PANELFLOW_BROKERS").ok())
        .unwrap_or_else(|| KafkaSection::default().brokers);
    let sent = produce(&brokers, &messages, &|t| t.default_name().to_string())?;
    println!(
        "sent {} messages ({} retractions) to {brokers} in {:.1} s:",
        messages.len(),
        sent.retractions,
        started.elapsed().as_secs_f64()
    );
    for (topic, n) in &sent.per_topic {
        println!("  {topic:<24} {n}");
    }
    if let Some(b) = &cfg.bias {
        println!(
            "injected: {}={} advanced ×{} (scores −{})",
            b.dimension, b.category, b.factor, b.score_penalty
        );
    }
    if let Some(d) = &cfg.drift {
        println!(
            "injected: {} scores +{} from week {}",
            d.model_version, d.shift, d.from_week
        );
    }
    Ok(())
}
