//! Line events on `sys.monitoring`, the same as the legacy trace hook's:
//! a `LINE` event is a line event; a backward `JUMP` within one line (a
//! one-line loop) is one too; other jumps are disabled where they are.
//! `PY_START` is registered because 3.13 reports the first line of a
//! function whose body starts on its `def` line (one-liners, lambdas) only
//! while `PY_START` is active at its start; elsewhere it is disabled.

use pyo3::ffi;

use super::callbacks::{callback, disable, run, slot_of, Outcome};
use super::session::Callback;
use super::{JUMP, LINE, PY_START};

/// The line monitors' callbacks.
pub(crate) static CALLBACKS: [Callback; 3] = [
    Callback::new(c"pikos_line", line_callback, &[LINE]),
    Callback::new(c"pikos_jump", jump_callback, &[JUMP]),
    Callback::new(c"pikos_start", start_callback, &[PY_START]),
];

callback! {
    /// `LINE(code, line_number)`.
    pub(super) fn line_callback(slf, args) {
        // SAFETY: CPython passes (code, line) to LINE callbacks.
        unsafe {
            run(slf, args, true, |_py, _hook, _code| {
                let line = ffi::PyLong_AsLong(*args.add(1));
                Ok(Outcome::Line(line as i32))
            })
        }
    }
}

callback! {
    /// `JUMP(code, from_offset, to_offset)`: a backward jump within one line
    /// is a line event, as the legacy layer makes it; other jumps never are.
    pub(super) fn jump_callback(slf, args) {
        // SAFETY: CPython passes (code, from, to) to JUMP callbacks.
        unsafe {
            let from = ffi::PyLong_AsSsize_t(*args.add(1));
            let to = ffi::PyLong_AsSsize_t(*args.add(2));
            if to > from {
                // Forward: never a line event, on any thread.
                return disable(slf);
            }
            run(slf, args, true, |py, _hook, code| {
                let slot = slot_of(py, code, true)?;
                let (to_line, from_line) = (slot.line_at(to), slot.line_at(from));
                Ok(if to_line != from_line {
                    Outcome::Disable
                } else if to_line < 0 {
                    Outcome::Skip
                } else {
                    Outcome::Line(to_line)
                })
            })
        }
    }
}

callback! {
    /// `PY_START(code, offset)`: never recorded; disabled except where 3.13
    /// needs it (see the module's notes).
    fn start_callback(slf, args) {
        // SAFETY: CPython passes (code, offset) to PY_START callbacks.
        unsafe {
            run(slf, args, false, |py, _hook, code| {
                // 3.13 reports a LINE event at a function's first instruction
                // when it shares the line of RESUME (a one-line function, a
                // lambda) only while PY_START is active there: keep it there.
                let offset = ffi::PyLong_AsSsize_t(*args.add(1));
                let slot = slot_of(py, code, false)?;
                let line = slot.line_at(offset);
                Ok(if line >= 0 && line == slot.line_at(offset + 2) {
                    Outcome::Skip
                } else {
                    Outcome::Disable
                })
            })
        }
    }
}
