//! `panelflow simulate --candidates N …`: a load generator for the
//! aggregates. It makes a realistic hiring funnel — candidates apply to
//! postings (with self-reported demographics, some declined), record a
//! one-way interview that the AI scores per competency, some are rated by a
//! panel, then advanced or archived — and sends it to the aggregates' topics
//! (or to a JSON-lines file).
//!
//! Knobs for the audits to find:
//! - `--bias sex=female:0.5` multiplies that category's chance of being
//!   advanced by 0.5 (a four-fifths violation by construction);
//!   `--score-bias 0.4` also lowers its AI scores by 0.4;
//! - `--drift rubric@1.0:4:0.5` shifts that model version's scores (and
//!   sentiment) by +0.5 from week 4 on.
//!
//! Without them, advancement and scores depend on a latent ability drawn
//! alike for everyone, so only sampling noise separates the categories.
//! Some score messages are later corrected (retraction + new message) and
//! some candidates erased (every message retracted), so the aggregates see
//! negative updates too. The generator is deterministic for a seed.
//!
//! ```
//! use panelflow_devkit::simulate::{generate, SimConfig};
//! let messages = generate(&SimConfig { candidates: 50, ..SimConfig::default() });
//! assert!(messages.iter().any(|m| m.diff() < 0));
//! assert!(messages.iter().all(|m| m.key().starts_with("cand-")));
//! ```

mod cli;
mod config;
mod emit;
mod message;
mod population;

pub use self::cli::{run, SimulateArgs};
pub use self::config::{
    demo_population, parse_bias, parse_drift, BiasInjection, DriftInjection, SimConfig, START_MS,
};
pub use self::emit::{produce, send_demo_population, write_jsonl, Sent};
pub use self::message::Message;
pub use self::population::{generate, Rng, RACE, SEX};
