//! Feedback drafts for candidates with a decision: on the review page, for
//! an interview whose candidate Lever shows as advanced or archived, a
//! draft of two to four strengths and one to three areas for development,
//! each tied to the answer and the quote it comes from, in plain and kind
//! words. The recruiter edits it in the page; saving writes it to Lever as a
//! secret note headed "Feedback draft (not sent)". panelflow never sends it
//! to the candidate: it e-mails no one.
//!
//! A draft never mentions scores, tone, pace, accent, sentiment, protected
//! characteristics or other candidates: it is built from the answers'
//! evidence alone, and a quote holding a word of [`DENY`] is not used.
//! Every draft shown and every save (edited or not) is in the audit log,
//! with hashes of the texts rather than the texts.
//!
//! | route | what |
//! |---|---|
//! | `GET /feedback/{interview_id}` | the draft (HTML; JSON with `Accept: application/json`) |
//! | `POST /feedback/{interview_id}` | saves the (edited) draft as a secret Lever note (form: `draft`, `csrf`) |

mod compose;
mod deny;
mod draft;
mod host;
mod render;
mod routes;

pub use self::compose::{compose, decision};
pub use self::deny::{denied_words, uncited_sentences, DENY};
pub use self::draft::{Draft, DraftError, DraftItem, Kind};
pub use self::host::{FeedbackHost, SignedIn};
pub use self::routes::{routes, NOTE_MARKER, NOTE_TITLE};
