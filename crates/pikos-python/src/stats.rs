//! `Stats`: the native half of `StatsMonitor`.  The hook feeds it function
//! events (no record, no buffer: the totals are the output); Python reads
//! the totals as `pstats` wants them, and a publisher thread sends them over
//! a ZeroMQ sink a few times a second.

use pikos_core::stats::{location, ns_per_tick, ticks, Aggregator, Func, Snapshot, Totals};
use pikos_core::wire::TOPIC_STATS;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::gil_cell::GilCell;
use crate::publisher::Publisher;
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
    /// Publishes snapshots: the GIL for the copy of the totals only; the
    /// JSON is made without it.
    publisher: Publisher,
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

/// A snapshot's payload: its JSON.
fn json(snapshot: Snapshot) -> Vec<u8> {
    let mut payload = Vec::new();
    snapshot.to_json(&mut payload);
    payload
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
            publisher: Publisher::new(TOPIC_STATS, "pikos-stats", "statistics"),
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
        self.publisher.forget_after_fork(py);
    }

    /// Forgets every total.
    fn clear(&self, py: Python<'_>) {
        *self.totals(py) = Aggregator::new();
    }

    /// Publishes the totals on `sink` (a prepared ZeroMQ sink) every
    /// `every` seconds until `stop_publishing`.
    fn start_publishing(slf: &Bound<'_, Self>, sink: Py<Sink>, every: f64) -> PyResult<()> {
        let publisher = &slf.get().publisher;
        publisher.start(slf, sink, every, Stats::snapshot, json)
    }

    /// Stops the publisher thread (waiting for it without the GIL), then
    /// publishes the final totals once on `sink` when given.
    #[pyo3(signature = (sink=None))]
    fn stop_publishing(&self, py: Python<'_>, sink: Option<Py<Sink>>) {
        self.publisher.stop(py, sink, || json(self.snapshot(py)));
    }
}
