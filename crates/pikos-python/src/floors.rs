//! Benchmark floors, not for recording: C hooks that do nothing, or only
//! read the process's memory where a memory monitor reads it.  `make bench`
//! compares pikos against them; they are built only with the `floors`
//! feature (`tools/dev-env.sh` enables it for the development
//! environments), so `pip install .` does not ship them.

use std::os::raw::c_int;

use pikos_core::memory::MemoryProbe;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::gil_cell::GilCell;
use crate::tstate::{self, HookKind, RawHook};

unsafe extern "C" fn empty_callback(
    _obj: *mut ffi::PyObject,
    _frame: *mut ffi::PyFrameObject,
    _what: c_int,
    _arg: *mut ffi::PyObject,
) -> c_int {
    0
}

/// The probe of the "empty hook that reads memory" floor.
static FLOOR_PROBE: GilCell<Option<MemoryProbe>> = GilCell::new(None);

fn floor_read(py: Python<'_>) {
    // SAFETY: GIL held; no Python call while borrowed.
    let probe = unsafe { FLOOR_PROBE.get_mut(py) };
    std::hint::black_box(probe.get_or_insert_with(MemoryProbe::new).read());
}

/// Reads memory at every profile event, as a function memory monitor does.
unsafe extern "C" fn memory_profile_callback(
    _obj: *mut ffi::PyObject,
    _frame: *mut ffi::PyFrameObject,
    _what: c_int,
    _arg: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: the interpreter holds the GIL while calling a hook.
    floor_read(unsafe { Python::assume_attached() });
    0
}

/// Reads memory at every line event, as a line memory monitor does.
unsafe extern "C" fn memory_trace_callback(
    _obj: *mut ffi::PyObject,
    _frame: *mut ffi::PyFrameObject,
    what: c_int,
    _arg: *mut ffi::PyObject,
) -> c_int {
    if what == ffi::PyTrace_LINE {
        // SAFETY: the interpreter holds the GIL while calling a hook.
        floor_read(unsafe { Python::assume_attached() });
    }
    0
}

/// Installs a C hook that does nothing (or, with `memory`, only reads the
/// process's memory at the events a memory monitor reads it): the floors
/// the benchmarks compare against.  Not for recording.
#[pyfunction]
#[pyo3(signature = (trace, memory=false))]
pub fn empty_hook_enable(trace: bool, memory: bool) {
    let kind = if trace {
        HookKind::Trace
    } else {
        HookKind::Profile
    };
    let func: ffi::Py_tracefunc = match (memory, trace) {
        (false, _) => empty_callback,
        (true, false) => memory_profile_callback,
        (true, true) => memory_trace_callback,
    };
    // SAFETY: called from Python, so the GIL is held.
    unsafe {
        tstate::install(
            kind,
            RawHook {
                func: Some(func),
                obj: std::ptr::null_mut(),
            },
        );
    }
}

/// Removes the hooks `empty_hook_enable` installed.
#[pyfunction]
pub fn empty_hook_disable() {
    // SAFETY: called from Python, so the GIL is held.
    unsafe {
        for kind in [HookKind::Profile, HookKind::Trace] {
            let current = tstate::current(kind);
            let floors = [
                empty_callback as ffi::Py_tracefunc,
                memory_profile_callback,
                memory_trace_callback,
            ];
            if floors.into_iter().any(|f| current.is(f)) {
                tstate::install(
                    kind,
                    RawHook {
                        func: None,
                        obj: std::ptr::null_mut(),
                    },
                );
            }
        }
    }
}

/// A `sys.monitoring` callback that does nothing, for any of the events a
/// function monitor needs (2 to 4 arguments): the floor of a native
/// `sys.monitoring` monitor, which the benchmarks compare with the legacy
/// hook's floor on 3.12+.  Not for recording.
#[pyfunction]
#[pyo3(signature = (_code, _offset, _a=None, _b=None))]
pub fn monitoring_noop(
    _code: &Bound<'_, PyAny>,
    _offset: &Bound<'_, PyAny>,
    _a: Option<&Bound<'_, PyAny>>,
    _b: Option<&Bound<'_, PyAny>>,
) {
}
