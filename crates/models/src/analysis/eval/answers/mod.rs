//! Scores, the uncertainty flag and digests measured on labelled answers,
//! beside trivial baselines, and the scoring model fitted on development.
//!
//! Every answer goes the way a platform's answer goes: its recording is
//! transcribed, and the analysis gets the question as the platform sends
//! it (an opaque id and its text) — no binding, no role: each question
//! reaches its competency by meaning.
//!
//! | figure | what | baselines |
//! | --- | --- | --- |
//! | coverage | share of answers scored | — |
//! | Spearman ρ | expected level vs label, all answers | constant score (0), length in words |
//! | pairwise accuracy | within each question, pairs with different labels ordered right (ties ½) | constant (0.5), length |
//! | uncertainty flag | precision and recall of `uncertain_needs_clarification` | flag every answer |
//! | key-fact recall | annotated facts found in the answer's digest | the answer's first words, as many as the digest has |
//! | reliability | per confidence band: how often the score equals the label | — |
//!
//! Each answer is analysed a second time on its own text, the words as
//! written before they were spoken: the same figures there are what the
//! analysis reaches with perfect speech recognition, so a loss is told to
//! be the speech model's or the analysis's.

mod fitting;
mod loading;
mod metrics;
mod reference;
mod report;

pub use self::fitting::fit;
pub use self::loading::evaluate_split;
pub use self::metrics::fact_in;
pub use self::reference::{reference_transcript, OnOwnText, OwnTextFigures};
pub use self::report::{AnswerResult, Band, SplitReport};

#[cfg(test)]
mod tests;
