//! `export_trace`: timed function records (CSV) to speedscope, Chrome
//! trace or collapsed stacks, by the core's converter.

use std::collections::HashMap;
use std::path::PathBuf;

use pikos_core::export::{convert, Format, Options};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::core_err;

/// Converts the timed function CSV `input` to `format` ("speedscope",
/// "chrome" or "collapsed") at `output` (None: stdout); returns what it saw
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
