//! `Stats`: the native half of `StatsMonitor`.  The hook feeds it function
//! events (no record, no buffer: the totals are the output); Python reads
//! the totals as `pstats` wants them, and a publisher thread sends them over
//! a ZeroMQ sink a few times a second.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;

use pikos_core::stats::{location, ns_per_tick, ticks, Aggregator, Func, Snapshot, Totals};
use pikos_core::wire::TOPIC_STATS;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::convert;
use crate::gil_cell::GilCell;
use crate::sink::Sink;

/// What a function event means to the statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsEvent {
    /// A Python function starts.
    Call,
    /// A suspended generator or coroutine resumes: no new call.
    Resume,
    /// A Python function returns, raises, or is suspended (`yield`, an
    /// `await` that waits).
    Return,
    /// A builtin is called.
    CCall,
    /// A builtin returns or raises.
    CReturn,
}

#[pyclass(frozen, module = "pikos._native")]
pub struct Stats {
    totals: GilCell<Aggregator>,
    publisher: GilCell<Option<Publishing>>,
}

/// The thread that publishes snapshots: it takes the GIL for the copy of
/// the totals only; the JSON is made without it.
struct Publishing {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Stats {
    #[inline(always)]
    fn totals<'py>(&'py self, py: Python<'py>) -> &'py mut Aggregator {
        // SAFETY: GIL held; no call into Python while borrowed.
        unsafe { self.totals.get_mut(py) }
    }

    /// One function event from the hook, on the thread keyed `thread`:
    /// `code`/`function` name a code object and its name for Python
    /// functions; `function` is the builtin's label for builtins.
    #[inline(always)]
    pub fn event(&self, py: Python<'_>, thread: usize, kind: StatsEvent, code: u32, function: u32) {
        let now = ticks();
        let totals = self.totals(py);
        let python = Func::Code {
            code,
            name: function,
        };
        match kind {
            StatsEvent::Call => totals.enter(thread, python, now),
            StatsEvent::Return => totals.leave(thread, python, now),
            StatsEvent::Resume => totals.resume(thread, python, now),
            StatsEvent::CCall => totals.enter(thread, Func::Builtin(function), now),
            StatsEvent::CReturn => totals.leave(thread, Func::Builtin(function), now),
        }
    }

    fn snapshot(&self, py: Python<'_>) -> Snapshot {
        // The first conversion of ticks may wait for the clock's
        // calibration (tens of ms, once): not while holding the GIL.
        py.detach(ns_per_tick);
        self.totals(py).snapshot(ticks())
    }
}

pub(crate) fn key(func: Func) -> (String, i32, String) {
    let (filename, line, name) = location(func);
    (filename.to_string(), line, name.to_string())
}

pub(crate) fn numbers(snapshot: &Snapshot, t: &Totals) -> (u64, u64, f64, f64) {
    (
        t.primitive(),
        t.calls,
        snapshot.seconds(t.own),
        snapshot.seconds(t.cumulative),
    )
}

#[pymethods]
impl Stats {
    #[new]
    fn new() -> Self {
        Stats {
            totals: GilCell::new(Aggregator::new()),
            publisher: GilCell::new(None),
        }
    }

    /// The totals so far, calls still running counted up to now: a list of
    /// `((filename, line, name), primitive calls, calls, own s, cumulative
    /// s, [((filename, line, name), primitive calls, calls, own s,
    /// cumulative s) per caller])`.
    #[allow(clippy::type_complexity)]
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let snapshot = self.snapshot(py);
        let rows = PyList::empty(py);
        for f in &snapshot.functions {
            let (cc, nc, tt, ct) = numbers(&snapshot, &f.totals);
            let callers: Vec<_> = f
                .callers
                .iter()
                .map(|(caller, t)| {
                    let (cc, nc, tt, ct) = numbers(&snapshot, t);
                    (key(*caller), cc, nc, tt, ct)
                })
                .collect();
            rows.append((key(f.func), cc, nc, tt, ct, callers))?;
        }
        Ok(rows)
    }

    /// Closes every call still running, as if it returned now (what
    /// `cProfile` does when disabled).
    fn close_all(&self, py: Python<'_>) {
        self.totals(py).close_all(ticks());
    }

    /// In a child process after `fork`: the publisher thread does not exist
    /// here, so it is forgotten, never joined.
    fn forget_after_fork(&self, py: Python<'_>) {
        // SAFETY: GIL held; no call into Python while borrowed.
        if let Some(publishing) = unsafe { self.publisher.get_mut(py) }.take() {
            std::mem::forget(publishing);
        }
    }

    /// Forgets every total.
    fn clear(&self, py: Python<'_>) {
        *self.totals(py) = Aggregator::new();
    }

    /// Publishes the totals on `sink` (a prepared ZeroMQ sink) every
    /// `every` seconds until `stop_publishing`.
    fn start_publishing(slf: &Bound<'_, Self>, sink: Py<Sink>, every: f64) -> PyResult<()> {
        let py = slf.py();
        let every = convert::duration(every, "publish_every", true)?;
        slf.get().stop_publishing(py, None);
        let stats = slf.clone().unbind();
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("pikos-stats".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    // None: the interpreter is shutting down.
                    let taken = Python::try_attach(|py| stats.get().snapshot(py));
                    let Some(snapshot) = taken else { break };
                    let mut payload = Vec::new();
                    snapshot.to_json(&mut payload);
                    let sent =
                        Python::try_attach(|py| sink.get().publish(py, TOPIC_STATS, payload));
                    if sent.is_none() {
                        break;
                    }
                }
                // Without the GIL, pyo3 releases these references later.
                drop((stats, sink));
            })
            .map_err(|e| {
                PyOSError::new_err(format!("pikos could not start its statistics thread: {e}"))
            })?;
        // SAFETY: GIL held; no call into Python while borrowed.
        unsafe {
            *slf.get().publisher.get_mut(py) = Some(Publishing {
                stop: Some(stop),
                thread: Some(thread),
            })
        };
        Ok(())
    }

    /// Stops the publisher thread (waiting for it without the GIL), then
    /// publishes the final totals once on `sink` when given.
    #[pyo3(signature = (sink=None))]
    fn stop_publishing(&self, py: Python<'_>, sink: Option<Py<Sink>>) {
        // SAFETY: GIL held; the borrow ends before the GIL is released.
        if let Some(mut publishing) = unsafe { self.publisher.get_mut(py) }.take() {
            drop(publishing.stop.take());
            if let Some(thread) = publishing.thread.take() {
                let _ = py.detach(|| thread.join());
            }
        }
        if let Some(sink) = sink {
            let mut payload = Vec::new();
            self.snapshot(py).to_json(&mut payload);
            sink.get().publish(py, TOPIC_STATS, payload);
        }
    }
}

impl Drop for Stats {
    fn drop(&mut self) {
        if let Some(mut publishing) = self.publisher.exclusive().take() {
            drop(publishing.stop.take());
        }
    }
}
