//! This process's share of its consumer group's partitions.
//!
//! Every `panelflow run` process of one pipeline uses one Lever API key, and
//! Lever's limit (10 requests a second, bursts of 20) is per key. Each
//! process owns a share of the group's partitions; the consumers of a
//! process report what the group assigns and revokes ([`GroupShare::assign`],
//! [`GroupShare::revoke`]), and the share — owned partitions over all the
//! partitions of the subscribed topics — is handed to a callback, which
//! scales the process's Lever budget to it. Kafka gives each partition to
//! one member at a time, and a rebalance revokes before it assigns, so the
//! shares of all processes never add up to more than one: the processes
//! together stay within the key's budget without talking to each other.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use panelflow_connectors::kafka::share::GroupShare;
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let sink = Arc::clone(&seen);
//! let share = GroupShare::new(move |f| sink.lock().unwrap().push(f));
//! share.set_topic_partitions("events", 4);
//! share.assign("w0", [("events".to_string(), 0), ("events".to_string(), 1)]);
//! assert_eq!(share.fraction(), 0.5);
//! share.revoke("w0", [("events".to_string(), 1)]);
//! assert_eq!(share.fraction(), 0.25);
//! assert_eq!(*seen.lock().unwrap(), vec![0.0, 0.5, 0.25]);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// A partition: topic and number.
pub type Partition = (String, i32);

type OnChange = Box<dyn Fn(f64) + Send + Sync>;

/// The share of the group's partitions owned by the consumers of this
/// process, with a callback run on every change.
pub struct GroupShare {
    state: Mutex<State>,
    on_change: OnChange,
}

#[derive(Default)]
struct State {
    /// Partitions owned, by consumer (one consumer per timely worker).
    owned: BTreeMap<String, BTreeSet<Partition>>,
    /// Partitions of each subscribed topic.
    totals: BTreeMap<String, usize>,
    /// The fraction last handed to the callback.
    last: Option<f64>,
}

impl std::fmt::Debug for GroupShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupShare")
            .field("fraction", &self.fraction())
            .finish_non_exhaustive()
    }
}

impl State {
    fn fraction(&self) -> f64 {
        let total: usize = self.totals.values().sum();
        if total == 0 {
            return 0.0;
        }
        let owned: BTreeSet<&Partition> = self
            .owned
            .values()
            .flatten()
            .filter(|(topic, _)| self.totals.contains_key(topic))
            .collect();
        (owned.len() as f64 / total as f64).min(1.0)
    }
}

impl GroupShare {
    /// A share of nothing yet; `on_change` gets every new fraction (0–1).
    pub fn new(on_change: impl Fn(f64) + Send + Sync + 'static) -> Self {
        Self {
            state: Mutex::new(State::default()),
            on_change: Box::new(on_change),
        }
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        let changed = {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            change(&mut state);
            let now = state.fraction();
            (state.last != Some(now)).then(|| {
                state.last = Some(now);
                now
            })
        };
        if let Some(fraction) = changed {
            tracing::info!(
                share = fraction,
                "this process's share of the group's partitions"
            );
            (self.on_change)(fraction);
        }
    }

    /// Records how many partitions `topic` has (every subscribed topic
    /// counts, whoever owns its partitions).
    pub fn set_topic_partitions(&self, topic: &str, partitions: usize) {
        self.update(|s| {
            s.totals.insert(topic.to_owned(), partitions);
        });
    }

    /// Whether the partition count of `topic` is known.
    pub fn knows_topic(&self, topic: &str) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .totals
            .contains_key(topic)
    }

    /// `consumer` was given `partitions` (added to what it owns: the eager
    /// protocol revokes everything first, the cooperative one adds).
    pub fn assign(&self, consumer: &str, partitions: impl IntoIterator<Item = Partition>) {
        self.update(|s| {
            s.owned
                .entry(consumer.to_owned())
                .or_default()
                .extend(partitions);
        });
    }

    /// `consumer` lost `partitions`.
    pub fn revoke(&self, consumer: &str, partitions: impl IntoIterator<Item = Partition>) {
        self.update(|s| {
            if let Some(owned) = s.owned.get_mut(consumer) {
                for p in partitions {
                    owned.remove(&p);
                }
            }
        });
    }

    /// `consumer` lost everything (it left the group or stopped).
    pub fn forget(&self, consumer: &str) {
        self.update(|s| {
            s.owned.remove(consumer);
        });
    }

    /// Owned partitions over all partitions of the subscribed topics.
    pub fn fraction(&self) -> f64 {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .fraction()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn p(topic: &str, n: i32) -> Partition {
        (topic.to_owned(), n)
    }

    #[test]
    fn workers_of_one_process_add_up_and_overlaps_count_once() {
        let share = GroupShare::new(|_| {});
        share.set_topic_partitions("events", 4);
        share.set_topic_partitions("events.retry.1m", 4);
        share.assign("w0", [p("events", 0), p("events.retry.1m", 0)]);
        share.assign("w1", [p("events", 1), p("events", 0)]);
        assert_eq!(share.fraction(), 3.0 / 8.0);
        share.forget("w0");
        assert_eq!(share.fraction(), 2.0 / 8.0);
    }

    #[test]
    fn unknown_totals_give_no_share() {
        let share = GroupShare::new(|_| {});
        share.assign("w0", [p("events", 0)]);
        assert_eq!(
            share.fraction(),
            0.0,
            "no budget before the totals are known"
        );
        share.set_topic_partitions("events", 2);
        assert_eq!(share.fraction(), 0.5);
    }

    #[test]
    fn processes_that_split_the_partitions_split_the_budget_exactly() {
        // Three processes of one group, 12 partitions assigned round-robin:
        // their fractions add up to one.
        let fractions: Vec<f64> = (0..3)
            .map(|proc_| {
                let share = GroupShare::new(|_| {});
                share.set_topic_partitions("events", 12);
                share.assign(
                    "w0",
                    (0..12).filter(|n| n % 3 == proc_).map(|n| p("events", n)),
                );
                share.fraction()
            })
            .collect();
        let sum: f64 = fractions.iter().sum();
        assert!((sum - 1.0).abs() < 1e-9, "{fractions:?}");
    }

    #[test]
    fn the_callback_sees_each_change_once() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let share = GroupShare::new(move |f| sink.lock().expect("lock").push(f));
        share.set_topic_partitions("events", 2);
        share.assign("w0", [p("events", 0)]);
        share.assign("w0", [p("events", 0)]);
        share.revoke("w0", [p("events", 0)]);
        assert_eq!(*seen.lock().expect("lock"), vec![0.0, 0.5, 0.0]);
    }
}
