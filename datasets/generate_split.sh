#!/usr/bin/env bash
# datasets/generate_split.sh — render a labelled answer split (datasets/holdout, datasets/devset, ...)
# to audio, reproducibly.
#
#   bash datasets/generate_split.sh SPLIT_DIR            (re)write SPLIT_DIR/media, manifest.json, SHA256SUMS
#   bash datasets/generate_split.sh SPLIT_DIR --check    regenerate in a scratch folder and compare with
#                                                        what is in SPLIT_DIR (exit 1, listing what differs)
#
# Input:  SPLIT_DIR/source.json (hand-written: roles, questions, candidates with voice/pitch/speed_wpm,
#         answers with text and labels). It is never modified.
# Output: SPLIT_DIR/media/<answer_id>.webm   Opus, mono, 48 kHz, 20 kbit/s   (answers 2, 4, 6, ...)
#         SPLIT_DIR/media/<answer_id>.mp4    AAC-LC, mono, 16 kHz, 24 kbit/s, faststart (answers 1, 3, 5, ...)
#                                            (numbered by position in source.json's answers, from 1)
#         SPLIT_DIR/manifest.json            source.json + per-answer media fields + a generator object
#         SPLIT_DIR/SHA256SUMS               sha256sum of source.json, manifest.json and every media file
# Each recording is audio only: 0.5 s silence, the answer spoken by espeak-ng, 0.5 s silence.
# Needs (Debian): espeak-ng sox ffmpeg jq. The same tool versions give byte-identical files.
set -euo pipefail

usage() { echo "usage: bash datasets/generate_split.sh SPLIT_DIR [--check]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
[[ $1 == -h || $1 == --help ]] && { sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0; }
dir=$(cd "$1" && pwd) || usage
mode=write
case "${2:-}" in "") ;; --check) mode=check ;; *) usage ;; esac
src=$dir/source.json
[[ -f $src ]] || { echo "generate_split.sh: $src not found" >&2; exit 1; }

for tool in espeak-ng sox soxi ffmpeg ffprobe jq sha256sum awk; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "generate_split.sh: '$tool' not found (Debian: apt-get install espeak-ng sox ffmpeg jq)" >&2; exit 1; }
done
export LC_ALL=C TZ=UTC

die() { echo "generate_split.sh: $*" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/panelflow-split.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=$work/out tmp=$work/tmp
mkdir -p "$out/media" "$tmp"

SR=22050   # espeak-ng's native rate; intermediate WAVs use it, so sample counts give exact times
LEAD_S=0.5 # silence before the speech
TAIL_S=0.5 # silence after the speech

# --- validate source.json: references, ids usable as file names, labels, texts the synthesizer reads
jq -e '
  def fail(m): error(m);
  (.candidates | map(.candidate_id)) as $cands | (.questions | map(.id)) as $qs
  | (.answers | map(.answer_id)) as $ids
  | if ($ids | length) != ($ids | unique | length) then fail("duplicate answer_id") else . end
  | .answers[]
  | if (.answer_id | test("^[A-Za-z0-9._-]+$") | not) then fail("\(.answer_id): not a safe file name")
    elif (.candidate_id as $c | $cands | any(.[]; . == $c) | not) then fail("\(.answer_id): unknown candidate")
    elif (.question_id as $q | $qs | any(.[]; . == $q) | not) then fail("\(.answer_id): unknown question")
    elif ([.label] | inside([1, 2, 3, 4]) | not) then fail("\(.answer_id): label not 1-4")
    elif (.text | test("[\\[\\]\"\\t\\n]")) then fail("\(.answer_id): text has [ ] quotes or tabs")
    elif (.text as $t | .key_facts | all(. as $f | $t | ascii_downcase | contains($f | ascii_downcase)) | not)
      then fail("\(.answer_id): a key fact is not in the text")
    else true end' "$src" >/dev/null || die "$src failed validation (see above)"

sx() { sox -D -R "$@"; } # no dither, fixed seeds: sox's default dither is random noise
sx -n -r $SR -c 1 -b 16 "$tmp/lead.wav" trim 0 $LEAD_S
sx -n -r $SR -c 1 -b 16 "$tmp/tail.wav" trim 0 $TAIL_S
lead_n=$(soxi -s "$tmp/lead.wav")
secs() { awk -v n="$1" -v r=$SR 'BEGIN { printf "%.3f", n / r }'; }

# speak VOICE PITCH WPM TEXT OUT.wav — espeak-ng's own leading/trailing silence is trimmed, so the
# speech starts exactly at LEAD_S in the final recording
speak() {
  printf '%s\n' "$4" | espeak-ng -v "$1" -p "$2" -s "$3" --stdin -w "$tmp/raw.wav"
  sx "$tmp/raw.wav" -r $SR -c 1 -b 16 "$5" silence 1 0.02 0.1% reverse silence 1 0.02 0.1% reverse
  [[ $(soxi -s "$5") -gt $SR ]] || die "espeak-ng produced almost nothing for: $4"
}

# encode IN.wav OUT FORMAT — audio only, bit-exact flags, one thread, no metadata
encode() {
  local a=(-nostdin -hide_banner -loglevel error -y -i "$1" -map 0:a:0 -ac 1)
  case $3 in
    webm) a+=(-c:a libopus -b:a 20k -ar 48000 -f webm) ;;
    mp4) a+=(-c:a aac -profile:a aac_low -b:a 24k -ar 16000 -movflags +faststart -f mp4) ;;
  esac
  ffmpeg "${a[@]}" -threads 1 -fflags +bitexact -flags:a +bitexact -map_metadata -1 -map_chapters -1 "$2"
}

# --- one recording per answer. TSV: position, answer_id, voice, pitch, wpm, word count, text
report=$work/report.tsv
: >"$work/media.jsonl"
while IFS=$'\t' read -r -u 3 i id voice pitch wpm words text; do
  n=$((i + 1))
  if ((n % 2 == 0)); then fmt=webm; else fmt=mp4; fi
  rel=media/$id.$fmt
  echo "generate_split.sh: [$n] $rel ($voice, $wpm wpm)" >&2
  speak "$voice" "$pitch" "$wpm" "$text" "$tmp/speech.wav"
  sx "$tmp/lead.wav" "$tmp/speech.wav" "$tmp/tail.wav" "$tmp/full.wav"
  encode "$tmp/full.wav" "$out/$rel" "$fmt"
  speech_n=$(soxi -s "$tmp/speech.wav")
  want=$(soxi -D "$tmp/full.wav")

  # decode again (as the engine will) and refuse wrong lengths, silence, or implausible speech rates
  ffmpeg -nostdin -hide_banner -loglevel error -y -i "$out/$rel" -map 0:a:0 -ac 1 -ar 16000 "$tmp/check.wav" ||
    die "$rel does not decode"
  got=$(soxi -D "$tmp/check.wav")
  rms=$(sox "$tmp/check.wav" -n stat 2>&1 | awk '/^RMS +amplitude/ { print $3 }')
  awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 0.15) }' ||
    die "$rel: decoded duration $got s, expected $want s"
  awk -v r="$rms" 'BEGIN { exit !(r >= 0.02) }' || die "$rel: RMS $rms, looks silent"
  # rough expectation: words / wpm * 60 s of speech plus 1 s of silence
  est=$(awk -v w="$words" -v s="$wpm" 'BEGIN { printf "%.1f", w / s * 60 + 1 }')
  awk -v g="$got" -v e="$est" 'BEGIN { exit !(g >= 0.6 * e && g <= 1.5 * e) }' ||
    die "$rel: $got s is far from the expected ~$est s ($words words at $wpm wpm)"
  size=$(stat -c %s "$out/$rel")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$rel" "$size" "$got" "$est" "$words" "$rms" >>"$report"

  ffprobe -v error -show_entries format=duration:stream=codec_type,codec_name,sample_rate,channels -of json \
    "$out/$rel" | jq -c --arg id "$id" --arg rel "$rel" --arg fmt "$fmt" --argjson size "$size" \
    --arg sha "$(sha256sum "$out/$rel" | cut -d' ' -f1)" \
    --argjson start $LEAD_S --argjson speech_end "$(secs $((lead_n + speech_n)))" '
    (.streams | map(select(.codec_type == "audio")) | first) as $a
    | if (.streams | length) != 1 then error("\($rel): expected exactly one (audio) stream") else . end
    | { answer_id: $id, media_path: $rel, format: $fmt, audio_codec: $a.codec_name,
        sample_rate_hz: ($a.sample_rate | tonumber), channels: $a.channels,
        duration_s: (.format.duration | tonumber * 1000 | round / 1000),
        speech_start_s: $start, speech_end_s: $speech_end, size_bytes: $size, sha256: $sha }' >>"$work/media.jsonl"
done 3< <(jq -r '(.candidates | map({ key: .candidate_id, value: . }) | from_entries) as $c
  | .answers | to_entries[] | $c[.value.candidate_id] as $k
  | [.key, .value.answer_id, $k.voice, $k.pitch, $k.speed_wpm, (.value.text | split(" ") | length), .value.text]
  | @tsv' "$src")

# --- manifest.json: everything of source.json, answers extended with their media fields
jq -n --slurpfile s "$src" --slurpfile m "$work/media.jsonl" \
  --arg espeak "$(espeak-ng --version | awk '{ print $4 }')" \
  --arg ffmpeg "$(ffmpeg -version | awk 'NR == 1 { print $3 }')" \
  --arg sox "$(sox --version | awk '{ print $NF }')" \
  --arg cmd "bash datasets/generate_split.sh datasets/$(basename "$dir")" \
  --argjson lead $LEAD_S --argjson tail $TAIL_S '
  $s[0] as $src | ($m | map({ key: .answer_id, value: del(.answer_id) }) | from_entries) as $media
  | ($src | { split, description, written })
  + { generator: { command: $cmd, source: "source.json", espeak_ng: $espeak, ffmpeg: $ffmpeg, sox: $sox,
        lead_in_s: $lead, tail_s: $tail,
        even_answers: "webm: Opus, mono, 48000 Hz, 20 kbit/s",
        odd_answers: "mp4: AAC-LC, mono, 16000 Hz, 24 kbit/s, faststart" } }
  + ($src | del(.split, .description, .written, .answers))
  + { answers: [ $src.answers[] | . + $media[.answer_id] ] }' >"$out/manifest.json"

# --- SHA256SUMS over source.json, manifest.json and the media, sorted by path
cp "$src" "$out/source.json"
(cd "$out" && find source.json manifest.json media -type f | sort | xargs sha256sum) >"$work/SHA256SUMS"
mv "$work/SHA256SUMS" "$out/SHA256SUMS"

echo >&2
printf 'file\tbytes\tseconds\texpected_s\twords\trms\n' >&2
cat "$report" >&2
awk -F'\t' '{ b += $2; s += $3 } END { printf "generate_split.sh: %d recordings, %.1f MB, %.0f s of audio\n", NR, b / 1e6, s }' \
  "$report" >&2

generated=(media manifest.json SHA256SUMS)
if [[ $mode == check ]]; then
  status=0
  for g in "${generated[@]}"; do
    diff -rq "$out/$g" "$dir/$g" >&2 || status=1
  done
  if ((status)); then
    echo "generate_split.sh --check: $dir differs from a fresh generation (see above)" >&2
  else
    echo "generate_split.sh --check: $dir is up to date (all files byte-identical)" >&2
  fi
  exit $status
fi

for g in "${generated[@]}"; do
  rm -rf "${dir:?}/$g"
  cp -R "$out/$g" "$dir/$g"
done
echo "generate_split.sh: wrote ${generated[*]} under $dir" >&2
