#!/usr/bin/env bash
# The first command: install everything, build, and run the demo on the
# bundled dataset with the embedded defaults. The demo is a development
# command: it is built in with the `dev` feature (the dev kit's local
# broker, Lever emulator and media server), which production builds leave out.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
bash scripts/setup.sh
cargo build --release --features dev
exec ./target/release/panelflow demo --out "${1:-out/demo}"
