#!/usr/bin/env bash
# Runs panelflow's cargo-fuzz targets (fuzz/) one after another, each for N
# minutes, and reports executions and crashes per target.
#
#   bash scripts/fuzz.sh                 # every target, 10 minutes each
#   bash scripts/fuzz.sh -m 2 webhook_lever media_decode
#   bash scripts/fuzz.sh -l              # list the targets
#
# Needs a nightly toolchain (`rustup toolchain install nightly`) and
# cargo-fuzz (`cargo install cargo-fuzz`): the normal build does not.
# Seeds come from fuzz/seeds/<target> (committed); what the fuzzer learns
# goes to fuzz/corpus/<target> and crashes to fuzz/artifacts/<target>
# (both ignored by git). A crash found is fixed in the code and kept as a
# regression input under fuzz/regressions/<target>/, which
# `cargo test --manifest-path fuzz/Cargo.toml` replays on stable.
# The summary is printed and written to out/fuzz/summary.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10
list=0
while getopts "m:lh" opt; do
  case "$opt" in
    m) minutes="$OPTARG" ;;
    l) list=1 ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

all=(webhook_lever webhook_generic webhook_willo webhook_sparkhire webhook_hirevue
     webhook_hireflix recording_links media_decode config_loader)
if [ "$list" = 1 ]; then printf '%s\n' "${all[@]}"; exit 0; fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 1; }
rustup run nightly rustc --version >/dev/null 2>&1 || { echo "no nightly toolchain: rustup toolchain install nightly" >&2; exit 1; }

out=out/fuzz
mkdir -p "$out"
summary="$out/summary.tsv"
printf 'target\tseconds\texecutions\texec_per_s\tcrashes\tcoverage\tcorpus\n' > "$summary"
status=0
for t in "${targets[@]}"; do
  features=()
  [ "$t" = config_loader ] && features=(--features config)
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  before=$(find "fuzz/artifacts/$t" -type f | wc -l)
  log="$out/$t.log"
  echo "== $t: ${minutes} min"
  start=$(date +%s)
  # -O: optimized with debug assertions; libFuzzer stops at the first crash.
  set +e
  nice -n 10 cargo +nightly fuzz run -O "${features[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time=$((minutes * 60)) -print_final_stats=1 -timeout=20 -rss_limit_mb=3072 \
    -max_len=262144 >"$log" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  [ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  speed=$(grep -o 'stat::average_exec_per_sec: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  after=$(find "fuzz/artifacts/$t" -type f | wc -l)
  crashes=$((after - before))
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$secs" "${execs:-0}" "${speed:-0}" "$crashes" "${cov:-?}" "$corpus" >> "$summary"
  if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    status=1
    echo "   crash (exit $rc): see $log and fuzz/artifacts/$t/"
    grep -m3 -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" | sed 's/^/   /' || true
  fi
done
echo
column -t -s $'\t' "$summary"
exit "$status"
