//! What the aggregates' sink operators write to: one trait, implemented by
//! the aggregate tables ([`super::harness::Table`]) and the input logs
//! ([`super::inputs::InputLogs`]), so that neither file needs the other.

use panelflow_connectors::parquet::aggregates::AggregatesSinkError;

/// Something a sink operator applies completed times to.
pub trait TimedSink<D> {
    /// Applies the updates of one completed time (times come in order).
    fn apply(&mut self, time: u64, updates: Vec<(D, isize)>);
    /// Whether applied changes wait to be written.
    fn pending(&self) -> bool;
    /// Writes what waits.
    fn flush(&mut self) -> Result<(), AggregatesSinkError>;
    /// Rewrites the snapshot if due (or `force`d).
    fn snapshot(&mut self, _force: bool) -> Result<(), AggregatesSinkError> {
        Ok(())
    }
    /// Whether a snapshot waits to be rewritten, so the operator should
    /// wake up while idle.
    fn wants_ticks(&self) -> bool {
        false
    }
}
