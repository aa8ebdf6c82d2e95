//! Decoding: a topic's JSON payload into its validated record.

use panelflow_core::topics::Topic;
use panelflow_core::wire::{
    DecisionMessage, DemographicsMessage, QuestionMessage, RatingMessage, ScoreMessage,
};

use super::error::RecordError;
use super::record::InputRecord;
use super::validate::Validate;

/// [`decode`] for a message already parsed as JSON (what the simulator and
/// the tests hold).
///
/// ```
/// use panelflow::aggregates::records::decode_json;
/// use panelflow_devkit::simulate::{generate, SimConfig};
/// let messages = generate(&SimConfig { candidates: 20, ..SimConfig::default() });
/// assert!(messages.iter().all(|m| decode_json(m.topic(), &m.to_json()).is_ok()));
/// ```
pub fn decode_json(
    topic: Topic,
    message: &serde_json::Value,
) -> Result<(InputRecord, isize), RecordError> {
    let payload =
        serde_json::to_vec(message).map_err(|source| RecordError::Json { topic, source })?;
    decode(topic, &payload)
}

/// Decodes and validates one message of `topic`: the record and its diff.
pub fn decode(topic: Topic, payload: &[u8]) -> Result<(InputRecord, isize), RecordError> {
    let json = |source| RecordError::Json { topic, source };
    Ok(match topic {
        Topic::Scores => {
            let (r, d) = serde_json::from_slice::<ScoreMessage>(payload)
                .map_err(json)?
                .validate()?;
            (InputRecord::Score(r), d)
        }
        Topic::Ratings => {
            let (r, d) = serde_json::from_slice::<RatingMessage>(payload)
                .map_err(json)?
                .validate()?;
            (InputRecord::Rating(r), d)
        }
        Topic::Decisions => {
            let (r, d) = serde_json::from_slice::<DecisionMessage>(payload)
                .map_err(json)?
                .validate()?;
            (InputRecord::Decision(r), d)
        }
        Topic::Demographics => {
            let (r, d) = serde_json::from_slice::<DemographicsMessage>(payload)
                .map_err(json)?
                .validate()?;
            (InputRecord::Demographics(r), d)
        }
        Topic::Questions => {
            let (r, d) = serde_json::from_slice::<QuestionMessage>(payload)
                .map_err(json)?
                .validate()?;
            (InputRecord::Question(r), d)
        }
    })
}
