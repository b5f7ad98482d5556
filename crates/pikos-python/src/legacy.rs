//! The legacy hooks: C-level profile and trace functions
//! (`PyEval_SetProfile`/`PyEval_SetTrace`), whose events are exactly those
//! `sys.setprofile`/`sys.settrace` report on every version.  Per event:
//! hand the event on to a hook this one took over, decide (session and
//! focus) before anything else, then resolve the code, read the line and
//! record (`recording::emit`), or feed statistics.  Errors and panics never
//! reach the interpreter, but for the program's own `KeyboardInterrupt` or
//! `SystemExit` from a Python filter or recorder.

use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pikos_core::event::{EventKind, NO_LINE};
use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::codes;
use crate::frames;
use crate::line_stats::LineEvent;
use crate::recording::{emit, for_the_program, stats_event, Hook, Target};
use crate::stats::StatsEvent;
use crate::thread_hook::ThreadHook;
use crate::tstate::{HookKind, RawHook};

/// The C function of hooks of `kind`.
pub(crate) fn callback_for(kind: HookKind) -> ffi::Py_tracefunc {
    match kind {
        HookKind::Profile => profile_callback,
        HookKind::Trace => trace_callback,
    }
}

/// The hook of another tool that this thread's hook took over (a debugger,
/// coverage.py, a profiler), if any.
///
/// # Safety
/// GIL held; `obj` is the ThreadHook our callback was called with.
#[inline(always)]
unsafe fn taken_over(obj: *mut ffi::PyObject) -> Option<RawHook> {
    // SAFETY: as above; no other borrow of the thread's state is live at
    // the start of a callback.
    unsafe {
        let py = Python::assume_attached();
        let thread_hook = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<ThreadHook>();
        let saved = thread_hook.get().local.get_mut(py).saved.as_ref()?;
        let raw = saved.raw();
        raw.func.is_some().then_some(raw)
    }
}

/// Hands an event of pikos' own code (enable's and disable's frames) to
/// the tool whose hook this one took over: that tool saw these frames
/// start before the hook was ours, or sees them end once it is theirs
/// again, so it sees their whole life and its own view of the stack stays
/// balanced.  None for events of other code (recorded, or not, as usual).
///
/// # Safety
/// The interpreter's arguments of a hook call; `taken` a live hook.
#[cold]
unsafe fn forward_own(
    taken: RawHook,
    frame: *mut ffi::PyFrameObject,
    what: c_int,
    arg: *mut ffi::PyObject,
) -> Option<c_int> {
    // SAFETY: as above.
    unsafe {
        let py = Python::assume_attached();
        let slot = codes::lookup(py, frames::code(frame), frame, false).ok()?;
        let func = taken.func?;
        slot.own.then(|| func(taken.obj, frame, what, arg))
    }
}

/// Hands an event on to the hook this thread's hook took over: every event
/// when that is another pikos monitor's (monitors enabled one inside the
/// other all record: one hook serves them all, newest first), else only the
/// events of pikos' own frames ([`forward_own`]).  `Some` ends the event
/// here with that result: an own frame's event, or an exception the older
/// monitor passed to the program.
///
/// # Safety
/// The interpreter's arguments of a hook call; `taken` a live hook.
#[inline(always)]
unsafe fn hand_over(
    taken: RawHook,
    ours: ffi::Py_tracefunc,
    frame: *mut ffi::PyFrameObject,
    what: c_int,
    arg: *mut ffi::PyObject,
) -> Option<c_int> {
    // SAFETY: as above.
    unsafe {
        match taken.func {
            Some(func) if taken.is(ours) => match func(taken.obj, frame, what, arg) {
                0 => None,
                failed => Some(failed),
            },
            _ => forward_own(taken, frame, what, arg),
        }
    }
}

unsafe extern "C" fn profile_callback(
    obj: *mut ffi::PyObject,
    frame: *mut ffi::PyFrameObject,
    what: c_int,
    arg: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: the interpreter calls us with the GIL held and valid pointers.
    if let Some(taken) = unsafe { taken_over(obj) } {
        if let Some(result) = unsafe { hand_over(taken, profile_callback, frame, what, arg) } {
            return result;
        }
    }
    let kind = match what {
        ffi::PyTrace_CALL => EventKind::Call,
        ffi::PyTrace_RETURN => EventKind::Return,
        ffi::PyTrace_C_CALL => EventKind::CCall,
        ffi::PyTrace_C_RETURN => EventKind::CReturn,
        ffi::PyTrace_C_EXCEPTION => EventKind::CException,
        _ => return 0,
    };
    // SAFETY: the interpreter calls us with the GIL held and valid pointers.
    unsafe { dispatch(obj, frame, kind, arg) }
}

unsafe extern "C" fn trace_callback(
    obj: *mut ffi::PyObject,
    frame: *mut ffi::PyFrameObject,
    what: c_int,
    arg: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: as above.
    if let Some(taken) = unsafe { taken_over(obj) } {
        if let Some(result) = unsafe { hand_over(taken, trace_callback, frame, what, arg) } {
            return result;
        }
    }
    if what != ffi::PyTrace_LINE {
        if what == ffi::PyTrace_CALL {
            // SAFETY: a valid frame; `obj` is our ThreadHook.
            unsafe { frames::adopt_trace(frame, obj) };
        }
        // Line statistics also need where frames start and end.
        let kind = match what {
            ffi::PyTrace_CALL => EventKind::Call,
            ffi::PyTrace_RETURN => EventKind::Return,
            _ => return 0,
        };
        // SAFETY: `obj` is our ThreadHook.
        if unsafe { counts_lines(obj) } {
            // SAFETY: as above.
            return unsafe { dispatch(obj, frame, kind, arg) };
        }
        return 0;
    }
    // SAFETY: as above.
    unsafe { dispatch(obj, frame, EventKind::Line, arg) }
}

/// Whether the hook of this thread hook feeds line statistics.
///
/// # Safety
/// GIL held; `obj` is the ThreadHook our callback was called with.
#[inline(always)]
unsafe fn counts_lines(obj: *mut ffi::PyObject) -> bool {
    // SAFETY: as above.
    unsafe {
        let py = Python::assume_attached();
        let thread_hook = pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<ThreadHook>();
        matches!(
            thread_hook.get().hook.get().state(py).target,
            Target::LineStats(_)
        )
    }
}

/// Never lets an error or a panic reach the interpreter: either becomes a
/// failed (removed) hook and one report.
#[inline(always)]
unsafe fn dispatch(
    obj: *mut ffi::PyObject,
    frame: *mut ffi::PyFrameObject,
    kind: EventKind,
    arg: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: the interpreter holds the GIL while calling a hook.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: our callbacks are only installed with a ThreadHook, which the
    // thread's slot keeps alive for the duration of the call (borrowed: no
    // reference count traffic on the hot path).
    let borrowed = unsafe { pyo3::Borrowed::from_ptr(py, obj).cast_unchecked::<ThreadHook>() };
    let thread_hook = borrowed.get();
    // SAFETY: a valid frame from the interpreter.
    let code = unsafe { frames::code(frame) };
    let mut error = None;
    let outcome = match gate(py, thread_hook, code, kind) {
        Gate::Skip => return 0,
        Gate::Stale => Flow::Stale,
        // The guarded part returns one byte; the error, if any, comes back
        // through `error` (a large result kept the closure out of line).
        Gate::Record => catch_unwind(AssertUnwindSafe(|| unsafe {
            match record_event(py, thread_hook, frame, code, kind, arg) {
                Ok(()) => Flow::Done,
                Err(err) => {
                    error = Some(err);
                    Flow::Failed
                }
            }
        }))
        .unwrap_or(Flow::Panicked),
    };
    let err = match outcome {
        Flow::Done => return 0,
        Flow::Stale => None,
        Flow::Failed if error.as_ref().is_some_and(|e| for_the_program(py, e)) => {
            if let Some(err) = error {
                err.restore(py);
            }
            return -1;
        }
        Flow::Failed => error,
        Flow::Panicked => Some(PyRuntimeError::new_err(
            "pikos: internal error (panic) in the interpreter hook; monitoring stopped",
        )),
    };
    // Slow paths: strong references, since taking the hook off the thread
    // releases the slot's.
    let owner = borrowed.to_owned();
    let hook = thread_hook.hook.bind(py).clone();
    match err {
        None => Hook::remove_here(&hook),
        Some(err) => Hook::fail(&hook, err),
    }
    drop(owner);
    0
}

enum Gate {
    /// Not recorded (outside the focus).
    Skip,
    Record,
    /// The monitor was disabled: take the hook off this thread.
    Stale,
}

enum Flow {
    Done,
    Stale,
    Failed,
    Panicked,
}

/// Whether the event is recorded: the session is current and, for focused
/// monitors, the event is inside the focus.  Plain arithmetic and one hash
/// probe, nothing that can panic, so it runs before `catch_unwind`.
#[inline(always)]
fn gate(
    py: Python<'_>,
    thread_hook: &ThreadHook,
    code: *mut ffi::PyCodeObject,
    kind: EventKind,
) -> Gate {
    let hook = thread_hook.hook.get();
    let st = hook.state(py);
    if !st.active || thread_hook.session != st.session {
        return Gate::Stale;
    }
    let Some(focus) = &mut st.focus else {
        return Gate::Record;
    };
    let focused = focus.contains(code as usize);
    if hook.hook_kind == HookKind::Trace {
        return if focused { Gate::Record } else { Gate::Skip };
    }
    // SAFETY: GIL held; no Python call while borrowed.
    let depth = unsafe { &mut thread_hook.local.get_mut(py).depth };
    match kind {
        EventKind::Call if focused => *depth += 1,
        // The focused frame's own return is the window's last event.
        EventKind::Return if focused && *depth > 0 => *depth -= 1,
        _ if *depth == 0 => return Gate::Skip,
        _ => {}
    }
    Gate::Record
}

#[inline(always)]
unsafe fn record_event(
    py: Python<'_>,
    thread_hook: &ThreadHook,
    frame: *mut ffi::PyFrameObject,
    code: *mut ffi::PyCodeObject,
    kind: EventKind,
    arg: *mut ffi::PyObject,
) -> PyResult<()> {
    let hook = thread_hook.hook.get();
    // SAFETY: `code` and `frame` are valid (the frame holds the code).
    let slot = unsafe { codes::lookup(py, code, frame, kind == EventKind::Line)? };
    if slot.own {
        return Ok(());
    }
    if let Target::LineStats(stats) = &hook.state(py).target {
        let event = match kind {
            // SAFETY: the frame and code of this event.
            EventKind::Call if slot.generator && unsafe { frames::resumed(frame, code) } => {
                // SAFETY: valid frame.
                LineEvent::Start(known_line(unsafe { ffi::PyFrame_GetLineNumber(frame) }))
            }
            EventKind::Call => LineEvent::Start(NO_LINE),
            EventKind::Return => LineEvent::End,
            // SAFETY: valid frame.
            _ => LineEvent::Line(known_line(unsafe { ffi::PyFrame_GetLineNumber(frame) })),
        };
        // No record: the event goes into the totals, keyed by the thread's
        // hook object (one per covered thread).
        let thread = thread_hook as *const ThreadHook as usize;
        stats.get().event(py, thread, &slot, event);
        return Ok(());
    }
    let statistics = matches!(hook.state(py).target, Target::Stats(_));
    let function = match kind {
        // SAFETY: for c_* events `arg` is the called builtin.
        EventKind::CCall | EventKind::CReturn | EventKind::CException => unsafe {
            if statistics {
                codes::builtin_label(py, arg)?
            } else {
                codes::builtin_name(py, arg)?
            }
        },
        _ => slot.name,
    };
    if statistics {
        // No record: the event goes into the totals, keyed by the thread's
        // hook object (one per covered thread).
        let thread = thread_hook as *const ThreadHook as usize;
        let event = match kind {
            // SAFETY: the frame and code of this event.
            EventKind::Call if slot.generator && unsafe { frames::resumed(frame, code) } => {
                StatsEvent::Resume
            }
            EventKind::Call => StatsEvent::Call,
            EventKind::Return => StatsEvent::Return,
            EventKind::CCall => StatsEvent::CCall,
            EventKind::CReturn | EventKind::CException => StatsEvent::CReturn,
            EventKind::Line => return Ok(()),
        };
        stats_event(py, hook, thread, event, slot.plain, function);
        return Ok(());
    }
    let lineno = if kind == EventKind::Line {
        // Line events: the line the tracing machinery set on the frame.
        // SAFETY: valid frame.
        unsafe { ffi::PyFrame_GetLineNumber(frame) }
    } else {
        // SAFETY: valid frame running `code`, whose slot this is.
        unsafe { slot.line_of(frame) }
    };
    emit(py, hook, slot, function, lineno, kind)
}

/// A line number as the totals keep it: [`NO_LINE`] for none.
#[inline(always)]
fn known_line(line: i32) -> i32 {
    if line < 0 {
        NO_LINE
    } else {
        line
    }
}
