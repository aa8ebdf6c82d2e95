//! Batched decoding gives exactly the tokens of one-at-a-time decoding, for
//! both speech models (Whisper base and Moonshine base): on the voice
//! segments of the JFK clip and two dataset recordings, decoded alone, in
//! one batch per decoder call, and in small groups (so rows are dropped and
//! padding trimmed mid-batch); Whisper with timestamps, as it reads
//! windows. And the transcriber's
//! cross-recording batching gives the transcripts of file-at-a-time runs.
//!
//! Needs the set-up's models (bash scripts/setup.sh).

use std::path::{Path, PathBuf};

use panelflow_models::media::decode::AudioDecoder;
use panelflow_models::media::resample::To16k;
use panelflow_models::media::vad::{Segmenter, SileroVad, VadParams};
use panelflow_models::speech::model::SpeechModel;
use panelflow_models::speech::moonshine::{BatchLimits, Moonshine};
use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};
use panelflow_models::speech::whisper::Whisper;

fn dataset(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(p)
}

/// The voice segments of a recording, as the transcriber cuts them.
fn segments(path: &Path) -> Vec<Vec<f32>> {
    let vad =
        SileroVad::load(&SileroVad::default_path()).expect("VAD model (run bash scripts/setup.sh)");
    let mut segmenter = Segmenter::new(vad, VadParams::default());
    let mut decoder = AudioDecoder::open(path).expect("open");
    let mut resampler = To16k::new(decoder.sample_rate()).expect("resampler");
    let mut out = Vec::new();
    while let Some(chunk) = decoder.next_chunk().expect("decode") {
        out.extend(
            segmenter
                .push(&resampler.push(&chunk).expect("resample"))
                .expect("vad"),
        );
    }
    out.extend(
        segmenter
            .push(&resampler.finish().expect("resample"))
            .expect("vad"),
    );
    out.extend(segmenter.finish().expect("vad"));
    out.into_iter().map(|s| s.samples).collect()
}

fn moonshine() -> SpeechModel {
    let m = Moonshine::load(&Moonshine::default_dir(), 2)
        .expect("Moonshine model (run bash scripts/setup.sh)");
    assert!(
        m.supports_batching(),
        "model folder of the old format: run bash scripts/setup.sh"
    );
    SpeechModel::Moonshine(m)
}

fn whisper() -> SpeechModel {
    SpeechModel::Whisper(
        Whisper::load(&Whisper::default_dir(), 2)
            .expect("Whisper model (run bash scripts/setup.sh)"),
    )
}

#[test]
fn moonshine_batched_decoder_gives_the_tokens_of_one_at_a_time_decoding() {
    batched_decoder_gives_the_tokens_of_one_at_a_time_decoding(moonshine());
}

#[test]
fn whisper_batched_decoder_gives_the_tokens_of_one_at_a_time_decoding() {
    // With timestamps, as the transcriber reads Whisper's windows.
    let mut m = whisper();
    m.set_timestamps(true);
    batched_decoder_gives_the_tokens_of_one_at_a_time_decoding(m);
}

fn batched_decoder_gives_the_tokens_of_one_at_a_time_decoding(mut m: SpeechModel) {
    let files = [
        "real/jfk.flac",
        "interviews/swe-02.mp4",
        "interviews/support-02/q2.webm",
    ];
    let mut all: Vec<(String, Vec<f32>)> = Vec::new();
    for f in files {
        let segs = segments(&dataset(f));
        assert!(!segs.is_empty(), "{f}: no voice found");
        all.extend(
            segs.into_iter()
                .enumerate()
                .map(|(i, s)| (format!("{f}#{i}"), s)),
        );
    }
    let alone: Vec<_> = all
        .iter()
        .map(|(_, s)| m.transcribe(s).expect("decode alone"))
        .collect();
    let encoded: Vec<_> = all
        .iter()
        .map(|(_, s)| m.encode(s).expect("encode"))
        .collect();

    let shortest = encoded.iter().map(|e| e.frames()).min().unwrap_or(1);
    // Everything in one call; then groups of 3 (rows end at different steps).
    for limits in [
        BatchLimits {
            max_segments: 64,
            max_frames: usize::MAX,
        },
        BatchLimits {
            max_segments: 3,
            // Moonshine rows of up to ~14 s; Whisper's are all 30 s windows.
            max_frames: 3 * shortest.max(600),
        },
    ] {
        m.set_batch_limits(limits);
        let batched = m.decode_batch(&encoded).expect("decode batched");
        assert_eq!(batched.len(), alone.len());
        for ((name, _), (a, b)) in all.iter().zip(alone.iter().zip(&batched)) {
            assert!(!a.tokens.is_empty(), "{name}: no tokens");
            assert_eq!(
                a.tokens, b.tokens,
                "{name} with {limits:?}: {:?} vs {:?}",
                a.text, b.text
            );
            assert_eq!(a.text, b.text);
            assert_eq!(a.pieces, b.pieces, "{name}");
            assert!(
                (a.confidence - b.confidence).abs() < 1e-4,
                "{name}: {} vs {}",
                a.confidence,
                b.confidence
            );
        }
    }
    let jfk: String = alone
        .iter()
        .zip(&all)
        .filter(|(_, (n, _))| n.starts_with("real/"))
        .map(|(d, _)| d.text.as_str())
        .collect();
    assert!(jfk.to_lowercase().contains("my fellow americans"), "{jfk}");
}

#[test]
fn batching_across_recordings_keeps_each_transcript() {
    let files = [
        dataset("interviews/data-02/q1.mp4"),
        dataset("real/jfk.flac"),
        dataset("interviews/support-02/q1.webm"),
    ];
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut one_by_one = Transcriber::load(&TranscriberOptions {
        threads: 2,
        batch: BatchLimits {
            max_segments: 1,
            ..BatchLimits::default()
        },
        ..TranscriberOptions::default()
    })
    .expect("models");
    let expected: Vec<_> = paths
        .iter()
        .map(|p| one_by_one.transcribe_file(p).expect("transcribe"))
        .collect();
    let mut batched = Transcriber::load(&TranscriberOptions {
        threads: 2,
        ..TranscriberOptions::default()
    })
    .expect("models");
    let got = batched.transcribe_files(&paths);
    assert_eq!(got.len(), expected.len());
    for ((path, e), g) in paths.iter().zip(&expected).zip(got) {
        same_transcript(e, &g.expect("transcribe"), path);
    }
    // A bad file among good ones fails alone.
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, "not a video").expect("write");
    let mixed = batched.transcribe_files(&[paths[0], junk.as_path(), paths[1]]);
    assert!(mixed[1].is_err());
    same_transcript(&expected[0], mixed[0].as_ref().expect("first"), paths[0]);
    same_transcript(&expected[1], mixed[2].as_ref().expect("third"), paths[1]);
}

/// Same text and segments; confidences equal but for float rounding (a
/// row's logits may differ in the last bits with the batch around it).
fn same_transcript(
    expected: &panelflow_models::speech::Transcript,
    got: &panelflow_models::speech::Transcript,
    path: &Path,
) {
    assert_eq!(expected.text, got.text, "{}", path.display());
    assert_eq!(expected.duration_s, got.duration_s);
    assert_eq!(expected.segments.len(), got.segments.len());
    for (e, g) in expected.segments.iter().zip(&got.segments) {
        assert_eq!(
            (e.start, e.end, &e.text),
            (g.start, g.end, &g.text),
            "{}",
            path.display()
        );
        assert!(
            (e.confidence - g.confidence).abs() < 1e-4,
            "{}: {} vs {}",
            path.display(),
            e.confidence,
            g.confidence
        );
    }
}
