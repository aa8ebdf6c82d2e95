# Sourced by the benchmark scripts that drive real processes (chaos.sh,
# scale.sh): from the repository root, set-up, the release binaries
# (`panelflow` and `panelflow-dev`) built, out/ made, $BIN pointing at them,
# and the components' logs quiet unless PANELFLOW_LOG says otherwise.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
bash scripts/setup.sh >/dev/null
cargo build --release --features panelflow/dev -p panelflow -p panelflow-devkit --bins
mkdir -p out
BIN=target/release
export PANELFLOW_LOG="${PANELFLOW_LOG:-warn}"
