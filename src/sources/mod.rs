//! Sources: where interview events enter. Each platform's webhook is parsed
//! and verified in its own module and normalized to
//! [`crate::event::InterviewCompleted`]; [`http`] serves them and [`kafka`]
//! carries them to the dataflow. Human ratings, decisions and EEO answers
//! enter too, for the aggregates: the platforms' rating webhooks
//! ([`ratings`]) and [`lever_poll`], which reads them from Lever.

pub mod generic;
pub mod hireflix;
pub mod hirevue;
pub mod http;
pub mod kafka;
pub mod lever;
pub mod lever_poll;
pub mod provider;
pub mod ratings;
pub mod recording_link;
pub mod signature;
pub mod sparkhire;
pub mod willo;
