#!/usr/bin/env bash
# The first command: install everything, build, and run the demo on the
# bundled dataset with the embedded defaults. The demo is a development
# command: it is built in with the `dev` feature (the dev kit's local
# broker, Lever emulator and media server), which production builds leave out.
#
# On a fresh machine two builds from source make most of its time: the
# Tansu broker (set-up) and the workspace. They run side by side once the
# Debian packages are in, so one fills the other's single-threaded stretches.
# The workspace is built in the development profile (dependencies
# optimised, the workspace's own crates not): the second command,
# `bash scripts/test.sh`, builds the same profile and reuses it. A production
# deployment builds `cargo build --release` (README, "Deploying").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
bash scripts/setup.sh --packages-only
cargo build --features dev &
build=$!
if ! bash scripts/setup.sh; then
  kill "$build" 2>/dev/null || true
  exit 1
fi
wait "$build"
exec ./target/debug/panelflow demo --out "${1:-out/demo}"
