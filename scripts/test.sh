#!/usr/bin/env bash
# The test command: set-up (idempotent, quick when done), the house rules,
# then every test in tiers —
#   1. unit tests beside the code, in every crate (the core's and most of the
#      others' need neither the broker nor the models);
#   2. the integration tests (one binary, tests/it/): the real Tansu broker,
#      the Lever emulator, a media server, the ONNX models and DuckDB on
#      127.0.0.1;
#   3. the doc tests, the fuzzers' regression inputs replayed, and the
#      benchmarks built (not run).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
bash scripts/setup.sh
python3 scripts/check_layering.py --quiet
# No six-word phrase of the labelled answers (both splits) in the product's code.
python3 scripts/check_eval_data.py
# `dev`: the demo command too, so what `bash scripts/demo.sh` runs is built and tested.
cargo test --workspace --features panelflow/dev --lib --bins -- --test-threads=2
# 2 cores: integration tests each run a broker and a dataflow; two at a time.
cargo test --features panelflow/dev --test it -- --test-threads=2
cargo test --workspace --features panelflow/dev --doc
# The fuzzers' findings replayed (webhooks, recording links, media; no
# nightly needed): each input that once crashed or ran out of memory must now
# give a clear error. Its own workspace and target folder (fuzz/).
cargo test --manifest-path fuzz/Cargo.toml -- --test-threads=2
# Benchmarks measure speed (cargo bench, benches/*.sh); here they are only built.
cargo test --features panelflow/dev --benches --no-run
