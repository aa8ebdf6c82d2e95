//! The operator every interview stage runs in: it queues its input by
//! time, holds each time's capability while it has interviews of it,
//! hands the stage a few interviews at a time (oldest times first) and
//! gives each result at its interview's time.
//!
//! Each call runs under `catch_unwind`: a panic is isolated to the
//! interview that caused it (the batch is run again one interview at a
//! time) and becomes that interview's permanent failure with the panic's
//! message — never a crash of the worker, never a crash loop on replay.
//!
//! Taking a few per activation (`[speech] batch_interviews`) keeps the
//! worker stepping — the source polls Kafka, the other stages move —
//! between slow steps such as a transcription, and bounds what is in
//! flight (fetched recordings on disk) to a few interviews per stage.

use std::collections::{BTreeMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::ParallelizationContract;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::Stream;

/// A time's queued inputs and the capability to give their results.
struct Queued<I> {
    cap: Capability<u64>,
    items: VecDeque<I>,
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// `logic` over `items` under `catch_unwind`; when it panics, each item is
/// run again alone, and the one that panics gets `fail(item, message)`.
pub fn guarded<I, O, F, G>(name: &str, items: Vec<I>, logic: &mut F, fail: &mut G) -> Vec<O>
where
    I: Clone,
    F: FnMut(Vec<I>) -> Vec<O>,
    G: FnMut(I, &str) -> O,
{
    let all = items.clone();
    match catch_unwind(AssertUnwindSafe(|| logic(all))) {
        Ok(out) => out,
        Err(payload) => {
            let message = panic_message(&*payload);
            tracing::error!(stage = name, panic = %message, batch = items.len(), "stage panicked; isolating the interview");
            items
                .into_iter()
                .map(|item| {
                    let one = item.clone();
                    match catch_unwind(AssertUnwindSafe(|| logic(vec![one]))) {
                        Ok(mut out) if out.len() == 1 => out.remove(0),
                        Ok(_) => fail(item, "the stage gave no result"),
                        Err(payload) => {
                            let message = panic_message(&*payload);
                            panelflow_connectors::metrics::PANICS
                                .with_label_values(&[name])
                                .inc();
                            tracing::error!(stage = name, panic = %message, "interview panicked; failed for good");
                            fail(item, &message)
                        }
                    }
                })
                .collect()
        }
    }
}

/// Runs `logic` over `input`, at most `batch` items per call, one output
/// per input (in order), under `catch_unwind` ([`guarded`]: a panicking
/// item becomes `fail(item, message)`); outputs carry their input's time.
/// `pact` routes the input (the worker's own: the exchange happened at
/// admission).
pub fn stage<'scope, I, O, P, F, G>(
    input: Stream<'scope, u64, Vec<I>>,
    name: &str,
    pact: P,
    batch: usize,
    mut logic: F,
    mut fail: G,
) -> Stream<'scope, u64, Vec<O>>
where
    I: Clone + 'static,
    O: Clone + 'static,
    P: ParallelizationContract<u64, Vec<I>>,
    F: FnMut(Vec<I>) -> Vec<O> + 'static,
    G: FnMut(I, &str) -> O + 'static,
{
    let stage_name = name.to_owned();
    let scope = input.scope();
    let batch = batch.max(1);
    input.unary_frontier::<CapacityContainerBuilder<Vec<O>>, _, _, _>(
        pact,
        name,
        move |_cap, info| {
            let activator = scope.activator_for(info.address);
            let mut queued: BTreeMap<u64, Queued<I>> = BTreeMap::new();
            move |(input, _frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let Some(&time) = cap.least() else { return };
                    let entry = queued.entry(time).or_insert_with(|| Queued {
                        cap: cap.delayed(&time, output.output_index()),
                        items: VecDeque::new(),
                    });
                    for container in data {
                        entry.items.extend(container.drain(..));
                    }
                });
                let mut taken: Vec<(u64, I)> = Vec::with_capacity(batch);
                for (time, q) in queued.iter_mut() {
                    while taken.len() < batch {
                        let Some(item) = q.items.pop_front() else {
                            break;
                        };
                        taken.push((*time, item));
                    }
                    if taken.len() >= batch {
                        break;
                    }
                }
                if !taken.is_empty() {
                    let (times, items): (Vec<u64>, Vec<I>) = taken.into_iter().unzip();
                    let results = guarded(&stage_name, items, &mut logic, &mut fail);
                    debug_assert_eq!(
                        times.len(),
                        results.len(),
                        "a stage gives one result per input"
                    );
                    for (time, result) in times.into_iter().zip(results) {
                        if let Some(q) = queued.get(&time) {
                            output.session(&q.cap).give(result);
                        }
                    }
                }
                // A time with nothing left releases its capability; later input
                // of that time comes with a capability of its own.
                queued.retain(|_, q| !q.items.is_empty());
                if !queued.is_empty() {
                    activator.activate();
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_fails_only_its_item() {
        let mut logic = |items: Vec<u32>| -> Vec<Result<u32, String>> {
            items
                .into_iter()
                .map(|i| {
                    assert!(i != 3, "poison {i}");
                    Ok(i * 10)
                })
                .collect()
        };
        let mut fail = |i: u32, m: &str| Err(format!("{i}: {m}"));
        let out = guarded("test", vec![1, 3, 5], &mut logic, &mut fail);
        assert_eq!(out[0], Ok(10));
        assert_eq!(out[2], Ok(50));
        assert!(out[1].as_ref().unwrap_err().contains("poison 3"), "{out:?}");
    }
}
