//! `pikos._native`: the interpreter hooks and the bridge between Python
//! recorders and the core's sinks.  The public API is the Python package.

mod capture;
mod codes;
mod convert;
mod errors;
mod export;
#[cfg(feature = "floors")]
mod floors;
mod frames;
mod gil_cell;
mod hook;
mod legacy;
mod line_stats;
mod live;
#[cfg(Py_3_12)]
mod monitoring;
mod publisher;
mod recording;
mod rows;
mod sink;
mod stats;
mod thread_hook;
mod tstate;

use pyo3::exceptions::PyBaseException;
use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// Files under `prefix` are pikos' own: their frames are never recorded.
#[pyfunction]
fn set_own_prefix(py: Python<'_>, prefix: String) {
    codes::set_own_prefix(py, prefix);
}

/// Whether `template` can be formatted natively (else Python formats it).
#[pyfunction]
fn template_supported(template: &str) -> bool {
    pikos_core::Template::parse(template).is_ok()
}

/// Reports `error` through `sys.unraisablehook`, naming `object`: how a
/// monitor reports a failure that stopped its recording (the hook does the
/// same for failures while recording).
#[pyfunction]
fn report_unraisable(error: Bound<'_, PyBaseException>, object: &Bound<'_, PyAny>) {
    PyErr::from_value(error.into_any()).write_unraisable(object.py(), Some(object));
}

#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let sys = py.import("sys")?;
    let profile = sys.call_method0("getprofile")?;
    let trace = sys.call_method0("gettrace")?;
    // SAFETY: GIL held; `m` serves as a marker object that outlives the check.
    let layout_ok = unsafe { tstate::self_check(profile.as_ptr(), trace.as_ptr(), m.as_ptr()) };
    if !layout_ok {
        return Err(PyImportError::new_err(format!(
            "pikos._native does not know the thread-state layout of this Python ({}); \
             it supports CPython 3.11, 3.12 and 3.13",
            sys.getattr("version")?
        )));
    }
    // SAFETY: GIL held, called from an import (there is a Python frame).
    unsafe { frames::self_check(m.as_ptr()) };
    frames::init(py)?;
    codes::init(py)?;
    m.add_class::<recording::Hook>()?;
    m.add_class::<thread_hook::ThreadHook>()?;
    m.add_class::<sink::Sink>()?;
    m.add_class::<stats::Stats>()?;
    m.add_class::<line_stats::LineStats>()?;
    m.add_class::<live::Subscriber>()?;
    m.add("WIRE_VERSION", pikos_core::wire::VERSION)?;
    m.add("DEFAULT_LIVE_ADDRESS", pikos_core::wire::default_address())?;
    m.add("LIVE_TCP_HOST", pikos_core::wire::TCP_HOST)?;
    m.add("LIVE_TCP_PORT", pikos_core::wire::TCP_PORT)?;
    m.add(
        "LIVE_MAX_MESSAGE_BYTES",
        pikos_core::wire::MAX_MESSAGE_BYTES,
    )?;
    m.add_function(wrap_pyfunction!(set_own_prefix, m)?)?;
    m.add_function(wrap_pyfunction!(export::export_trace, m)?)?;
    m.add_function(wrap_pyfunction!(export::pprof_functions, m)?)?;
    m.add_function(wrap_pyfunction!(export::export_capture, m)?)?;
    m.add_function(wrap_pyfunction!(export::is_capture, m)?)?;
    m.add_function(wrap_pyfunction!(export::capture_session, m)?)?;
    m.add_function(wrap_pyfunction!(export::capture_stats, m)?)?;
    m.add_class::<capture::CaptureFrames>()?;
    m.add_function(wrap_pyfunction!(template_supported, m)?)?;
    m.add_function(wrap_pyfunction!(report_unraisable, m)?)?;
    #[cfg(feature = "floors")]
    {
        m.add_function(wrap_pyfunction!(floors::empty_hook_enable, m)?)?;
        m.add_function(wrap_pyfunction!(floors::empty_hook_disable, m)?)?;
        m.add_function(wrap_pyfunction!(floors::monitoring_noop, m)?)?;
    }
    m.add("NO_SOURCE", pikos_core::pipeline::NO_SOURCE)?;
    // The kinds of the records' fields, for the filters' checks at
    // construction (the core owns the layouts).
    let (integer, text): (Vec<_>, Vec<_>) = pikos_core::Field::ALL
        .into_iter()
        .partition(|f| f.integer());
    m.add(
        "INTEGER_FIELDS",
        integer.iter().map(|f| f.name()).collect::<Vec<_>>(),
    )?;
    m.add(
        "TEXT_FIELDS",
        text.iter().map(|f| f.name()).collect::<Vec<_>>(),
    )?;
    m.add("RECORD_KINDS", record_kinds(py)?)?;
    m.add_function(wrap_pyfunction!(check_memory_interval, m)?)?;
    m.add_function(wrap_pyfunction!(memory_info, m)?)?;
    Ok(())
}

/// The record kinds the core knows, one dict each: `name`, `fields` (the
/// layout, in order), `timed` (the timed kind of an untimed kind, else
/// None), `function` (function events, else line events) and `memory`.
/// `pikos.kinds` builds Python's one table of kinds from it.
fn record_kinds(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    let rows = pikos_core::RecordKind::ALL
        .into_iter()
        .map(|kind| {
            let row = PyDict::new(py);
            row.set_item("name", kind.name())?;
            row.set_item("fields", PyTuple::new(py, kind.field_names())?)?;
            let timed = (kind.timed() != kind).then(|| kind.timed().name());
            row.set_item("timed", timed)?;
            row.set_item("function", kind.is_function())?;
            row.set_item("memory", kind.has_memory())?;
            Ok(row)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, rows)
}

/// The probe behind `memory_info`, opened at its first use.
static MEMORY_PROBE: std::sync::Mutex<Option<pikos_core::memory::MemoryProbe>> =
    std::sync::Mutex::new(None);

/// The process's resident and virtual size in bytes, `(rss, vms)`, read
/// now by the probe the memory monitors use (the Python-level path of a
/// memory monitor reads it through this).
#[pyfunction]
fn memory_info() -> (u64, u64) {
    let mut probe = MEMORY_PROBE.lock().unwrap_or_else(|e| e.into_inner());
    let info = probe
        .get_or_insert_with(pikos_core::memory::MemoryProbe::new)
        .read();
    (info.rss, info.vms)
}

/// `memory_interval` (microseconds) checked and as a float: None, or a
/// number >= 0 (the one check: monitors, decorators and `Hook` call it).
#[pyfunction]
fn check_memory_interval(value: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    convert::memory_interval(value)
}
