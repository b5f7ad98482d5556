//! Line statistics (`LineStatsMonitor`) on `sys.monitoring`: the line
//! events of the line monitors (`lines`), plus where each frame starts
//! (`PY_START`), resumes (`PY_RESUME`, `PY_THROW`: at the line it was
//! suspended on) and leaves the stack (`PY_RETURN`, `PY_YIELD`,
//! `PY_UNWIND`), which close its running line.

use pikos_core::event::NO_LINE;
use pyo3::ffi;

use super::callbacks::{callback, run, slot_of, Outcome};
use super::lines::{jump_callback, line_callback};
use super::session::Callback;
use super::{JUMP, LINE, PY_RESUME, PY_RETURN, PY_START, PY_THROW, PY_UNWIND, PY_YIELD};
use crate::line_stats::LineEvent;

/// The line statistics' callbacks.
pub(crate) static CALLBACKS: [Callback; 5] = [
    Callback::new(c"pikos_line_stats_line", line_callback, &[LINE]),
    Callback::new(c"pikos_line_stats_jump", jump_callback, &[JUMP]),
    Callback::new(c"pikos_line_stats_start", start_callback, &[PY_START]),
    Callback::new(
        c"pikos_line_stats_resume",
        resume_callback,
        &[PY_RESUME, PY_THROW],
    ),
    Callback::new(
        c"pikos_line_stats_end",
        end_callback,
        &[PY_RETURN, PY_YIELD, PY_UNWIND],
    ),
];

/// A frame event known from the event alone (no look at its arguments).
///
/// # Safety
/// A callback's arguments.
#[inline(always)]
unsafe fn frame(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    event: LineEvent,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded from the callback.
    unsafe {
        run(slf, args, true, |_py, _hook, _code| {
            Ok(Outcome::Frame(event))
        })
    }
}

callback! {
    /// `PY_START(code, offset)`: a frame starts, no line running yet.
    fn start_callback => frame(LineEvent::Start(NO_LINE))
}

callback! {
    /// `PY_RESUME(code, offset)`, `PY_THROW(code, offset, exception)`: a
    /// suspended frame goes on at the line of `offset`.
    fn resume_callback(slf, args) {
        // SAFETY: CPython passes (code, offset, ...).
        unsafe {
            run(slf, args, true, |py, _hook, code| {
                let offset = ffi::PyLong_AsSsize_t(*args.add(1));
                let line = slot_of(py, code, false)?.line_at(offset);
                Ok(Outcome::Frame(LineEvent::Start(if line < 0 {
                    NO_LINE
                } else {
                    line
                })))
            })
        }
    }
}

callback! {
    /// `PY_RETURN`, `PY_YIELD` `(code, offset, value)`, `PY_UNWIND(code,
    /// offset, exception)`: the frame leaves the stack.
    fn end_callback => frame(LineEvent::End)
}
