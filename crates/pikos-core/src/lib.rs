//! pikos core: everything per event that does not need the Python interpreter.
//!
//! The interpreter hook (in `pikos-python`) turns each event into a fixed-size
//! [`Event`] that names its code and function by id ([`Tables`]).  A [`Pipeline`]
//! later resolves those ids, applies the built-in [`Filter`]s and encodes rows
//! as CSV, text or JSON ([`encode`]); a [`Writer`] runs that pipeline on its
//! own writer thread, into an [`Output`]: a file or a ZeroMQ socket
//! ([`wire`]), so the profiled program never waits for formatting, disk or
//! network.  [`stats`] aggregates function events into `cProfile`-style
//! statistics, [`line_stats`] per-line hits and time with `line_profiler`'s
//! rules; [`export`] turns timed function records into speedscope,
//! Chrome trace and collapsed stacks.

pub mod clock;
pub mod encode;
pub mod error;
pub mod event;
pub mod export;
pub mod filter;
pub mod line_stats;
pub mod memory;
pub mod output;
pub mod pipeline;
pub mod stats;
pub mod tables;
pub mod wire;
pub mod writer;

pub use encode::{CsvDialect, CsvQuoting, Encoder, JsonEncoder, Template, TextEncoder};
pub use error::{Error, Result};
pub use event::{Event, EventKind, Field, RecordKind, Value};
pub use filter::{Filter, FilterSet};
pub use output::{FileMode, Output};
pub use pipeline::{EventFilter, Pipeline};
pub use tables::{tables, CodeEntry, Tables};
pub use writer::Writer;
