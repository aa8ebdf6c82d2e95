//! Every Kafka topic panelflow reads or writes, by its default name: the
//! one place those names are written down. Deployments rename them in
//! `[kafka]` (the pipeline) and `[topics]` (the aggregator); the defaults of
//! both sections come from here.
//!
//! ```
//! use panelflow_core::topics::{Topic, INTERVIEWS};
//! assert_eq!(INTERVIEWS, "interviews.completed");
//! assert_eq!(Topic::Ratings.default_name(), "panelflow.ratings");
//! ```

/// The normalized interview events (`InterviewCompleted`), keyed by interview id.
pub const INTERVIEWS: &str = "interviews.completed";
/// Interviews that could not be processed, with the stage and the reason.
pub const DEAD_LETTER: &str = "interviews.deadletter";
/// Messages the aggregator refused, with the reason.
pub const AGGREGATES_DEAD_LETTER: &str = "panelflow.aggregates.deadletter";

/// The input topics of the aggregates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// AI scores: one message per interview and model version.
    Scores,
    /// Human ratings: one message per reviewer, candidate, posting and competency.
    Ratings,
    /// Decisions: stage advances and archives.
    Decisions,
    /// Self-reported demographics (EEO survey).
    Demographics,
    /// Questions as spoken in recordings, with their canonical text.
    Questions,
}

impl Topic {
    /// All topics.
    pub const ALL: [Topic; 5] = [
        Topic::Scores,
        Topic::Ratings,
        Topic::Decisions,
        Topic::Demographics,
        Topic::Questions,
    ];

    /// The topic's default Kafka name.
    pub fn default_name(self) -> &'static str {
        match self {
            Topic::Scores => "panelflow.scores",
            Topic::Ratings => "panelflow.ratings",
            Topic::Decisions => "panelflow.decisions",
            Topic::Demographics => "panelflow.demographics",
            Topic::Questions => "panelflow.questions",
        }
    }

    /// The JSON Schema of its messages, under `schemas/aggregates/`.
    pub fn schema_file(self) -> &'static str {
        match self {
            Topic::Scores => "score.schema.json",
            Topic::Ratings => "rating.schema.json",
            Topic::Decisions => "decision.schema.json",
            Topic::Demographics => "demographics.schema.json",
            Topic::Questions => "question.schema.json",
        }
    }
}
