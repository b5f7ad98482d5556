//! `LineStats`: the native half of `LineStatsMonitor`.  The line hook feeds
//! it frame starts, line events and frame ends (no record, no buffer: the
//! totals are the output, `pikos_core::line_stats`); Python reads them in
//! `line_profiler`'s shape.

use pikos_core::clock::{ns_per_tick, ticks};
use pikos_core::line_stats::{location, LineAggregator};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::gil_cell::GilCell;

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
}

impl LineStats {
    #[inline(always)]
    fn totals<'py>(&'py self, py: Python<'py>) -> &'py mut LineAggregator {
        // SAFETY: GIL held; no call into Python while borrowed.
        unsafe { self.totals.get_mut(py) }
    }

    /// One event from the hook, on the thread keyed `thread`, in the frame
    /// of code `code` (named `name`).
    #[inline(always)]
    pub fn event(&self, py: Python<'_>, thread: usize, code: u32, name: u32, event: LineEvent) {
        let now = ticks();
        let totals = self.totals(py);
        match event {
            LineEvent::Start(line) => totals.start(thread, code, name, line, now),
            LineEvent::Line(line) => totals.line(thread, code, name, line, now),
            LineEvent::End => totals.end(thread, code, now),
        }
    }
}

#[pymethods]
impl LineStats {
    #[new]
    fn new() -> Self {
        LineStats {
            totals: GilCell::new(LineAggregator::new()),
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
}
