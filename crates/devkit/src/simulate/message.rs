//! The messages sent to the aggregates' topics.

use panelflow_core::topics::Topic;
use panelflow_core::wire::{
    DecisionMessage, DemographicsMessage, QuestionMessage, RatingMessage, ScoreMessage,
};

/// One simulated message.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// AI scores.
    Score(ScoreMessage),
    /// A rating.
    Rating(RatingMessage),
    /// A decision.
    Decision(DecisionMessage),
    /// Demographics.
    Demographics(DemographicsMessage),
    /// A question as asked.
    Question(QuestionMessage),
}

impl Message {
    /// Its topic.
    pub fn topic(&self) -> Topic {
        match self {
            Message::Score(_) => Topic::Scores,
            Message::Rating(_) => Topic::Ratings,
            Message::Decision(_) => Topic::Decisions,
            Message::Demographics(_) => Topic::Demographics,
            Message::Question(_) => Topic::Questions,
        }
    }
    /// Its Kafka key: the candidate, so a candidate's messages stay in order.
    pub fn key(&self) -> &str {
        match self {
            Message::Score(m) => &m.candidate_id,
            Message::Rating(m) => &m.candidate_id,
            Message::Decision(m) => &m.candidate_id,
            Message::Demographics(m) => &m.candidate_id,
            Message::Question(m) => &m.candidate_id,
        }
    }
    /// `1` or `-1`.
    pub fn diff(&self) -> i64 {
        match self {
            Message::Score(m) => m.diff,
            Message::Rating(m) => m.diff,
            Message::Decision(m) => m.diff,
            Message::Demographics(m) => m.diff,
            Message::Question(m) => m.diff,
        }
    }
    pub(super) fn set_diff(&mut self, d: i64) {
        match self {
            Message::Score(m) => m.diff = d,
            Message::Rating(m) => m.diff = d,
            Message::Decision(m) => m.diff = d,
            Message::Demographics(m) => m.diff = d,
            Message::Question(m) => m.diff = d,
        }
    }
    /// The JSON payload.
    pub fn to_json(&self) -> serde_json::Value {
        let v = match self {
            Message::Score(m) => serde_json::to_value(m),
            Message::Rating(m) => serde_json::to_value(m),
            Message::Decision(m) => serde_json::to_value(m),
            Message::Demographics(m) => serde_json::to_value(m),
            Message::Question(m) => serde_json::to_value(m),
        };
        v.unwrap_or(serde_json::Value::Null)
    }
}
