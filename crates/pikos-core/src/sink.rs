//! From events to bytes: the [`Pipeline`] (resolve ids, filter, encode) and
//! the [`ThreadSink`] that runs a pipeline on its own writer thread, into a
//! file or a ZeroMQ socket (an [`Output`]).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};

use crate::clock;
use crate::encode::Encoder;
use crate::error::{Error, Result};
use crate::event::{Event, Field, OwnedValue, RecordKind, Value, MAX_FIELDS, NO_LINE};
use crate::filter::FilterSet;
use crate::tables::TablesView;
use rustc_hash::FxHashMap;

/// Text of the `line` field when the source of a line is not available.
pub const NO_SOURCE: &str = "<source unavailable>";

/// Events per batch handed from the hook to a writer.
pub const BATCH: usize = 8192;
/// Batches in flight per writer; with recycling this bounds memory.
const IN_FLIGHT: usize = 4;

pub struct Pipeline {
    /// The layout of hook events; `None` for a pipeline that only gets rows.
    kind: Option<RecordKind>,
    filters: FilterSet,
    encoder: Box<dyn Encoder>,
    view: TablesView,
    /// Encoded rows, but for their index and memory figures, by location.
    rows: Option<RowCache>,
}

/// Entries a [`RowCache`] holds before it starts over (bounds its memory
/// for programs that run many distinct lines).
const ROW_CACHE_ENTRIES: usize = 1 << 16;

/// For an encoder whose rows are joined fields ([`Encoder::joined`]): all
/// of a hook event's fields but its index, RSS and VMS depend only on its
/// location (code, function, line, event kind), so their encoding is made
/// once per location.  A row is then the digits of the varying numbers and
/// at most three copies of cached bytes.
struct RowCache {
    /// Per field of the record: true when it varies from event to event.
    varying: Vec<bool>,
    /// Location -> the fixed runs between the varying fields, one after the
    /// other, with the end offset of each run.
    entries: FxHashMap<Location, FixedRuns>,
}

/// Code id, function name id, line number, event kind.
type Location = (u32, u32, i32, u8);
/// A row's fixed runs one after the other, and the end of each run but the
/// last (one end per varying field).
type FixedRuns = (Box<[u8]>, [u32; MAX_FIELDS]);

impl RowCache {
    fn new(fields: &[Field]) -> Self {
        RowCache {
            varying: fields
                .iter()
                .map(|f| {
                    matches!(
                        f,
                        Field::Index | Field::Rss | Field::Vms | Field::Time | Field::Thread
                    )
                })
                .collect(),
            entries: FxHashMap::default(),
        }
    }
}

impl Pipeline {
    pub fn new(kind: Option<RecordKind>, filters: FilterSet, encoder: Box<dyn Encoder>) -> Self {
        let rows = match kind {
            Some(kind) if filters.is_empty() && encoder.joined().is_some() => {
                Some(RowCache::new(kind.fields()))
            }
            _ => None,
        };
        Pipeline {
            kind,
            filters,
            encoder,
            view: TablesView::default(),
            rows,
        }
    }

    pub fn kind(&self) -> Option<RecordKind> {
        self.kind
    }

    pub fn header(&mut self, fields: &[&str], out: &mut Vec<u8>) -> Result<()> {
        self.encoder.header(fields, out)
    }

    /// A row that did not come from the hook (a record passed to
    /// `recorder.record()` from Python); filtered and encoded the same way.
    pub fn row(&mut self, values: &[Value<'_>], out: &mut Vec<u8>) -> Result<()> {
        if self.filters.keep(values) {
            self.encoder.row(values, out)?;
        }
        Ok(())
    }

    pub fn events(&mut self, events: &[Event], out: &mut Vec<u8>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let Some(kind) = self.kind else {
            return Err(Error::State(
                "events sent to a pipeline made for rows only".to_owned(),
            ));
        };
        let fields = kind.fields();
        if let Some(mut rows) = self.rows.take() {
            let encoded = self.cached_events(&mut rows, fields, events, out);
            self.rows = Some(rows);
            return encoded;
        }
        for event in events {
            self.view.ensure(event.code, event.function);
            let row = Self::values(&self.view, fields, event);
            let row = &row[..fields.len()];
            if self.filters.keep(row) {
                self.encoder.row(row, out)?;
            }
        }
        Ok(())
    }

    /// The values of `event`'s record (the first `fields.len()` of them).
    fn values<'v>(
        view: &'v TablesView,
        fields: &[Field],
        event: &Event,
    ) -> [Value<'v>; MAX_FIELDS] {
        let code = view.code(event.code);
        let mut row: [Value<'_>; MAX_FIELDS] = std::array::from_fn(|_| Value::None);
        for (slot, field) in row.iter_mut().zip(fields) {
            *slot = match field {
                Field::Index => Value::Int(event.index as i64),
                Field::Type => Value::Table(event.kind.name()),
                Field::Function => Value::Table(view.name(event.function)),
                Field::LineNo if event.lineno == NO_LINE => Value::None,
                Field::LineNo => Value::Int(i64::from(event.lineno)),
                Field::Line => Value::Table(code.line(event.lineno).unwrap_or(NO_SOURCE)),
                Field::Filename => Value::Table(&code.filename),
                Field::Rss => Value::Int(event.rss as i64),
                Field::Vms => Value::Int(event.vms as i64),
                Field::Time => Value::Int(clock::to_ns(event.time) as i64),
                Field::Thread => Value::Int(event.thread as i64),
            };
        }
        row
    }

    /// `events` through the row cache: see [`RowCache`].
    fn cached_events(
        &mut self,
        rows: &mut RowCache,
        fields: &[Field],
        events: &[Event],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let mut digits = itoa::Buffer::new();
        for event in events {
            let key = (event.code, event.function, event.lineno, event.kind as u8);
            if let Some((bytes, ends)) = rows.entries.get(&key) {
                emit_row(bytes, ends, fields, &rows.varying, event, &mut digits, out);
                continue;
            }
            if rows.entries.len() >= ROW_CACHE_ENTRIES {
                rows.entries.clear();
            }
            let (bytes, ends) = self.fixed_runs(&rows.varying, fields, event)?;
            emit_row(
                &bytes,
                &ends,
                fields,
                &rows.varying,
                event,
                &mut digits,
                out,
            );
            rows.entries.insert(key, (bytes, ends));
        }
        Ok(())
    }

    /// The encoded fixed runs of `event`'s row: the bytes between its
    /// varying fields (separators included, terminator at the end), and the
    /// end offset of each run but the last.
    fn fixed_runs(
        &mut self,
        varying: &[bool],
        fields: &[Field],
        event: &Event,
    ) -> Result<FixedRuns> {
        self.view.ensure(event.code, event.function);
        let values = Self::values(&self.view, fields, event);
        let (separator, terminator) = self
            .encoder
            .joined()
            .map(|(s, t)| (s.to_vec(), t.to_vec()))
            .ok_or_else(|| Error::State("row cache without a joined encoder".to_owned()))?;
        let mut bytes = self.encoder.prefix().to_vec();
        let mut ends = [0u32; MAX_FIELDS];
        let mut run = 0;
        for (i, (value, &varies)) in values.iter().zip(varying).enumerate() {
            if i > 0 {
                bytes.extend_from_slice(&separator);
            }
            if varies {
                ends[run] = bytes.len() as u32;
                run += 1;
            } else {
                self.encoder.field(value, &mut bytes)?;
            }
        }
        bytes.extend_from_slice(&terminator);
        Ok((bytes.into_boxed_slice(), ends))
    }
}

/// Built-in filters over events kept in memory (a `ListRecorder`'s): each
/// event is judged on the values of its record, in order, exactly as a
/// [`Pipeline`] judges it before encoding.
pub struct EventFilter {
    kind: RecordKind,
    filters: FilterSet,
    view: TablesView,
}

impl EventFilter {
    pub fn new(kind: RecordKind, filters: FilterSet) -> Self {
        EventFilter {
            kind,
            filters,
            view: TablesView::default(),
        }
    }

    /// Keeps, in order, the events of `events[from..]` the filters keep.
    pub fn retain(&mut self, events: &mut Vec<Event>, from: usize) {
        let fields = self.kind.fields();
        let mut kept = from;
        for i in from..events.len() {
            let event = events[i];
            self.view.ensure(event.code, event.function);
            let row = Pipeline::values(&self.view, fields, &event);
            if self.filters.keep(&row[..fields.len()]) {
                events[kept] = event;
                kept += 1;
            }
        }
        events.truncate(kept);
    }
}

/// One row from its cached fixed runs and the event's varying numbers.
#[inline]
fn emit_row(
    bytes: &[u8],
    ends: &[u32; MAX_FIELDS],
    fields: &[Field],
    varying: &[bool],
    event: &Event,
    digits: &mut itoa::Buffer,
    out: &mut Vec<u8>,
) {
    let (mut run, mut start) = (0, 0);
    for (field, &varies) in fields.iter().zip(varying) {
        if !varies {
            continue;
        }
        // The fixed run before this varying field, then its digits.
        let end = ends[run] as usize;
        out.extend_from_slice(&bytes[start..end]);
        (start, run) = (end, run + 1);
        let number = match field {
            Field::Index => event.index,
            Field::Rss => event.rss,
            Field::Vms => event.vms,
            Field::Time => clock::to_ns(event.time),
            _ => event.thread,
        };
        out.extend_from_slice(digits.format(number).as_bytes());
    }
    out.extend_from_slice(&bytes[start..]);
}

enum Message {
    Events(Vec<Event>),
    Row(Vec<OwnedValue>),
    Bytes(Vec<u8>),
    /// A message of the output's own (a ZeroMQ statistics snapshot).
    Publish(&'static str, Vec<u8>),
    Flush(Sender<()>),
    /// Stop the thread, keeping everything for [`ThreadSink::resume`].
    Pause,
}

/// Where a [`ThreadSink`]'s writer puts the encoded rows: a file
/// ([`FileOutput`]) or a ZeroMQ socket (`crate::wire::Publisher`).
pub trait Output: Send + 'static {
    /// The encoded rows of one batch (or a row, or preformatted text).
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
    /// Everything written so far handed on (to the OS, to the network).
    fn flush(&mut self) -> Result<()>;
    /// The rows of one batch of events were written: an output that
    /// gathers small writes hands them on now (see [`FileOutput`]).
    fn batch_written(&mut self) -> Result<()> {
        Ok(())
    }
    /// A message of the output's own kind (only outputs that have some).
    fn publish(&mut self, topic: &str, _payload: &[u8]) -> Result<()> {
        Err(Error::State(format!("this output cannot publish {topic}")))
    }
    /// How often the writer calls [`Output::tick`] while it waits, if ever.
    fn tick_every(&self) -> Option<Duration> {
        None
    }
    /// Periodic work while the program runs (answering new subscribers).
    fn tick(&mut self) -> Result<()> {
        Ok(())
    }
    /// The end of the session: everything out, the output closed.
    fn finish(&mut self) -> Result<()> {
        self.flush()
    }
    /// Hand what is written to the OS whenever the queue is empty.
    fn live(&self) -> bool {
        false
    }
}

/// How a [`FileOutput`] opens its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileMode {
    /// As Python's `open(path, "w")`: created or truncated, through links,
    /// into FIFOs and devices.
    Write,
    /// As `open(path, "a")`.
    Append,
    /// A private file the caller made beforehand (a spool made with
    /// `O_EXCL`): truncated, never created, never opened through a link,
    /// and it must be a regular file, so a name swapped for a link or a
    /// FIFO is refused, not followed.
    PrivateWrite,
    /// The same, appended to.
    PrivateAppend,
}

impl FileMode {
    fn open(self, path: &Path) -> std::io::Result<File> {
        let mut options = OpenOptions::new();
        match self {
            FileMode::Write => options.write(true).create(true).truncate(true),
            FileMode::Append => options.append(true).create(true),
            FileMode::PrivateWrite => options.write(true).truncate(true),
            FileMode::PrivateAppend => options.append(true),
        };
        let private = matches!(self, FileMode::PrivateWrite | FileMode::PrivateAppend);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            // O_NONBLOCK: a FIFO put there fails the open instead of
            // blocking it; a regular file ignores the flag.
            options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = options.open(path)?;
        if private && !file.metadata()?.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not the regular file pikos made (replaced since)",
            ));
        }
        Ok(file)
    }
}

/// Bytes a [`FileOutput`] gathers before it writes them.
const FILE_BUFFER: usize = 1 << 20;

/// A file, written through a 1 MiB buffer of whole writes: every
/// [`Output::write`] is whole rows, and the file only ever grows by whole
/// buffers.  When a write fails (a full disk, a file size limit), the file
/// is cut back to the end of the last buffer written whole, so it ends
/// with a complete row whatever the failure.
///
/// The rows of a batch of events go to the OS as soon as they are encoded
/// ([`Output::batch_written`]): a process that ends without finalizing
/// (`os._exit`, a kill) then loses only the batches the writer had not
/// reached, not also up to 1 MiB of rows encoded before them.  The buffer
/// gathers the small writes: rows recorded from Python, one at a time.
pub struct FileOutput {
    path: String,
    file: File,
    buffer: Vec<u8>,
    /// The file's length after the last write that went through whole.
    length: u64,
    live: bool,
}

impl FileOutput {
    /// Opens `path` as `mode` says (any path the OS takes: not UTF-8
    /// too).  A `live` file is kept current: see [`Output::live`].
    pub fn open(path: &Path, mode: FileMode, live: bool) -> Result<Self> {
        let shown = path.display().to_string();
        let file = mode.open(path).map_err(|e| Error::io(Some(&shown), e))?;
        let length = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(FileOutput {
            path: shown,
            file,
            buffer: Vec::with_capacity(FILE_BUFFER),
            length,
            live,
        })
    }

    /// Writes `bytes` out whole, or cuts the file back to where it was.
    fn write_out(&mut self, bytes: &[u8]) -> Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.length += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Best effort: a pipe or a device has no length to cut.
                if self.file.metadata().is_ok_and(|m| m.is_file()) {
                    let _ = self.file.set_len(self.length);
                }
                Err(Error::io(Some(&self.path), e))
            }
        }
    }
}

impl Output for FileOutput {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.buffer.len() + bytes.len() > FILE_BUFFER {
            let buffer = std::mem::take(&mut self.buffer);
            let written = self.write_out(&buffer);
            self.buffer = buffer;
            self.buffer.clear();
            written?;
        }
        if bytes.len() >= FILE_BUFFER {
            return self.write_out(bytes);
        }
        self.buffer.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let buffer = std::mem::take(&mut self.buffer);
        let written = self.write_out(&buffer);
        self.buffer = buffer;
        self.buffer.clear();
        written
    }

    fn batch_written(&mut self) -> Result<()> {
        self.flush()
    }

    fn live(&self) -> bool {
        self.live
    }
}

/// A pipeline run by a thread of its own, writing to an [`Output`].  The
/// hook fills a batch, sends it and takes a recycled one back, so a run of
/// any length uses a fixed amount of memory; when the writer falls behind,
/// the hook waits (no record lost).
///
/// A live output is kept current while the program runs: the writer hands
/// its bytes on whenever it has nothing more to write, and the sink's owner
/// calls [`ThreadSink::send_pending`] now and then for the partial batch.
pub struct ThreadSink {
    name: String,
    to_writer: Option<Sender<Message>>,
    recycled: Receiver<Vec<Event>>,
    batch: Vec<Event>,
    error: Arc<Mutex<Option<String>>>,
    /// Set by the writer when it stops on an error (`error` holds it).
    failed: Arc<AtomicBool>,
    thread: Option<JoinHandle<Option<Parked>>>,
    /// A paused writer (see [`ThreadSink::pause`]).
    parked: Option<Parked>,
}

/// A writer stopped by [`ThreadSink::pause`], with its output and queue.
struct Parked {
    writer: Writer,
    output: Box<dyn Output>,
    from_hook: Receiver<Message>,
}

impl ThreadSink {
    /// Opens `path` as `mode` says, writes the header when asked, and
    /// starts the writer thread.
    pub fn open(
        path: impl AsRef<Path>,
        mode: FileMode,
        write_header: bool,
        mut pipeline: Pipeline,
        header: &[&str],
        live: bool,
    ) -> Result<Self> {
        let path = path.as_ref();
        let mut file = FileOutput::open(path, mode, live)?;
        if write_header {
            let mut out = Vec::new();
            pipeline.header(header, &mut out)?;
            file.write(&out)?;
            // Now, so a file that cannot be written fails the prepare, before
            // the program runs.
            file.flush()?;
        }
        Self::start(&path.display().to_string(), pipeline, Box::new(file))
    }

    /// Starts the writer thread of `pipeline` into `output`; `name` (a path,
    /// an address) names the sink in errors.
    pub fn start(name: &str, pipeline: Pipeline, output: Box<dyn Output>) -> Result<Self> {
        let (to_writer, from_hook) = bounded::<Message>(IN_FLIGHT);
        let (recycle, recycled) = bounded::<Vec<Event>>(IN_FLIGHT + 1);
        let error = Arc::new(Mutex::new(None));
        let failed = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            pipeline,
            recycle,
            error: Arc::clone(&error),
            failed: Arc::clone(&failed),
        };
        let thread = std::thread::Builder::new()
            .name("pikos-writer".to_owned())
            .spawn(move || writer.run(output, from_hook))
            .map_err(|e| Error::io(Some(name), e))?;
        Ok(ThreadSink {
            name: name.to_owned(),
            to_writer: Some(to_writer),
            recycled,
            batch: Vec::with_capacity(BATCH),
            error,
            failed,
            thread: Some(thread),
            parked: None,
        })
    }

    /// Adds one event; hands the batch to the writer when it is full.
    /// False when the writer has stopped on an error (see
    /// [`ThreadSink::error`]): the hook learns it at a batch's end, and
    /// stops recording.
    #[inline(always)]
    pub fn push(&mut self, event: Event) -> bool {
        self.batch.push(event);
        if self.batch.len() < BATCH {
            return true;
        }
        self.hand_over()
    }

    /// A full batch to the writer; false when the writer has stopped.
    #[cold]
    #[inline(never)]
    fn hand_over(&mut self) -> bool {
        self.send_batch();
        !self.failed.load(Ordering::Relaxed)
    }

    /// Hands the events pushed so far to the writer, a partial batch too.
    pub fn send_pending(&mut self) {
        self.send_batch();
    }

    fn send_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let next = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.batch, next);
        self.send(Message::Events(full));
    }

    fn send(&self, message: Message) {
        if let Some(tx) = &self.to_writer {
            // A send fails only when the writer has stopped on an error,
            // which `error()` reports.
            let _ = tx.send(message);
        }
    }

    /// A row filtered and encoded by the writer, in order with the events.
    pub fn push_row(&mut self, row: Vec<OwnedValue>) {
        self.send_batch();
        self.send(Message::Row(row));
    }

    /// Bytes written as they are, in order with the events.
    pub fn push_bytes(&mut self, bytes: Vec<u8>) {
        self.send_batch();
        self.send(Message::Bytes(bytes));
    }

    /// A message of the output's own kind, in order with the events.
    pub fn publish(&mut self, topic: &'static str, payload: Vec<u8>) {
        self.send_batch();
        self.send(Message::Publish(topic, payload));
    }

    /// The first error the writer met, if any.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Asks the writer to write out everything pushed so far; it signals
    /// the returned receiver when done (then see [`ThreadSink::check`]).
    /// None when the writer has stopped.
    pub fn request_flush(&mut self) -> Option<Receiver<()>> {
        self.send_batch();
        let (done, wait) = bounded(1);
        self.to_writer.as_ref()?.send(Message::Flush(done)).ok()?;
        Some(wait)
    }

    /// Waits until everything pushed so far is handed on.
    pub fn flush(&mut self) -> Result<()> {
        if let Some(wait) = self.request_flush() {
            let _ = wait.recv();
        }
        self.check()
    }

    /// Stops the writer thread once everything pushed so far is written
    /// and handed to the output, keeping the output open, so that the
    /// process can fork with no thread of ours (`os.fork` warns of threads
    /// on 3.12+, and a thread holding a lock can deadlock the child).
    /// [`ThreadSink::resume`] starts it again.
    pub fn pause(&mut self) {
        if self.parked.is_some() {
            return;
        }
        self.send_batch();
        self.send(Message::Pause);
        if let Some(thread) = self.thread.take() {
            self.parked = thread.join().ok().flatten();
        }
    }

    /// Starts the writer thread a [`ThreadSink::pause`] stopped.
    pub fn resume(&mut self) -> Result<()> {
        let Some(Parked {
            writer,
            output,
            from_hook,
        }) = self.parked.take()
        else {
            return Ok(());
        };
        let thread = std::thread::Builder::new()
            .name("pikos-writer".to_owned())
            .spawn(move || writer.run(output, from_hook))
            .map_err(|e| Error::io(Some(&self.name), e))?;
        self.thread = Some(thread);
        Ok(())
    }

    /// Writes everything, stops the thread and closes the output.
    pub fn close(&mut self) -> Result<()> {
        self.resume()?;
        self.send_batch();
        self.to_writer = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                return Err(Error::State(format!(
                    "{}: the writer thread panicked",
                    self.name
                )));
            }
        }
        self.check()
    }

    /// The writer's first error, if any.
    pub fn check(&self) -> Result<()> {
        match self.error() {
            Some(msg) => Err(Error::State(msg)),
            None => Ok(()),
        }
    }
}

impl Drop for ThreadSink {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The writer thread's side of a [`ThreadSink`].
struct Writer {
    pipeline: Pipeline,
    recycle: Sender<Vec<Event>>,
    error: Arc<Mutex<Option<String>>>,
    failed: Arc<AtomicBool>,
}

impl Writer {
    /// Writes until the hook's side closes the queue, or asks for a pause
    /// (then gives everything back).
    fn run(mut self, mut output: Box<dyn Output>, from_hook: Receiver<Message>) -> Option<Parked> {
        let mut out = Vec::with_capacity(1 << 20);
        let mut failed = self.failed.load(Ordering::Relaxed);
        let every = output.tick_every();
        let mut next_tick = every.map(|e| Instant::now() + e);
        loop {
            let message = match next_tick {
                None => from_hook.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => from_hook.recv_deadline(at),
            };
            match message {
                Ok(Message::Pause) => {
                    if !failed {
                        if let Err(err) = output.flush() {
                            self.fail(err, &mut failed);
                        }
                    }
                    return Some(Parked {
                        writer: self,
                        output,
                        from_hook,
                    });
                }
                Ok(message) => self.handle(message, output.as_mut(), &mut out, &mut failed),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if let (Some(at), Some(every)) = (next_tick, every) {
                if Instant::now() >= at && !failed {
                    if let Err(err) = output.tick() {
                        self.fail(err, &mut failed);
                    }
                    next_tick = Some(Instant::now() + every);
                }
            }
            if output.live() && from_hook.is_empty() && !failed {
                // Nothing more to write now: what we have is handed on.
                if let Err(err) = output.flush() {
                    self.fail(err, &mut failed);
                }
            }
        }
        if !failed {
            if let Err(err) = output.finish() {
                self.fail(err, &mut failed);
            }
        }
        None
    }

    fn handle(
        &mut self,
        message: Message,
        output: &mut dyn Output,
        out: &mut Vec<u8>,
        failed: &mut bool,
    ) {
        let written = match message {
            Message::Events(mut events) => {
                let written = if *failed {
                    Ok(())
                } else {
                    out.clear();
                    self.pipeline
                        .events(&events, out)
                        .and_then(|()| output.write(out))
                        .and_then(|()| output.batch_written())
                };
                events.clear();
                let _ = self.recycle.try_send(events);
                written
            }
            Message::Row(row) if !*failed => {
                out.clear();
                let values: Vec<Value<'_>> = row.iter().map(OwnedValue::as_value).collect();
                self.pipeline
                    .row(&values, out)
                    .and_then(|()| output.write(out))
            }
            Message::Bytes(bytes) if !*failed => output.write(&bytes),
            Message::Publish(topic, payload) if !*failed => output.publish(topic, &payload),
            Message::Flush(done) => {
                if !*failed {
                    if let Err(err) = output.flush() {
                        self.fail(err, failed);
                    }
                }
                // The error, if any, is recorded before the caller wakes.
                let _ = done.send(());
                Ok(())
            }
            Message::Row(_) | Message::Bytes(_) | Message::Publish(..) | Message::Pause => Ok(()),
        };
        if let Err(err) = written {
            self.fail(err, failed);
        }
    }

    fn fail(&self, err: Error, failed: &mut bool) {
        *failed = true;
        let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(|| err.to_string());
        self.failed.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{CsvDialect, CsvEncoder, TextEncoder};
    use crate::event::{EventKind, OwnedValue};
    use crate::filter::Filter;
    use crate::tables::{tables, CodeEntry};

    fn code(filename: &str, lines: &[&str]) -> (u32, u32) {
        let mut t = tables().write().unwrap();
        let code = t.add_code(CodeEntry {
            filename: filename.into(),
            first_line: 1,
            lines: Some(lines.iter().map(|l| Box::<str>::from(*l)).collect()),
        });
        let name = t.add_name("work".into());
        (code, name)
    }

    fn event(index: u64, kind: EventKind, (code, function): (u32, u32), lineno: i32) -> Event {
        Event {
            index,
            rss: 10,
            vms: 20,
            time: 0,
            thread: 0,
            code,
            function,
            lineno,
            kind,
        }
    }

    #[test]
    fn events_resolve_to_rows() {
        let ids = code("m.py", &["def work():", "    x = 1"]);
        let mut p = Pipeline::new(
            Some(RecordKind::Line),
            FilterSet::default(),
            Box::new(TextEncoder::Plain),
        );
        let mut out = Vec::new();
        p.events(
            &[
                event(0, EventKind::Line, ids, 2),
                event(1, EventKind::Line, ids, 9),
            ],
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("0 work 2     x = 1 m.py\n1 work 9 {NO_SOURCE} m.py\n")
        );
    }

    #[test]
    fn filters_drop_rows_but_indices_stay() {
        let ids = code("f.py", &[]);
        let filters = FilterSet::new(vec![Filter::OnValue {
            at: 1,
            values: vec![OwnedValue::Str("return".into())],
        }]);
        let mut p = Pipeline::new(
            Some(RecordKind::FunctionMemory),
            filters,
            Box::new(CsvEncoder::new(CsvDialect::default())),
        );
        let mut out = Vec::new();
        p.events(
            &[
                event(0, EventKind::Call, ids, 1),
                event(1, EventKind::Return, ids, 1),
            ],
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1,return,work,10,20,1,f.py\r\n"
        );
    }

    #[test]
    fn file_sink_writes_header_once_and_appends() {
        let dir = std::env::temp_dir().join(format!("pikos-core-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.csv");
        let path = path.to_str().unwrap();
        let ids = code("g.py", &[]);
        let fields = RecordKind::Function.field_names();
        for append in [false, true] {
            let pipeline = Pipeline::new(
                Some(RecordKind::Function),
                FilterSet::default(),
                Box::new(CsvEncoder::new(CsvDialect::default())),
            );
            let mode = if append {
                FileMode::Append
            } else {
                FileMode::Write
            };
            let mut sink = ThreadSink::open(path, mode, !append, pipeline, &fields, false).unwrap();
            for i in 0..(BATCH as u64 * 3 + 7) {
                sink.push(event(i, EventKind::Call, ids, 3));
            }
            sink.close().unwrap();
        }
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "index,type,function,lineNo,filename");
        assert_eq!(lines.len(), 1 + 2 * (BATCH * 3 + 7) + 1);
        assert_eq!(lines[1], "0,call,work,3,g.py");
        assert_eq!(text.matches("index,").count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_never_created_or_opened_through_a_link() {
        let dir = std::env::temp_dir().join(format!("pikos-core-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.join("spool");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for mode in [FileMode::PrivateWrite, FileMode::PrivateAppend] {
            assert!(FileOutput::open(&link, mode, false).is_err());
            assert!(FileOutput::open(&dir.join("absent"), mode, false).is_err());
        }
        assert!(!dir.join("absent").exists());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        // The file itself, once there, is opened.
        std::fs::remove_file(&link).unwrap();
        std::fs::write(&link, "old").unwrap();
        let mut out = FileOutput::open(&link, FileMode::PrivateWrite, false).unwrap();
        out.write(b"new").unwrap();
        out.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn file_sink_reports_write_errors() {
        if !std::path::Path::new("/dev/full").exists() {
            return;
        }
        let ids = code("h.py", &[]);
        let pipeline = Pipeline::new(
            Some(RecordKind::Function),
            FilterSet::default(),
            Box::new(TextEncoder::Plain),
        );
        let mut sink =
            ThreadSink::open("/dev/full", FileMode::Append, false, pipeline, &[], false).unwrap();
        for i in 0..(BATCH as u64 * 200) {
            sink.push(event(i, EventKind::Call, ids, 3));
        }
        let err = sink.close().unwrap_err().to_string();
        assert!(err.contains("/dev/full"), "{err}");
    }

    #[test]
    fn a_batch_of_rows_reaches_the_os_at_once() {
        let dir = std::env::temp_dir().join(format!("pikos-core-batch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("batch.csv");
        let on_disk = || std::fs::metadata(&path).unwrap().len();
        let mut file = FileOutput::open(&path, FileMode::Write, false).unwrap();
        file.write(b"0,row\r\n").unwrap();
        assert_eq!(on_disk(), 0, "a small write is gathered");
        file.batch_written().unwrap();
        assert_eq!(on_disk(), 7, "a batch's rows are handed to the OS");
        drop(file);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn event_filters_keep_what_the_pipeline_keeps() {
        let ids = code("m.py", &[]);
        let filters = || {
            FilterSet::new(vec![Filter::OnValue {
                at: 1,
                values: vec![OwnedValue::Str("call".into())],
            }])
        };
        let mut events: Vec<Event> = (0..10)
            .map(|i| {
                let kind = if i % 3 == 0 {
                    EventKind::Call
                } else {
                    EventKind::Return
                };
                event(i, kind, ids, 3)
            })
            .collect();
        let mut filter = EventFilter::new(RecordKind::Function, filters());
        // Two runs, as a memory sink makes them: the first part kept as is.
        filter.retain(&mut events, 0);
        let first = events.len();
        events.extend((10..13).map(|i| event(i, EventKind::Call, ids, 3)));
        filter.retain(&mut events, first);
        let kept: Vec<u64> = events.iter().map(|e| e.index).collect();
        assert_eq!(kept, [0, 3, 6, 9, 10, 11, 12]);
    }

    #[test]
    fn live_file_sink_keeps_the_file_current() {
        let dir = std::env::temp_dir().join(format!("pikos-core-live-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("live.txt");
        let path = path.to_str().unwrap();
        let ids = code("l.py", &[]);
        let pipeline = Pipeline::new(
            Some(RecordKind::Function),
            FilterSet::default(),
            Box::new(TextEncoder::Plain),
        );
        let mut sink = ThreadSink::open(path, FileMode::Write, false, pipeline, &[], true).unwrap();
        let rows = || std::fs::read_to_string(path).unwrap().lines().count();
        for i in 0..3 {
            sink.push(event(i, EventKind::Call, ids, 3));
        }
        // A partial batch reaches the file once sent: the writer flushes
        // whenever it has nothing more to write, no close needed.
        sink.send_pending();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while rows() < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(rows(), 3, "records did not reach the file while open");
        sink.close().unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn cached_rows_are_the_rows_encoded_one_by_one() {
        let lines = ["def f(a, b):", "    s = \"x,\" + 'y'", "    return s"];
        let located = code("/p/a, b.py", &lines);
        let events: Vec<Event> = (0..40u64)
            .map(|i| Event {
                index: i,
                time: 0,
                thread: 0,
                rss: 1000 + i * 7,
                vms: 9000 + i,
                code: located.0,
                function: located.1,
                // NO_LINE and a line past the source too.
                lineno: [1, 2, 3, 9, NO_LINE][i as usize % 5],
                kind: [EventKind::Call, EventKind::Line, EventKind::Return][i as usize % 3],
            })
            .collect();
        let encoders: Vec<fn() -> Box<dyn Encoder>> = vec![
            || Box::new(CsvEncoder::new(CsvDialect::default())),
            || {
                Box::new(CsvEncoder::new(CsvDialect {
                    quoting: crate::encode::CsvQuoting::NonNumeric,
                    ..CsvDialect::default()
                }))
            },
            || Box::new(TextEncoder::Plain),
        ];
        for kind in [
            RecordKind::Function,
            RecordKind::Line,
            RecordKind::FunctionMemory,
            RecordKind::LineMemory,
        ] {
            for make in &encoders {
                let mut cached = Pipeline::new(Some(kind), FilterSet::default(), make());
                assert!(cached.rows.is_some());
                // A filter that keeps everything turns the cache off.
                let never = FilterSet::new(vec![Filter::NotOnValue {
                    at: 0,
                    values: vec![OwnedValue::Int(-1)],
                }]);
                let mut plain = Pipeline::new(Some(kind), never, make());
                assert!(plain.rows.is_none());
                let (mut a, mut b) = (Vec::new(), Vec::new());
                for batch in events.chunks(7) {
                    cached.events(batch, &mut a).unwrap();
                    plain.events(batch, &mut b).unwrap();
                }
                assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
            }
        }
    }
}
