//! Lever: the API client panelflow writes through, and an emulator of the
//! documented API that the tests and the demo run against.

pub mod client;
pub mod emulator;
pub mod ratelimit;
