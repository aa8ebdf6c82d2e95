//! The Lever check: a Lever delivery's ids taken from Lever's API.

use panelflow_connectors::lever::client::{LeverClient, LeverError};
use panelflow_core::event::InterviewCompleted;

/// Why a Lever delivery's ids were not taken.
pub(super) enum LeverCheck {
    /// Lever contradicts the body (401).
    Refused(String),
    /// Lever could not be asked (503).
    Unavailable(String),
}

/// Takes a Lever delivery's ids from Lever's API: the opportunity must
/// exist, the candidate is its `contact` (the body's must be that or the
/// opportunity id), and a stage change must show in its stage or stage
/// changes.
pub(super) fn check_with_lever(
    client: &LeverClient,
    event: &mut InterviewCompleted,
) -> Result<(), LeverCheck> {
    let opp = match client.get_opportunity(&event.opportunity_id) {
        Ok(o) => o,
        Err(LeverError::Status { status: 404, .. }) => {
            return Err(LeverCheck::Refused(
                "the opportunity is unknown to Lever".into(),
            ))
        }
        Err(e) if e.status().is_some_and(|s| (400..500).contains(&s)) => {
            return Err(LeverCheck::Unavailable(format!(
                "Lever refused the check (HTTP {})",
                e.status().unwrap_or_default()
            )))
        }
        Err(e) => return Err(LeverCheck::Unavailable(e.to_string())),
    };
    if let Some(contact) = opp.get("contact").and_then(serde_json::Value::as_str) {
        if event.candidate_id != contact && event.candidate_id != event.opportunity_id {
            return Err(LeverCheck::Refused(
                "the candidate is not the opportunity's contact in Lever".into(),
            ));
        }
        event.candidate_id = contact.to_owned();
    }
    if event.source_event.as_deref() == Some("candidateStageChange") {
        if let Some(to) = event
            .unknown_fields
            .get("toStageId")
            .and_then(serde_json::Value::as_str)
        {
            let now_there = opp.get("stage").and_then(serde_json::Value::as_str) == Some(to);
            let moved_there = opp
                .get("stageChanges")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.get("toStageId").and_then(serde_json::Value::as_str) == Some(to))
                });
            if !now_there && !moved_there {
                return Err(LeverCheck::Refused(
                    "Lever shows no move of the opportunity to that stage".into(),
                ));
            }
        }
    }
    Ok(())
}
