//! Feedback (scorecards) on an opportunity.

use serde_json::Value;

use super::call::perform_as_query;
use super::error::LeverError;
use super::LeverClient;

impl LeverClient {
    /// `POST /opportunities/:id/feedback?perform_as=USER` with a scorecard
    /// body (`{ baseTemplateId, panel, interview, fieldValues: [{id, value}] }`);
    /// returns the created feedback.
    pub fn add_feedback(
        &self,
        opportunity_id: &str,
        perform_as: &str,
        body: Value,
    ) -> Result<Value, LeverError> {
        self.post_data(
            &["opportunities", opportunity_id, "feedback"],
            perform_as_query(Some(perform_as)),
            body,
        )
    }

    /// `GET /opportunities/:id/feedback`, every page.
    pub fn list_feedback(&self, opportunity_id: &str) -> Result<Vec<Value>, LeverError> {
        self.get_all(&["opportunities", opportunity_id, "feedback"])
    }
}
