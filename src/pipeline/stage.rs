//! The operator every interview stage runs in: it queues its input by
//! time, holds each time's capability while it has interviews of it,
//! hands the stage a few interviews at a time (oldest times first) and
//! gives each result at its interview's time.
//!
//! Taking a few per activation (`[speech] batch_interviews`) keeps the
//! worker stepping — the source polls Kafka, the other stages move —
//! between slow steps such as a transcription, and bounds what is in
//! flight (fetched recordings on disk) to a few interviews per stage.

use std::collections::{BTreeMap, VecDeque};

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

/// Runs `logic` over `input`, at most `batch` items per call, one output
/// per input (in order); outputs carry their input's time. `pact` routes
/// the input (an exchange by interview id for the first stage, else the
/// worker's own).
pub fn stage<'scope, I, O, P, F>(
    input: Stream<'scope, u64, Vec<I>>,
    name: &str,
    pact: P,
    batch: usize,
    mut logic: F,
) -> Stream<'scope, u64, Vec<O>>
where
    I: Clone + 'static,
    O: Clone + 'static,
    P: ParallelizationContract<u64, Vec<I>>,
    F: FnMut(Vec<I>) -> Vec<O> + 'static,
{
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
                    let results = logic(items);
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
