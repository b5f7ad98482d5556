//! `Sink`: the native side of a built-in recorder.  The hook pushes events
//! into it; the Python recorder passes it rows (records given to
//! `recorder.record()`), pre-formatted text, and the prepare/finalize calls.

use pikos_core::capture;
use pikos_core::clock::now_ns;
use pikos_core::event::OwnedValue;
use pikos_core::tables::TablesView;
use pikos_core::wire::{Publisher, PublisherConfig};
use pikos_core::writer::BATCH;
use pikos_core::{
    Encoder, Event, EventFilter, FileMode, JsonEncoder, Pipeline, RecordKind, Value, Writer,
};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple, PyWeakrefReference};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::convert;
use crate::errors::{core_err, recorder_error};
use crate::gil_cell::GilCell;
use crate::rows::{self, StringCache};

/// The error of a writer thread that could not write its records.
fn write_error(error: String) -> PyErr {
    PyOSError::new_err(format!("pikos could not write its records: {error}"))
}

/// Events a stream recorder collects before one `stream.write()`.
const STREAM_BATCH: usize = 4096;

enum State {
    /// Not prepared, or finalized.
    Closed,
    /// A writer thread: a file, or a ZeroMQ publisher.
    Thread(Writer),
    Stream {
        pipeline: Pipeline,
        pending: Vec<Event>,
    },
    Memory {
        kind: RecordKind,
        pending: Vec<Event>,
        /// Built-in filters, run over each batch of events as it fills (so
        /// what is filtered out is not kept) and before `take_rows`.
        filter: Option<MemoryFilter>,
    },
    /// Counts events and keeps nothing.
    Discard,
}

/// A memory sink's built-in filters and how far they have run.
struct MemoryFilter {
    filter: EventFilter,
    /// `pending[..checked]` has been filtered.
    checked: usize,
}

impl MemoryFilter {
    #[inline(always)]
    fn push(&mut self, pending: &mut Vec<Event>, event: Event) {
        pending.push(event);
        if pending.len() - self.checked >= BATCH {
            self.run(pending);
        }
    }

    #[cold]
    #[inline(never)]
    fn run(&mut self, pending: &mut Vec<Event>) {
        self.filter.retain(pending, self.checked);
        self.checked = pending.len();
    }
}

#[pyclass(frozen, weakref, module = "pikos._native")]
pub struct Sink {
    state: GilCell<State>,
    /// The Python text stream of a stream sink.
    stream: Option<Py<PyAny>>,
    auto_flush: bool,
    /// A live file sink's period: its flusher sends the hook's partial
    /// batch to the writer that often, so records reach the file while the
    /// program runs, even when it is idle.
    flush_every: Option<Duration>,
    flusher: GilCell<Option<Flusher>>,
    /// A discarding sink, and the events it was given.
    discard: bool,
    discarded: GilCell<u64>,
    /// The writer's error was handed to the hook, which reported it: the
    /// close does not raise it a second time.
    reported: GilCell<bool>,
}

/// The thread of a live file sink that sends the partial batch to the
/// writer, taking the GIL for it (the hook owns the batch under the GIL),
/// so that no event waits longer than `every` to be handed over, while the
/// hook itself pays nothing per event.  It looks every half period, and
/// takes the GIL only when the hook has handed no batch over for half a
/// period (while events come fast the hook's own hand-overs keep the
/// partial batch young, and the program never waits for this thread), and
/// when the last look found no events, only once a whole period has gone
/// by.  It holds the sink weakly: a sink never closed is still dropped (and
/// its file written out) as before.
struct Flusher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    fn start(
        sink: &Bound<'_, Sink>,
        every: Duration,
        handed_at: Arc<AtomicU64>,
    ) -> PyResult<Flusher> {
        let weak = PyWeakrefReference::new(sink.as_any())?.unbind();
        let (stop, stopped) = mpsc::channel::<()>();
        let half = every / 2;
        let thread = std::thread::Builder::new()
            .name("pikos-flusher".to_owned())
            .spawn(move || {
                // The last hand-over was ours, and found no events.
                let mut idle_since = None;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(half) {
                    let handed = handed_at.load(Ordering::Relaxed);
                    let since = Duration::from_nanos(now_ns().saturating_sub(handed));
                    let idle = idle_since == Some(handed);
                    if since < half || (idle && since < every) {
                        continue;
                    }
                    // None: the interpreter is shutting down (always noticed
                    // on 3.13+; on 3.11/3.12 the sink's close or drop stops
                    // this thread first).
                    let sent = Python::try_attach(|py| match weak.bind(py).upgrade_as::<Sink>() {
                        Ok(Some(sink)) => Some(sink.get().send_pending(py)),
                        _ => None,
                    });
                    match sent.flatten() {
                        Some(any) => {
                            idle_since = (!any).then(|| handed_at.load(Ordering::Relaxed));
                        }
                        None => break,
                    }
                }
                // Without the GIL, pyo3 releases this reference later, when
                // a thread next holds it.
                drop(weak);
            })
            .map_err(|e| {
                PyOSError::new_err(format!("pikos could not start its flusher thread: {e}"))
            })?;
        Ok(Flusher {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Tells the thread to stop, without waiting.
    fn signal(&mut self) {
        drop(self.stop.take());
    }

    /// Stops the thread and waits for it (without the GIL, which it may be
    /// waiting for).
    fn stop(mut self, py: Python<'_>) {
        self.signal();
        if let Some(thread) = self.thread.take() {
            let _ = py.detach(|| thread.join());
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // Dropped with the GIL held: the flusher may be waiting for it, so
        // it is told to stop but not waited for.
        if let Some(mut flusher) = self.flusher.exclusive().take() {
            flusher.signal();
        }
    }
}

fn kind_of(kind: Option<&str>) -> PyResult<Option<RecordKind>> {
    kind.map(|k| {
        RecordKind::from_name(k)
            .ok_or_else(|| PyValueError::new_err(format!("unknown record kind {k:?}")))
    })
    .transpose()
}

fn pipeline(
    kind: Option<&str>,
    encoder: Box<dyn Encoder>,
    filters: &Bound<'_, PyAny>,
) -> PyResult<Pipeline> {
    let filters = convert::filters(filters)?
        .ok_or_else(|| PyValueError::new_err("filter values that pikos cannot compare natively"))?;
    Ok(Pipeline::new(kind_of(kind)?, filters, encoder))
}

impl Sink {
    fn with(
        stream: Option<Py<PyAny>>,
        auto_flush: bool,
        flush_every: Option<Duration>,
        discard: bool,
    ) -> Self {
        Sink {
            state: GilCell::new(State::Closed),
            stream,
            auto_flush,
            flush_every,
            flusher: GilCell::new(None),
            discard,
            discarded: GilCell::new(0),
            reported: GilCell::new(false),
        }
    }

    /// # Safety (internal)
    /// No call into Python while the returned borrow lives.
    #[inline(always)]
    fn state<'py>(&'py self, py: Python<'py>) -> &'py mut State {
        // SAFETY: GIL held (token); every caller below ends the borrow before
        // calling into Python.
        unsafe { self.state.get_mut(py) }
    }

    /// Stores `event` if that calls no Python code (files, memory,
    /// discard); else gives it back for [`Sink::push`].  The hook calls this
    /// first, through a borrowed reference: no reference count traffic per
    /// event.
    #[inline(always)]
    pub fn push_native(&self, py: Python<'_>, event: Event) -> Result<(), Event> {
        match self.state(py) {
            State::Thread(file) => {
                if !file.push(event) {
                    // The writer stopped: `push` gives the hook its error.
                    return Err(event);
                }
            }
            State::Memory {
                pending,
                filter: None,
                ..
            } => pending.push(event),
            State::Memory {
                pending,
                filter: Some(filter),
                ..
            } => filter.push(pending, event),
            // SAFETY: GIL held; no call into Python while borrowed.
            State::Discard => unsafe { *self.discarded.get_mut(py) += 1 },
            State::Stream { .. } | State::Closed => return Err(event),
        }
        Ok(())
    }

    /// Stores `event`, whatever the sink (a stream writes through Python).
    pub fn push(&self, py: Python<'_>, event: Event) -> PyResult<()> {
        match self.state(py) {
            State::Thread(file) => {
                if let Some(error) = file.error() {
                    // SAFETY: GIL held; no call into Python while borrowed.
                    unsafe { *self.reported.get_mut(py) = true };
                    return Err(write_error(error));
                }
                file.push(event);
                Ok(())
            }
            State::Memory {
                pending, filter, ..
            } => {
                match filter {
                    Some(filter) => filter.push(pending, event),
                    None => pending.push(event),
                }
                Ok(())
            }
            State::Discard => {
                // SAFETY: GIL held; no call into Python while borrowed.
                unsafe { *self.discarded.get_mut(py) += 1 };
                Ok(())
            }
            State::Stream { pending, .. } => {
                pending.push(event);
                if self.auto_flush || pending.len() >= STREAM_BATCH {
                    self.drain(py)
                } else {
                    Ok(())
                }
            }
            State::Closed => Err(recorder_error(
                "record() called on a recorder that is not prepared",
            )),
        }
    }

    /// Starts the flusher of a live sink (one with `flush_every`), just
    /// opened on a writer thread.
    fn start_flusher(slf: &Bound<'_, Self>) -> PyResult<()> {
        let (this, py) = (slf.get(), slf.py());
        let Some(every) = this.flush_every else {
            return Ok(());
        };
        // The borrow of the state ends before the flusher's start calls
        // into Python (its weak reference).
        let State::Thread(writer) = this.state(py) else {
            return Ok(());
        };
        let handed_at = writer.handed_at();
        let flusher = Flusher::start(slf, every, handed_at)?;
        // SAFETY: GIL held; no call into Python while borrowed.
        unsafe { *this.flusher.get_mut(py) = Some(flusher) };
        Ok(())
    }

    /// A live sink's partial batch, to its writer (the flusher's call);
    /// false when it had no events.
    fn send_pending(&self, py: Python<'_>) -> bool {
        match self.state(py) {
            State::Thread(file) => file.send_pending(),
            _ => false,
        }
    }

    /// A message of the output's own kind (statistics totals) to a
    /// publisher sink; nothing for other sinks.
    pub fn publish(&self, py: Python<'_>, topic: &'static str, payload: Vec<u8>) {
        if let State::Thread(sink) = self.state(py) {
            sink.publish(topic, payload);
        }
    }

    /// Encodes the pending events of a stream sink and writes them.
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        let mut out = Vec::new();
        if let State::Stream { pipeline, pending } = self.state(py) {
            let encoded = pipeline.events(pending, &mut out);
            pending.clear();
            encoded.map_err(core_err)?;
        }
        self.write_stream(py, &out)
    }

    fn write_stream(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<()> {
        let Some(stream) = &self.stream else {
            return Ok(());
        };
        if !bytes.is_empty() {
            let text = PyString::from_bytes(py, bytes)?;
            stream.call_method1(py, intern!(py, "write"), (text,))?;
        }
        if self.auto_flush {
            stream.call_method0(py, intern!(py, "flush"))?;
        }
        Ok(())
    }

    /// Closes the sink's output: a writer's, written out and joined; its
    /// errors are raised here.
    fn close_state(&self, py: Python<'_>) -> PyResult<()> {
        if let State::Stream { .. } = self.state(py) {
            self.drain(py)?;
        }
        match std::mem::replace(self.state(py), State::Closed) {
            State::Thread(mut file) => {
                let closed = py.detach(|| file.close());
                // SAFETY: GIL held; no call into Python while borrowed.
                let reported = std::mem::take(unsafe { self.reported.get_mut(py) });
                match closed {
                    // The hook reported the writer's error when it stopped.
                    Err(_) if reported => Ok(()),
                    closed => closed.map_err(|e| write_error(e.to_string())),
                }
            }
            State::Memory {
                kind,
                pending,
                filter,
            } if !pending.is_empty() => {
                // Keep events Python has not taken yet.
                *self.state(py) = State::Memory {
                    kind,
                    pending,
                    filter,
                };
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[pymethods]
impl Sink {
    /// A sink that writes to `path` on a writer thread.  Opened at `prepare`.
    /// With `flush_every` (seconds) the file stays current while the program
    /// runs: records reach it within about that long.
    #[staticmethod]
    #[pyo3(signature = (flush_every=None))]
    fn file(flush_every: Option<f64>) -> PyResult<Self> {
        let flush_every = flush_every
            .map(|s| convert::duration(s, "flush_every", true))
            .transpose()?;
        Ok(Sink::with(None, false, flush_every, false))
    }

    /// A sink that publishes records over ZeroMQ from a writer thread
    /// (JSON Lines, `docs/wire-format.md`); opened by `prepare_publisher`.
    /// Partial batches go out every `flush_every` seconds.
    #[staticmethod]
    fn publisher(flush_every: f64) -> PyResult<Self> {
        Self::file(Some(flush_every))
    }

    /// A sink that writes text to a Python stream in batches.
    #[staticmethod]
    fn stream(stream: Py<PyAny>, auto_flush: bool) -> Self {
        Sink::with(Some(stream), auto_flush, None, false)
    }

    /// A sink that keeps events until Python asks for them as rows.
    #[staticmethod]
    fn memory() -> Self {
        Sink::with(None, false, None, false)
    }

    /// A sink that counts the events it is given and keeps none: the hook's
    /// cost without any output.
    #[staticmethod]
    fn discard() -> Self {
        Sink::with(None, false, None, true)
    }

    /// How many events a discarding sink was given.
    #[getter]
    fn discarded(&self, py: Python<'_>) -> u64 {
        // SAFETY: GIL held.
        unsafe { *self.discarded.get_mut(py) }
    }

    /// Opens the output.  `header` (field names) is encoded and written when
    /// given; `path` is the file of a file sink (`str` or `bytes`, as the OS
    /// gives it), truncated unless `append`; a `private` one is a file the
    /// recorder made (a spool): never created here, never opened through a
    /// link.  `encoder` is a `pikos._specs` encoding; None makes a memory
    /// sink.
    #[pyo3(signature = (kind, encoder, filters, header, path=None, append=false, private=false))]
    #[allow(clippy::too_many_arguments)] // mirrors the Python keyword signature
    fn prepare(
        slf: &Bound<'_, Self>,
        kind: Option<&str>,
        encoder: Option<&Bound<'_, PyAny>>,
        filters: &Bound<'_, PyAny>,
        header: Option<Vec<String>>,
        path: Option<PathBuf>,
        append: bool,
        private: bool,
    ) -> PyResult<()> {
        let (this, py) = (slf.get(), slf.py());
        this.close(py)?;
        if this.discard {
            *this.state(py) = State::Discard;
            return Ok(());
        }
        let Some(encoder) = encoder else {
            let kind = kind_of(kind)?
                .ok_or_else(|| PyValueError::new_err("a memory sink needs a record kind"))?;
            let filters = convert::filters(filters)?.ok_or_else(|| {
                PyValueError::new_err("filter values that pikos cannot compare natively")
            })?;
            *this.state(py) = State::Memory {
                kind,
                pending: Vec::new(),
                filter: (!filters.is_empty()).then(|| MemoryFilter {
                    filter: EventFilter::new(kind, filters),
                    checked: 0,
                }),
            };
            return Ok(());
        };
        let mut pipeline = pipeline(kind, convert::encoder(encoder)?, filters)?;
        let fields: Vec<&str> = header.iter().flatten().map(String::as_str).collect();
        if let Some(path) = path {
            let write_header = header.is_some();
            let live = this.flush_every.is_some();
            let mode = match (private, append) {
                (false, false) => FileMode::Write,
                (false, true) => FileMode::Append,
                (true, false) => FileMode::PrivateWrite,
                (true, true) => FileMode::PrivateAppend,
            };
            let file = py
                .detach(|| Writer::open(&path, mode, write_header, pipeline, &fields, live))
                .map_err(core_err)?;
            *this.state(py) = State::Thread(file);
            return Self::start_flusher(slf);
        }
        let mut out = Vec::new();
        if header.is_some() {
            pipeline.header(&fields, &mut out).map_err(core_err)?;
        }
        *this.state(py) = State::Stream {
            pipeline,
            pending: Vec::new(),
        };
        this.write_stream(py, &out)
    }

    /// Opens a ZeroMQ publisher sink (see `Sink.publisher`) as `publisher`
    /// (a `pikos._specs.PublisherSpec`) says: binds or connects to its
    /// `address`, waits up to `wait` seconds for a subscriber when given,
    /// publishes the session `header` (a JSON object) and starts the
    /// writer.  Returns the endpoint (the port chosen, for `tcp://host:*`).
    fn prepare_publisher(
        slf: &Bound<'_, Self>,
        kind: Option<&str>,
        filters: &Bound<'_, PyAny>,
        publisher: convert::PublisherSpec,
    ) -> PyResult<String> {
        let (this, py) = (slf.get(), slf.py());
        this.close(py)?;
        let pipeline = pipeline(kind, Box::new(JsonEncoder), filters)?;
        let config = PublisherConfig {
            address: publisher.address,
            connect: publisher.connect,
            hwm: publisher.hwm,
            linger: convert::duration(publisher.linger, "linger", false)?,
            wait_for_ready: publisher
                .wait
                .map(|w| convert::duration(w, "the wait for a viewer", false))
                .transpose()?,
            session: publisher.session,
            pid: std::process::id(),
            header: publisher.header.into_bytes(),
        };
        let (sink, endpoint) = py
            .detach(|| {
                let publisher = Publisher::open(config)?;
                let endpoint = publisher.endpoint().to_owned();
                Writer::start(&endpoint, pipeline, Box::new(publisher)).map(|sink| (sink, endpoint))
            })
            .map_err(core_err)?;
        *this.state(py) = State::Thread(sink);
        Self::start_flusher(slf)?;
        Ok(endpoint)
    }

    /// Opens a capture sink (a `Sink.file` with a flusher) on `path`: the
    /// compact binary file of docs/capture-format.md, a new session
    /// (`header`: the wire's session header, a JSON object) of records of
    /// `kind` (None: rows from Python only) named `fields`.  The file is
    /// truncated unless `append` (then it must be a capture already, or
    /// empty).
    #[pyo3(signature = (kind, filters, fields, path, header, append=false))]
    fn prepare_capture(
        slf: &Bound<'_, Self>,
        kind: Option<&str>,
        filters: &Bound<'_, PyAny>,
        fields: Vec<String>,
        path: PathBuf,
        header: String,
        append: bool,
    ) -> PyResult<()> {
        let (this, py) = (slf.get(), slf.py());
        this.close(py)?;
        let kind = kind_of(kind)?;
        let filters = convert::filters(filters)?.ok_or_else(|| {
            PyValueError::new_err("filter values that pikos cannot compare natively")
        })?;
        let writer = py
            .detach(|| capture::open(&path, append, false, kind, fields, filters, header))
            .map_err(core_err)?;
        *this.state(py) = State::Thread(writer);
        Self::start_flusher(slf)
    }

    /// A record passed to `recorder.record()` from Python, as a tuple.
    fn write_row(&self, py: Python<'_>, row: &Bound<'_, PyAny>) -> PyResult<()> {
        let values: Vec<OwnedValue> = row
            .try_iter()?
            .map(|v| v.map(|v| convert::row_value(&v)))
            .collect::<PyResult<_>>()?;
        match self.state(py) {
            State::Thread(file) => {
                file.push_row(values);
                Ok(())
            }
            State::Stream { .. } => {
                self.drain(py)?;
                let mut out = Vec::new();
                if let State::Stream { pipeline, .. } = self.state(py) {
                    let borrowed: Vec<Value<'_>> =
                        values.iter().map(OwnedValue::as_value).collect();
                    pipeline.row(&borrowed, &mut out).map_err(core_err)?;
                }
                self.write_stream(py, &out)
            }
            State::Memory { .. } => Err(PyValueError::new_err(
                "rows go to a memory sink's list directly",
            )),
            State::Discard => Ok(()),
            State::Closed => Err(recorder_error(
                "record() called on a recorder that is not prepared",
            )),
        }
    }

    /// Text already formatted in Python (templates pikos does not evaluate).
    fn write_text(&self, py: Python<'_>, text: &str) -> PyResult<()> {
        match self.state(py) {
            State::Thread(file) => {
                file.push_bytes(text.as_bytes().to_vec());
                Ok(())
            }
            State::Stream { .. } => {
                self.drain(py)?;
                self.write_stream(py, text.as_bytes())
            }
            State::Memory { .. } => Err(PyValueError::new_err("text cannot go to a memory sink")),
            State::Discard => Ok(()),
            State::Closed => Err(recorder_error(
                "record() called on a recorder that is not prepared",
            )),
        }
    }

    /// Writes everything pending (stream) or waits for the writer (file).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        match self.state(py) {
            State::Thread(file) => {
                // Wait without the GIL and without borrowing the sink: the
                // flusher or a hooked thread may use it meanwhile.
                if let Some(wait) = file.request_flush() {
                    py.detach(|| {
                        let _ = wait.recv();
                    });
                }
                match self.state(py) {
                    State::Thread(file) => file.check().map_err(core_err),
                    _ => Ok(()),
                }
            }
            State::Stream { .. } => self.drain(py),
            _ => Ok(()),
        }
    }

    /// Flushes and closes; errors met while writing are raised here.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        // The flusher stops while the writer writes out: it may still take
        // the GIL meanwhile, and then finds the sink closed.
        // SAFETY: GIL held; the borrow ends at once.
        let flusher = unsafe { self.flusher.get_mut(py) }
            .take()
            .map(|mut flusher| {
                flusher.signal();
                flusher
            });
        let closed = self.close_state(py);
        if let Some(flusher) = flusher {
            flusher.stop(py);
        }
        closed
    }

    /// Before `fork`: this sink's threads (writer, flusher) stop once
    /// everything pushed is written, so the process forks with none of ours
    /// (`os.fork` warns of threads on 3.12+, and a thread holding a lock can
    /// deadlock the child).  The output stays open; the events recorded
    /// meanwhile wait in the hook's batch.
    fn pause_for_fork(&self, py: Python<'_>) {
        // SAFETY: GIL held; the borrow ends before `stop` releases the GIL.
        if let Some(flusher) = unsafe { self.flusher.get_mut(py) }.take() {
            flusher.stop(py);
        }
        // The writer never needs the GIL: it is joined with it held, so no
        // other thread records into the sink meanwhile.
        if let State::Thread(file) = self.state(py) {
            file.pause();
        }
    }

    /// In the parent after `fork`: the threads `pause_for_fork` stopped run
    /// again.
    fn resume_after_fork(slf: &Bound<'_, Self>) -> PyResult<()> {
        let (this, py) = (slf.get(), slf.py());
        if let State::Thread(file) = this.state(py) {
            file.resume().map_err(core_err)?;
            // SAFETY: GIL held; no call into Python while borrowed.
            if unsafe { this.flusher.get_mut(py) }.is_none() {
                return Self::start_flusher(slf);
            }
        }
        Ok(())
    }

    /// In a child process after `fork`: the writer and flusher threads do
    /// not exist here, so a file sink is forgotten (never joined, never
    /// written: the parent writes the file) and a stream sink drops what the
    /// parent will write itself.  The sink is closed from then on.
    fn forget_after_fork(&self, py: Python<'_>) {
        // SAFETY: GIL held; no call into Python while borrowed.
        if let Some(flusher) = unsafe { self.flusher.get_mut(py) }.take() {
            std::mem::forget(flusher);
        }
        match std::mem::replace(self.state(py), State::Closed) {
            State::Thread(file) => std::mem::forget(file),
            memory @ State::Memory { .. } => *self.state(py) = memory,
            _ => {}
        }
    }

    /// The events collected by a memory sink, as tuples in record order.
    fn take_rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let (kind, events) = match self.state(py) {
            State::Memory {
                kind,
                pending,
                filter,
            } => {
                if let Some(filter) = filter {
                    filter.run(pending);
                    filter.checked = 0;
                }
                (*kind, std::mem::take(pending))
            }
            _ => return Ok(PyList::empty(py)),
        };
        let mut view = TablesView::default();
        let mut strings = StringCache::default();
        let rows = PyList::empty(py);
        for event in &events {
            let values = rows::event_values(py, kind, event, &mut strings, &mut view)?;
            rows.append(PyTuple::new(py, values)?)?;
        }
        Ok(rows)
    }
}
