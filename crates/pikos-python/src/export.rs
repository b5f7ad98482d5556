//! `export_trace`: timed function records (CSV) to speedscope, Chrome
//! trace, collapsed stacks, pprof or callgrind, by the core's converter;
//! `pprof_functions`: a pprof file's per-function totals.

use std::collections::HashMap;
use std::path::PathBuf;

use pikos_core::export::pprof::{decode_pprof, function_totals};
use pikos_core::export::{convert, Format, Options};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::core_err;

/// Converts the timed function CSV `input` to `format` ("speedscope",
/// "chrome", "collapsed", "pprof" or "callgrind") at `output` (None: stdout); returns what it saw
/// (records, calls, unmatched returns, unfinished calls, threads, frames).
/// Paths are `str` or `bytes` as the OS gives them.  The GIL is released
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
    let summary = py
        .detach(|| convert(&input, output.as_deref(), format, &options))
        .map_err(core_err)?;
    let result = PyDict::new(py);
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
