//! Lever: the API client panelflow writes through, the context stage that
//! reads an interview's opportunity, candidate, posting and requisition, and
//! an emulator of the documented API that the tests and the demo run against.

pub mod client;
pub mod context;
pub mod emulator;
pub mod oauth;
pub mod ratelimit;
