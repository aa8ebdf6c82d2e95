//! `combine_local`: adds up each worker's updates of one time before they
//! are exchanged — a combiner, for collections whose records repeat a lot
//! within a time (drift's `(model, metric, week, value)`: a few thousand
//! distinct records for hundreds of thousands of score updates), so the
//! worker that owns a heavy key receives one update per distinct record
//! instead of one per input update.
//!
//! The output is the same collection (the same accumulations at every
//! time); updates of a time leave once the input has passed it.
//!
//! ```
//! use differential_dataflow::input::Input;
//! use timely::dataflow::operators::Inspect;
//! use panelflow::aggregates::combine::CombineLocal;
//!
//! timely::execute_directly(|worker| {
//!     let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
//!     let sink = out.clone();
//!     let mut input = worker.dataflow::<u64, _, _>(|scope| {
//!         let (input, words) = scope.new_collection::<u32, isize>();
//!         words
//!             .combine_local("Words")
//!             .inner
//!             .inspect(move |x| sink.borrow_mut().push(*x));
//!         input
//!     });
//!     for w in [1, 2, 1, 1] {
//!         input.insert(w);
//!     }
//!     input.remove(2);
//!     input.advance_to(1);
//!     input.flush();
//!     worker.step_while(|| out.borrow().is_empty());
//!     assert_eq!(*out.borrow(), vec![(1, 0, 3)]);
//! });
//! ```

use std::collections::hash_map::Entry;
use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::difference::Semigroup;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::Capability;

use super::records::IdMap;
use super::time::Time;

/// The `combine_local` operator.
pub trait CombineLocal<'scope, T: Time, D, R> {
    /// The same collection, each worker's updates of a time added up per
    /// record (zero sums dropped) before they go on. See the module example.
    fn combine_local(self, name: &str) -> VecCollection<'scope, T, D, R>;
}

impl<'scope, T, D, R> CombineLocal<'scope, T, D, R> for VecCollection<'scope, T, D, R>
where
    T: Time,
    D: ExchangeData + Hash + Eq,
    R: ExchangeData + Semigroup,
{
    fn combine_local(self, name: &str) -> VecCollection<'scope, T, D, R> {
        self.inner
            .unary_frontier::<CapacityContainerBuilder<Vec<(D, T, R)>>, _, _, _>(
                Pipeline,
                name,
                move |cap, _info| {
                    drop(cap);
                    let mut stash: BTreeMap<T, (Capability<T>, IdMap<D, R>)> = BTreeMap::new();
                    move |(input, frontier), output| {
                        input.for_each_stamp(|cap, data| {
                            for batch in data {
                                for (d, t, r) in batch.drain(..) {
                                    let sums = match stash.get_mut(&t) {
                                        Some((_, sums)) => sums,
                                        None => {
                                            let c = cap.delayed(&t, 0);
                                            &mut stash.entry(t).or_insert((c, IdMap::default())).1
                                        }
                                    };
                                    match sums.entry(d) {
                                        Entry::Occupied(mut e) => e.get_mut().plus_equals(&r),
                                        Entry::Vacant(e) => {
                                            e.insert(r);
                                        }
                                    }
                                }
                            }
                        });
                        while let Some(entry) = stash.first_entry() {
                            if frontier.less_equal(entry.key()) {
                                break;
                            }
                            let (time, (cap, sums)) = entry.remove_entry();
                            let mut session = output.session(&cap);
                            for (d, r) in sums {
                                if !r.is_zero() {
                                    session.give((d, time.clone(), r));
                                }
                            }
                        }
                    }
                },
            )
            .as_collection()
    }
}
