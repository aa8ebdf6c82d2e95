#!/usr/bin/env bash
# The first command: install everything, build, and run the demo on the
# bundled dataset with the embedded defaults.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
bash scripts/setup.sh
cargo build --release
exec ./target/release/panelflow demo --out "${1:-out/demo}"
