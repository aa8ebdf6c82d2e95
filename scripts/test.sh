#!/usr/bin/env bash
# The test command: set-up (idempotent, quick when done), then every test —
# unit, doc and the integration tests that start the real Tansu broker, the
# Lever emulator and a media server on 127.0.0.1.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
bash scripts/setup.sh
# 2 cores: integration tests each run a broker and a dataflow; two at a time.
cargo test --lib --bins --tests -- --test-threads=2
cargo test --doc
# Benchmarks measure speed (cargo bench, benches/*.sh); here they are only built.
cargo test --benches --no-run
