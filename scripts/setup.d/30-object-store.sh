#!/usr/bin/env bash
# Object storage for the tests and the demo, from PyPI only, idempotently:
# a virtualenv of its own ($PANELFLOW_HOME/s3venv) with
#   - moto[server,s3]: an S3-compatible server the tests start on 127.0.0.1;
#   - duckdb + duckdb-extension-httpfs, the same version (the extension ships
#     as a wheel, so DuckDB reads s3:// without downloading anything at run
#     time; the main venv keeps its newer duckdb for the local tests);
#   - boto3 (comes with moto).
# setup.sh runs this with PANELFLOW_HOME set.
set -euo pipefail

HOME_DIR="${PANELFLOW_HOME:?PANELFLOW_HOME is not set (run bash scripts/setup.sh)}"
S3VENV="$HOME_DIR/s3venv"
MOTO="moto[server,s3]==5.2.5"
DUCKDB_VERSION=1.5.5
STAMP="$S3VENV/.panelflow-s3-v1-moto5.2.5-duckdb$DUCKDB_VERSION"
log() { printf '[setup] %s\n' "$*" >&2; }

if [ -f "$STAMP" ] && [ -x "$S3VENV/bin/moto_server" ]; then
  exit 0
fi

log "object storage tools: $MOTO, duckdb==$DUCKDB_VERSION with httpfs (into $S3VENV)"
[ -x "$S3VENV/bin/python" ] || python3 -m venv "$S3VENV"
"$S3VENV/bin/pip" install -q --disable-pip-version-check \
  "$MOTO" "duckdb==$DUCKDB_VERSION" "duckdb-extension-httpfs==$DUCKDB_VERSION"
# The extension loads offline.
"$S3VENV/bin/python" - <<'PY'
import os, duckdb, duckdb_extension_httpfs as ext
path = os.path.join(os.path.dirname(ext.__file__), "extensions", "v" + duckdb.__version__, "httpfs.duckdb_extension")
duckdb.connect(config={"autoinstall_known_extensions": "false"}).load_extension(path)
PY
rm -f "$S3VENV"/.panelflow-s3-*
touch "$STAMP"
log "object storage tools: $S3VENV"
