#!/usr/bin/env bash
# datasets/make_long.sh — make a long interview WAV (a benchmark input, made on demand, not committed).
#
#   bash datasets/make_long.sh [--minutes N] [--ref REF.txt] OUT.wav
#
# Decodes every interview of datasets/manifest.json (each single recording, and each per-answer
# interview's answers in order) to 16 kHz mono 16-bit PCM, then concatenates them over and over,
# 1 s of silence apart, until the result lasts at least N minutes (default 30). The output is the
# same for the same inputs. With --ref, also writes the matching reference transcript (the
# manifest's reference_transcript of each piece, in order, one piece per line) for long-form WER.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
manifest=$here/manifest.json
minutes=30
ref=
out=
usage() { echo "usage: bash datasets/make_long.sh [--minutes N] [--ref REF.txt] OUT.wav" >&2; exit 2; }
while (($#)); do
  case $1 in
    --minutes) minutes=${2:?}; shift 2 ;;
    --ref) ref=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) usage ;;
    *) [[ -z $out ]] || usage; out=$1; shift ;;
  esac
done
[[ -n $out ]] || usage
[[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "make_long.sh: --minutes wants a number" >&2; exit 2; }
for tool in ffmpeg sox soxi jq awk; do
  command -v "$tool" >/dev/null 2>&1 || { echo "make_long.sh: '$tool' not found" >&2; exit 1; }
done
[[ -f $manifest ]] || { echo "make_long.sh: $manifest missing; run bash datasets/generate.sh" >&2; exit 1; }
export LC_ALL=C

work=$(mktemp -d "${TMPDIR:-/tmp}/panelflow-long.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One piece per interview: its media files in order (one file, or one per answer).
mapfile -t ids < <(jq -r '.interviews[].interview_id' "$manifest")
pieces=()
for id in "${ids[@]}"; do
  mapfile -t files < <(jq -r --arg id "$id" '.interviews[] | select(.interview_id == $id) | .media[].path' "$manifest")
  parts=()
  for f in "${files[@]}"; do
    n=${#parts[@]}
    ffmpeg -nostdin -hide_banner -loglevel error -y -i "$here/$f" -map 0:a:0 -ac 1 -ar 16000 \
      -c:a pcm_s16le -fflags +bitexact -flags:a +bitexact -map_metadata -1 "$work/$id.$n.wav"
    parts+=("$work/$id.$n.wav")
  done
  if ((${#parts[@]} == 1)); then
    mv "${parts[0]}" "$work/$id.wav"
  else
    sox -D -R "${parts[@]}" "$work/$id.wav"
  fi
  pieces+=("$id")
done
sox -D -R -n -r 16000 -c 1 -b 16 "$work/gap.wav" trim 0 1.0

target=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 * 16000 }')
gap=$(soxi -s "$work/gap.wav")
list=()
order=()
total=0
while ((total < target)); do
  for id in "${pieces[@]}"; do
    ((${#list[@]} > 0)) && { list+=("$work/gap.wav"); total=$((total + gap)); }
    list+=("$work/$id.wav")
    order+=("$id")
    total=$((total + $(soxi -s "$work/$id.wav")))
    ((total >= target)) && break
  done
done

mkdir -p "$(dirname "$out")"
sox -D -R "${list[@]}" "$work/long.wav"
mv "$work/long.wav" "$out"

if [[ -n $ref ]]; then
  mkdir -p "$(dirname "$ref")"
  for id in "${order[@]}"; do
    jq -r --arg id "$id" '.interviews[] | select(.interview_id == $id) | .reference_transcript' "$manifest"
  done >"$ref"
fi

echo "make_long.sh: $out: $(soxi -D "$out") s of 16 kHz mono, ${#order[@]} interviews${ref:+ (reference: $ref)}" >&2
