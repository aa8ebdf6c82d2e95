#!/usr/bin/env bash
# Past one process: the throughput of 2 `panelflow run` processes × 1 worker
# against 1 process × 2 workers, on the same machine, one after the other
# (README, "Scaling out"). Real processes throughout: Tansu, `panelflow
# ingest`, the runners of one consumer group, the Lever emulator (with a
# limit high enough that Lever is not the bound here). A ratio near 1 means
# spreading a group over processes costs little.
#
#   bash benches/scale.sh              # 80 interviews each way
#   INTERVIEWS=200 bash benches/scale.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/release_bins.sh"
N="${INTERVIEWS:-80}"
run() { # processes workers out
  "$BIN/panelflow-dev" scale --panelflow "$BIN/panelflow" --interviews "$N" \
    --processes "$1" --workers "$2" --lever-limit 400,400 --partitions 6 --out "out/scale-$1x$2" \
    > "out/scale-$1x$2.json"
}
run 1 2
run 2 1
python3 - "$N" <<'PY'
import json, sys
n = sys.argv[1]
one = json.load(open("out/scale-1x2.json"))
two = json.load(open("out/scale-2x1.json"))
for name, r in (("1 process x 2 workers", one), ("2 processes x 1 worker", two)):
    print(f"{name:24s} {r['interviews_per_s']:.3f} interviews/s  "
          f"({r['one_row']}/{n} rows, {r['one_note']} notes, processing {r['processing_s']:.1f} s, wall {r['wall_s']:.1f} s)")
print(f"ratio (2x1 / 1x2): {two['interviews_per_s'] / one['interviews_per_s']:.2f}")
PY
