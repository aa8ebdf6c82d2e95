//! `panelflow transcribe` on real audio with the real models (openai/whisper's
//! own test on the JFK clip, with Moonshine base, the default, and Whisper
//! base), and its failures on bad files and an unknown model.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_panelflow"))
}

fn dataset(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(p)
}

#[test]
fn jfk_transcript_matches_whisper_test() {
    jfk_transcript(&[], "moonshine-base-en");
}

#[test]
fn jfk_transcript_matches_whisper_test_with_whisper_base() {
    // Read as one window with timestamps, the clip's second sentence keeps
    // its first words (cut into voice segments, Whisper heard "is not").
    let v = jfk_transcript(&["--model", "whisper-base"], "whisper-base");
    // Words only: the punctuation varies with the threads' float sums.
    let text: String = v["text"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("ask not what your country"), "{text}");
    assert!(v["segments"].as_array().unwrap().len() >= 2, "{v}");
}

/// Whisper reads an interview's voice segments in windows and times each
/// piece by its timestamps: every answer of a one-recording interview
/// starts within half a second of a transcript segment's start, and no
/// segment spans the silence between two answers.
#[test]
fn whisper_windows_keep_each_answer_s_own_times() {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dataset("manifest.json")).unwrap()).unwrap();
    let interview = manifest["interviews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["interview_id"] == "swe-01")
        .expect("swe-01 in the manifest");
    let out = crate::support::succeeded(
        bin()
            .args(["transcribe", "--model", "whisper-base", "--json"])
            .arg(dataset("interviews/swe-01.mp4"))
            .output()
            .unwrap(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let spans = |items: &serde_json::Value, start: &str, end: &str| -> Vec<(f64, f64)> {
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x[start].as_f64().unwrap(), x[end].as_f64().unwrap()))
            .collect()
    };
    let segments = spans(&v["segments"], "start", "end");
    let answers = spans(&interview["answers"], "start_s", "end_s");
    assert!(answers.len() >= 3);
    for (start, _) in &answers {
        assert!(
            segments.iter().any(|(a, _)| (a - start).abs() <= 0.5),
            "no segment starts near the answer at {start} s: {segments:?}"
        );
    }
    for pair in answers.windows(2) {
        let (gap_from, gap_to) = (pair[0].1, pair[1].0);
        assert!(
            !segments
                .iter()
                .any(|(a, b)| *a < gap_from - 0.5 && *b > gap_to + 0.5),
            "a segment spans the pause {gap_from}..{gap_to}: {segments:?}"
        );
    }
}

#[test]
fn an_unknown_model_fails_naming_the_known_ones() {
    let out = bin()
        .args(["transcribe", "--model", "whisper-large"])
        .arg(dataset("real/jfk.flac"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("whisper-large") && err.contains("moonshine-base-en, whisper-base"),
        "{err}"
    );
}

fn jfk_transcript(args: &[&str], model: &str) -> serde_json::Value {
    let out = crate::support::succeeded(
        bin()
            .arg("transcribe")
            .args(args)
            .arg("--json")
            .arg(dataset("real/jfk.flac"))
            .output()
            .unwrap(),
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    let text = v["text"].as_str().unwrap().to_lowercase();
    for phrase in ["my fellow americans", "your country", "do for you"] {
        assert!(text.contains(phrase), "missing {phrase:?} in {text:?}");
    }
    let duration = v["duration_s"].as_f64().unwrap();
    assert!((10.9..11.1).contains(&duration), "{duration}");
    assert_eq!(v["language"], "en");
    assert!(
        v["model"].as_str().unwrap().starts_with(model),
        "{}",
        v["model"]
    );
    let segments = v["segments"].as_array().unwrap();
    let holding = segments
        .iter()
        .find(|s| {
            s["text"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("americans")
        })
        .expect("a segment holds 'Americans'");
    let (start, end) = (
        holding["start"].as_f64().unwrap(),
        holding["end"].as_f64().unwrap(),
    );
    assert!(
        start <= 1.8 && end >= 1.8,
        "segment {start}..{end} does not span 1.8 s"
    );
    // Segments are ordered and inside the recording.
    let mut last = 0.0;
    for s in segments {
        let (a, b) = (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap());
        assert!(
            a >= last - 1e-9 && b > a && b <= duration + 1e-6,
            "{a}..{b}"
        );
        last = b;
    }
    v
}

#[test]
fn several_files_share_one_model_and_print_one_line_each() {
    let jfk = dataset("real/jfk.flac");
    let out = bin()
        .args(["transcribe", "--json"])
        .arg(&jfk)
        .arg(&jfk)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    // The same file gives the same transcript: words and times exactly.
    // Confidences may differ in the seventh decimal: the two copies' segments
    // can share decoder batches padded differently, which changes the order
    // of floating-point sums (seen once in the full suite: 0.9004855 vs 0.9004852).
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(lines[0]).unwrap(),
        serde_json::from_str(lines[1]).unwrap(),
    );
    assert_eq!(
        a["text"], b["text"],
        "the same file gives the same transcript"
    );
    let (sa, sb) = (
        a["segments"].as_array().unwrap(),
        b["segments"].as_array().unwrap(),
    );
    assert_eq!(sa.len(), sb.len());
    for (x, y) in sa.iter().zip(sb) {
        assert_eq!(
            (&x["start"], &x["end"], &x["text"]),
            (&y["start"], &y["end"], &y["text"])
        );
        let (cx, cy) = (
            x["confidence"].as_f64().unwrap(),
            y["confidence"].as_f64().unwrap(),
        );
        assert!((cx - cy).abs() < 1e-4, "confidence {cx} vs {cy}");
    }
}

#[test]
fn non_audio_and_truncated_files_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is not a video").unwrap();
    let bytes = std::fs::read(dataset("real/jfk.flac")).unwrap();
    let cut = dir.path().join("cut.flac");
    std::fs::write(&cut, &bytes[..bytes.len() / 4]).unwrap();
    for (file, expect) in [(&text, "not audio"), (&cut, "truncated")] {
        let out = bin().arg("transcribe").arg(file).output().unwrap();
        assert!(!out.status.success(), "{} should fail", file.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let reason: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(&*file.display().to_string()))
            .collect();
        assert_eq!(reason.len(), 1, "one line for {}: {stderr}", file.display());
        assert!(
            reason[0].contains(expect),
            "{expect:?} not in {:?}",
            reason[0]
        );
    }
}

/// Word error rate over the dataset's recordings (each file of each
/// interview), with one loaded model. Prints the figure; fails if quality
/// drops below what the current model and decoder reach.
#[test]
fn dataset_word_error_rate_stays_low() {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dataset("manifest.json")).unwrap()).unwrap();
    let mut files = Vec::new();
    let mut references = Vec::new();
    for it in manifest["interviews"].as_array().unwrap() {
        for answer in it["answers"].as_array().unwrap() {
            let path = answer["media_path"].as_str().unwrap();
            let mut text = answer["reference_text"].as_str().unwrap().to_string();
            // A question read out in the recording (an `interviewer`) was said too.
            if answer.get("question_start_s").is_some() {
                let q = it["questions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|q| q["id"] == answer["question_id"])
                    .unwrap();
                text = format!("{} {text}", q["text"].as_str().unwrap());
            }
            let text = text.as_str();
            match files.iter().position(|f| f == path) {
                Some(i) => {
                    let r: &mut String = &mut references[i];
                    r.push(' ');
                    r.push_str(text);
                }
                None => {
                    files.push(path.to_string());
                    references.push(text.to_string());
                }
            }
        }
    }
    let out = crate::support::succeeded(
        bin()
            .arg("transcribe")
            .arg("--json")
            .args(files.iter().map(|f| dataset(f)))
            .output()
            .unwrap(),
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len());
    let (mut errors, mut words) = (0usize, 0usize);
    for ((line, reference), file) in lines.iter().zip(&references).zip(&files) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let r = panelflow_models::analysis::wer::normalize(reference);
        let h = panelflow_models::analysis::wer::normalize(v["text"].as_str().unwrap());
        let e = panelflow_models::analysis::wer::word_errors(&r, &h);
        println!("{file}: WER {:.3}", e as f64 / r.len() as f64);
        errors += e;
        words += r.len();
    }
    let wer = errors as f64 / words as f64;
    println!(
        "dataset WER {wer:.4} over {words} words in {} files",
        files.len()
    );
    assert!(wer < 0.15, "dataset WER {wer:.3}");
}

/// Workers share a recording's voice segments: one file on two workers is
/// decoded by both, and gives the transcript one worker gives (same
/// segments, same text); a bad file beside it fails alone.
#[test]
fn two_workers_share_one_recording_and_agree_with_one() {
    use panelflow_models::speech::moonshine::BatchLimits;
    use panelflow_models::speech::parallel::transcribe_files;
    use panelflow_models::speech::transcriber::TranscriberOptions;
    let junk = tempfile::Builder::new().suffix(".wav").tempfile().unwrap();
    std::fs::write(junk.path(), b"RIFF-not-really").unwrap();
    let opts = TranscriberOptions {
        // Small batches: the reader fills the pool past its high-water mark
        // and the other worker has batches to take while it reads.
        batch: BatchLimits {
            max_segments: 2,
            ..BatchLimits::default()
        },
        ..TranscriberOptions::default()
    };
    let one_file = vec![dataset("interviews/swe-01.mp4")];
    let alone = transcribe_files(&opts, &one_file, 1).unwrap();
    let shared = transcribe_files(&opts, &one_file, 2).unwrap();
    let (a, b) = (
        alone.results[0].as_ref().unwrap(),
        shared.results[0].as_ref().unwrap(),
    );
    assert!(a.segments.len() >= 5, "{} segments", a.segments.len());
    assert_eq!(a.text, b.text);
    let times = |t: &panelflow_models::speech::Transcript| {
        t.segments
            .iter()
            .map(|s| (s.start, s.end))
            .collect::<Vec<_>>()
    };
    assert_eq!(times(a), times(b));
    assert_eq!(shared.decoded_by_worker.len(), 2);
    assert!(
        shared.decoded_by_worker.iter().all(|n| *n > 0),
        "both workers decode the one recording: {:?}",
        shared.decoded_by_worker
    );
    assert_eq!(
        shared.decoded_by_worker.iter().sum::<usize>(),
        alone.decoded_by_worker.iter().sum::<usize>()
    );

    let mixed = vec![
        dataset("interviews/sales-01.webm"),
        junk.path().to_path_buf(),
        dataset("real/jfk.flac"),
    ];
    let run = transcribe_files(&opts, &mixed, 2).unwrap();
    assert!(run.results[0].as_ref().unwrap().text.len() > 100);
    assert!(run.results[1].is_err(), "{:?}", run.results[1]);
    assert!(run.results[2]
        .as_ref()
        .unwrap()
        .text
        .to_lowercase()
        .contains("fellow americans"));
}
