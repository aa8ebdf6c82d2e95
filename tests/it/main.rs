//! The integration tests: the real Tansu broker, the Lever emulator, a
//! media server, the ONNX models and DuckDB, all on 127.0.0.1. One test
//! binary, so it links ONNX Runtime, Arrow, librdkafka and timely once.
//! Each module was once a test binary of its own and keeps its name.
//!
//! Needs the set-up (`bash scripts/setup.sh`); run with
//! `cargo test --test it -- --test-threads=2`.

#![allow(clippy::result_large_err)]

mod support;

mod aggregate_inputs;
mod aggregates;
mod analysis;
mod briefing;
mod cluster;
mod context;
mod governance;
mod ingest;
mod isolated_decode;
mod lever_emulator;
mod parquet_duckdb;
mod pipeline;
mod reliability;
mod review_page;
mod s3;
mod scale;
mod security;
mod sources;
mod speech_batch;
mod transcribe;
mod writeback;
