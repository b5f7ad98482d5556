//! Writing a capture: [`CaptureEncoder`] turns the hook's events (and rows
//! from Python) into block records on the writer thread; [`CaptureOutput`]
//! gathers them into blocks, compresses each into a zstd frame and writes
//! it whole.

use std::path::Path;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use super::{put_varint, tag, value, zigzag, BLOCK_HEADER, FILE_HEADER, MAGIC, MAX_BLOCK, VERSION};
use crate::encode::Encoder;
use crate::error::{Error, Result};
use crate::event::{Event, Field, RecordKind, Value, MAX_FIELDS};
use crate::filter::FilterSet;
use crate::output::{FileMode, FileOutput, Output};
use crate::pipeline::{varies, varying_number, Pipeline};
use crate::tables::TablesView;
use crate::writer::Writer;

/// A block is closed once its records reach this many bytes (before
/// compression)...
pub const BLOCK_BYTES: usize = 256 << 10;
/// ...or at the latest this long after its first record, so that a process
/// killed loses at most about this much (plus the hook's partial batch,
/// which the recorder's flusher hands over as often: docs/capture-format.md).
pub const BLOCK_PERIOD: Duration = Duration::from_millis(50);
/// zstd's level: 3, its default, is fast enough for the writer thread to
/// keep up with the hook and small enough for the targets (BENCHMARKS.md).
const LEVEL: i32 = 3;

/// Code id, function name id, line number, event kind.
type Location = (u32, u32, i32, u8);

/// Events and rows to block records (docs/capture-format.md): a session
/// record first ([`Encoder::header`]), the string and location tables as
/// they grow, events as columns, rows whole, the end marker last.
pub struct CaptureEncoder {
    /// The session header (the wire's, a JSON object).
    header: String,
    /// The record's field names.
    fields: Vec<String>,
    /// The record's fields: which ones vary per event (columns).
    varying: Vec<bool>,
    locations: FxHashMap<Location, u32>,
    strings: FxHashMap<Box<str>, u32>,
    /// Location ids of the events being encoded (scratch).
    ids: Vec<u32>,
    /// A location record being made (scratch).
    body: Vec<u8>,
    records: u64,
    started: Instant,
}

impl CaptureEncoder {
    /// An encoder for records of `kind` (None: rows from Python only) with
    /// `fields`, whose session header is the JSON object `header`.
    pub fn new(kind: Option<RecordKind>, fields: Vec<String>, header: String) -> Result<Self> {
        let varying: Vec<bool> = match kind {
            Some(kind) => kind.fields().iter().map(|&f| varies(f)).collect(),
            None => vec![false; fields.len()],
        };
        if varying.len() != fields.len() {
            return Err(Error::State(format!(
                "a capture of {} fields for records of {} fields",
                fields.len(),
                varying.len()
            )));
        }
        Ok(CaptureEncoder {
            header,
            fields,
            varying,
            locations: FxHashMap::default(),
            strings: FxHashMap::default(),
            ids: Vec::new(),
            body: Vec::new(),
            records: 0,
            started: Instant::now(),
        })
    }

    /// The id of `text` in the session's string table, adding it (and its
    /// record) when new.
    fn string(&mut self, text: &str, out: &mut Vec<u8>) -> u32 {
        if let Some(&id) = self.strings.get(text) {
            return id;
        }
        let id = self.strings.len() as u32;
        out.push(tag::STRING);
        put_varint(out, text.len() as u64);
        out.extend_from_slice(text.as_bytes());
        self.strings.insert(text.into(), id);
        id
    }

    /// A value of a row (strings inline; a location's are in the table).
    fn value(&self, v: &Value<'_>, out: &mut Vec<u8>) {
        match v {
            Value::None => out.push(value::NONE),
            Value::Int(n) => {
                out.push(value::INT);
                put_varint(out, zigzag(*n));
            }
            Value::Table(text) | Value::Str(text) => {
                out.push(value::TEXT);
                put_varint(out, text.len() as u64);
                out.extend_from_slice(text.as_bytes());
            }
            Value::Num(text) => {
                out.push(value::NUMBER);
                put_varint(out, text.len() as u64);
                out.extend_from_slice(text.as_bytes());
            }
        }
    }

    /// The location id of `event`, adding the location when new.
    #[inline]
    fn location(
        &mut self,
        kind: RecordKind,
        view: &mut TablesView,
        event: &Event,
        out: &mut Vec<u8>,
    ) -> u32 {
        let key = (event.code, event.function, event.lineno, event.kind as u8);
        if let Some(&id) = self.locations.get(&key) {
            return id;
        }
        self.new_location(kind, view, event, key, out)
    }

    #[cold]
    #[inline(never)]
    fn new_location(
        &mut self,
        kind: RecordKind,
        view: &mut TablesView,
        event: &Event,
        key: Location,
        out: &mut Vec<u8>,
    ) -> u32 {
        view.ensure(event.code, event.function);
        let fields = kind.fields();
        let values = Pipeline::values(view, fields, event);
        // The strings it names go first (into `out`), then the location.
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        body.push(tag::LOCATION);
        let varying = std::mem::take(&mut self.varying);
        for (v, &varies) in values[..fields.len()].iter().zip(&varying) {
            if varies {
                continue;
            }
            match v {
                Value::Table(text) | Value::Str(text) => {
                    let id = self.string(text, out);
                    body.push(value::STRING);
                    put_varint(&mut body, u64::from(id));
                }
                v => self.value(v, &mut body),
            }
        }
        self.varying = varying;
        out.extend_from_slice(&body);
        self.body = body;
        let id = self.locations.len() as u32;
        self.locations.insert(key, id);
        id
    }
}

impl Encoder for CaptureEncoder {
    /// The session record: the header JSON, then the fields: each one's
    /// name and whether it is a column per event (1) or a value of the
    /// location (0).
    fn header(&mut self, _fields: &[&str], out: &mut Vec<u8>) -> Result<()> {
        out.push(tag::SESSION);
        put_varint(out, self.header.len() as u64);
        out.extend_from_slice(self.header.as_bytes());
        put_varint(out, self.varying.len() as u64);
        for (name, &varies) in self.fields.iter().zip(&self.varying) {
            put_varint(out, name.len() as u64);
            out.extend_from_slice(name.as_bytes());
            out.push(u8::from(varies));
        }
        self.started = Instant::now();
        Ok(())
    }

    fn row(&mut self, values: &[Value<'_>], out: &mut Vec<u8>) -> Result<()> {
        out.push(tag::ROW);
        put_varint(out, values.len() as u64);
        for v in values {
            self.value(v, out);
        }
        self.records += 1;
        Ok(())
    }

    fn takes_events(&self) -> bool {
        true
    }

    fn events(
        &mut self,
        kind: RecordKind,
        view: &mut TablesView,
        events: &[Event],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let fields = kind.fields();
        if fields.len() != self.varying.len() {
            return Err(Error::State(format!(
                "{} events in a capture of {}-field records",
                kind.name(),
                self.varying.len()
            )));
        }
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        for event in events {
            let id = self.location(kind, view, event, out);
            ids.push(id);
        }
        out.push(tag::EVENTS);
        put_varint(out, events.len() as u64);
        for &id in &ids {
            put_varint(out, u64::from(id));
        }
        self.ids = ids;
        let mut columns = [Field::Index; MAX_FIELDS];
        let mut count = 0;
        for (&field, &varies) in fields.iter().zip(&self.varying) {
            if varies {
                columns[count] = field;
                count += 1;
            }
        }
        for &field in &columns[..count] {
            let mut previous = 0u64;
            for event in events {
                let number = varying_number(field, event);
                put_varint(out, zigzag(number.wrapping_sub(previous) as i64));
                previous = number;
            }
        }
        self.records += events.len() as u64;
        Ok(())
    }

    /// The end marker: the wire's (`records`, `seconds`).
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let end = format!(
            "{{\"records\": {}, \"seconds\": {:.6}}}",
            self.records,
            self.started.elapsed().as_secs_f64()
        );
        out.push(tag::END);
        put_varint(out, end.len() as u64);
        out.extend_from_slice(end.as_bytes());
        Ok(())
    }
}

/// A capture file: the records the encoder writes, gathered into blocks,
/// each compressed into one zstd frame (with its checksum) and written
/// whole after its header (compressed size, raw size).  A block closes at
/// [`BLOCK_BYTES`], every [`BLOCK_PERIOD`] (the writer's tick), at a flush
/// (a pause before `fork` or `os._exit`) and at the end; a file that cannot
/// be written is cut back to its last whole block ([`FileOutput`]).
pub struct CaptureOutput {
    file: FileOutput,
    raw: Vec<u8>,
    compressor: zstd::bulk::Compressor<'static>,
    /// The compressed frame, then the block as written (scratch).
    block: Vec<u8>,
    whole: Vec<u8>,
}

impl CaptureOutput {
    /// Opens `path`: a new capture (truncated, the file header written), or
    /// with `append` a capture to add a session to (made with the header if
    /// empty, else checked to be a capture of this version first).
    pub fn open(path: &Path, append: bool, private: bool) -> Result<Self> {
        let shown = path.display().to_string();
        let mode = match (private, append) {
            (false, false) => FileMode::Write,
            (false, true) => FileMode::Append,
            (true, false) => FileMode::PrivateWrite,
            (true, true) => FileMode::PrivateAppend,
        };
        let mut file = FileOutput::open(path, mode, false)?;
        let empty = std::fs::metadata(path).map_or(true, |m| m.len() == 0 || !m.is_file());
        if !append || empty {
            let mut header = Vec::with_capacity(FILE_HEADER);
            header.extend_from_slice(MAGIC);
            header.extend_from_slice(&VERSION.to_le_bytes());
            file.write(&header)?;
            file.flush()?;
        } else {
            let mut start = [0u8; FILE_HEADER];
            let read = std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut start));
            if read.is_err() || &start[..8] != MAGIC || start[8..] != VERSION.to_le_bytes() {
                return Err(Error::Input(format!(
                    "{shown} is not a pikos capture of version {VERSION}: \
                     not adding a session to it"
                )));
            }
        }
        let mut compressor =
            zstd::bulk::Compressor::new(LEVEL).map_err(|e| Error::io(Some(&shown), e))?;
        compressor
            .set_parameter(zstd::stream::raw::CParameter::ChecksumFlag(true))
            .map_err(|e| Error::io(Some(&shown), e))?;
        Ok(CaptureOutput {
            file,
            raw: Vec::with_capacity(BLOCK_BYTES + (1 << 20)),
            compressor,
            block: Vec::new(),
            whole: Vec::new(),
        })
    }

    /// Compresses the open block and writes it whole.
    fn close_block(&mut self) -> Result<()> {
        if self.raw.is_empty() {
            return Ok(());
        }
        if self.raw.len() > MAX_BLOCK {
            // A reader refuses it: fail rather than write what cannot be read.
            self.raw.clear();
            return Err(Error::Encode(format!(
                "a record of more than {} MiB cannot go in a capture",
                MAX_BLOCK >> 20
            )));
        }
        self.block.clear();
        self.block
            .reserve(zstd::zstd_safe::compress_bound(self.raw.len()));
        // (A Vec is written from its start: the frame goes alone in it.)
        self.compressor
            .compress_to_buffer(&self.raw, &mut self.block)
            .map_err(|e| Error::Encode(format!("zstd: {e}")))?;
        let mut header = [0u8; BLOCK_HEADER];
        header[..4].copy_from_slice(&(self.block.len() as u32).to_le_bytes());
        header[4..].copy_from_slice(&(self.raw.len() as u32).to_le_bytes());
        self.raw.clear();
        // One write, so that a file that cannot take it all is cut back to
        // the block before (FileOutput).
        self.whole.clear();
        self.whole.extend_from_slice(&header);
        self.whole.extend_from_slice(&self.block);
        self.file.write(&self.whole)?;
        self.file.flush()
    }
}

impl Output for CaptureOutput {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if !self.raw.is_empty() && self.raw.len() + bytes.len() > BLOCK_BYTES {
            // The records so far go first: a block never exceeds the size
            // unless one write does alone.
            self.close_block()?;
        }
        self.raw.extend_from_slice(bytes);
        if self.raw.len() >= BLOCK_BYTES {
            self.close_block()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.close_block()
    }

    fn polled(&self) -> bool {
        // Its encoder writes a batch of 8192 events in tens of microseconds,
        // a twentieth of the time the hook takes to fill one.
        true
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(BLOCK_PERIOD)
    }

    fn tick(&mut self) -> Result<()> {
        self.close_block()
    }
}

/// Starts a capture's writer: opens `path` (see [`CaptureOutput::open`]),
/// writes the session record (the JSON object `header`) in a block of its
/// own, so that a file that cannot be written fails here, and starts the
/// writer thread.  `kind` None: a capture of rows given from Python only,
/// named `fields`.
pub fn open(
    path: &Path,
    append: bool,
    private: bool,
    kind: Option<RecordKind>,
    fields: Vec<String>,
    filters: FilterSet,
    header: String,
) -> Result<Writer> {
    let mut output = CaptureOutput::open(path, append, private)?;
    let encoder = CaptureEncoder::new(kind, fields, header)?;
    let mut pipeline = Pipeline::new(kind, filters, Box::new(encoder));
    let mut out = Vec::new();
    pipeline.header(&[], &mut out)?;
    output.write(&out)?;
    output.flush()?;
    Writer::start(&path.display().to_string(), pipeline, Box::new(output))
}
