//! Untrusted recordings decoded in a child process under limits.
//!
//! A hostile file can make a demuxer allocate from a size it states (the
//! fuzzer found MP4 atoms asking for gigabytes); an allocation failure
//! aborts the process, past any `catch_unwind`, so one recording would
//! crash-loop a `panelflow run` worker. Instead, the engine re-executes
//! itself as `panelflow decode-media FILE` (hidden from `--help`) with its
//! address space and CPU time capped (`[media.decoder]`), reads the 16 kHz
//! mono audio back from the child's standard output, and stops waiting
//! after a time-out. Whatever the file does, the child dies, not the
//! worker: the interview fails with `media_decoder_limit` ("the media made
//! the decoder exceed its memory limit (1024 MiB)"), or with the same error
//! decoding in-process gives for an ordinary bad file.
//!
//! - [`protocol`]: the header, frames and error line between the two;
//! - [`child`]: the `decode-media` subcommand;
//! - [`spawn`]: [`IsolatedDecoder`], the engine's side, a
//!   [`MediaOpener`](panelflow_models::media::source::MediaOpener) the
//!   transcriber reads through.
//!
//! `panelflow run`, `transcribe` and `analyze` decode this way unless
//! `[media.decoder] isolated = false`; the library's default, the fuzz
//! target and the benches decode in-process.

pub mod child;
pub mod protocol;
pub mod spawn;
#[cfg(test)]
mod tests;

pub use spawn::{media_opener, IsolatedDecoder, Limits, SUBCOMMAND};
