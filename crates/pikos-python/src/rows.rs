//! Events as Python values, in record field order: for the slow path
//! (custom recorders) and for `ListRecorder.records`.

use pikos_core::event::{Field, NO_LINE};
use pikos_core::pipeline::NO_SOURCE;
use pikos_core::tables::TablesView;
use pikos_core::{Event, RecordKind};
use pyo3::prelude::*;
use pyo3::types::PyString;
use pyo3::IntoPyObjectExt;
use rustc_hash::FxHashMap;

use crate::codes;

/// Python strings already made, keyed by (field, id, line).
pub type StringCache = FxHashMap<(u8, u32, i32), Py<PyAny>>;

pub fn event_values(
    py: Python<'_>,
    kind: RecordKind,
    event: &Event,
    strings: &mut StringCache,
    view: &mut TablesView,
) -> PyResult<Vec<Py<PyAny>>> {
    view.ensure(event.code, event.function);
    // Names that were not UTF-8 come back as Python had them.
    let mut text = |key: (u8, u32, i32), s: &str| -> Py<PyAny> {
        strings
            .entry(key)
            .or_insert_with(|| {
                codes::original_of(py, s)
                    .unwrap_or_else(|| PyString::new(py, s).into_any().unbind())
            })
            .clone_ref(py)
    };
    if kind.is_timed() && !pikos_core::clock::calibrated() {
        // The first conversion measures the clock's rate (up to 50 ms).
        py.detach(pikos_core::clock::ns_per_tick);
    }
    let code = view.code(event.code);
    let mut values = Vec::with_capacity(kind.fields().len());
    for field in kind.fields() {
        values.push(match field {
            Field::Index => event.index.into_py_any(py)?,
            Field::Type => PyString::intern(py, event.kind.name()).into_any().unbind(),
            Field::Function => text((0, event.function, 0), view.name(event.function)),
            Field::LineNo if event.lineno == NO_LINE => py.None(),
            Field::LineNo => event.lineno.into_py_any(py)?,
            Field::Line => text(
                (1, event.code, event.lineno),
                code.line(event.lineno).unwrap_or(NO_SOURCE),
            ),
            Field::Filename => text((2, event.code, 0), &code.filename),
            Field::Rss => event.rss.into_py_any(py)?,
            Field::Vms => event.vms.into_py_any(py)?,
            Field::Time => pikos_core::clock::to_ns(event.time).into_py_any(py)?,
            Field::Thread => event.thread.into_py_any(py)?,
        });
    }
    Ok(values)
}
