//! Unit tests of the Parquet sink: round trip through the parquet crate's
//! reader, idempotence, temporary files, and the column contract in `schemas/`.

mod contract;
mod fixtures;
mod redrive;
mod sink;
