#!/usr/bin/env bash
# The chaos run and the backlog measure (README, "Reliability").
#
#   bash benches/chaos.sh                  # 1000 interviews, 20 kills, the 10 000-event backlog
#   bash benches/chaos.sh --interviews 12 --kills 2 --between-kills-s 12 \
#        --lever-outage-s 15 --lost-replies 30 --retry-delays-s 5,15,30   # the small setting (as the test)
#
# Real processes throughout: Tansu, `panelflow ingest` and `panelflow run
# --workers 2` (SIGKILLed at random moments and started again with the same
# config and group), the Lever emulator (503 to everything for a while,
# some note replies lost after the note is stored) and a media host that
# never answers. Prints what held as JSON (out/chaos.json, out/backlog.json)
# and exits non-zero if a promise did not hold.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/release_bins.sh"
"$BIN/panelflow-dev" chaos --panelflow "$BIN/panelflow" --out out/chaos "$@" | tee out/chaos.json
if [ "$#" -eq 0 ]; then
  "$BIN/panelflow-dev" backlog --panelflow "$BIN/panelflow" --out out/backlog \
    --events "${BACKLOG_EVENTS:-10000}" | tee out/backlog.json
fi
