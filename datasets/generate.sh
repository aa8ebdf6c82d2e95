#!/usr/bin/env bash
# datasets/generate.sh — rebuild panelflow's synthetic sample interviews, reproducibly.
#
#   bash datasets/generate.sh            regenerate every output below, in place
#   bash datasets/generate.sh --check    regenerate in a scratch folder and compare with what is here
#                                        (exit 1 and list the files that differ)
#
# Input:  datasets/source/dataset.json   the texts, voices, encodings and Lever records (hand-written)
#         datasets/real/jfk.flac         the real clip (only probed and listed, never modified)
# Output: datasets/interviews/           spoken interviews, MP4/AAC and WebM/Opus
#         datasets/bad/                  broken media for the failure paths
#         datasets/manifest.json         the dataset index (schemas/dataset_manifest.schema.json)
#         datasets/lever_*.json          Lever API objects the emulator seeds from
#
# Needs (Debian): espeak-ng sox ffmpeg jq. Same tool versions give byte-identical files; another
# ffmpeg/espeak-ng version may change bytes (and the sha256 in the manifest) but not the content.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/source/dataset.json
mode="write"
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "usage: bash datasets/generate.sh [--check]" >&2; exit 2 ;;
esac

for tool in espeak-ng sox soxi ffmpeg ffprobe jq sha256sum awk; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "generate.sh: '$tool' not found (Debian: apt-get install espeak-ng sox ffmpeg jq)" >&2
    exit 1
  }
done
export LC_ALL=C TZ=UTC

work=$(mktemp -d "${TMPDIR:-/tmp}/panelflow-datasets.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=$work/out   # staged outputs, laid out like datasets/
tmp=$work/tmp   # intermediate WAVs
meta=$work/meta # one JSON object per interview, merged into manifest.json at the end
mkdir -p "$out/interviews" "$out/bad" "$tmp" "$meta"

SR=22050       # espeak-ng's native rate; every intermediate WAV uses it (exact sample arithmetic)
LEAD_S=0.5     # silence before the first answer of a recording
GAP_S=1.0      # silence between two answers of one recording
TAIL_S=0.5     # silence after the last answer
QGAP_S=0.8     # silence between a question read out and its answer
MAX_BYTES=512000

die() { echo "generate.sh: $*" >&2; exit 1; }
q() { jq -r "$@" "$src"; }

# sox without dither (-D) and with fixed seeds (-R): its default dither is random noise
sx() { sox -D -R "$@"; }
sx -n -r $SR -c 1 -b 16 "$tmp/lead.wav" trim 0 $LEAD_S
sx -n -r $SR -c 1 -b 16 "$tmp/gap.wav" trim 0 $GAP_S
sx -n -r $SR -c 1 -b 16 "$tmp/tail.wav" trim 0 $TAIL_S
sx -n -r $SR -c 1 -b 16 "$tmp/qgap.wav" trim 0 $QGAP_S
lead_n=$(soxi -s "$tmp/lead.wav")
gap_n=$(soxi -s "$tmp/gap.wav")
qgap_n=$(soxi -s "$tmp/qgap.wav")

secs() { awk -v n="$1" -v r=$SR 'BEGIN { printf "%.3f", n / r }'; }

# speak VOICE PITCH WPM TEXT OUT.wav — the text goes to espeak-ng exactly as written in the source;
# espeak-ng's own leading/trailing silence is trimmed so that start_s/end_s bound the speech.
speak() {
  printf '%s\n' "$4" | espeak-ng -v "$1" -p "$2" -s "$3" --stdin -w "$tmp/raw.wav"
  sx "$tmp/raw.wav" -r $SR -c 1 -b 16 "$5" \
    silence 1 0.02 0.1% reverse silence 1 0.02 0.1% reverse
  [[ $(soxi -s "$5") -gt $SR ]] || die "espeak-ng produced almost nothing for: $4"
}

# speak_answer VOICE PITCH WPM TEXT OUT.wav — like speak, but "[pause N]" in the text is N seconds
# of silence (a hesitation inside the answer); the spoken parts are trimmed as speak does.
speak_answer() {
  local text=$4 out=$5 parts=() k=0 rest chunk secs
  if [[ $text != *"[pause "* ]]; then
    speak "$1" "$2" "$3" "$text" "$out"
    return
  fi
  rest=$text
  while [[ $rest == *"[pause "* ]]; do
    chunk=${rest%%"[pause "*}
    rest=${rest#*"[pause "}
    secs=${rest%%"]"*}
    rest=${rest#*"]"}
    speak "$1" "$2" "$3" "$chunk" "$tmp/part$k.wav"
    sx -n -r $SR -c 1 -b 16 "$tmp/pause$k.wav" trim 0 "$secs"
    parts+=("$tmp/part$k.wav" "$tmp/pause$k.wav")
    k=$((k + 1))
  done
  speak "$1" "$2" "$3" "$rest" "$tmp/part$k.wav"
  parts+=("$tmp/part$k.wav")
  sx "${parts[@]}" "$out"
}

# encode IN.wav OUT FORMAT VIDEO RATE CHANNELS [MP4_LAYOUT]
# A tiny black 160x120 5 fps video track is added when VIDEO is true (one-way interviews are
# video recordings; the engine must pick the audio track). Bit-exact flags, one thread and no
# metadata keep the output byte-identical from run to run.
encode() {
  local in=$1 dst=$2 fmt=$3 video=$4 rate=$5 ch=$6 layout=${7:-}
  local dur
  dur=$(soxi -D "$in")
  local a=(-nostdin -hide_banner -loglevel error -y)
  if [[ $video == true ]]; then
    a+=(-f lavfi -i "color=c=black:s=160x120:r=5:d=$dur" -i "$in" -map 0:v:0 -map 1:a:0)
  else
    a+=(-i "$in" -map 0:a:0)
  fi
  case $fmt in
    mp4)
      [[ $video == true ]] && a+=(-c:v libx264 -preset ultrafast -tune stillimage -pix_fmt yuv420p -g 50)
      a+=(-c:a aac -b:a 64k)
      case $layout in
        faststart) a+=(-movflags +faststart) ;;                                # moov first: streamable
        moov_at_end) ;;                                                        # ffmpeg's default
        fragmented) a+=(-movflags +frag_keyframe+empty_moov+default_base_moof) ;; # like browser MediaRecorder
        *) die "unknown mp4_layout '$layout'" ;;
      esac
      a+=(-f mp4)
      ;;
    webm)
      [[ $video == true ]] && a+=(-c:v libvpx -deadline realtime -cpu-used 8 -b:v 16k -g 50)
      a+=(-c:a libopus -b:a 32k -f webm)
      ;;
    *) die "unknown format '$fmt'" ;;
  esac
  a+=(-ar "$rate" -ac "$ch" -threads 1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact
    -map_metadata -1 -map_chapters -1 "$dst")
  ffmpeg "${a[@]}"
}

# probe FILE RELPATH [QUESTION_ID] [MP4_LAYOUT] — one manifest media object, from ffprobe
probe() {
  local f=$1 rel=$2 qid=${3:-} layout=${4:-}
  ffprobe -v error -show_entries format=format_name,duration:stream=codec_type,codec_name,sample_rate,channels \
    -of json "$f" |
    jq -c --arg path "$rel" --arg qid "$qid" --arg layout "$layout" \
      --argjson size "$(stat -c %s "$f")" --arg sha "$(sha256sum "$f" | cut -d' ' -f1)" '
      ([.streams[] | select(.codec_type == "audio")] | first) as $a
      | ([.streams[] | select(.codec_type == "video")] | first) as $v
      | { path: $path, format: ($path | split(".") | last) }
        + (if $qid != "" then { question_id: $qid } else {} end)
        + { container: .format.format_name,
            audio_codec: $a.codec_name,
            sample_rate_hz: ($a.sample_rate | tonumber),
            channels: $a.channels,
            video_codec: ($v.codec_name // null) }
        + (if $layout != "" then { mp4_layout: $layout } else {} end)
        + { duration_s: (.format.duration | tonumber * 1000 | round / 1000),
            size_bytes: $size,
            sha256: $sha }'
}

# check_media FILE EXPECTED_SECONDS — decodes the audio again (as the engine will), and refuses
# silent, short/long or oversized output. Prints one report line.
report=$work/report.tsv
check_media() {
  local f=$1 want=$2 rel=${1#"$out"/}
  ffmpeg -nostdin -hide_banner -loglevel error -y -i "$f" -map 0:a:0 -ac 1 -ar 16000 "$tmp/check.wav" ||
    die "$rel does not decode"
  local got rms size codecs
  got=$(soxi -D "$tmp/check.wav")
  rms=$(sox "$tmp/check.wav" -n stat 2>&1 | awk '/^RMS +amplitude/ { print $3 }')
  size=$(stat -c %s "$f")
  codecs=$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$f" | paste -sd+ -)
  awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 0.15) }' ||
    die "$rel: decoded duration $got s, expected $want s"
  awk -v r="$rms" 'BEGIN { exit !(r >= 0.02) }' || die "$rel: RMS $rms, looks silent"
  [[ $size -le $MAX_BYTES ]] || die "$rel: $size bytes, over $MAX_BYTES"
  printf '%s\t%s\t%.2f\t%s\t%s\n' "$rel" "$size" "$got" "$codecs" "$rms" >>"$report"
}

# ---------------------------------------------------------------------------------------------
# Interviews
# ---------------------------------------------------------------------------------------------
for id in $(q '.interviews[].interview_id'); do
  iv=$(jq -c --arg id "$id" '.interviews[] | select(.interview_id == $id)' "$src")
  get() { jq -r "$1" <<<"$iv"; }
  voice=$(get .voice) pitch=$(get .pitch) wpm=$(get .speed_wpm) form=$(get .form)
  fmt=$(get .encode.format) video=$(get .encode.video) rate=$(get .encode.sample_rate_hz)
  ch=$(get .encode.channels) layout=$(get '.encode.mp4_layout // ""')
  n=$(get '.answers | length')
  echo "generate.sh: $id ($form, $voice, $wpm wpm, $fmt)" >&2

  for ((i = 0; i < n; i++)); do
    speak_answer "$voice" "$pitch" "$(get ".answers[$i].speed_wpm // $wpm")" "$(get ".answers[$i].text")" "$tmp/$id.a$i.wav"
  done
  # An interviewer reading the questions out (single recordings only): each answer is preceded by
  # its question in the interviewer's voice and QGAP_S of silence.
  asks=$(get 'if .interviewer then "yes" else "" end')
  if [[ -n $asks ]]; then
    [[ $form == single_recording ]] || die "$id: an interviewer is heard only in a single recording"
    for ((i = 0; i < n; i++)); do
      qtext=$(jq -r --arg p "$(get .posting_id)" --arg q "$(get ".answers[$i].question_id")" \
        '.postings[] | select(.posting_id == $p) | .questions[] | select(.id == $q) | .text' "$src")
      speak "$(get .interviewer.voice)" "$(get .interviewer.pitch)" "$(get .interviewer.speed_wpm)" "$qtext" "$tmp/$id.q$i.wav"
    done
  fi

  : >"$meta/$id.timings"
  : >"$meta/$id.media"
  if [[ $form == single_recording ]]; then
    rel=interviews/$id.$fmt
    parts=("$tmp/lead.wav")
    pos=$lead_n
    for ((i = 0; i < n; i++)); do
      ((i > 0)) && { parts+=("$tmp/gap.wav"); pos=$((pos + gap_n)); }
      qspan=""
      if [[ -n $asks ]]; then
        qlen=$(soxi -s "$tmp/$id.q$i.wav")
        qspan="$(secs "$pos")\t$(secs $((pos + qlen)))"
        parts+=("$tmp/$id.q$i.wav" "$tmp/qgap.wav")
        pos=$((pos + qlen + qgap_n))
      fi
      len=$(soxi -s "$tmp/$id.a$i.wav")
      printf '%s\t%s\t%s\t%b\n' "$(get ".answers[$i].question_id")" "$(secs "$pos")" "$(secs $((pos + len)))" "$qspan" \
        >>"$meta/$id.timings"
      parts+=("$tmp/$id.a$i.wav")
      pos=$((pos + len))
    done
    parts+=("$tmp/tail.wav")
    sx "${parts[@]}" "$tmp/$id.wav"
    encode "$tmp/$id.wav" "$out/$rel" "$fmt" "$video" "$rate" "$ch" "$layout"
    check_media "$out/$rel" "$(soxi -D "$tmp/$id.wav")"
    probe "$out/$rel" "$rel" "" "$layout" >>"$meta/$id.media"
    for ((i = 0; i < n; i++)); do echo "$rel"; done >"$meta/$id.paths"
  elif [[ $form == per_answer ]]; then
    # Willo-style: one media file per question, named after the question's place in the list
    mkdir -p "$out/interviews/$id"
    : >"$meta/$id.paths"
    for ((i = 0; i < n; i++)); do
      qid=$(get ".answers[$i].question_id")
      k=$(jq -r --arg q "$qid" '.question_ids | index($q) + 1' <<<"$iv")
      rel=interviews/$id/q$k.$fmt
      len=$(soxi -s "$tmp/$id.a$i.wav")
      printf '%s\t%s\t%s\n' "$qid" "$(secs "$lead_n")" "$(secs $((lead_n + len)))" >>"$meta/$id.timings"
      sx "$tmp/lead.wav" "$tmp/$id.a$i.wav" "$tmp/tail.wav" "$tmp/$id.q$k.wav"
      encode "$tmp/$id.q$k.wav" "$out/$rel" "$fmt" "$video" "$rate" "$ch" "$layout"
      check_media "$out/$rel" "$(soxi -D "$tmp/$id.q$k.wav")"
      probe "$out/$rel" "$rel" "$qid" "$layout" >>"$meta/$id.media"
      echo "$rel" >>"$meta/$id.paths"
    done
  else
    die "$id: unknown form '$form'"
  fi
done

# ---------------------------------------------------------------------------------------------
# Broken media for the failure paths (all derived from the files above, so reproducible too)
# ---------------------------------------------------------------------------------------------
junk() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "panelflow: not media data, block %05d\n", i }'; }
# the first 2 KB of a real MP4 (ftyp + a cut-off moov) followed by text junk
{ head -c 2048 "$out/interviews/swe-01.mp4"; junk 400; } >"$out/bad/corrupt.mp4"
# a text file wearing a media extension
cat >"$out/bad/not_audio.webm" <<'TXT'
This is a plain text file with a .webm name. It is not media: panelflow must refuse it with a
clear, one-line reason and record a failed outcome, never crash or drop it silently.
TXT
# a valid WebM cut off at 40 % of its bytes (the declared segment size exceeds the file)
wsize=$(stat -c %s "$out/interviews/data-01.webm")
head -c $((wsize * 4 / 10)) "$out/interviews/data-01.webm" >"$out/bad/truncated.webm"
# a well-formed MP4 with a video track and no audio track
ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "color=c=black:s=160x120:r=5:d=2" \
  -c:v libx264 -preset ultrafast -tune stillimage -pix_fmt yuv420p -threads 1 \
  -fflags +bitexact -flags:v +bitexact -map_metadata -1 -movflags +faststart "$out/bad/no_audio.mp4"

# ---------------------------------------------------------------------------------------------
# manifest.json
# ---------------------------------------------------------------------------------------------
for id in $(q '.interviews[].interview_id'); do
  jq -R -s -c 'split("\n") | map(select(length > 0) | split("\t")
                 | { question_id: .[0], start_s: (.[1] | tonumber), end_s: (.[2] | tonumber) }
                   + (if (.[3] // "") != "" then { question_start_s: (.[3] | tonumber), question_end_s: (.[4] | tonumber) } else {} end))' \
    "$meta/$id.timings" >"$meta/$id.timings.json"
  jq -R -s -c 'split("\n") | map(select(length > 0))' "$meta/$id.paths" >"$meta/$id.paths.json"
  jq -s -c '.' "$meta/$id.media" >"$meta/$id.media.json"
  jq -n -c --arg id "$id" --slurpfile t "$meta/$id.timings.json" --slurpfile p "$meta/$id.paths.json" \
    --slurpfile m "$meta/$id.media.json" '{ interview_id: $id, timings: $t[0], paths: $p[0], media: $m[0] }'
done >"$meta/interviews.jsonl"

for c in $(q '.clips[].clip_id'); do
  path=$(q --arg c "$c" '.clips[] | select(.clip_id == $c) | .path')
  [[ -f $here/$path ]] || die "clip $c: $path is missing"
  jq -n -c --arg c "$c" --argjson m "$(probe "$here/$path" "$path")" '{ clip_id: $c, media: [$m] }'
done >"$meta/clips.jsonl"

for f in corrupt.mp4 not_audio.webm truncated.webm no_audio.mp4; do
  jq -n -c --arg path "bad/$f" --argjson size "$(stat -c %s "$out/bad/$f")" \
    --arg sha "$(sha256sum "$out/bad/$f" | cut -d' ' -f1)" \
    '{ path: $path, format: ($path | split(".") | last), size_bytes: $size, sha256: $sha }'
done >"$meta/bad.jsonl"

espeak_v=$(espeak-ng --version | awk '{ print $4 }')
ffmpeg_v=$(ffmpeg -version | awk 'NR == 1 { print $3 }')
sox_v=$(sox --version | awk '{ print $NF }')

jq -n --slurpfile src "$src" --slurpfile ivs "$meta/interviews.jsonl" --slurpfile clips "$meta/clips.jsonl" \
  --slurpfile bad "$meta/bad.jsonl" \
  --arg espeak "$espeak_v" --arg ffmpeg "$ffmpeg_v" --arg sox "$sox_v" \
  --argjson lead $LEAD_S --argjson gap $GAP_S --argjson tail $TAIL_S '
  $src[0] as $s
  | ($s.postings | map({ key: .posting_id, value: . }) | from_entries) as $postings
  | ($ivs | map({ key: .interview_id, value: . }) | from_entries) as $gen
  | {
      schema_version: 1,
      description: "panelflow sample interviews: synthetic one-way interview answers spoken by espeak-ng, plus one real clip. Paths are relative to datasets/. Regenerate with: bash datasets/generate.sh",
      generator: { command: "bash datasets/generate.sh", source: "source/dataset.json",
                   espeak_ng: $espeak, ffmpeg: $ffmpeg, sox: $sox },
      timing: { lead_in_s: $lead, gap_between_answers_s: $gap, tail_s: $tail },
      postings: [ $s.postings[] | { posting_id, job_family, title, skills, questions } ],
      interviews: [
        $s.interviews[] as $iv
        | $gen[$iv.interview_id] as $g
        | $postings[$iv.posting_id] as $p
        | {
            interview_id: $iv.interview_id,
            candidate_id: $iv.candidate_id,
            opportunity_id: $iv.opportunity_id,
            posting_id: $iv.posting_id,
            application_id: $iv.application_id,
            job_family: $p.job_family,
            origin: "synthetic",
            form: $iv.form,
            voice: $iv.voice,
            pitch: $iv.pitch,
            speed_wpm: $iv.speed_wpm }
          + (if $iv.interviewer then { interviewer: $iv.interviewer } else {} end)
          + {
            media: $g.media,
            questions: [ $iv.question_ids[] as $q | $p.questions[] | select(.id == $q) ],
            answers: [
              range(0; $iv.answers | length) as $i
              | $iv.answers[$i] as $a
              | { question_id: $a.question_id,
                  media_path: $g.paths[$i],
                  reference_text: ($a.text | gsub(" ?\\[pause [0-9.]+\\]"; "")),
                  start_s: $g.timings[$i].start_s,
                  end_s: $g.timings[$i].end_s }
                + ($g.timings[$i] | if .question_start_s then { question_start_s, question_end_s } else {} end)
                + { skills_mentioned: $a.skills_mentioned,
                  sentiment: $a.sentiment }
                + ($a | del(.question_id, .text, .skills_mentioned, .sentiment))
            ],
            reference_transcript: ([ $iv.answers[] as $a
                | (if $iv.interviewer then ($p.questions[] | select(.id == $a.question_id) | .text) else empty end),
                  ($a.text | gsub(" ?\\[pause [0-9.]+\\]"; "")) ] | join(" "))
          }
      ],
      clips: [
        $s.clips[] as $c
        | ($clips | map(select(.clip_id == $c.clip_id)) | first) as $g
        | { clip_id: $c.clip_id, origin: $c.origin, licence: $c.licence, media: $g.media,
            reference_transcript: $c.reference_transcript, expect: $c.expect }
      ],
      bad_media: [
        $bad[] as $b
        | $b + ({
            "bad/corrupt.mp4": { expect: "error", problem: "corrupt",
              description: "first 2 KB of interviews/swe-01.mp4 (ftyp and a cut-off moov) followed by text junk" },
            "bad/not_audio.webm": { expect: "error", problem: "not_media",
              description: "a plain text file with a .webm name" },
            "bad/truncated.webm": { expect: "error", problem: "truncated",
              description: "the first 40 % of the bytes of interviews/data-01.webm; its declared segment size exceeds the file" },
            "bad/no_audio.mp4": { expect: "error", problem: "no_audio_track",
              description: "a well-formed MP4 holding only a 2 s black H.264 video track" }
          }[$b.path])
      ]
    }
  | .interviews |= map(
      # sanity: every answer belongs to one of the interview questions, in order, and timings are sane
      if ([.answers[].question_id] - [.questions[].id]) != [] then error("\(.interview_id): answer to an unknown question") else . end
      | if any(.answers[]; .end_s <= .start_s) then error("\(.interview_id): empty answer span") else . end)
  ' >"$out/manifest.json"

# ---------------------------------------------------------------------------------------------
# Lever API objects (as GET /v1/... returns them in .data) for the emulator's seed
# ---------------------------------------------------------------------------------------------
jq '
  .lever.recruiter_user_id as $rec
  | [ .postings[] | {
      id: .posting_id,
      text: .title,
      createdAt: .created_at,
      updatedAt: .created_at,
      user: $rec,
      owner: $rec,
      hiringManager: .hiring_manager,
      confidentiality: "non-confidential",
      categories: { team, department, location, commitment, level, allLocations: [ .location ] },
      content: {
        description: .description,
        descriptionHtml: ("<div>" + .description + "</div>"),
        lists: [ { text: "Requirements", content: (.requirements | map("<li>" + . + "</li>") | join("")) } ],
        closing: "We review every application and answer within two weeks.",
        closingHtml: "<div>We review every application and answer within two weeks.</div>"
      },
      country: "US",
      followers: [ $rec, .hiring_manager ],
      tags: [ .department, .job_family ],
      state: "published",
      distributionChannels: [ "public", "internal" ],
      reqCode: .req_code,
      requisitionCodes: [ .req_code ],
      salaryDescription: null,
      salaryRange: null,
      urls: {
        list: "https://jobs.lever.co/panelflow-example",
        show: ("https://jobs.lever.co/panelflow-example/" + .posting_id),
        apply: ("https://jobs.lever.co/panelflow-example/" + .posting_id + "/apply")
      },
      workplaceType: (if (.location | startswith("Remote")) then "remote" else "hybrid" end),
      customQuestions: [ {
        id: ("one-way-interview-" + .job_family),
        text: "One-way video interview",
        fields: [ .questions[] | { id: .id, type: "textarea", text: .text, required: true } ]
      } ]
    } ]' "$src" >"$out/lever_postings.json"

jq '
  .lever.recruiter_user_id as $rec
  | (.lever.stages | map(.id)) as $stages
  | (.postings | map({ key: .posting_id, value: . }) | from_entries) as $p
  | [ .interviews[] | . as $iv | $p[.posting_id] as $post
      | (.created_at + 86400000) as $advanced
      | {
          id: .opportunity_id,
          name: .candidate.name,
          headline: .candidate.headline,
          contact: .candidate_id,
          emails: [ .candidate.email ],
          phones: [ { type: "mobile", value: .candidate.phone } ],
          confidentiality: "non-confidential",
          location: .candidate.location,
          links: .candidate.links,
          createdAt: .created_at,
          updatedAt: $advanced,
          lastInteractionAt: $advanced,
          lastAdvancedAt: $advanced,
          snoozedUntil: null,
          archived: null,
          stage: "0a259136-7f72-5edd-852c-1968e25c3818",
          stageChanges: [
            { toStageId: "applicant-new", toStageIndex: ($stages | index("applicant-new")), updatedAt: .created_at, userId: $rec },
            { toStageId: "0a259136-7f72-5edd-852c-1968e25c3818",
              toStageIndex: ($stages | index("0a259136-7f72-5edd-852c-1968e25c3818")), updatedAt: $advanced, userId: $rec }
          ],
          owner: $rec,
          followers: [ $rec, $post.hiring_manager ],
          tags: [ $post.title, "One-way video interview" ],
          sources: .candidate.sources,
          origin: .candidate.origin,
          sourcedBy: (if .candidate.origin == "sourced" then $rec else null end),
          applications: [ .application_id ],
          resume: null,
          urls: { list: "https://hire.lever.co/candidates", show: ("https://hire.lever.co/candidates/" + .opportunity_id) },
          dataProtection: null,
          isAnonymized: false
        } ]' "$src" >"$out/lever_opportunities.json"

jq '
  .lever.recruiter_user_id as $rec
  | (.postings | map({ key: .posting_id, value: . }) | from_entries) as $p
  | [ .interviews[] | $p[.posting_id] as $post | {
      id: .application_id,
      type: "posting",
      candidateId: .candidate_id,
      opportunityId: .opportunity_id,
      posting: .posting_id,
      postingHiringManager: $post.hiring_manager,
      postingOwner: $rec,
      name: .candidate.name,
      company: null,
      phone: { type: "mobile", value: .candidate.phone },
      email: .candidate.email,
      links: .candidate.links,
      comments: null,
      user: null,
      customQuestions: [],
      createdAt: .created_at,
      archived: null,
      requisitionForHire: null
    } ]' "$src" >"$out/lever_applications.json"

jq '.lever.stages' "$src" >"$out/lever_stages.json"
jq '.lever.users | map(. + { createdAt: 1735689600000, deactivatedAt: null, externalDirectoryId: null, linkedContactIds: null })' \
  "$src" >"$out/lever_users.json"

# ---------------------------------------------------------------------------------------------
# Install (or compare)
# ---------------------------------------------------------------------------------------------
generated=(interviews bad manifest.json lever_postings.json lever_opportunities.json
  lever_applications.json lever_stages.json lever_users.json)

echo >&2
echo "file	bytes	seconds	codecs	rms" >&2
cat "$report" >&2

if [[ $mode == check ]]; then
  status=0
  for g in "${generated[@]}"; do
    if ! diff -rq "$out/$g" "$here/$g" >&2; then status=1; fi
  done
  if ((status)); then
    echo "generate.sh --check: outputs differ from a fresh generation (see above)" >&2
  else
    echo "generate.sh --check: all outputs are up to date" >&2
  fi
  exit $status
fi

for g in "${generated[@]}"; do
  rm -rf "${here:?}/$g"
  cp -R "$out/$g" "$here/$g"
done
echo "generate.sh: wrote ${generated[*]} under $here" >&2
