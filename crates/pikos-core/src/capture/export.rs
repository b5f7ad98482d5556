//! One reader, many outputs: a capture read back into the row encoders
//! (CSV, text: the bytes the recorders write) and into the timelines'
//! [`Trace`].

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

use super::read::{read, ReadSummary, Session, Visitor};
use crate::encode::{Encoder, JsonEncoder};
use crate::error::{Error, Result};
use crate::event::Value;
use crate::export::{write_trace, Format, Options, Step, Summary, Trace};
use crate::output::write_output;
use crate::stats::{Aggregator, Func, Snapshot};
use crate::tables::{tables, CodeEntry};
use crate::wire::RECORDS_MESSAGE_BYTES;
use rustc_hash::FxHashMap;

fn open(input: &Path) -> Result<(String, BufReader<File>)> {
    let source = input.display().to_string();
    let file = File::open(input).map_err(|e| Error::io(Some(&source), e))?;
    Ok((source, BufReader::with_capacity(1 << 20, file)))
}

/// Whether the file at `path` starts as a capture does.
pub fn is_capture(path: &Path) -> bool {
    let mut start = [0u8; 8];
    File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut start))
        .is_ok()
        && &start == super::MAGIC
}

/// Rows through an encoder: the header of the first session (as a file
/// recorder writes it once, whatever the sessions), then every record.
struct Rows<'w> {
    encoder: Box<dyn Encoder>,
    header: bool,
    buffer: Vec<u8>,
    out: &'w mut dyn Write,
}

impl Rows<'_> {
    fn spill(&mut self) -> Result<()> {
        self.out
            .write_all(&self.buffer)
            .map_err(|e| Error::io(None, e))?;
        self.buffer.clear();
        Ok(())
    }
}

impl Visitor for Rows<'_> {
    fn session(&mut self, session: &Session<'_>) -> Result<()> {
        if std::mem::take(&mut self.header) {
            let fields: Vec<&str> = session.fields.iter().map(String::as_str).collect();
            self.encoder.header(&fields, &mut self.buffer)?;
        }
        Ok(())
    }

    #[inline]
    fn record(&mut self, values: &[Value<'_>]) -> Result<()> {
        self.encoder.row(values, &mut self.buffer)?;
        if self.buffer.len() >= 1 << 20 {
            self.spill()?;
        }
        Ok(())
    }
}

/// Writes the records of the capture at `input` as `encoder` encodes them
/// (its header first when `header`) to `output` (None: stdout), as
/// Python's `open(path, "w")` would ([`write_output`]).
pub fn write_rows(
    input: &Path,
    output: Option<&Path>,
    encoder: Box<dyn Encoder>,
    header: bool,
) -> Result<ReadSummary> {
    let (source, file) = open(input)?;
    let mut summary = None;
    let write = |out: &mut dyn Write| -> Result<()> {
        let mut rows = Rows {
            encoder,
            header,
            buffer: Vec::with_capacity(1 << 21),
            out,
        };
        summary = Some(read(file, &source, &mut rows)?);
        rows.spill()
    };
    match output {
        Some(path) => write_output(path, write)?,
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            write(&mut out).map_err(|e| match e {
                Error::Io { path: None, source } => Error::io(Some("stdout"), source),
                e => e,
            })?;
            out.flush().map_err(|e| Error::io(Some("stdout"), e))?;
        }
    }
    Ok(summary.unwrap_or_default())
}

/// Timed function records into a [`Trace`], found by field name per
/// session (as `export::read_csv` finds its columns).
struct Timeline<'t> {
    trace: &'t mut Trace,
    source: String,
    /// type, function, lineNo, filename, time, thread
    at: Option<[usize; 6]>,
}

/// A value of a record as text ("" when absent or not text).
fn text_at<'v>(values: &[Value<'v>], i: usize) -> &'v str {
    match values.get(i) {
        Some(Value::Str(s) | Value::Table(s) | Value::Num(s)) => s,
        _ => "",
    }
}

/// A value of a record as an integer (None when absent or not one).
fn number_at(values: &[Value<'_>], i: usize) -> Option<i64> {
    match values.get(i) {
        Some(Value::Int(n)) => Some(*n),
        _ => None,
    }
}

/// What every timed function record has: its event type, time and thread,
/// found at `at` (the positions of type, function, lineNo, filename, time,
/// thread in the session's fields).
struct TimedEvent {
    step: Step,
    time: i64,
    thread: i64,
}

impl TimedEvent {
    fn of(values: &[Value<'_>], at: &[usize; 6], source: &str) -> Result<Self> {
        let kind = text_at(values, at[0]);
        let step = Step::from_name(kind)
            .ok_or_else(|| Error::Input(format!("{source}: unknown event type {kind:?}")))?;
        let (Some(time), Some(thread)) = (number_at(values, at[4]), number_at(values, at[5]))
        else {
            return Err(Error::Input(format!(
                "{source}: a record without its time or thread"
            )));
        };
        Ok(TimedEvent { step, time, thread })
    }
}

impl Visitor for Timeline<'_> {
    fn session(&mut self, session: &Session<'_>) -> Result<()> {
        let find = |name: &str| session.fields.iter().position(|f| f == name);
        let names = ["type", "function", "lineNo", "filename", "time", "thread"];
        let found: Vec<Option<usize>> = names.iter().map(|n| find(n)).collect();
        if found[4].is_none() || found[5].is_none() {
            return Err(Error::Input(format!(
                "{}: session {} has no time and thread fields: it was not recorded \
                 with timed function records (FunctionMonitor(recorder, timed=True), \
                 or pikos-run functions --timed)",
                self.source, session.number
            )));
        }
        let mut at = [0; 6];
        for (slot, (found, name)) in at.iter_mut().zip(found.iter().zip(names)) {
            *slot = found.ok_or_else(|| {
                Error::Input(format!(
                    "{}: session {} holds no function records: no {name} field",
                    self.source, session.number
                ))
            })?;
        }
        self.at = Some(at);
        Ok(())
    }

    fn record(&mut self, values: &[Value<'_>]) -> Result<()> {
        let Some(at) = self.at else {
            return Ok(());
        };
        let TimedEvent { step, time, thread } = TimedEvent::of(values, &at, &self.source)?;
        let text = |i: usize| text_at(values, i);
        let number = |i: usize| number_at(values, i);
        self.trace.event(
            step,
            text(at[1]),
            text(at[3]),
            number(at[2]),
            time as u64,
            thread as u64,
        );
        Ok(())
    }
}

/// The capture at `input` as `format` at `output` (None: stdout): the
/// timelines of `export::convert`, from a capture.
pub fn convert(
    input: &Path,
    output: Option<&Path>,
    format: Format,
    options: &Options,
) -> Result<(Summary, ReadSummary)> {
    let (source, file) = open(input)?;
    let mut trace = Trace::new();
    let read = read(
        file,
        &source,
        &mut Timeline {
            trace: &mut trace,
            source: source.clone(),
            at: None,
        },
    )?;
    let summary = write_trace(trace, &source, output, format, options)?;
    Ok((summary, read))
}

/// The header (the JSON object) and field names of the first session of
/// the capture at `input`, read from its first blocks only; None when it
/// has no whole session.
pub fn first_session(input: &Path) -> Result<Option<(String, Vec<String>)>> {
    struct First(Option<(String, Vec<String>)>);
    impl Visitor for First {
        fn session(&mut self, session: &Session<'_>) -> Result<()> {
            self.0 = Some((session.header.to_owned(), session.fields.to_vec()));
            // Stop the read here: the rest is not needed.
            Err(Error::NotReady(String::new()))
        }
        fn record(&mut self, _: &[Value<'_>]) -> Result<()> {
            Ok(())
        }
    }
    let (source, file) = open(input)?;
    let mut first = First(None);
    match read(file, &source, &mut first) {
        Ok(_) | Err(Error::NotReady(_)) => Ok(first.0),
        Err(e) => Err(e),
    }
}

/// What [`frames`] gives out: a capture as the live stream's messages
/// carry it (the payloads of docs/wire-format.md).
#[derive(Debug)]
pub enum Frame {
    /// A session starts (its number in the file, from 1): the header JSON.
    Header(u64, String),
    /// Records of the session: JSON Lines, and how many.
    Records(u64, Vec<u8>, u64),
    /// The session's end marker JSON.
    End(u64, String),
}

/// Records as JSON Lines batches of at most `batch`, cut as the wire cuts
/// them ([`RECORDS_MESSAGE_BYTES`]), by [`JsonEncoder`] (the wire's
/// encoder).
struct Frames<'s> {
    send: &'s mut dyn FnMut(Frame) -> Result<()>,
    batch: u64,
    session: u64,
    lines: Vec<u8>,
    count: u64,
}

impl Frames<'_> {
    fn flush(&mut self) -> Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        let lines = std::mem::take(&mut self.lines);
        let count = std::mem::take(&mut self.count);
        (self.send)(Frame::Records(self.session, lines, count))
    }
}

impl Visitor for Frames<'_> {
    fn session(&mut self, session: &Session<'_>) -> Result<()> {
        self.flush()?;
        self.session = session.number;
        (self.send)(Frame::Header(session.number, session.header.to_owned()))
    }

    fn record(&mut self, values: &[Value<'_>]) -> Result<()> {
        JsonEncoder.row(values, &mut self.lines)?;
        self.count += 1;
        if self.count >= self.batch || self.lines.len() >= RECORDS_MESSAGE_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn end(&mut self, end: &str) -> Result<()> {
        self.flush()?;
        (self.send)(Frame::End(self.session, end.to_owned()))
    }
}

/// The capture at `input` as the live stream's payloads, in order, to
/// `send` (whose error stops the read and is returned).
pub fn frames(
    input: &Path,
    batch: usize,
    send: &mut dyn FnMut(Frame) -> Result<()>,
) -> Result<ReadSummary> {
    let (source, file) = open(input)?;
    let mut frames = Frames {
        send,
        batch: batch.max(1) as u64,
        session: 0,
        lines: Vec::new(),
        count: 0,
    };
    let summary = read(file, &source, &mut frames)?;
    frames.flush()?;
    Ok(summary)
}

/// Timed function records into `cProfile`-style totals ([`Aggregator`]),
/// their functions named in the process's tables (as the hook names them):
/// a Python function by its file, the line of its call event and its name,
/// a builtin by its name.
struct Statistics {
    source: String,
    at: Option<[usize; 6]>,
    totals: Aggregator,
    /// Functions by (builtin, file, name, line of the call event; 0 for a
    /// builtin): lambdas of one file are told apart by their line.
    funcs: FxHashMap<(bool, String, String, i64), Func>,
    threads: FxHashMap<i64, usize>,
    /// Per thread, the calls still open: (builtin, file, name, func), so a
    /// return (whose line is where it returns) finds its call's function.
    open: Vec<Vec<(bool, String, String, Func)>>,
    last: u64,
}

impl Statistics {
    fn func(&mut self, builtin: bool, file: &str, name: &str, line: i64) -> Func {
        let line = if builtin { 0 } else { line };
        let key = (builtin, file.to_owned(), name.to_owned(), line);
        if let Some(&func) = self.funcs.get(&key) {
            return func;
        }
        let mut t = tables().write().unwrap_or_else(|e| e.into_inner());
        let func = if builtin {
            Func::Builtin(t.add_name(format!("<built-in method {name}>").into()))
        } else {
            let code = t.add_code(CodeEntry {
                filename: file.into(),
                first_line: i32::try_from(line).unwrap_or(0),
                lines: None,
            });
            Func::Code {
                code,
                name: t.add_name(name.into()),
            }
        };
        self.funcs.insert(key, func);
        func
    }
}

impl Visitor for Statistics {
    fn session(&mut self, session: &Session<'_>) -> Result<()> {
        let mut timeline = Timeline {
            trace: &mut Trace::new(),
            source: self.source.clone(),
            at: None,
        };
        timeline.session(session)?;
        self.at = timeline.at;
        Ok(())
    }

    fn record(&mut self, values: &[Value<'_>]) -> Result<()> {
        let Some(at) = self.at else {
            return Ok(());
        };
        let TimedEvent { step, time, thread } = TimedEvent::of(values, &at, &self.source)?;
        let text = |i: usize| text_at(values, i);
        let number = |i: usize| number_at(values, i);
        let builtin = matches!(step, Step::CCall | Step::CReturn);
        let (file, name) = (text(at[3]), text(at[1]));
        let count = self.threads.len();
        let thread = *self.threads.entry(thread).or_insert(count);
        if thread == self.open.len() {
            self.open.push(Vec::new());
        }
        let now = time as u64;
        self.last = self.last.max(now);
        match step {
            Step::Call | Step::CCall => {
                let func = self.func(builtin, file, name, number(at[2]).unwrap_or(0));
                self.open[thread].push((builtin, file.to_owned(), name.to_owned(), func));
                self.totals.enter(thread, func, now);
            }
            Step::Return | Step::CReturn => {
                let stack = &mut self.open[thread];
                let found = stack
                    .iter()
                    .rposition(|(b, f, n, _)| *b == builtin && f == file && n == name);
                // A return without its call (made before the monitor
                // started) is skipped, as the aggregator skips it.
                if let Some(depth) = found {
                    let func = stack[depth].3;
                    stack.truncate(depth);
                    self.totals.leave(thread, func, now);
                }
            }
        }
        Ok(())
    }
}

/// The `cProfile`-style totals of the timed function records of the
/// capture at `input` (calls still open at the end closed at the last
/// time); the snapshot's times are nanoseconds.
pub fn statistics(input: &Path) -> Result<(Snapshot, ReadSummary)> {
    let (source, file) = open(input)?;
    let mut stats = Statistics {
        source: source.clone(),
        at: None,
        totals: Aggregator::new(),
        funcs: FxHashMap::default(),
        threads: FxHashMap::default(),
        open: Vec::new(),
        last: 0,
    };
    let read = read(file, &source, &mut stats)?;
    let mut snapshot = stats.totals.snapshot(stats.last);
    snapshot.ns_per_tick = 1.0;
    Ok((snapshot, read))
}
