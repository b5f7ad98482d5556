//! Statistics (`StatsMonitor`) on `sys.monitoring`, on the events
//! `cProfile` takes on 3.12+: `PY_START` is a call, `PY_RESUME`/`PY_THROW`
//! a resume (not a new call, unlike `cProfile`), `PY_RETURN`/`PY_YIELD`/
//! `PY_UNWIND` the frame leaving the stack, and `CALL` of a builtin, then
//! its `C_RETURN`/`C_RAISE`, a builtin's call and return, exactly where the
//! legacy profile hook reports them, without its frame object per call.

use pyo3::ffi;
use pyo3::prelude::*;

use super::callbacks::{callback, gated_thread, none, run, slot_of, Outcome};
use super::session::Callback;
use super::{
    CALL, C_RAISE, C_RETURN, PY_RESUME, PY_RETURN, PY_START, PY_THROW, PY_UNWIND, PY_YIELD,
};
use crate::codes;
use crate::recording::stats_event;
use crate::stats::StatsEvent;

/// The statistics' callbacks.
pub(crate) static CALLBACKS: [Callback; 5] = [
    Callback::new(c"pikos_stats_call", stats_call_callback, &[PY_START]),
    Callback::new(
        c"pikos_stats_return",
        stats_return_callback,
        &[PY_RETURN, PY_YIELD, PY_UNWIND],
    ),
    Callback::new(c"pikos_stats_c_call", stats_c_call_callback, &[CALL]),
    Callback::new(
        c"pikos_stats_c_return",
        stats_c_return_callback,
        &[C_RETURN, C_RAISE],
    ),
    Callback::new(
        c"pikos_stats_resume",
        stats_resume_callback,
        &[PY_RESUME, PY_THROW],
    ),
];

/// A statistics event of a Python function (`PY_*(code, offset, ...)`).
///
/// # Safety
/// A callback's arguments.
#[inline(always)]
unsafe fn stats_python(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    kind: StatsEvent,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded from the callback.
    unsafe {
        run(slf, args, true, |py, hook, code| {
            let slot = slot_of(py, code, false)?;
            if !slot.own {
                let thread = gated_thread(py, hook);
                stats_event(py, hook, thread, kind, slot.plain, slot.name);
            }
            Ok(Outcome::Skip)
        })
    }
}

/// A statistics event of a call `(code, offset, callable, arg0)`: a
/// builtin's call or return, called from `code`; nothing for other calls.
///
/// # Safety
/// A callback's arguments.
#[inline(always)]
unsafe fn stats_builtin(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    kind: StatsEvent,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded from the callback: CPython passes 4 arguments.
    unsafe {
        let callable = *args.add(2);
        // Most calls are of Python functions: nothing more to do for them.
        if ffi::Py_TYPE(callable) == std::ptr::addr_of_mut!(ffi::PyFunction_Type) {
            return none();
        }
        run(slf, args, true, |py, hook, code| {
            let given = *args.add(3) != missing(py);
            let Some(label) = codes::callable_label(py, callable, given)? else {
                return Ok(Outcome::Skip);
            };
            let slot = slot_of(py, code, false)?;
            if !slot.own {
                let thread = gated_thread(py, hook);
                stats_event(py, hook, thread, kind, slot.plain, label);
            }
            Ok(Outcome::Skip)
        })
    }
}

/// `sys.monitoring.MISSING`, the `arg0` of a call without arguments.
fn missing(py: Python<'_>) -> *mut ffi::PyObject {
    static MISSING: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    MISSING
        .get_or_init(py, || {
            py.import("sys")
                .and_then(|sys| sys.getattr("monitoring"))
                .and_then(|m| m.getattr("MISSING"))
                .map(Bound::unbind)
                .unwrap_or_else(|_| py.None())
        })
        .as_ptr()
}

callback!(fn stats_call_callback => stats_python(StatsEvent::Call));
callback!(fn stats_return_callback => stats_python(StatsEvent::Return));
callback!(fn stats_resume_callback => stats_python(StatsEvent::Resume));
callback!(fn stats_c_call_callback => stats_builtin(StatsEvent::CCall));
callback!(fn stats_c_return_callback => stats_builtin(StatsEvent::CReturn));
