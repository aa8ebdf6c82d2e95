//! The exchange by interview id and the admission: every event goes to the
//! worker its interview id hashes to, and an event whose key (interview id,
//! pipeline version) is written already — or on its way, as a second
//! delivery of one webhook is — is counted as a duplicate and goes no
//! further. What is admitted starts its way through the stages.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::Stream;

use panelflow_connectors::parquet::Key;
use panelflow_core::event::InterviewCompleted;

use super::interview::Interview;
use super::RunStats;

/// Stable routing hash of an interview id.
///
/// ```
/// use panelflow::pipeline::admit::route;
/// assert_eq!(route("int-1"), route("int-1"));
/// ```
pub fn route(interview_id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    interview_id.hash(&mut h);
    h.finish()
}

/// The keys a worker has written or admitted, and its pipeline version.
#[derive(Debug)]
pub struct Admission {
    version: String,
    written: HashSet<Key>,
}

impl Admission {
    /// Admission for pipeline `version`, with the keys already `written`.
    pub fn new(version: &str, written: HashSet<Key>) -> Self {
        Self {
            version: version.to_owned(),
            written,
        }
    }

    /// Whether `event` is new: its key is not written nor on its way. A new
    /// key is remembered.
    ///
    /// ```
    /// use panelflow::pipeline::admit::Admission;
    /// use panelflow_core::event::InterviewCompleted;
    /// let mut admission = Admission::new("1", Default::default());
    /// let event = InterviewCompleted::new("generic", "int-1", "c", "o", vec![]);
    /// assert!(admission.admit(&event));
    /// assert!(!admission.admit(&event), "a second delivery is a duplicate");
    /// ```
    pub fn admit(&mut self, event: &InterviewCompleted) -> bool {
        self.written
            .insert((event.interview_id.clone(), self.version.clone()))
    }
}

/// The admission operator: events exchanged by interview id; the new ones
/// become [`Interview`]s, duplicates are counted in `stats` and dropped.
pub fn admit<'scope>(
    events: Stream<'scope, u64, Vec<InterviewCompleted>>,
    mut admission: Admission,
    stats: Arc<RunStats>,
) -> Stream<'scope, u64, Vec<Interview>> {
    let exchange = Exchange::new(|e: &InterviewCompleted| route(&e.interview_id));
    events.unary::<CapacityContainerBuilder<Vec<Interview>>, _, _, _>(
        exchange,
        "Admit",
        move |_cap, _info| {
            move |input, output| {
                input.for_each_stamp(|cap, data| {
                    let mut session = output.session(&cap);
                    for container in data {
                        for event in container.drain(..) {
                            if admission.admit(&event) {
                                session.give(Interview::start(event));
                            } else {
                                stats.duplicates.fetch_add(1, Ordering::Relaxed);
                                tracing::info!(interview_id = %event.interview_id, "already written; skipped");
                            }
                        }
                    }
                });
            }
        },
    )
}
