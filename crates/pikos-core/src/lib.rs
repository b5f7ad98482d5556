//! pikos core: everything per event that does not need the Python interpreter.
//!
//! The interpreter hook (in `pikos-python`) turns each event into a fixed-size
//! [`Event`] that names its code and function by id ([`Tables`]).  A [`Pipeline`]
//! later resolves those ids, applies the built-in [`Filter`]s and encodes rows
//! as CSV or text; a [`FileSink`] runs that pipeline on its own writer thread
//! so the profiled program never waits for formatting or disk.

pub mod encode;
pub mod error;
pub mod event;
pub mod filter;
pub mod memory;
pub mod sink;
pub mod tables;

pub use encode::{CsvDialect, CsvQuoting, Encoder, Template, TextEncoder};
pub use error::{Error, Result};
pub use event::{Event, EventKind, Field, RecordKind, Value};
pub use filter::{Filter, FilterSet};
pub use sink::{FileSink, Pipeline};
pub use tables::{tables, CodeEntry, Tables};
