//! Encoders: a row of [`Value`]s in, bytes out.  CSV follows Python's `csv`
//! writer for the dialect the Python side resolved; text follows the original
//! pikos `TextStreamRecorder` (plain: values joined by spaces; formatted: the
//! record's `str.format` template).
//!
//! One file per format: `csv.rs` (the dialect and its encoder), `text.rs`
//! (plain and formatted text), `template.rs` (the `str.format` templates of
//! formatted text, and the line-break escaping text writes), `json.rs` (JSON
//! Lines, the live stream's records).

mod csv;
mod json;
mod template;
mod text;

pub use self::csv::{CsvDialect, CsvEncoder, CsvQuoting};
pub use self::json::JsonEncoder;
pub use self::template::{Align, Template};
pub use self::text::TextEncoder;

use crate::error::{Error, Result};
use crate::event::{Event, RecordKind, Value};
use crate::tables::TablesView;

pub trait Encoder: Send {
    /// The header for `fields` (first prepare only).
    fn header(&mut self, fields: &[&str], out: &mut Vec<u8>) -> Result<()>;
    /// One record.
    fn row(&mut self, values: &[Value<'_>], out: &mut Vec<u8>) -> Result<()>;
    /// `Some((separator, terminator))` when this encoder's row of two or
    /// more fields is exactly: each field as [`Encoder::field`] encodes it
    /// alone, joined by `separator`, then `terminator`, with integers
    /// written as their decimal digits.  The pipeline then caches the
    /// encoding of the fields that repeat from row to row.
    fn joined(&self) -> Option<(&[u8], &[u8])> {
        None
    }
    /// Bytes before a joined row's first field (JSON's `[`).
    fn prefix(&self) -> &[u8] {
        b""
    }
    /// One field of a row of two or more (only called when `joined` is Some).
    fn field(&mut self, _value: &Value<'_>, _out: &mut Vec<u8>) -> Result<()> {
        Err(Error::State(
            "this encoder does not encode fields alone".to_owned(),
        ))
    }
    /// Whether this encoder takes the hook's events whole
    /// ([`Encoder::events`]) rather than their rows: the capture
    /// (`crate::capture`) keeps ids and numbers, not text.
    fn takes_events(&self) -> bool {
        false
    }
    /// The events the filters kept, of record kind `kind`; `view` resolves
    /// their ids (only called when [`Encoder::takes_events`]).
    fn events(
        &mut self,
        _kind: RecordKind,
        _view: &mut TablesView,
        _events: &[Event],
        _out: &mut Vec<u8>,
    ) -> Result<()> {
        Err(Error::State("this encoder takes rows only".to_owned()))
    }
    /// The end of the session: bytes the encoder writes last (the
    /// capture's end marker).
    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<()> {
        Ok(())
    }
}
