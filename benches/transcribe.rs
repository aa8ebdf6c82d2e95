//! Transcription speed on the JFK clip: one whole `transcribe_file` call
//! (decode → resample → voice activity → Moonshine) per iteration.
//! Throughput is reported in audio bytes; the real-time factor is printed by
//! `benches/asr_speed.sh` from `panelflow transcribe` runs.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use panelflow::speech::transcriber::{Transcriber, TranscriberOptions};

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

criterion_group!(benches, jfk);
criterion_main!(benches);
