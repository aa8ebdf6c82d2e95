//! The Prometheus metrics of `panelflow run` and `panelflow ingest`, in one
//! process-wide registry, and their text exposition ([`render`], served
//! at `/metrics`). Every part records into the statics below; the names
//! are the contract of the Grafana dashboard (`dashboards/panelflow.json`).
//!
//! ```
//! use panelflow_connectors::metrics;
//! metrics::EVENTS_IN.with_label_values(&["run", "interviews.completed"]).inc();
//! assert!(metrics::render().contains("panelflow_events_in_total"));
//! ```

use std::sync::LazyLock;

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// The registry every metric below is registered in.
pub static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("metric definition");
    REGISTRY
        .register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

fn gauge(name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("metric definition");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("metric registered once");
    g
}

fn gauges(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("metric definition");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("metric registered once");
    g
}

/// Events received: `component` is `ingest` (webhooks produced to Kafka)
/// or `run` (messages read by the pipeline), `topic` where they went or
/// came from.
pub static EVENTS_IN: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "panelflow_events_in_total",
        "Events received (ingest: produced to Kafka; run: read from Kafka)",
        &["component", "topic"],
    )
});

/// Messages read by the pipeline and not yet committed.
pub static IN_FLIGHT_EVENTS: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "panelflow_in_flight_events",
        "Messages read and not yet committed",
    )
});

/// Bytes of the messages read and not yet committed.
pub static IN_FLIGHT_BYTES: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "panelflow_in_flight_bytes",
        "Bytes of the messages read and not yet committed",
    )
});

/// Consumers whose partitions are paused because the in-flight bound is reached.
pub static CONSUMERS_PAUSED: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "panelflow_consumers_paused",
        "Consumers paused by the in-flight bound",
    )
});

/// Consumer lag per partition (high watermark minus committed offset), from
/// librdkafka's statistics.
pub static CONSUMER_LAG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauges(
        "panelflow_consumer_lag",
        "High watermark minus committed offset, per partition",
        &["topic", "partition"],
    )
});

/// Group rebalances seen by the pipeline's consumers, by kind (`assign`,
/// `revoke`, `error`) and max.poll.interval.ms violations (`poll_timeout`).
pub static REBALANCES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "panelflow_rebalances_total",
        "Consumer group rebalances and poll time-outs",
        &["kind"],
    )
});

/// Seconds spent in each stage of one interview (or one media item).
pub static STAGE_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    let opts = HistogramOpts::new(
        "panelflow_stage_seconds",
        "Time spent per stage: context, fetch, decode, transcribe, analyse, writeback",
    )
    .buckets(vec![
        0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
    ]);
    let h = HistogramVec::new(opts, &["stage"]).expect("metric definition");
    REGISTRY
        .register(Box::new(h.clone()))
        .expect("metric registered once");
    h
});

/// Lever API calls by method and answer (`200`, `503`, `transport`, `open`
/// for a call the circuit breaker refused).
pub static LEVER_CALLS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "panelflow_lever_calls_total",
        "Lever API calls by method and HTTP status",
        &["method", "status"],
    )
});

/// Interviews sent to a delayed retry topic, by tier (`1m`, `10m`, `1h`) and
/// the dependency that failed.
pub static RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "panelflow_retries_total",
        "Interviews sent to a retry topic, by tier and failing stage",
        &["tier", "stage"],
    )
});

/// Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open.
pub static CIRCUIT_STATE: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauges(
        "panelflow_circuit_state",
        "Circuit breaker state per dependency (0 closed, 1 half-open, 2 open)",
        &["dependency"],
    )
});

/// Dead letters written, by stage.
pub static DEAD_LETTERS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "panelflow_dead_letters_total",
        "Dead letters written, by stage",
        &["stage"],
    )
});

/// Panics caught while processing one interview, by stage.
pub static PANICS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "panelflow_panics_caught_total",
        "Panics caught while processing an interview, by stage",
        &["stage"],
    )
});

/// Interviews finished, by outcome (`transcribed`, `failed`, `retried`, `duplicate`).
pub static OUTCOMES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "panelflow_interviews_total",
        "Interviews finished, by outcome",
        &["outcome"],
    )
});

/// This process's share (0–1) of the consumer group's partitions, and so of
/// the Lever budget shared by the group's runners.
pub static LEVER_BUDGET_SHARE: LazyLock<Gauge> = LazyLock::new(|| {
    let g = Gauge::new(
        "panelflow_lever_budget_share",
        "Share of the group's partitions, and of the Lever rate budget, held by this process",
    )
    .expect("metric definition");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("metric registered once");
    g
});

/// The process's resident memory, bytes (updated when scraped).
pub static RESIDENT_BYTES: LazyLock<IntGauge> = LazyLock::new(|| {
    gauge(
        "panelflow_process_resident_bytes",
        "Resident set size of the process",
    )
});

/// Records `seconds` under `stage` in [`STAGE_SECONDS`].
pub fn observe_stage(stage: &str, seconds: f64) {
    STAGE_SECONDS.with_label_values(&[stage]).observe(seconds);
}

/// A timer for one stage: records when dropped.
pub fn stage_timer(stage: &str) -> prometheus::HistogramTimer {
    let h: Histogram = STAGE_SECONDS.with_label_values(&[stage]);
    h.start_timer()
}

/// Resident set size of this process in bytes (`/proc/self/status` VmRSS),
/// 0 where unknown.
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Every metric in Prometheus' text exposition format (the body of
/// `GET /metrics`).
pub fn render() -> String {
    RESIDENT_BYTES.set(i64::try_from(resident_bytes()).unwrap_or(i64::MAX));
    // Touch the statics so an idle process still lists every family.
    for m in [&*IN_FLIGHT_EVENTS, &*IN_FLIGHT_BYTES, &*CONSUMERS_PAUSED] {
        let _ = m.get();
    }
    LazyLock::force(&EVENTS_IN);
    LazyLock::force(&CONSUMER_LAG);
    LazyLock::force(&REBALANCES);
    LazyLock::force(&STAGE_SECONDS);
    LazyLock::force(&LEVER_CALLS);
    LazyLock::force(&RETRIES);
    LazyLock::force(&CIRCUIT_STATE);
    LazyLock::force(&DEAD_LETTERS);
    LazyLock::force(&PANICS);
    LazyLock::force(&OUTCOMES);
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&REGISTRY.gather(), &mut out) {
        tracing::warn!(error = %e, "encoding metrics");
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_listed_and_counted() {
        DEAD_LETTERS.with_label_values(&["media"]).inc();
        observe_stage("fetch", 0.2);
        let text = render();
        for name in [
            "panelflow_dead_letters_total",
            "panelflow_stage_seconds_bucket",
            "panelflow_in_flight_events",
            "panelflow_process_resident_bytes",
        ] {
            assert!(text.contains(name), "{name} missing:\n{text}");
        }
        assert!(resident_bytes() > 0);
    }
}
