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
//! Figures on the 2-core machine (40 000 candidates: 488 510 timed score
//! updates), this engine and the previous one (differential `reduce`s)
//! back to back, 26 Nov 2026 (criterion medians; load average 0.5–1.8,
//! another engineer's compile ending):
//!
//! | run | before | after |
//! | --- | --- | --- |
//! | `throughput/in_memory` | 0.42 M/s | **1.16 M/s** |
//! | `throughput/parquet` | 0.20 M/s | 0.32 M/s |
//! | latency at 100k/s offered, p50 / p99 | 164 / 280 ms | 78 / 171 ms |
//! | latency at 500k/s offered, p50 / p99 | 236 / 378 ms | 156 / 303 ms |
//!
//! Under load 2.1–2.5 (one core taken by other builds) the in-memory run
//! gave 0.39 → 1.03 M/s; a later re-run of the same binary (load 1.4–1.5)
//! gave a criterion median of 0.77 M/s and plain runs of 0.81–0.93 M/s:
//! the host's speed varies, the before/after ratio is the figure to trust. What bounds it (per-operator times with
//! `PANELFLOW_BENCH_PROFILE=1`): both workers are busy ~85–90 % of the run
//! in the operators themselves — the panel fold (a hash look-up per AI
//! score among ~400 000 panels, ~90–110 ms of a ~450 ms run per worker),
//! splitting score messages into rows and moving them to the three score
//! operators (~80–100 ms), the bias audit (~85–110 ms, nearly all on one
//! worker: the `overall`, job-family and model-version scopes are a handful
//! of keys that take 3/4 of the fact updates), candidate facts (~55 ms),
//! partitions (~30 ms); the sinks (~80 ms) sit on the other worker. Past
//! this, the heavy bias scopes would need a two-stage audit (partial
//! histograms per worker, merged) and the rows narrower moves. With
//! Parquet the input tables dominate: every score row is re-encoded as
//! twelve Arrow/Parquet columns, strings included. Latency: each completed
//! time's change-log and input files are fsynced one after the other (file
//! and folder) by the sink operators — about a dozen fsyncs per round.
//!
//! `cargo bench --bench aggregates`; `PANELFLOW_BENCH_CANDIDATES` sizes the load,
//! `PANELFLOW_BENCH_QUICK=1` runs only the plain in-memory figure (three
//! times) and `PANELFLOW_BENCH_PROFILE=1` adds each operator's scheduled
//! time per worker (from timely's log) to it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use differential_dataflow::input::Input;
use panelflow::aggregates::harness::{build, SinkOptions};
use panelflow::aggregates::records::{decode_json, InputRecord};
use panelflow::aggregates::AggregateConfig;
use panelflow_connectors::parquet::aggregates::Layout;
use panelflow_devkit::simulate::{generate, SimConfig};

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
        .filter_map(|m| decode_json(m.topic(), &m.to_json()).ok())
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
        let profile = std::env::var_os("PANELFLOW_BENCH_PROFILE").map(|_| profiler(worker));
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
        if let Some(p) = &profile {
            p.borrow_mut().1.clear();
        }
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
        if let Some(p) = &profile {
            report_profile(index, start.elapsed(), &p.borrow());
        }
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

/// Operator names and, per operator, time scheduled and the last start.
type Profile = (
    std::collections::HashMap<usize, String>,
    std::collections::HashMap<usize, (Duration, Duration)>,
);

/// With `PANELFLOW_BENCH_PROFILE` set: sums each operator's scheduled time
/// from timely's log, to see where a run's time goes.
fn profiler(worker: &mut timely::worker::Worker) -> std::rc::Rc<std::cell::RefCell<Profile>> {
    use timely::logging::{StartStop, TimelyEvent, TimelyEventBuilder};
    let profile = std::rc::Rc::new(std::cell::RefCell::new(Profile::default()));
    let p = profile.clone();
    if let Some(mut registry) = worker.log_register() {
        registry.insert::<TimelyEventBuilder, _>("timely", move |_, data| {
            let Some(data) = data else { return };
            let mut p = p.borrow_mut();
            for (ts, event) in data.iter() {
                match event {
                    TimelyEvent::Operates(o) => {
                        p.0.insert(o.id, o.name.clone());
                    }
                    TimelyEvent::Schedule(s) => {
                        let e = p.1.entry(s.id).or_default();
                        match s.start_stop {
                            StartStop::Start => e.1 = *ts,
                            StartStop::Stop => e.0 += ts.saturating_sub(e.1),
                        }
                    }
                    _ => {}
                }
            }
        });
    }
    profile
}

fn report_profile(worker: usize, wall: Duration, p: &Profile) {
    let mut by_name: std::collections::BTreeMap<&str, Duration> = Default::default();
    for (id, (total, _)) in &p.1 {
        let name = p.0.get(id).map_or("?", |s| s.as_str());
        *by_name.entry(name).or_default() += *total;
    }
    let mut rows: Vec<_> = by_name.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let top: Vec<String> = rows
        .iter()
        .filter(|(name, _)| !name.starts_with("Dataflow"))
        .take(12)
        .map(|(n, d)| format!("{n} {:.0} ms", d.as_secs_f64() * 1e3))
        .collect();
    eprintln!(
        "profile worker {worker}: wall {:.0} ms; {}",
        wall.as_secs_f64() * 1e3,
        top.join(", ")
    );
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
    if std::env::var_os("PANELFLOW_BENCH_QUICK").is_some() {
        // Just the plain in-memory figure (with PANELFLOW_BENCH_PROFILE: where its time goes).
        for _ in 0..3 {
            let (elapsed, scores, _) =
                drive(&load, 50_000, SinkOptions::in_memory(), None, usize::MAX);
            eprintln!(
                "throughput (in-memory, 2 workers, rounds of 50k): {scores} score updates in {:.2} s = {:.0} updates/s",
                elapsed.as_secs_f64(),
                scores as f64 / elapsed.as_secs_f64()
            );
        }
        return;
    }
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
