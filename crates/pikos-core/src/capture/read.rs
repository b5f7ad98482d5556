//! Reading a capture: blocks in order, each checked and decompressed whole
//! before any of its records is given out, so a capture cut anywhere (a
//! process killed, a full disk) reads back up to its last complete block,
//! and [`ReadSummary::cut`] says where it stopped.  Corrupt input is never
//! trusted: every size is checked against what is left, and the tables a
//! session builds are capped.

use std::io::Read;

use super::{tag, unzigzag, value, BLOCK_HEADER, FILE_HEADER, MAGIC, MAX_BLOCK, VERSION};
use crate::error::{Error, Result};
use crate::event::Value;

/// At most this many bytes of strings kept for a read (every session's
/// tables stay alive to the end: their addresses key encoders' caches).
const MAX_STRING_BYTES: usize = 256 << 20;
/// At most this many strings and locations, all sessions together.
const MAX_ENTRIES: usize = 1 << 24;
/// At most this many values of locations, all sessions together: with the
/// caps above and a block's own size, what a read keeps is bounded (a
/// zstd frame can expand a tiny file into many 64 MiB blocks).
const MAX_LOCATION_VALUES: usize = 1 << 25;

/// A session as its record gives it.
#[derive(Debug)]
pub struct Session<'a> {
    /// Its number in the file, from 1.
    pub number: u64,
    /// The session header: the wire format's JSON object.
    pub header: &'a str,
    /// The record's field names.
    pub fields: &'a [String],
}

/// What a read gives out, in file order.
pub trait Visitor {
    fn session(&mut self, session: &Session<'_>) -> Result<()>;
    /// One record's values, in the session's field order.  A string of a
    /// location is [`Value::Table`]: its address stays the same, and is not
    /// reused, until [`read`] returns.
    fn record(&mut self, values: &[Value<'_>]) -> Result<()>;
    /// The session's end marker (the wire's JSON object).
    fn end(&mut self, _end: &str) -> Result<()> {
        Ok(())
    }
}

/// Where a capture stops short of its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    /// The first block that could not be read (from 1).
    pub block: u64,
    /// Records read before it.
    pub records: u64,
    /// Its byte offset in the file.
    pub offset: u64,
    /// What is wrong there.
    pub reason: String,
}

/// What a read found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub sessions: u64,
    /// Complete blocks read.
    pub blocks: u64,
    pub records: u64,
    /// Sessions whose end marker was read.
    pub ended: u64,
    /// Bytes read, up to the end of the last complete block.
    pub bytes: u64,
    /// Set when the file ends in, or has, a block that cannot be read.
    pub cut: Option<Cut>,
}

/// A value of a location, its strings in the read's arena.
#[derive(Clone, Copy)]
enum Fixed {
    None,
    Int(i64),
    Text(u32),
    Number(u32),
}

/// The state of the session being read.
struct State {
    number: u64,
    fields: Vec<String>,
    varying: Vec<bool>,
    /// Session string table: indices into the arena.
    strings: Vec<u32>,
    /// Locations: their fixed values, one after the other.
    locations: Vec<Fixed>,
    /// How many locations `locations` holds.
    location_count: usize,
    fixed: usize,
}

/// A block's bytes as records.
struct Cursor<'b> {
    bytes: &'b [u8],
    at: usize,
}

/// Why a block's records could not be read: the block is damaged, or the
/// visitor failed (its error is the read's).
enum Fault {
    Damaged(String),
    Visitor(Error),
}

fn damaged(what: &str) -> Fault {
    Fault::Damaged(what.to_owned())
}

type Decoded<T> = std::result::Result<T, Fault>;

impl<'b> Cursor<'b> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> Decoded<u8> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| damaged("a record runs past the block's end"))?;
        self.at += 1;
        Ok(b)
    }

    #[inline]
    fn varint(&mut self) -> Decoded<u64> {
        let mut n = 0u64;
        let mut shift = 0;
        loop {
            let b = *self
                .bytes
                .get(self.at)
                .ok_or_else(|| damaged("a number runs past the block's end"))?;
            self.at += 1;
            if shift == 63 && b > 1 {
                return Err(damaged("a number longer than 64 bits"));
            }
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
            shift += 7;
            if shift > 63 {
                return Err(damaged("a number longer than 64 bits"));
            }
        }
    }

    /// A count of things each at least `each` bytes long, checked against
    /// what is left (so nothing is allocated for more than the block holds).
    fn count(&mut self, each: usize) -> Decoded<usize> {
        let n = self.varint()?;
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(each) <= self.left() => Ok(n),
            _ => Err(damaged("a count larger than the block")),
        }
    }

    fn text(&mut self) -> Decoded<&'b str> {
        let n = self.count(1)?;
        let bytes = &self.bytes[self.at..self.at + n];
        self.at += n;
        std::str::from_utf8(bytes).map_err(|_| damaged("a string that is not UTF-8"))
    }
}

/// Reads the capture from `input` (`source` names it in errors), giving its
/// sessions and records to `visitor`.  A file that is not a capture, or of
/// another version, is an error; a capture that stops short (cut, or
/// damaged) is read up to there and the summary says where.
pub fn read(mut input: impl Read, source: &str, visitor: &mut dyn Visitor) -> Result<ReadSummary> {
    let io = |e| Error::io(Some(source), e);
    let mut start = [0u8; FILE_HEADER];
    let got = read_full(&mut input, &mut start).map_err(io)?;
    if got < MAGIC.len() || &start[..MAGIC.len()] != MAGIC {
        return Err(Error::Input(format!(
            "{source} is not a pikos capture (it does not start with {:?})",
            std::str::from_utf8(MAGIC).unwrap_or_default()
        )));
    }
    let mut summary = ReadSummary::default();
    if got < FILE_HEADER {
        summary.cut = Some(Cut {
            block: 1,
            records: 0,
            offset: got as u64,
            reason: "the file ends inside its header".to_owned(),
        });
        return Ok(summary);
    }
    let version = u32::from_le_bytes([start[8], start[9], start[10], start[11]]);
    if version != VERSION {
        return Err(Error::Input(format!(
            "{source} is a pikos capture of version {version}; this pikos reads version {VERSION}"
        )));
    }
    summary.bytes = FILE_HEADER as u64;
    let mut reader = Decoder {
        arena: Vec::new(),
        arena_bytes: 0,
        entries: 0,
        location_values: 0,
        state: None,
        columns: Vec::new(),
    };
    let mut compressed = Vec::new();
    let mut raw = Vec::new();
    let mut decompressor = zstd::bulk::Decompressor::new().map_err(io)?;
    loop {
        let block = summary.blocks + 1;
        let cut = |reason: String, summary: &ReadSummary| Cut {
            block,
            records: summary.records,
            offset: summary.bytes,
            reason,
        };
        let mut head = [0u8; BLOCK_HEADER];
        let got = read_full(&mut input, &mut head).map_err(io)?;
        if got == 0 {
            break;
        }
        if got < BLOCK_HEADER {
            summary.cut = Some(cut(
                "the file ends inside a block's header".into(),
                &summary,
            ));
            break;
        }
        let size = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let raw_size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if size == 0 || size > MAX_BLOCK || raw_size > MAX_BLOCK {
            summary.cut = Some(cut(
                format!("a block header of impossible sizes ({size}, {raw_size} bytes)"),
                &summary,
            ));
            break;
        }
        compressed.clear();
        let got = (&mut input)
            .take(size as u64)
            .read_to_end(&mut compressed)
            .map_err(io)?;
        if got < size {
            summary.cut = Some(cut(
                format!("the file ends inside a block ({got} of its {size} bytes)"),
                &summary,
            ));
            break;
        }
        raw.clear();
        raw.reserve(raw_size);
        match decompressor.decompress_to_buffer(&compressed, &mut raw) {
            Ok(n) if n == raw_size => {}
            Ok(n) => {
                summary.cut = Some(cut(
                    format!("a block of {n} bytes where its header says {raw_size}"),
                    &summary,
                ));
                break;
            }
            Err(e) => {
                summary.cut = Some(cut(
                    format!("a block that does not decompress ({e})"),
                    &summary,
                ));
                break;
            }
        }
        match reader.block(&raw, visitor, &mut summary) {
            Ok(()) => {}
            Err(Fault::Damaged(reason)) => {
                summary.cut = Some(cut(format!("a damaged block: {reason}"), &summary));
                break;
            }
            Err(Fault::Visitor(e)) => return Err(e),
        }
        summary.blocks += 1;
        summary.bytes += (BLOCK_HEADER + size) as u64;
    }
    Ok(summary)
}

/// Reads until `buffer` is full or the input ends; how many bytes came.
fn read_full(input: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buffer.len() {
        match input.read(&mut buffer[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

struct Decoder {
    /// Every string of every session's table, alive to the end of the read.
    arena: Vec<Box<str>>,
    arena_bytes: usize,
    entries: usize,
    location_values: usize,
    state: Option<State>,
    /// The varying columns of an events record (scratch).
    columns: Vec<Vec<u64>>,
}

impl Decoder {
    fn add_entry(&mut self) -> Decoded<()> {
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(damaged("more strings and locations than a capture holds"));
        }
        Ok(())
    }

    fn block(
        &mut self,
        bytes: &[u8],
        visitor: &mut dyn Visitor,
        summary: &mut ReadSummary,
    ) -> Decoded<()> {
        let mut cursor = Cursor { bytes, at: 0 };
        while cursor.left() > 0 {
            match cursor.byte()? {
                tag::SESSION => {
                    let header = cursor.text()?;
                    let n = cursor.count(2)?;
                    let mut fields = Vec::with_capacity(n);
                    let mut varying = Vec::with_capacity(n);
                    for _ in 0..n {
                        fields.push(cursor.text()?.to_owned());
                        varying.push(match cursor.byte()? {
                            0 => false,
                            1 => true,
                            _ => return Err(damaged("a field neither fixed nor varying")),
                        });
                    }
                    let fixed = varying.iter().filter(|v| !**v).count();
                    summary.sessions += 1;
                    let state = State {
                        number: summary.sessions,
                        fields,
                        varying,
                        strings: Vec::new(),
                        locations: Vec::new(),
                        location_count: 0,
                        fixed,
                    };
                    visitor
                        .session(&Session {
                            number: state.number,
                            header,
                            fields: &state.fields,
                        })
                        .map_err(Fault::Visitor)?;
                    self.state = Some(state);
                }
                tag::STRING => {
                    let text = cursor.text()?;
                    self.add_entry()?;
                    self.arena_bytes += text.len();
                    if self.arena_bytes > MAX_STRING_BYTES {
                        return Err(damaged("more string bytes than a capture holds"));
                    }
                    let state = self.state.as_mut().ok_or_else(no_session)?;
                    state.strings.push(self.arena.len() as u32);
                    self.arena.push(text.into());
                }
                tag::LOCATION => {
                    self.add_entry()?;
                    let state = self.state.as_mut().ok_or_else(no_session)?;
                    for _ in 0..state.fixed {
                        let v = match cursor.byte()? {
                            value::NONE => Fixed::None,
                            value::INT => Fixed::Int(unzigzag(cursor.varint()?)),
                            value::STRING => {
                                let at = usize::try_from(cursor.varint()?).unwrap_or(usize::MAX);
                                let &id = state
                                    .strings
                                    .get(at)
                                    .ok_or_else(|| damaged("a location names a missing string"))?;
                                Fixed::Text(id)
                            }
                            value::NUMBER => {
                                let text = cursor.text()?;
                                self.arena_bytes += text.len();
                                if self.arena_bytes > MAX_STRING_BYTES {
                                    return Err(damaged("more string bytes than a capture holds"));
                                }
                                self.arena.push(text.into());
                                Fixed::Number(self.arena.len() as u32 - 1)
                            }
                            _ => return Err(damaged("a location value of an unknown type")),
                        };
                        state.locations.push(v);
                    }
                    self.location_values += state.fixed;
                    if self.location_values > MAX_LOCATION_VALUES {
                        return Err(damaged("more locations than a capture holds"));
                    }
                    state.location_count += 1;
                }
                tag::EVENTS => self.events(&mut cursor, visitor, summary)?,
                tag::ROW => {
                    let state = self.state.as_ref().ok_or_else(no_session)?;
                    let n = cursor.count(1)?;
                    if n != state.fields.len() {
                        return Err(damaged("a row of another length than its fields"));
                    }
                    let mut row = Vec::with_capacity(n);
                    for _ in 0..n {
                        row.push(match cursor.byte()? {
                            value::NONE => Value::None,
                            value::INT => Value::Int(unzigzag(cursor.varint()?)),
                            value::TEXT => Value::Str(cursor.text()?),
                            value::NUMBER => Value::Num(cursor.text()?),
                            _ => return Err(damaged("a row value of an unknown type")),
                        });
                    }
                    visitor.record(&row).map_err(Fault::Visitor)?;
                    summary.records += 1;
                }
                tag::END => {
                    let end = cursor.text()?;
                    self.state.as_ref().ok_or_else(no_session)?;
                    visitor.end(end).map_err(Fault::Visitor)?;
                    summary.ended += 1;
                }
                other => return Err(damaged(&format!("a record of unknown kind {other}"))),
            }
        }
        Ok(())
    }

    fn events(
        &mut self,
        cursor: &mut Cursor<'_>,
        visitor: &mut dyn Visitor,
        summary: &mut ReadSummary,
    ) -> Decoded<()> {
        let state = self.state.as_ref().ok_or_else(no_session)?;
        let columns = state.varying.iter().filter(|v| **v).count();
        let n = cursor.count(1 + columns)?;
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let id = usize::try_from(cursor.varint()?).unwrap_or(usize::MAX);
            if id >= state.location_count {
                return Err(damaged("an event at a location not defined"));
            }
            ids.push(id);
        }
        self.columns.resize_with(columns, Vec::new);
        for column in &mut self.columns[..columns] {
            column.clear();
            let mut number = 0u64;
            for _ in 0..n {
                number = number.wrapping_add(unzigzag(cursor.varint()?) as u64);
                column.push(number);
            }
        }
        let arena = &self.arena;
        let text = |id: u32| -> &str { &arena[id as usize] };
        let mut row: Vec<Value<'_>> = Vec::with_capacity(state.varying.len());
        for (i, &id) in ids.iter().enumerate() {
            row.clear();
            let mut fixed = state.locations[id * state.fixed..].iter();
            let mut column = self.columns.iter();
            for &varies in &state.varying {
                let v = if varies {
                    Value::Int(column.next().map_or(0, |c| c[i]) as i64)
                } else {
                    match fixed.next() {
                        Some(Fixed::Int(n)) => Value::Int(*n),
                        Some(Fixed::Text(s)) => Value::Table(text(*s)),
                        Some(Fixed::Number(s)) => Value::Num(text(*s)),
                        Some(Fixed::None) | None => Value::None,
                    }
                };
                row.push(v);
            }
            visitor.record(&row).map_err(Fault::Visitor)?;
        }
        summary.records += n as u64;
        Ok(())
    }
}

fn no_session() -> Fault {
    damaged("records before any session")
}
