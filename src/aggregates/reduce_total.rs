//! `reduce_total` and `fold_total`: `reduce` for totally ordered times, the
//! way differential's own `count_total` and `threshold_total` specialise
//! `count` and `threshold`.
//!
//! Differential's `reduce` keeps two multi-version arrangements (its input
//! and its output) and, for every key a time touches, replays the key's
//! history through a cursor over every batch of the trace. With times that
//! are totally ordered (the aggregates run at `u64` times) and completed in
//! order, nothing needs that history: each key keeps only its *current*
//! state — the consolidated multiset of its values ([`ReduceTotal::reduce_total`])
//! or an accumulator the caller folds updates into
//! ([`ReduceTotal::fold_total`]) — and the rows it last emitted. When a time
//! completes, its updates are applied to the keys they touch, each touched
//! key's rows are recomputed, and the difference with the rows emitted
//! before goes out at that time. The output is the same collection `reduce`
//! produces (`(row, time, diff)` with the same accumulations at every
//! time); the cost is a hash lookup per update plus, per touched key, the
//! key's logic — no sorting of wide records into traces, no merging of
//! batches, no replay.
//!
//! Updates are exchanged by the key's hash, as `reduce` does (keys are ids,
//! hashed with [`IdHasher`]); each worker keeps its keys in an [`IdMap`].
//!
//! ```
//! use differential_dataflow::input::Input;
//! use panelflow::aggregates::reduce_total::ReduceTotal;
//!
//! timely::execute_directly(|worker| {
//!     let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
//!     let sink = out.clone();
//!     let mut input = worker.dataflow::<u64, _, _>(|scope| {
//!         let (input, pairs) = scope.new_collection::<(u32, i64), isize>();
//!         pairs
//!             .reduce_total("Sum", |key: &u32, values: &[(&i64, isize)], out: &mut Vec<((u32, i64), isize)>| {
//!                 out.push(((*key, values.iter().map(|(v, n)| **v * *n as i64).sum()), 1));
//!             })
//!             .inspect(move |x| sink.borrow_mut().push(x.clone()));
//!         input
//!     });
//!     input.insert((1, 10));
//!     input.insert((1, 5));
//!     input.advance_to(1);
//!     input.flush();
//!     worker.step_while(|| out.borrow().len() < 1);
//!     input.remove((1, 5));
//!     input.advance_to(2);
//!     input.flush();
//!     worker.step_while(|| out.borrow().len() < 3);
//!     let mut seen = out.borrow().clone();
//!     seen.sort();
//!     assert_eq!(seen, vec![((1, 10), 1, 1), ((1, 15), 0, 1), ((1, 15), 1, -1)]);
//! });
//! ```

use std::collections::hash_map::Entry;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::difference::Semigroup;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::Capability;

use super::records::{IdHasher, IdMap};
use super::time::Time;

/// Per time not yet complete: a capability and the batches of updates.
type Stash<T, D, R> = BTreeMap<T, (Capability<T>, Vec<Vec<(D, T, R)>>)>;

/// One key's state: what was folded in, and the rows last emitted.
struct Group<S, R> {
    state: S,
    emitted: Vec<(R, isize)>,
    touched: bool,
}

/// The total-order reduce operators.
pub trait ReduceTotal<'scope, T: Time, K, V, D> {
    /// Like differential's `reduce`: `logic` sees the key's values with
    /// their non-zero accumulated differences, sorted by value, and pushes
    /// the key's rows; rows are emitted as they change. See the module
    /// example.
    fn reduce_total<R, L>(self, name: &str, logic: L) -> VecCollection<'scope, T, R>
    where
        R: ExchangeData + Ord,
        L: FnMut(&K, &[(&V, D)], &mut Vec<(R, isize)>) + 'static;

    /// The general form: `update` folds each `(value, diff)` into the key's
    /// state `S` (in arrival order within a time: states must accept
    /// transiently negative multiplicities), and once a time has been
    /// applied `rows` pushes the key's rows from its state and says whether
    /// the state is empty (it is then dropped). The rows must depend on the
    /// multiset of values folded in only, as `reduce`'s do.
    ///
    /// ```
    /// use differential_dataflow::input::Input;
    /// use panelflow::aggregates::reduce_total::ReduceTotal;
    ///
    /// timely::execute_directly(|worker| {
    ///     let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    ///     let sink = out.clone();
    ///     let mut input = worker.dataflow::<u64, _, _>(|scope| {
    ///         let (input, pairs) = scope.new_collection::<(u32, i64), isize>();
    ///         // Count and sum per key, folded as updates arrive.
    ///         pairs
    ///             .fold_total(
    ///                 "CountSum",
    ///                 |s: &mut (isize, i64), v: i64, n: isize| { s.0 += n; s.1 += v * n as i64; },
    ///                 |k: &u32, s: &mut (isize, i64), out: &mut Vec<((u32, isize, i64), isize)>| {
    ///                     if s.0 != 0 { out.push(((*k, s.0, s.1), 1)); }
    ///                     s.0 == 0
    ///                 },
    ///             )
    ///             .inspect(move |x| sink.borrow_mut().push(x.0));
    ///         input
    ///     });
    ///     input.insert((7, 2));
    ///     input.insert((7, 3));
    ///     input.advance_to(1);
    ///     input.flush();
    ///     worker.step_while(|| out.borrow().is_empty());
    ///     assert_eq!(out.borrow()[0], (7, 2, 5));
    /// });
    /// ```
    fn fold_total<S, R, U, O>(self, name: &str, update: U, rows: O) -> VecCollection<'scope, T, R>
    where
        S: Default + 'static,
        R: ExchangeData + Ord,
        U: FnMut(&mut S, V, D) + 'static,
        O: FnMut(&K, &mut S, &mut Vec<(R, isize)>) -> bool + 'static;
}

impl<'scope, T, K, V, D> ReduceTotal<'scope, T, K, V, D> for VecCollection<'scope, T, (K, V), D>
where
    T: Time,
    K: ExchangeData + Hash + Eq,
    V: ExchangeData + Ord,
    D: ExchangeData + Semigroup,
{
    fn reduce_total<R, L>(self, name: &str, mut logic: L) -> VecCollection<'scope, T, R>
    where
        R: ExchangeData + Ord,
        L: FnMut(&K, &[(&V, D)], &mut Vec<(R, isize)>) + 'static,
    {
        self.fold_total(
            name,
            |values: &mut BTreeMap<V, D>, value, diff: D| match values.entry(value) {
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    e.get_mut().plus_equals(&diff);
                    if e.get().is_zero() {
                        e.remove();
                    }
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    if !diff.is_zero() {
                        e.insert(diff);
                    }
                }
            },
            move |key, values, out| {
                let refs: Vec<(&V, D)> = values.iter().map(|(v, d)| (v, d.clone())).collect();
                if !refs.is_empty() {
                    logic(key, &refs, out);
                }
                values.is_empty()
            },
        )
    }

    fn fold_total<S, R, U, O>(
        self,
        name: &str,
        mut update: U,
        mut rows: O,
    ) -> VecCollection<'scope, T, R>
    where
        S: Default + 'static,
        R: ExchangeData + Ord,
        U: FnMut(&mut S, V, D) + 'static,
        O: FnMut(&K, &mut S, &mut Vec<(R, isize)>) -> bool + 'static,
    {
        let exchange = Exchange::new(|((k, _), _, _): &((K, V), T, D)| {
            let mut h = IdHasher::default();
            k.hash(&mut h);
            h.finish()
        });
        self.inner
            .unary_frontier::<CapacityContainerBuilder<Vec<(R, T, isize)>>, _, _, _>(
                exchange,
                name,
                move |cap, _info| {
                    drop(cap);
                    // Updates of times not yet complete, with a capability each;
                    // batches of one time are kept whole (moved, not copied).
                    let mut stash: Stash<T, (K, V), D> = BTreeMap::new();
                    let mut groups: IdMap<K, Group<S, R>> = IdMap::default();
                    let mut touched: Vec<K> = Vec::new();
                    let mut fresh: Vec<(R, isize)> = Vec::new();
                    let mut changes: Vec<(R, isize)> = Vec::new();
                    move |(input, frontier), output| {
                        input.for_each_stamp(|cap, data| {
                            for batch in data {
                                let Some(first) = batch.first().map(|(_, t, _)| t.clone()) else {
                                    continue;
                                };
                                if batch.iter().all(|(_, t, _)| *t == first) {
                                    let batch = std::mem::take(batch);
                                    match stash.get_mut(&first) {
                                        Some((_, batches)) => batches.push(batch),
                                        None => {
                                            let c = cap.delayed(&first, 0);
                                            stash.insert(first, (c, vec![batch]));
                                        }
                                    }
                                    continue;
                                }
                                for (kv, t, d) in batch.drain(..) {
                                    let entry = stash
                                        .entry(t.clone())
                                        .or_insert_with(|| (cap.delayed(&t, 0), vec![Vec::new()]));
                                    if entry.1.is_empty() {
                                        entry.1.push(Vec::new());
                                    }
                                    if let Some(last) = entry.1.last_mut() {
                                        last.push((kv, t, d));
                                    }
                                }
                            }
                        });
                        // Complete times, in order.
                        while let Some(entry) = stash.first_entry() {
                            if frontier.less_equal(entry.key()) {
                                break;
                            }
                            let (time, (cap, batches)) = entry.remove_entry();
                            for ((key, value), _, diff) in batches.into_iter().flatten() {
                                let group = match groups.entry(key) {
                                    Entry::Occupied(e) => {
                                        if !e.get().touched {
                                            touched.push(e.key().clone());
                                        }
                                        e.into_mut()
                                    }
                                    Entry::Vacant(e) => {
                                        touched.push(e.key().clone());
                                        e.insert(Group {
                                            state: S::default(),
                                            emitted: Vec::new(),
                                            touched: false,
                                        })
                                    }
                                };
                                group.touched = true;
                                update(&mut group.state, value, diff);
                            }
                            let mut session = output.session(&cap);
                            for key in touched.drain(..) {
                                let Some(group) = groups.get_mut(&key) else {
                                    continue;
                                };
                                group.touched = false;
                                fresh.clear();
                                let empty = rows(&key, &mut group.state, &mut fresh);
                                consolidate(&mut fresh);
                                diff_rows(&group.emitted, &fresh, &mut changes);
                                for (row, diff) in changes.drain(..) {
                                    session.give((row, time.clone(), diff));
                                }
                                std::mem::swap(&mut group.emitted, &mut fresh);
                                if empty && group.emitted.is_empty() {
                                    groups.remove(&key);
                                }
                            }
                        }
                    }
                },
            )
            .as_collection()
    }
}

/// `new − old` for two consolidated, sorted row lists, pushed to `out`.
fn diff_rows<R: Ord + Clone>(old: &[(R, isize)], new: &[(R, isize)], out: &mut Vec<(R, isize)>) {
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let ord = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => a.0.cmp(&b.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                out.push((old[i].0.clone(), -old[i].1));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push((new[j].0.clone(), new[j].1));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let d = new[j].1 - old[i].1;
                if d != 0 {
                    out.push((new[j].0.clone(), d));
                }
                i += 1;
                j += 1;
            }
        }
    }
}
