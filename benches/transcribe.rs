//! Transcription speed.
//!
//! - `transcribe/jfk_11s`: one whole `transcribe_file` call (decode →
//!   resample → voice activity → Moonshine) on the JFK clip per iteration.
//! - `worker/*`: what one dataflow worker does with the dataset's interviews
//!   (context, fetch from a local media server, transcription, analysis):
//!   one interview at a time against `[speech] batch_interviews = 4`, whose
//!   voice segments share decoder batches across interviews. Throughput is
//!   in milliseconds of audio, so criterion's elements/s ÷ 1000 is the
//!   real-time factor; the two are measured in the same run (compare the
//!   ratio). The side-by-side with faster-whisper is `benches/asr_compare.sh`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use panelflow_models::speech::transcriber::{Transcriber, TranscriberOptions};

fn jfk(c: &mut Criterion) {
    let clip = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/real/jfk.flac");
    let mut transcriber = match Transcriber::load(&TranscriberOptions {
        threads: 2,
        ..Default::default()
    }) {
        Ok(t) => t,
        Err(e) => panic!("models missing ({e}); run bash scripts/setup.sh"),
    };
    let mut group = c.benchmark_group("transcribe");
    group.sample_size(10);
    // 11.0 s of audio per iteration: elements = milliseconds of audio.
    group.throughput(Throughput::Elements(11_000));
    group.bench_function("jfk_11s", |b| {
        b.iter(|| {
            let t = transcriber.transcribe_file(&clip).expect("transcribe");
            assert!(!t.text.is_empty());
        })
    });
    group.finish();
}

fn worker(c: &mut Criterion) {
    use panelflow::config::PipelineConfig;
    use panelflow::pipeline::Processor;
    use panelflow_core::event::InterviewCompleted;
    use panelflow_devkit::dataset::load_manifest;
    use panelflow_devkit::media_server::MediaServer;

    let datasets = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let media = MediaServer::start(&datasets).expect("media server");
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut cfg = PipelineConfig::default();
    cfg.media.allow_private_networks = true;
    // The model's speed is measured here; the decoder's child process is
    // measured by `tests/it/isolated_decode.rs` (decode_cost).
    cfg.media.decoder.isolated = false;
    cfg.speech.threads = 2;
    cfg.review.queue_dir = scratch.path().join("review");
    cfg.governance.audit_dir = scratch.path().join("audit");
    let events: Vec<InterviewCompleted> = load_manifest(&datasets)
        .expect("datasets/manifest.json")
        .iter()
        .map(|it| it.event(&media))
        .collect();
    let mut processor = match Processor::new(&cfg, None) {
        Ok(p) => p,
        Err(e) => panic!("models missing ({e}); run bash scripts/setup.sh"),
    };
    // Audio per pass, measured once (and a warm-up).
    let audio_ms: f64 = processor
        .process_batch(&events)
        .iter()
        .map(|p| p.interview.duration_s.unwrap_or(0.0) * 1000.0)
        .sum();
    let mut group = c.benchmark_group("worker");
    group.sample_size(10);
    group.throughput(Throughput::Elements(audio_ms as u64));
    group.bench_function("one_interview_at_a_time", |b| {
        b.iter(|| {
            for e in &events {
                let p = processor.process(e);
                assert_eq!(p.interview.outcome, "transcribed");
            }
        })
    });
    group.bench_function("batches_of_4_interviews", |b| {
        b.iter(|| {
            for chunk in events.chunks(4) {
                for p in processor.process_batch(chunk) {
                    assert_eq!(p.interview.outcome, "transcribed");
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, jfk, worker);
criterion_main!(benches);
