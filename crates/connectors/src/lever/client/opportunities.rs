//! Opportunities: read one or all, tag them, move their stage.

use reqwest::Method;
use serde_json::{json, Value};

use super::call::{perform_as_query, take_data, Call};
use super::error::LeverError;
use super::LeverClient;

impl LeverClient {
    /// `GET /opportunities/:id`: the opportunity object (the `data` field).
    pub fn get_opportunity(&self, id: &str) -> Result<Value, LeverError> {
        let call = Call {
            method: Method::GET,
            segments: &["opportunities", id],
            query: vec![],
            body: None,
        };
        let path = call.path();
        take_data(self.execute(call)?, "GET", &path)
    }

    /// `GET /opportunities`, every page.
    pub fn list_opportunities(&self) -> Result<Vec<Value>, LeverError> {
        self.get_all(&["opportunities"])
    }

    /// `POST /opportunities/:id/addTags` with `{ tags }`; returns the updated
    /// opportunity. Tags are a set in Lever, so repeating it is harmless.
    pub fn add_tags(&self, opportunity_id: &str, tags: &[String]) -> Result<Value, LeverError> {
        self.post_data(
            &["opportunities", opportunity_id, "addTags"],
            vec![],
            json!({ "tags": tags }),
        )
    }

    /// `POST /opportunities/:id/removeTags` with `{ tags }`; returns the
    /// updated opportunity.
    pub fn remove_tags(&self, opportunity_id: &str, tags: &[String]) -> Result<Value, LeverError> {
        self.post_data(
            &["opportunities", opportunity_id, "removeTags"],
            vec![],
            json!({ "tags": tags }),
        )
    }

    /// `PUT /opportunities/:id/stage[?perform_as=USER]` with `{ stage }`;
    /// returns the updated opportunity.
    pub fn change_stage(
        &self,
        opportunity_id: &str,
        stage_id: &str,
        perform_as: Option<&str>,
    ) -> Result<Value, LeverError> {
        let call = Call {
            method: Method::PUT,
            segments: &["opportunities", opportunity_id, "stage"],
            query: perform_as_query(perform_as),
            body: Some(json!({ "stage": stage_id })),
        };
        let path = call.path();
        take_data(self.execute(call)?, "PUT", &path)
    }
}
