//! Analysis: where a timed transcript becomes the summary object recruiters
//! read and analysts query. [`summary`] builds it; [`wer`] measures
//! transcription quality against reference text.

pub mod summary;
pub mod wer;
