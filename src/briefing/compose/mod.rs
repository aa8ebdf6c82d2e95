//! The briefing's content, built from what [`gather`](super::gather) read:
//! sections of lines that the text note and the PDF both render, so the
//! two say the same.

mod assemble;
mod fields;
mod model;
mod panel;
mod render;
mod resume;

pub use self::assemble::compose;
pub use self::model::{
    file_name, marker, AdvisoryView, Briefing, CompetencyView, Line, PanelView, Section, Style,
    Verdict, FILE_PREFIX, NOTE_MARKER,
};
pub use self::render::{clock, rating_words, short};

#[cfg(test)]
mod tests;
