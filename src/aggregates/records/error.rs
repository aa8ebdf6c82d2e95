//! Why a message was refused.

use panelflow_core::topics::Topic;
use panelflow_core::wire::Invalid;

// ---------------------------------------------------------------------------
// Topics and errors.

/// Why a message was refused.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not JSON of the expected shape.
    #[error("{topic:?} message is not valid: {source}")]
    Json {
        /// The topic.
        topic: Topic,
        /// The parser's reason.
        #[source]
        source: serde_json::Error,
    },
    /// A field is out of range or empty.
    #[error("{topic:?} message: {field} {reason}")]
    Field {
        /// The topic.
        topic: Topic,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

pub(super) fn invalid(topic: Topic, e: Invalid) -> RecordError {
    RecordError::Field {
        topic,
        field: e.field,
        reason: e.reason,
    }
}
