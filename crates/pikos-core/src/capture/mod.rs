//! The capture: records kept in a compact binary file (`.pikos`) that every
//! output can be made from afterwards.  The layout is documented, byte by
//! byte, in `docs/capture-format.md`; this module is its one writer and its
//! one reader in the core.
//!
//! A capture carries what the live stream carries (`docs/wire-format.md`):
//! each session starts with the wire's session header (a JSON object) and
//! ends with its end marker; between them, records in self-contained zstd
//! blocks.  Inside a block a record is the values of its *location* (the
//! fields that depend only on where the event happened: type, function,
//! line number, source line, file name), stored once per session, plus
//! per-event integer columns (index, memory, time, thread) delta-coded.
//!
//! `write.rs` holds the encoder (events to block records, on the writer
//! thread) and the file output (blocks compressed and closed every 50 ms or
//! 256 KiB); `read.rs` the reader that decodes blocks back into records;
//! `export.rs` what the reader feeds: the row encoders (CSV, text) and the
//! timelines' `export::Trace`.

mod export;
mod read;
mod write;

pub use self::export::{convert, first_session, frames, is_capture, statistics, write_rows, Frame};
pub use self::read::{read, Cut, ReadSummary, Session, Visitor};
pub use self::write::{open, CaptureEncoder, CaptureOutput};

/// The first bytes of every capture.
pub const MAGIC: &[u8; 8] = b"PIKOSCAP";
/// The layout version this module writes and reads.
pub const VERSION: u32 = 1;
/// Bytes of the file header: the magic, then the version (u32 LE).
pub const FILE_HEADER: usize = 12;
/// Bytes of a block's header: compressed size, then raw size (u32 LE each).
pub const BLOCK_HEADER: usize = 8;
/// The largest block, compressed or raw, a reader accepts (a writer closes
/// blocks far earlier: [`write::BLOCK_BYTES`]).
pub const MAX_BLOCK: usize = 64 << 20;

/// Tags of the records inside a block.
pub mod tag {
    /// A session starts: its header JSON and its columns.
    pub const SESSION: u8 = 1;
    /// A string for the session's string table.
    pub const STRING: u8 = 2;
    /// A location for the session's location table.
    pub const LOCATION: u8 = 3;
    /// Events: a location column and one column per varying field.
    pub const EVENTS: u8 = 4;
    /// A record given whole (records passed to `record()` from Python).
    pub const ROW: u8 = 5;
    /// The session ended: the end marker's JSON.
    pub const END: u8 = 6;
}

/// Types of a value in a location or a row.
pub mod value {
    pub const NONE: u8 = 0;
    /// A signed integer, zigzag varint.
    pub const INT: u8 = 1;
    /// A string of the session's string table, by index (varint).
    pub const STRING: u8 = 2;
    /// A string given inline: length (varint) and UTF-8 bytes.
    pub const TEXT: u8 = 3;
    /// A number that is not an int, as its text (`str()` of it): inline.
    pub const NUMBER: u8 = 4;
}

/// Appends `n` as an unsigned LEB128 varint.
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Zigzag: small magnitudes of either sign become small unsigned numbers.
#[inline]
pub(crate) fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

#[inline]
pub(crate) fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

#[cfg(test)]
mod tests;
