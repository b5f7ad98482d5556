//! What every `sys.monitoring` callback of pikos does around its event:
//! the gate (session, thread, focus), the guarded body, and what a failure
//! becomes (a stopped monitor and one report, or the program's own
//! `KeyboardInterrupt`/`SystemExit` raised where it happened).

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::codes;
use pikos_core::event::{EventKind, NO_LINE};

use crate::line_stats::LineEvent;
use crate::recording::{emit, for_the_program, line_stats_event, Hook, Target};

/// Defines a `sys.monitoring` callback: the C function CPython calls with
/// the callable's self, the event's arguments and their count, around
/// `body`, which sees the first two as the names given; or, in the form
/// `fn name => helper(value)`, one that calls `helper(self, arguments,
/// value)` (an `#[inline(always)]` helper shared by several events).  A
/// macro rather than a function taking the body, so that each callback
/// stays one plain C function with its body inlined: nothing more per event.
macro_rules! callback {
    ($(#[$meta:meta])* $vis:vis fn $name:ident => $helper:ident($value:expr)) => {
        callback! {
            $(#[$meta])*
            $vis fn $name(slf, args) {
                // SAFETY: a callback's arguments, forwarded to the helper.
                unsafe { $helper(slf, args, $value) }
            }
        }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($slf:ident, $args:ident) $body:block) => {
        $(#[$meta])*
        $vis unsafe extern "C" fn $name(
            $slf: *mut ::pyo3::ffi::PyObject,
            $args: *mut *mut ::pyo3::ffi::PyObject,
            _nargs: ::pyo3::ffi::Py_ssize_t,
        ) -> *mut ::pyo3::ffi::PyObject $body
    };
}
pub(crate) use callback;

/// What a callback makes of its event.
pub(crate) enum Outcome {
    /// Nothing to record here.
    Skip,
    /// Never again at this location (a jump that is no line event).
    Disable,
    /// A line event at this line.
    Line(i32),
    /// A frame starts, resumes or leaves the stack (line statistics).
    Frame(LineEvent),
}

/// Whether the hook records on this thread right now, and in `code`.
#[inline(always)]
fn gate(py: Python<'_>, hook: &Hook, code: *mut ffi::PyObject) -> bool {
    let st = hook.state(py);
    if !st.active {
        return false;
    }
    let Some(session) = &mut st.monitoring else {
        return false;
    };
    if !session.covers_current() {
        return false;
    }
    match &mut st.focus {
        Some(focus) => focus.contains(code as usize),
        None => true,
    }
}

/// Runs a callback: the hook (the callable's self), the outcome of the
/// event, the record; errors and panics stop the monitor and are reported
/// once, never raised into the profiled program, except the program's own
/// `KeyboardInterrupt` or `SystemExit` ([`for_the_program`]).
#[inline(always)]
pub(crate) unsafe fn run(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    gated: bool,
    decide: impl FnOnce(Python<'_>, &Hook, *mut ffi::PyObject) -> PyResult<Outcome>,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls callbacks with the GIL held.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: our callables are only made with a Hook as self, which they
    // keep alive; `args` has at least the code object.
    let (hook, code) = unsafe {
        (
            pyo3::Borrowed::from_ptr(py, slf).cast_unchecked::<Hook>(),
            *args,
        )
    };
    let this = hook.get();
    if gated && !gate(py, this, code) {
        // SAFETY: GIL held.
        return unsafe { none() };
    }
    // The closure hands back one flag (disable here or not) and leaves an
    // error beside it: a small value crosses the unwinding boundary in a
    // register, where a `PyResult<Outcome>` went through memory and cost a
    // stalled load per event (seen in perf on the statistics callbacks).
    let mut error = None;
    let disable = catch_unwind(AssertUnwindSafe(|| {
        let result = decide(py, this, code).and_then(|outcome| match outcome {
            Outcome::Line(line) => record_line(py, this, code, line).map(|()| false),
            Outcome::Frame(event) => frame_event(py, this, code, event).map(|()| false),
            Outcome::Disable => Ok(true),
            Outcome::Skip => Ok(false),
        });
        result.unwrap_or_else(|err| {
            error = Some(err);
            false
        })
    }))
    .unwrap_or_else(|_| {
        error = Some(PyRuntimeError::new_err(
            "pikos: internal error (panic) in a sys.monitoring callback; monitoring stopped",
        ));
        false
    });
    if let Some(err) = error {
        if for_the_program(py, &err) {
            // Ctrl-C or sys.exit in a Python filter or recorder: raised in
            // the program where the event happened.
            err.restore(py);
            return std::ptr::null_mut();
        }
        Hook::fail(&hook.to_owned(), err);
    } else if disable {
        // SAFETY: GIL held; `slf` is a Hook.
        return unsafe { self::disable(slf) };
    }
    // SAFETY: GIL held.
    unsafe { none() }
}

pub(crate) unsafe fn none() -> *mut ffi::PyObject {
    // SAFETY: GIL held (caller); None is immortal on 3.12+.
    unsafe { ffi::Py_NewRef(ffi::Py_None()) }
}

/// The slot of a code object a callback received.
///
/// # Safety
/// GIL held; `code` is the code object CPython passed, running in the
/// current frame.
pub(crate) unsafe fn slot_of(
    py: Python<'_>,
    code: *mut ffi::PyObject,
    lines: bool,
) -> PyResult<codes::CodeSlot> {
    // SAFETY: forwarded from the caller (no frame: the current one).
    unsafe {
        codes::lookup(
            py,
            code as *mut ffi::PyCodeObject,
            std::ptr::null_mut(),
            lines,
        )
    }
}

/// `sys.monitoring.DISABLE` (None once the session has ended).
///
/// # Safety
/// GIL held; `slf` is the callable's self, a Hook.
pub(crate) unsafe fn disable(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: forwarded from the caller.
    unsafe {
        let py = Python::assume_attached();
        let hook = pyo3::Borrowed::from_ptr(py, slf).cast_unchecked::<Hook>();
        match &hook.get().state(py).monitoring {
            Some(session) => session.disable.clone_ref(py).into_ptr(),
            None => none(),
        }
    }
}

/// Records a line event of `code` (the current frame's).
pub(crate) fn record_line(
    py: Python<'_>,
    hook: &Hook,
    code: *mut ffi::PyObject,
    line: i32,
) -> PyResult<()> {
    // SAFETY: `code` is the code object CPython passed; its frame is the
    // current one.
    let slot = unsafe { slot_of(py, code, true)? };
    if slot.own {
        return Ok(());
    }
    let lineno = if line < 0 { NO_LINE } else { line };
    if matches!(hook.state(py).target, Target::LineStats(_)) {
        let thread = gated_thread(py, hook);
        line_stats_event(py, hook, thread, &slot, LineEvent::Line(lineno));
        return Ok(());
    }
    emit(py, hook, slot, slot.name, lineno, EventKind::Line)
}

/// A frame of `code` (the current one) starts, resumes or leaves the
/// stack: line statistics only.
pub(crate) fn frame_event(
    py: Python<'_>,
    hook: &Hook,
    code: *mut ffi::PyObject,
    event: LineEvent,
) -> PyResult<()> {
    // SAFETY: `code` is the code object CPython passed; its frame is the
    // current one.
    let slot = unsafe { slot_of(py, code, false)? };
    if !slot.own {
        let thread = gated_thread(py, hook);
        line_stats_event(py, hook, thread, &slot, event);
    }
    Ok(())
}

/// The thread the gate just let through (its thread-state id).
#[inline(always)]
pub(crate) fn gated_thread(py: Python<'_>, hook: &Hook) -> usize {
    match &hook.state(py).monitoring {
        Some(session) => session.last_thread.0 as usize,
        None => super::session::current_thread() as usize,
    }
}
