//! `export_trace`: timed function records (CSV) to speedscope, Chrome
//! trace, collapsed stacks, pprof or callgrind, by the core's converter;
//! `pprof_functions`: a pprof file's per-function totals.

use std::collections::HashMap;
use std::path::PathBuf;

use pikos_core::capture::{self, ReadSummary};
use pikos_core::export::pprof::{decode_pprof, function_totals};
use pikos_core::export::{convert, Format, Options};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert;
use crate::errors::core_err;
use crate::stats;

/// What a read of a capture found, into `result`: `sessions`, `blocks`,
/// `ended` (sessions whose end marker was read), `bytes` (read up to the
/// last whole block) and `cut` (None, or where the capture stops short:
/// `block`, `records`, `offset`, `reason`); `records` too.
pub fn capture_summary(result: &Bound<'_, PyDict>, read: &ReadSummary) -> PyResult<()> {
    let py = result.py();
    result.set_item("records", read.records)?;
    result.set_item("sessions", read.sessions)?;
    result.set_item("blocks", read.blocks)?;
    result.set_item("ended", read.ended)?;
    result.set_item("bytes", read.bytes)?;
    match &read.cut {
        None => result.set_item("cut", py.None())?,
        Some(cut) => {
            let at = PyDict::new(py);
            at.set_item("block", cut.block)?;
            at.set_item("records", cut.records)?;
            at.set_item("offset", cut.offset)?;
            at.set_item("reason", &cut.reason)?;
            result.set_item("cut", at)?;
        }
    }
    Ok(())
}

/// The first session of the capture at `path`: its header (a JSON object,
/// as text) and field names, or None when it holds no whole session.
#[pyfunction]
pub fn capture_session(py: Python<'_>, path: PathBuf) -> PyResult<Option<(String, Vec<String>)>> {
    py.detach(|| capture::first_session(&path))
        .map_err(core_err)
}

/// The `cProfile`-style totals of the timed function records of the
/// capture at `path`, as `Stats.rows()` gives a monitor's, and what the
/// read found (see `capture_summary`).
#[pyfunction]
pub fn capture_stats<'py>(
    py: Python<'py>,
    path: PathBuf,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyDict>)> {
    let (snapshot, read) = py.detach(|| capture::statistics(&path)).map_err(core_err)?;
    let rows = PyList::empty(py);
    for f in &snapshot.functions {
        let (cc, nc, tt, ct) = stats::numbers(&snapshot, &f.totals);
        let callers: Vec<_> = f
            .callers
            .iter()
            .map(|(caller, t)| {
                let (cc, nc, tt, ct) = stats::numbers(&snapshot, t);
                (stats::key(*caller), cc, nc, tt, ct)
            })
            .collect();
        rows.append((stats::key(f.func), cc, nc, tt, ct, callers))?;
    }
    let summary = PyDict::new(py);
    capture_summary(&summary, &read)?;
    Ok((rows, summary))
}

/// Whether the file at `path` is a capture (starts with its magic bytes).
#[pyfunction]
pub fn is_capture(path: PathBuf) -> bool {
    capture::is_capture(&path)
}

/// Writes the records of the capture `input` as `encoder` (a
/// `pikos._specs` CSV or text encoding) writes them, its header first, at
/// `output` (None: stdout); returns what the read found (see
/// `capture_summary`).  The GIL is released meanwhile.
#[pyfunction]
pub fn export_capture<'py>(
    py: Python<'py>,
    input: PathBuf,
    output: Option<PathBuf>,
    encoder: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let encoder = convert::encoder(encoder)?;
    let read = py
        .detach(|| capture::write_rows(&input, output.as_deref(), encoder, true))
        .map_err(core_err)?;
    let result = PyDict::new(py);
    capture_summary(&result, &read)?;
    Ok(result)
}

/// Converts the timed function CSV (or capture) `input` to `format`
/// ("speedscope", "chrome", "collapsed", "pprof" or "callgrind") at `output` (None: stdout);
/// returns what it saw (records, calls, unmatched returns, unfinished
/// calls, threads, frames; for a capture, what the read found too: see
/// `capture_summary`).  Paths are `str` or `bytes` as the OS gives them.  The GIL is released
/// meanwhile.
#[pyfunction]
#[pyo3(signature = (input, output, format, name=String::new(), pid=0, thread_names=HashMap::new()))]
pub fn export_trace<'py>(
    py: Python<'py>,
    input: PathBuf,
    output: Option<PathBuf>,
    format: &str,
    name: String,
    pid: u32,
    thread_names: HashMap<u64, String>,
) -> PyResult<Bound<'py, PyDict>> {
    let format = Format::from_name(format).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown export format {format:?} (choose from {})",
            Format::NAMES.join(", ")
        ))
    })?;
    let options = Options {
        name,
        pid,
        thread_names: thread_names.into_iter().collect(),
    };
    let (summary, read) = py
        .detach(|| {
            if capture::is_capture(&input) {
                capture::convert(&input, output.as_deref(), format, &options)
                    .map(|(summary, read)| (summary, Some(read)))
            } else {
                convert(&input, output.as_deref(), format, &options).map(|s| (s, None))
            }
        })
        .map_err(core_err)?;
    let result = PyDict::new(py);
    if let Some(read) = read {
        capture_summary(&result, &read)?;
    }
    result.set_item("records", summary.events)?;
    result.set_item("calls", summary.calls)?;
    result.set_item("unmatched", summary.unmatched)?;
    result.set_item("unfinished", summary.unfinished)?;
    result.set_item("threads", summary.threads)?;
    result.set_item("frames", summary.frames)?;
    Ok(result)
}

/// A pprof profile's per-function totals: `(name, file, first line, calls or
/// None, own ns, cumulative ns)` tuples in the order first seen (`pikos
/// diff`).  The file may be gzipped or not.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn pprof_functions(
    py: Python<'_>,
    path: PathBuf,
) -> PyResult<Vec<(String, String, i64, Option<i64>, i64, i64)>> {
    let source = path.display().to_string();
    let totals = py.detach(|| {
        let bytes = std::fs::read(&path).map_err(|e| pikos_core::Error::io(Some(&source), e))?;
        decode_pprof(&bytes)
            .and_then(|profile| function_totals(&profile))
            .map_err(|why| pikos_core::Error::Input(format!("{source}: {why}")))
    });
    Ok(totals
        .map_err(core_err)?
        .into_iter()
        .map(|t| (t.name, t.file, t.line, t.calls, t.own, t.cumulative))
        .collect())
}
