//! Aggregates benchmark: AI score updates per second through every
//! aggregate (bias audit, calibration, panel view, drift, questions,
//! language) with 2 timely workers, and the latency from a record's arrival
//! to its aggregate change being in the change log.
//!
//! The population is `panelflow simulate`'s funnel (scores, ratings,
//! decisions, demographics, questions, with corrections and erasures as
//! retractions), loaded first and not timed. The timed stream corrects every
//! AI score message (a retraction and the new message), so each update runs
//! through the bias audit, drift, panel view and — where panels rated the
//! candidate — reviewer calibration with the whole population in place.
//! "Score updates" counts competency scores inserted or retracted. Runs:
//! - `throughput/in_memory`: aggregates and in-memory snapshots;
//! - `throughput/parquet`: plus the Parquet change logs and input tables
//!   (not fsynced: the file system's speed is not the engine's);
//! - latency: rounds of 1 000 score updates paced at a fixed rate, Parquet
//!   change logs written once per completed time, fsynced; arrival = the
//!   round handed to the input, done = the probe after every sink passed it.
//!
//! `cargo bench --bench aggregates`; `PANELFLOW_BENCH_CANDIDATES` sizes the load.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use differential_dataflow::input::Input;
use panelflow::cli::simulate::{generate, SimConfig};
use panelflow::dataflow::aggregates::harness::{build, SinkOptions};
use panelflow::dataflow::aggregates::records::InputRecord;
use panelflow::dataflow::aggregates::AggregateConfig;
use panelflow::sinks::aggregates_parquet::Layout;

struct Load {
    /// The simulated population: every record type, loaded before timing.
    base: Arc<Vec<(InputRecord, isize)>>,
    /// The timed stream: every score message corrected (retracted and sent
    /// again with new scores), so each update reaches every score aggregate
    /// with the population's ratings, decisions and demographics in place.
    stream: Arc<Vec<(InputRecord, isize)>>,
    score_updates: u64,
}

fn load() -> Load {
    let candidates = std::env::var("PANELFLOW_BENCH_CANDIDATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40_000);
    let cfg = SimConfig {
        candidates,
        seed: 3,
        weeks: 8,
        question_share: 0.05,
        ..SimConfig::default()
    };
    let base: Vec<(InputRecord, isize)> = generate(&cfg)
        .iter()
        .filter_map(|m| m.to_record().ok())
        .collect();
    let mut stream = Vec::new();
    for (i, (record, diff)) in base.iter().enumerate() {
        if let (InputRecord::Score(s), 1) = (record, diff) {
            let mut fixed = s.clone();
            for (k, (_, centi, _)) in fixed.competencies.iter_mut().enumerate() {
                *centi = (*centi + ((i + k) % 7) as i32 * 5 - 15).clamp(100, 400);
            }
            stream.push((record.clone(), -1));
            stream.push((InputRecord::Score(fixed), 1));
        }
    }
    let score_updates = score_updates(&stream);
    Load {
        base: Arc::new(base),
        stream: Arc::new(stream),
        score_updates,
    }
}

/// Score updates in a slice of records.
fn score_updates(records: &[(InputRecord, isize)]) -> u64 {
    records
        .iter()
        .map(|(r, _)| {
            if let InputRecord::Score(s) = r {
                s.competencies.len() as u64
            } else {
                0
            }
        })
        .sum()
}

/// Runs the load through 2 workers in rounds of records holding about
/// `round_scores` score updates; with `pace`, a round starts every `pace`.
/// Returns the wall time and, with `pace`, each round's arrival → change
/// log latency.
fn drive(
    load: &Load,
    round_scores: u64,
    opts: SinkOptions,
    pace: Option<Duration>,
    max_rounds: usize,
) -> (Duration, u64, Vec<Duration>) {
    // Cut the stream into rounds by score updates.
    let mut bounds = vec![0usize];
    let mut acc = 0;
    for (i, (r, _)) in load.stream.iter().enumerate() {
        if let InputRecord::Score(s) = r {
            acc += s.competencies.len() as u64;
        }
        if acc >= round_scores {
            bounds.push(i + 1);
            acc = 0;
            if bounds.len() > max_rounds {
                break;
            }
        }
    }
    if *bounds.last().unwrap_or(&0) < load.stream.len() && bounds.len() <= max_rounds {
        bounds.push(load.stream.len());
    }
    let end = *bounds.last().unwrap_or(&0);
    let scores = score_updates(&load.stream[..end]);
    let bounds = Arc::new(bounds);
    let records = load.stream.clone();
    let base = load.base.clone();
    let elapsed = Arc::new(Mutex::new(Duration::ZERO));
    let timer = elapsed.clone();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let lat = latencies.clone();
    let cfg = AggregateConfig::default();
    let phrases = Arc::new(cfg.phrases().expect("phrase list"));
    timely::execute(timely::Config::process(2), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let (mut input, _tables, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, collection) = scope.new_collection::<InputRecord, isize>();
            let (tables, probe) = build(collection, &cfg, phrases.clone(), &opts, index);
            (input, tables, probe)
        });
        // The population first (not timed).
        for (record, diff) in base.iter().skip(index).step_by(peers) {
            input.update(record.clone(), *diff);
        }
        input.advance_to(1);
        input.flush();
        while probe.less_than(input.time()) {
            worker.step();
        }
        let mut pending: VecDeque<(u64, Instant)> = VecDeque::new();
        let mut seen = Vec::new();
        let start = Instant::now();
        for round in 0..bounds.len() - 1 {
            if let Some(p) = pace {
                let due = start + p * round as u32;
                while Instant::now() < due {
                    worker.step_or_park(Some(due.saturating_duration_since(Instant::now())));
                    drain(&mut pending, &probe, &mut seen);
                }
            }
            for (record, diff) in records[bounds[round]..bounds[round + 1]]
                .iter()
                .skip(index)
                .step_by(peers)
            {
                input.update(record.clone(), *diff);
            }
            let time = round as u64 + 2;
            input.advance_to(time);
            input.flush();
            pending.push_back((time, Instant::now()));
            // Keep at most 4 rounds in flight.
            while probe.less_than(&(time.saturating_sub(4))) {
                worker.step();
            }
            worker.step();
            drain(&mut pending, &probe, &mut seen);
        }
        drop(input);
        while !probe.done() {
            worker.step_or_park(Some(Duration::from_millis(1)));
            drain(&mut pending, &probe, &mut seen);
        }
        drain(&mut pending, &probe, &mut seen);
        if index == 0 {
            *timer.lock().unwrap_or_else(|p| p.into_inner()) = start.elapsed();
            lat.lock().unwrap_or_else(|p| p.into_inner()).extend(seen);
        }
    })
    .expect("timely")
    .join()
    .into_iter()
    .for_each(|r| r.expect("worker"));
    let elapsed = *elapsed.lock().unwrap_or_else(|p| p.into_inner());
    let l = latencies.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (elapsed, scores, l)
}

fn drain(
    pending: &mut VecDeque<(u64, Instant)>,
    probe: &timely::dataflow::operators::probe::Handle<u64>,
    seen: &mut Vec<Duration>,
) {
    while let Some((t, at)) = pending.front() {
        if probe.less_equal(t) {
            break;
        }
        seen.push(at.elapsed());
        pending.pop_front();
    }
}

fn files(dir: &std::path::Path, durable: bool, flush: Duration) -> SinkOptions {
    SinkOptions {
        layout: Some(Layout::new(dir)),
        changelog_flush: flush,
        snapshot_interval: Duration::from_secs(2),
        write_inputs: true,
        durable,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn throughput(c: &mut Criterion) {
    let load = load();
    eprintln!(
        "load: population of {} records ({} of them retractions), then {} score messages corrected = {} score updates timed",
        load.base.len(),
        load.base.iter().filter(|(_, d)| *d < 0).count(),
        load.stream.len() / 2,
        load.score_updates
    );
    let mut group = c.benchmark_group("aggregates");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(load.score_updates));
    let round = 50_000u64;
    group.bench_function(
        format!("throughput/in_memory/2_workers/round_{round}"),
        |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| drive(&load, round, SinkOptions::in_memory(), None, usize::MAX).0)
                    .sum()
            })
        },
    );
    group.bench_function(format!("throughput/parquet/2_workers/round_{round}"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let dir = tempfile::tempdir().expect("tempdir");
                    drive(
                        &load,
                        round,
                        files(dir.path(), false, Duration::from_millis(500)),
                        None,
                        usize::MAX,
                    )
                    .0
                })
                .sum()
        })
    });
    group.finish();

    // Plain figures, for the report.
    for (name, opts_of) in [("in-memory", 0), ("parquet", 1)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = if opts_of == 0 {
            SinkOptions::in_memory()
        } else {
            files(dir.path(), false, Duration::from_millis(500))
        };
        let (elapsed, scores, _) = drive(&load, 50_000, opts, None, usize::MAX);
        eprintln!(
            "throughput ({name}, 2 workers, rounds of 50k): {scores} score updates in {:.2} s = {:.0} updates/s",
            elapsed.as_secs_f64(),
            scores as f64 / elapsed.as_secs_f64()
        );
    }
    for (rate, round) in [(100_000u64, 1_000u64), (500_000, 5_000)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let pace = Duration::from_secs_f64(round as f64 / rate as f64);
        let (elapsed, scores, mut lat) = drive(
            &load,
            round,
            files(dir.path(), true, Duration::ZERO),
            Some(pace),
            400,
        );
        lat.sort();
        eprintln!(
            "latency arrival → change log (fsynced, 2 workers, {rate} updates/s offered in rounds of {round}): {} rounds, {scores} updates in {:.2} s; p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            lat.len(),
            elapsed.as_secs_f64(),
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.9).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
        );
    }
}

criterion_group!(benches, throughput);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
