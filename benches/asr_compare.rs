//! panelflow's transcription against faster-whisper, on the same files and
//! cores. Two modes:
//!
//! - `cargo bench --bench asr_compare` (criterion): panelflow's batched
//!   decoding against one-segment-at-a-time decoding, in process, on three
//!   dataset recordings (throughput in milliseconds of audio).
//! - `ASR_COMPARE=1 cargo bench --bench asr_compare` — what
//!   `bash benches/asr_compare.sh` runs after installing faster-whisper and
//!   making the 30-minute file: the side-by-side report. Each system runs as
//!   its own process under GNU time, alternately, for `ASR_COMPARE_ROUNDS`
//!   rounds, on the dataset's recordings (plus the JFK clip) and on the long
//!   interview; printed per run: audio seconds per wall second, audio
//!   seconds per CPU second (per-core throughput), peak memory and word
//!   error rate (panelflow's normaliser for both, numbers spelled out), then
//!   medians and the ratio to faster-whisper.
//!
//! Environment of the report (set by the script):
//! `ASR_COMPARE_FW` (the faster-whisper runner command), `ASR_COMPARE_FW_MODEL`,
//! `ASR_COMPARE_LONG` / `ASR_COMPARE_LONG_REF` (the long WAV and its
//! reference), `ASR_COMPARE_ROUNDS` (default 2) and `ASR_COMPARE_LONG_ROUNDS`
//! (default 1: 30 minutes at 4x real time is 7 minutes a run), `ASR_COMPARE_WORKERS`
//! (default "1 2"), `ASR_COMPARE_PANELFLOW` (binary; default the one cargo
//! built), `ASR_COMPARE_BEFORE` / `ASR_COMPARE_BEFORE_HOME` (an older
//! panelflow binary and its cache folder, to measure "before" in the same
//! run), `ASR_COMPARE_ONLY` (`dataset` or `long`).
//!
//! Figures on the 2-core machine, 26 Nov 2026 (`bash benches/asr_compare.sh`,
//! load average 1.4–1.9 throughout; medians of the rounds):
//!
//! | workload | faster-whisper | panelflow 1 worker × 2 threads | panelflow 2 workers × 1 thread |
//! | --- | --- | --- | --- |
//! | dataset (16 files, 451 s) | 12.29× real time, WER 20.51 % | 29.15× (2.37×), WER 20.13 % | 41.42× (**3.37×**), WER 20.13 % |
//! | 31-minute interview | 14.54×, WER 11.88 % | 35.47× (2.44×), WER 11.92 % | 54.41× (**3.74×**), WER 11.92 % |
//!
//! Before the workers shared a recording's voice segments, a long recording
//! ran on one worker: the 1 worker × 2 threads row is that figure (a quieter
//! run of it gave 43.01× against faster-whisper's 13.45×, 3.20×).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use criterion::{criterion_group, Criterion, Throughput};
use panelflow_models::analysis::wer::{normalize, word_errors};
use panelflow_models::speech::moonshine::BatchLimits;
use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------- criterion

fn batched_vs_one_at_a_time(c: &mut Criterion) {
    let files: Vec<PathBuf> = [
        "real/jfk.flac",
        "interviews/swe-02.mp4",
        "interviews/data-02/q2.mp4",
    ]
    .iter()
    .map(|f| root().join("datasets").join(f))
    .collect();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut group = c.benchmark_group("asr_compare");
    group.sample_size(10);
    for (name, segments) in [("panelflow_batched", 16), ("panelflow_one_at_a_time", 1)] {
        let opts = TranscriberOptions {
            threads: 2,
            batch: BatchLimits {
                max_segments: segments,
                ..BatchLimits::default()
            },
            ..TranscriberOptions::default()
        };
        let mut t = match Transcriber::load(&opts) {
            Ok(t) => t,
            Err(e) => panic!("models missing ({e}); run bash scripts/setup.sh"),
        };
        let audio_ms: f64 = t
            .transcribe_files(&paths)
            .into_iter()
            .map(|r| r.map(|t| t.duration_s).unwrap_or(0.0))
            .sum::<f64>()
            * 1000.0;
        group.throughput(Throughput::Elements(audio_ms as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for r in t.transcribe_files(&paths) {
                    assert!(!r.expect("transcribe").text.is_empty());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, batched_vs_one_at_a_time);

fn main() {
    if std::env::var_os("ASR_COMPARE").is_some() {
        if let Err(e) = compare() {
            eprintln!("asr_compare: {e}");
            std::process::exit(1);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

// ---------------------------------------------------------------- the report

/// A set of files with their references.
struct Workload {
    name: String,
    files: Vec<PathBuf>,
    references: Vec<String>,
    audio_s: f64,
}

/// One system as a command line (files are appended).
struct System {
    name: String,
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// What one run measured.
struct Measured {
    wall_s: f64,
    cpu_s: f64,
    peak_mb: f64,
    wer: f64,
}

type BoxError = Box<dyn std::error::Error>;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn dataset_workload() -> Result<Workload, BoxError> {
    let datasets = root().join("datasets");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(datasets.join("manifest.json"))?)?;
    let (mut files, mut references, mut audio_s) = (Vec::new(), Vec::new(), 0.0);
    for it in manifest["interviews"]
        .as_array()
        .ok_or("manifest: no interviews")?
    {
        for media in it["media"].as_array().ok_or("manifest: no media")? {
            let path = media["path"]
                .as_str()
                .ok_or("manifest: media without path")?;
            let reference: Vec<&str> = it["answers"]
                .as_array()
                .ok_or("manifest: no answers")?
                .iter()
                .filter(|a| a["media_path"].as_str() == Some(path))
                .filter_map(|a| a["reference_text"].as_str())
                .collect();
            files.push(datasets.join(path));
            references.push(reference.join(" "));
            audio_s += media["duration_s"].as_f64().unwrap_or(0.0);
        }
    }
    for clip in manifest["clips"].as_array().ok_or("manifest: no clips")? {
        for media in clip["media"]
            .as_array()
            .ok_or("manifest: clip without media")?
        {
            let path = media["path"]
                .as_str()
                .ok_or("manifest: media without path")?;
            files.push(datasets.join(path));
            references.push(
                clip["reference_transcript"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
            audio_s += media["duration_s"].as_f64().unwrap_or(0.0);
        }
    }
    Ok(Workload {
        name: "dataset".into(),
        files,
        references,
        audio_s,
    })
}

/// Seconds of a 16-bit PCM WAV, from its header.
fn wav_seconds(path: &Path) -> Result<f64, BoxError> {
    let bytes = std::fs::read(path)?;
    let (mut pos, mut rate, mut block) = (12usize, 0u32, 0u16);
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        if id == b"fmt " && pos + 24 <= bytes.len() {
            rate = u32::from_le_bytes([
                bytes[pos + 12],
                bytes[pos + 13],
                bytes[pos + 14],
                bytes[pos + 15],
            ]);
            block = u16::from_le_bytes([bytes[pos + 20], bytes[pos + 21]]);
        }
        if id == b"data" && rate > 0 && block > 0 {
            return Ok(size.min(bytes.len() - pos - 8) as f64 / block as f64 / rate as f64);
        }
        pos += 8 + size + (size & 1);
    }
    Err(format!("{}: not a PCM WAV", path.display()).into())
}

fn long_workload() -> Result<Option<Workload>, BoxError> {
    let (Ok(wav), Ok(reference)) = (
        std::env::var("ASR_COMPARE_LONG"),
        std::env::var("ASR_COMPARE_LONG_REF"),
    ) else {
        return Ok(None);
    };
    let wav = PathBuf::from(wav);
    let text = std::fs::read_to_string(&reference)?;
    let audio_s = wav_seconds(&wav)?;
    let name = format!("long ({:.0} min)", audio_s / 60.0);
    Ok(Some(Workload {
        name,
        files: vec![wav],
        references: vec![text.lines().collect::<Vec<_>>().join(" ")],
        audio_s,
    }))
}

fn systems() -> Vec<System> {
    let mut out = Vec::new();
    if let Ok(fw) = std::env::var("ASR_COMPARE_FW") {
        let mut parts = fw.split_whitespace().map(str::to_string);
        if let Some(program) = parts.next() {
            let mut args: Vec<String> = parts.collect();
            args.extend([env_or("ASR_COMPARE_FW_MODEL", ""), "2".into()]);
            out.push(System {
                name: "faster-whisper base int8 beam1 2thr".into(),
                program,
                args,
                env: Vec::new(),
            });
        }
    }
    if let (Ok(bin), Ok(home)) = (
        std::env::var("ASR_COMPARE_BEFORE"),
        std::env::var("ASR_COMPARE_BEFORE_HOME"),
    ) {
        out.push(System {
            name: "panelflow before (1 worker x 2thr)".into(),
            program: bin,
            args: vec![
                "transcribe".into(),
                "--json".into(),
                "--threads".into(),
                "2".into(),
            ],
            env: vec![("PANELFLOW_HOME".into(), home)],
        });
    }
    let bin = env_or("ASR_COMPARE_PANELFLOW", env!("CARGO_BIN_EXE_panelflow"));
    for workers in env_or("ASR_COMPARE_WORKERS", "1 2")
        .split_whitespace()
        .filter_map(|w| w.parse::<usize>().ok())
    {
        let threads = (2 / workers).max(1);
        out.push(System {
            name: format!(
                "panelflow ({workers} worker{} x {threads}thr)",
                if workers > 1 { "s" } else { "" }
            ),
            program: bin.clone(),
            args: vec![
                "transcribe".into(),
                "--json".into(),
                "--threads".into(),
                threads.to_string(),
                "--workers".into(),
                workers.to_string(),
            ],
            env: Vec::new(),
        });
    }
    out
}

/// Runs one system on one workload under GNU time.
fn run(system: &System, workload: &Workload) -> Result<Measured, BoxError> {
    let timing = tempfile::NamedTempFile::new()?;
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(timing.path())
        .arg(&system.program)
        .args(&system.args);
    cmd.args(&workload.files);
    for (k, v) in &system.env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output()?;
    let wall_outer = started.elapsed().as_secs_f64();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(format!("{} failed: {}", system.name, tail.join(" | ")).into());
    }
    let texts: Vec<String> = String::from_utf8(out.stdout)?
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .map(|v| v["text"].as_str().unwrap_or("").to_string())
        })
        .collect::<Result<_, _>>()?;
    if texts.len() != workload.files.len() {
        return Err(format!(
            "{}: {} transcripts for {} files",
            system.name,
            texts.len(),
            workload.files.len()
        )
        .into());
    }
    let (mut errors, mut words) = (0usize, 0usize);
    for (reference, hypothesis) in workload.references.iter().zip(&texts) {
        let r = normalize(reference);
        errors += word_errors(&r, &normalize(hypothesis));
        words += r.len();
    }
    let timing = std::fs::read_to_string(timing.path())?;
    let fields: Vec<f64> = timing
        .split_whitespace()
        .rev()
        .take(4)
        .filter_map(|x| x.parse().ok())
        .collect();
    let [peak_kb, sys, user, wall] = fields[..] else {
        return Err(format!("cannot read GNU time's output {timing:?}").into());
    };
    let wall = if wall > 0.0 { wall } else { wall_outer };
    Ok(Measured {
        wall_s: wall,
        cpu_s: user + sys,
        peak_mb: peak_kb / 1024.0,
        wer: errors as f64 / words.max(1) as f64,
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn compare() -> Result<(), BoxError> {
    let rounds: usize = env_or("ASR_COMPARE_ROUNDS", "2").parse()?;
    let long_rounds: usize = env_or("ASR_COMPARE_LONG_ROUNDS", "1").parse()?;
    let only = std::env::var("ASR_COMPARE_ONLY").ok();
    let mut workloads = vec![dataset_workload()?];
    if let Some(long) = long_workload()? {
        workloads.push(long);
    }
    workloads.retain(|w| only.as_deref().is_none_or(|o| w.name.starts_with(o)));
    let systems = systems();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!(
        "asr_compare: {cpus} CPUs, {rounds} rounds on the dataset and {long_rounds} on the long file; systems alternate within \
         each round (order reversed every other round)"
    );
    println!("speed = audio s / wall s (whole process, model load included); per-core = audio s / CPU s (user+sys)");
    for workload in &workloads {
        println!();
        println!(
            "== {}: {} files, {:.1} s of audio; load average at start {}",
            workload.name,
            workload.files.len(),
            workload.audio_s,
            load_average()
        );
        println!(
            "{:<40} {:>5} {:>8} {:>8} {:>9} {:>8} {:>7}  load",
            "system", "round", "wall_s", "speed", "per-core", "peak_MB", "WER"
        );
        // Every system on every workload: panelflow's workers share a long
        // recording's voice segments, so several workers help one file too.
        let active: Vec<&System> = systems.iter().collect();
        let mut results: Vec<Vec<Measured>> = active.iter().map(|_| Vec::new()).collect();
        let rounds = if workload.name.starts_with("long") {
            long_rounds
        } else {
            rounds
        };
        for round in 0..rounds {
            let order: Vec<usize> = if round % 2 == 0 {
                (0..active.len()).collect()
            } else {
                (0..active.len()).rev().collect()
            };
            for i in order {
                let system = active[i];
                match run(system, workload) {
                    Ok(m) => {
                        println!(
                            "{:<40} {:>5} {:>8.1} {:>7.2}x {:>8.2}x {:>8.0} {:>6.2}%  {}",
                            system.name,
                            round + 1,
                            m.wall_s,
                            workload.audio_s / m.wall_s,
                            workload.audio_s / m.cpu_s.max(1e-9),
                            m.peak_mb,
                            m.wer * 100.0,
                            load_average()
                        );
                        results[i].push(m);
                    }
                    Err(e) => println!("{:<40} {:>5} failed: {e}", system.name, round + 1),
                }
            }
        }
        println!("-- medians over rounds ({})", workload.name);
        let reference = active
            .iter()
            .position(|s| s.name.starts_with("faster-whisper"))
            .map(|i| {
                median(
                    results[i]
                        .iter()
                        .map(|m| workload.audio_s / m.wall_s)
                        .collect(),
                )
            });
        for (system, measured) in active.iter().zip(&results) {
            if measured.is_empty() {
                continue;
            }
            let speed = median(
                measured
                    .iter()
                    .map(|m| workload.audio_s / m.wall_s)
                    .collect(),
            );
            let per_core = median(
                measured
                    .iter()
                    .map(|m| workload.audio_s / m.cpu_s.max(1e-9))
                    .collect(),
            );
            let peak = median(measured.iter().map(|m| m.peak_mb).collect());
            let wer = median(measured.iter().map(|m| m.wer).collect());
            let ratio = reference
                .map(|r| format!("{:.2}x faster-whisper", speed / r))
                .unwrap_or_default();
            println!(
                "{:<40} speed {:>6.2}x  per-core {:>6.2}x  peak {:>5.0} MB  WER {:>5.2}%  {}",
                system.name,
                speed,
                per_core,
                peak,
                wer * 100.0,
                ratio
            );
        }
    }
    Ok(())
}
