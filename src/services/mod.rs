//! Local services for development, the demo and the tests: the Tansu Kafka
//! broker (and, in the demo, the Lever emulator and a media server).

pub mod broker;
pub mod media_server;
pub mod server_thread;
