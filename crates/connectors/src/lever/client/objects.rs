//! Generic reads: one object below the base, and paged listings
//! (`{data, hasNext, next}`) followed to the last page.

use reqwest::Method;
use serde_json::Value;

use super::call::{take_data, Call};
use super::error::LeverError;
use super::model::Page;
use super::LeverClient;

/// Page size asked for when listing (Lever's maximum).
const PAGE_LIMIT: &str = "100";
/// Safety stop for paging loops.
const MAX_PAGES: usize = 10_000;

impl LeverClient {
    /// Follows `{data, hasNext, next}` paging from the first page to the
    /// last and returns every object.
    pub(super) fn get_all(&self, segments: &[&str]) -> Result<Vec<Value>, LeverError> {
        self.get_all_with(segments, &[])
    }

    /// [`get_all`](Self::get_all) with extra query parameters (filters).
    pub(super) fn get_all_with(
        &self,
        segments: &[&str],
        filters: &[(&str, &str)],
    ) -> Result<Vec<Value>, LeverError> {
        let mut out = Vec::new();
        let mut offset: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut query: Vec<(&str, String)> =
                filters.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            query.push(("limit", PAGE_LIMIT.to_owned()));
            if let Some(o) = &offset {
                query.push(("offset", o.clone()));
            }
            let call = Call {
                method: Method::GET,
                segments,
                query,
                body: None,
            };
            let path = call.path();
            let body = self.execute(call)?;
            let page = Page::parse(&body).map_err(|reason| LeverError::Decode {
                method: "GET".into(),
                path: path.clone(),
                reason,
            })?;
            out.extend(page.data);
            match page.next {
                None => return Ok(out),
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(LeverError::Decode {
                            method: "GET".into(),
                            path,
                            reason: format!("paging token {next:?} repeated"),
                        });
                    }
                    offset = Some(next);
                }
            }
        }
        Err(LeverError::Decode {
            method: "GET".into(),
            path: format!("/{}", segments.join("/")),
            reason: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// `GET` one object below the base, e.g. `["postings", id]` or
    /// `["opportunities", id]` with `[("expand", "applications")]`; returns
    /// its `data` field. Each segment is one path segment (ids cannot
    /// escape their place).
    pub fn get_object(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Value, LeverError> {
        let call = Call {
            method: Method::GET,
            segments,
            query: query.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            body: None,
        };
        let path = call.path();
        take_data(self.execute(call)?, "GET", &path)
    }

    /// `GET` a paged listing below the base, following `next` to the last
    /// page, with optional filters (e.g. `[("requisition_code", "ENG-1")]`).
    pub fn list(
        &self,
        segments: &[&str],
        filters: &[(&str, &str)],
    ) -> Result<Vec<Value>, LeverError> {
        self.get_all_with(segments, filters)
    }
}
