//! The timestamps the aggregates run at.

use differential_dataflow::lattice::Lattice;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

/// The timestamps the aggregates run at: totally ordered (`u64`), which
/// lets every group operator keep only its current state
/// ([`reduce_total`]).
pub trait Time: Timestamp + Lattice + Ord + TotalOrder {}
impl<T: Timestamp + Lattice + Ord + TotalOrder> Time for T {}
