//! The exchange by opportunity and the admission: every event goes to the
//! worker its *opportunity* id hashes to — so one worker of one process
//! owns an opportunity's writes at a time (the topic is keyed by
//! opportunity too, so one consumer reads them) — and an event whose key
//! (interview id, pipeline version) is written already, or being processed
//! now, is counted as a duplicate and goes no further. What is admitted
//! starts its way through the stages.
//!
//! The worker's [`Ledger`] is shared with its land operator, which tells it
//! when a key is written (or sent to a retry topic, which frees it for the
//! retry).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::Stream;

use panelflow_connectors::metrics;
use panelflow_connectors::parquet::Key;
use panelflow_core::event::InterviewCompleted;

use super::interview::Interview;
use super::source::Incoming;
use super::RunStats;

/// Stable routing hash of an id.
///
/// ```
/// use panelflow::pipeline::admit::route;
/// assert_eq!(route("opp-1"), route("opp-1"));
/// ```
pub fn route(id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// The routing key of an event: its opportunity (its interview when it
/// names none), so every write to one opportunity is made by one worker.
pub fn owner_key(event: &InterviewCompleted) -> &str {
    if event.opportunity_id.is_empty() {
        &event.interview_id
    } else {
        &event.opportunity_id
    }
}

/// What one worker knows of its keys: written (and whether as `failed`),
/// and being processed now.
#[derive(Debug, Default)]
pub struct Ledger {
    written: HashMap<Key, bool>,
    in_progress: HashSet<Key>,
}

impl Ledger {
    /// A ledger knowing the keys `written` before this run, each with
    /// whether its rows are all `failed` (so a failed key may still be
    /// redriven after a restart).
    ///
    /// ```
    /// use panelflow::pipeline::admit::Ledger;
    /// let key = |id: &str| (id.to_owned(), "v".to_owned());
    /// let mut l = Ledger::new([(key("failed"), true), (key("done"), false)].into());
    /// assert!(l.admit(key("failed"), true), "a failed key may be redriven");
    /// assert!(!l.admit(key("done"), true), "a done key may not");
    /// ```
    pub fn new(written: HashMap<Key, bool>) -> Self {
        Self {
            written,
            in_progress: HashSet::new(),
        }
    }

    /// Whether `key` may start now: not being processed, and not written —
    /// unless it was written as failed and `redriven`. Admitted keys are
    /// in progress until [`finished`](Self::finished).
    pub fn admit(&mut self, key: Key, redriven: bool) -> bool {
        if self.in_progress.contains(&key) {
            return false;
        }
        match self.written.get(&key) {
            Some(true) if redriven => {}
            Some(_) => return false,
            None => {}
        }
        self.in_progress.insert(key)
    }

    /// `key` is finished: `Some(failed)` when its row is written, `None`
    /// when it went to a retry topic (its next try may be admitted).
    pub fn finished(&mut self, key: &Key, landed: Option<bool>) {
        self.in_progress.remove(key);
        if let Some(failed) = landed {
            self.written.insert(key.clone(), failed);
        }
    }

    /// Keys being processed now.
    pub fn in_progress(&self) -> usize {
        self.in_progress.len()
    }
}

/// A worker's admission: its pipeline version and its ledger.
#[derive(Debug, Clone)]
pub struct Admission {
    version: String,
    ledger: Rc<RefCell<Ledger>>,
}

impl Admission {
    /// Admission for pipeline `version`, with the keys already `written`
    /// (each with whether its rows are all `failed`).
    pub fn new(version: &str, written: HashMap<Key, bool>) -> Self {
        Self {
            version: version.to_owned(),
            ledger: Rc::new(RefCell::new(Ledger::new(written))),
        }
    }

    /// The ledger, shared with the land operator.
    pub fn ledger(&self) -> Rc<RefCell<Ledger>> {
        self.ledger.clone()
    }

    /// The key of `event` under this version.
    pub fn key(&self, event: &InterviewCompleted) -> Key {
        (event.interview_id.clone(), self.version.clone())
    }

    /// Whether `event` is new: its key is not written nor on its way. A new
    /// key is remembered as on its way.
    ///
    /// ```
    /// use panelflow::pipeline::admit::Admission;
    /// use panelflow_core::event::InterviewCompleted;
    /// let mut admission = Admission::new("1", Default::default());
    /// let event = InterviewCompleted::new("generic", "int-1", "c", "o", vec![]);
    /// assert!(admission.admit(&event, false));
    /// assert!(!admission.admit(&event, false), "a second delivery is a duplicate");
    /// ```
    pub fn admit(&mut self, event: &InterviewCompleted, redriven: bool) -> bool {
        let key = self.key(event);
        self.ledger.borrow_mut().admit(key, redriven)
    }
}

/// The admission operator: events exchanged by opportunity id; the new ones
/// become [`Interview`]s, duplicates are counted in `stats` and dropped.
pub fn admit<'scope>(
    events: Stream<'scope, u64, Vec<Incoming>>,
    mut admission: Admission,
    stats: Arc<RunStats>,
) -> Stream<'scope, u64, Vec<Interview>> {
    let exchange = Exchange::new(|i: &Incoming| route(owner_key(&i.event)));
    events.unary::<CapacityContainerBuilder<Vec<Interview>>, _, _, _>(
        exchange,
        "Admit",
        move |_cap, _info| {
            move |input, output| {
                input.for_each_stamp(|cap, data| {
                    let mut session = output.session(&cap);
                    for container in data {
                        for incoming in container.drain(..) {
                            if admission.admit(&incoming.event, incoming.redriven) {
                                session.give(Interview::retried(incoming.event, incoming.attempt));
                            } else {
                                stats.duplicates.fetch_add(1, Ordering::Relaxed);
                                metrics::OUTCOMES.with_label_values(&["duplicate"]).inc();
                                tracing::info!(interview_id = %incoming.event.interview_id, attempt = incoming.attempt, "already written or in progress; skipped");
                            }
                        }
                    }
                });
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> Key {
        (id.to_owned(), "v".to_owned())
    }

    #[test]
    fn retries_are_admitted_once_the_first_try_is_finished() {
        let mut l = Ledger::default();
        assert!(l.admit(key("a"), false));
        assert!(!l.admit(key("a"), false), "in progress");
        l.finished(&key("a"), None); // sent to a retry topic
        assert!(l.admit(key("a"), false), "the retry");
        l.finished(&key("a"), Some(false));
        assert!(!l.admit(key("a"), false), "written");
        assert!(
            !l.admit(key("a"), true),
            "written as transcribed: a redrive is a duplicate"
        );
        assert!(l.admit(key("b"), false));
        l.finished(&key("b"), Some(true));
        assert!(!l.admit(key("b"), false));
        assert!(l.admit(key("b"), true), "a failed one may be redriven");
    }

    #[test]
    fn the_preload_keeps_failed_keys_redrivable_after_a_restart() {
        let written: HashMap<Key, bool> = [(key("failed"), true), (key("done"), false)].into();
        let mut l = Ledger::new(written);
        assert!(!l.admit(key("failed"), false), "a replay of a failed key");
        assert!(!l.admit(key("done"), false));
        assert!(
            !l.admit(key("done"), true),
            "done: a redrive is a duplicate"
        );
        assert!(
            l.admit(key("failed"), true),
            "failed: the redrive goes through"
        );
        l.finished(&key("failed"), Some(false));
        assert!(
            !l.admit(key("failed"), true),
            "redriven once and transcribed: a second redrive is a duplicate"
        );
    }
}
