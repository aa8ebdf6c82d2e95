//! Fresh media URLs for an interview whose signed links expired: a
//! platform's API answer about the interview, read with the same parser as
//! its webhook.

use serde_json::Value;

use super::generic::json_type;
use super::{hireflix, hirevue, sparkhire, willo, SourceError};
use crate::event::MediaItem;

/// The media of a platform's interview object as its API returns it (the
/// same shape its webhook embeds), for refreshing expired signed URLs.
/// `None` for a source that has no such reader.
pub fn media_from_api(source: &str, object: &Value) -> Option<Result<Vec<MediaItem>, SourceError>> {
    let Value::Object(obj) = object else {
        return Some(Err(SourceError::Malformed(format!(
            "the {source} API answered {}, not an object",
            json_type(object)
        ))));
    };
    match source {
        willo::SOURCE => Some(willo::participant_media(obj, "")),
        sparkhire::SOURCE => Some(sparkhire::interview_media(obj, "")),
        hirevue::SOURCE => Some(hirevue::interview_media(obj, "")),
        hireflix::SOURCE => Some(hireflix::interview_media(obj, "")),
        _ => None,
    }
}
