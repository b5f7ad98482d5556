//! `LineStats`: the native half of `LineStatsMonitor`.  The line hook feeds
//! it frame starts, line events and frame ends (no record, no buffer: the
//! totals are the output, `pikos_core::line_stats`); Python reads them in
//! `line_profiler`'s shape, and a publisher thread sends the hottest lines
//! over a ZeroMQ sink a few times a second.

use pikos_core::clock::{ns_per_tick, ticks};
use pikos_core::line_stats::{live_json, location, LineAggregator};
use pikos_core::wire::TOPIC_LINES;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::codes::CodeSlot;
use crate::gil_cell::GilCell;
use crate::publisher::Publisher;
use crate::sink::Sink;

/// What a trace event means to the line totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEvent {
    /// A frame starts (`line` is `NO_LINE`) or resumes at `line`.
    Start(i32),
    /// A line is about to run.
    Line(i32),
    /// The frame leaves the stack (returns, raises, yields, waits).
    End,
}

#[pyclass(frozen, module = "pikos._native")]
pub struct LineStats {
    totals: GilCell<LineAggregator>,
    /// Publishes the hottest lines a few times a second.
    publisher: Publisher,
}

impl LineStats {
    #[inline(always)]
    fn totals<'py>(&'py self, py: Python<'py>) -> &'py mut LineAggregator {
        // SAFETY: GIL held; no call into Python while borrowed.
        unsafe { self.totals.get_mut(py) }
    }

    /// One event from the hook, on the thread keyed `thread`, in a frame
    /// of `slot`'s code.
    #[inline(always)]
    pub fn event(&self, py: Python<'_>, thread: usize, slot: &CodeSlot, event: LineEvent) {
        let now = ticks();
        let totals = self.totals(py);
        let (code, name) = (slot.plain, slot.name);
        match event {
            LineEvent::Start(line) => totals.start(thread, code, name, line, now),
            LineEvent::Line(line) => {
                let source = slot.with_lines.unwrap_or(code);
                totals.line(thread, code, name, source, line, now)
            }
            LineEvent::End => totals.end(thread, code, now),
        }
    }

    /// The live payload of the hottest lines (GIL held for the copy only).
    fn live_payload(&self, py: Python<'_>) -> Vec<u8> {
        let rate = py.detach(ns_per_tick);
        let totals = self.totals(py).totals();
        let sources = self.totals(py).sources(&totals);
        py.detach(|| {
            let mut payload = Vec::new();
            live_json(&totals, &sources, rate, LIVE_LINES, &mut payload);
            payload
        })
    }
}

/// How many lines a live payload carries: the hottest.
const LIVE_LINES: usize = 200;

#[pymethods]
impl LineStats {
    #[new]
    fn new() -> Self {
        LineStats {
            totals: GilCell::new(LineAggregator::new()),
            publisher: Publisher::new(TOPIC_LINES, "pikos-lines", "line totals"),
        }
    }

    /// The totals so far: a list of `(filename, first line, function name,
    /// [(line, hits, nanoseconds), ...])`, one per code object with a line
    /// hit, lines in order.  Lines still running count up to their last
    /// event (`close_all` charges them up to now).
    #[allow(clippy::type_complexity)]
    fn rows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        // The first conversion of ticks may wait for the clock's
        // calibration (tens of ms, once): not while holding the GIL.
        let rate = py.detach(ns_per_tick);
        let totals = self.totals(py).totals();
        let rows = PyList::empty(py);
        for code in totals {
            let (filename, first_line, name) = location(code.code, code.name);
            let lines: Vec<(i32, u64, u64)> = code
                .lines
                .iter()
                .map(|(line, t)| (*line, t.hits, (t.ticks as f64 * rate).round() as u64))
                .collect();
            rows.append((&*filename, first_line, &*name, lines))?;
        }
        Ok(rows)
    }

    /// Charges every line still running up to now and forgets the
    /// threads' stacks (the end of a session).
    fn close_all(&self, py: Python<'_>) {
        self.totals(py).close_all(ticks());
    }

    /// Forgets every total.
    fn clear(&self, py: Python<'_>) {
        *self.totals(py) = LineAggregator::new();
    }

    /// In a child process after `fork`: the publisher thread does not exist
    /// here, so it is forgotten, never joined.
    fn forget_after_fork(&self, py: Python<'_>) {
        self.publisher.forget_after_fork(py);
    }

    /// Publishes the hottest lines on `sink` (a prepared ZeroMQ sink) every
    /// `every` seconds until `stop_publishing`.
    fn start_publishing(slf: &Bound<'_, Self>, sink: Py<Sink>, every: f64) -> PyResult<()> {
        let publisher = &slf.get().publisher;
        publisher.start(
            slf,
            sink,
            every,
            LineStats::live_payload,
            std::convert::identity,
        )
    }

    /// Stops the publisher thread (waiting for it without the GIL), then
    /// publishes the final totals once on `sink` when given.
    #[pyo3(signature = (sink=None))]
    fn stop_publishing(&self, py: Python<'_>, sink: Option<Py<Sink>>) {
        self.publisher.stop(py, sink, || self.live_payload(py));
    }
}
