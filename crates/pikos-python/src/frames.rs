//! The code object of a frame, read without a function call or a reference
//! count change: the hook asks for it at every event, before it knows whether
//! the event is recorded at all (focused monitors mostly say no).
//!
//! `PyFrameObject.f_frame` points at the interpreter frame, whose code field
//! is the first pointer on 3.12 and 3.13 (`f_code`, `f_executable`) and the
//! fifth on 3.11 (after `f_func`, `f_globals`, `f_builtins`, `f_locals`).
//! [`self_check`] proves the layout at import against `PyFrame_GetCode`;
//! if it fails, the public function is used instead.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::ffi;

#[repr(C)]
struct FramePrefix {
    ob_base: ffi::PyObject,
    f_back: *mut ffi::PyObject,
    f_frame: *const *mut ffi::PyCodeObject,
}

#[cfg(Py_3_12)]
const CODE_SLOT: usize = 0;
#[cfg(not(Py_3_12))]
const CODE_SLOT: usize = 4;

static LAYOUT_OK: AtomicBool = AtomicBool::new(false);

/// # Safety
/// `frame` is a valid frame object of a running Python function.
#[inline(always)]
unsafe fn read_code(frame: *mut ffi::PyFrameObject) -> *mut ffi::PyCodeObject {
    // SAFETY: the layout described above (proved by `self_check`).
    unsafe { *(*(frame as *const FramePrefix)).f_frame.add(CODE_SLOT) }
}

/// The frame's code object, borrowed from the frame.
///
/// # Safety
/// GIL held; `frame` is the valid frame the interpreter passed to a hook.
#[inline(always)]
pub unsafe fn code(frame: *mut ffi::PyFrameObject) -> *mut ffi::PyCodeObject {
    // SAFETY: forwarded from the caller.
    unsafe {
        if LAYOUT_OK.load(Ordering::Relaxed) {
            return read_code(frame);
        }
        let code = ffi::PyFrame_GetCode(frame);
        // The frame holds a reference for as long as it runs.
        ffi::Py_DECREF(code as *mut ffi::PyObject);
        code
    }
}

/// Compares the direct read with `PyFrame_GetCode` on the current frame and
/// enables the direct read if they agree.
///
/// # Safety
/// GIL held, called from Python (so there is a current frame).
pub unsafe fn self_check() {
    // SAFETY: GIL held; the frame is borrowed, GetCode returns a new reference.
    unsafe {
        let frame = ffi::PyEval_GetFrame();
        if frame.is_null() {
            return;
        }
        let expected = ffi::PyFrame_GetCode(frame);
        let ok = read_code(frame) == expected;
        ffi::Py_DECREF(expected as *mut ffi::PyObject);
        LAYOUT_OK.store(ok, Ordering::Relaxed);
    }
}
