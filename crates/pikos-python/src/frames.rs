//! The code object of a frame, read without a function call or a reference
//! count change: the hook asks for it at every event, before it knows whether
//! the event is recorded at all (focused monitors mostly say no).
//!
//! `PyFrameObject.f_frame` points at the interpreter frame, whose code field
//! is the first pointer on 3.12 and 3.13 (`f_code`, `f_executable`) and the
//! fifth on 3.11 (after `f_func`, `f_globals`, `f_builtins`, `f_locals`).
//! [`self_check`] proves the layout at import against `PyFrame_GetCode`;
//! if it fails, the public function is used instead.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use pyo3::ffi;

#[repr(C)]
struct FramePrefix {
    ob_base: ffi::PyObject,
    f_back: *mut ffi::PyObject,
    f_frame: *const *mut ffi::PyCodeObject,
    /// The frame's local trace function (`frame.f_trace`), the same place
    /// on 3.11 to 3.13.
    f_trace: *mut ffi::PyObject,
}

#[cfg(Py_3_12)]
const CODE_SLOT: usize = 0;
#[cfg(not(Py_3_12))]
const CODE_SLOT: usize = 4;

static LAYOUT_OK: AtomicBool = AtomicBool::new(false);
/// `f_trace` is where [`FramePrefix`] says (proved by [`self_check`]).
static TRACE_SLOT_OK: AtomicBool = AtomicBool::new(false);

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

/// Makes `obj` the frame's local trace function if it has none, as
/// `sys.settrace`'s Python-level layer does at a `call` event: if the
/// thread's trace hook is handed back through `sys.settrace(sys.gettrace())`
/// (doctest, a debugger), the frames already running keep reporting their
/// lines to it.  Nothing when the layout is not proven.
///
/// # Safety
/// GIL held; `frame` a valid frame object, `obj` a live object.
#[inline(always)]
pub unsafe fn adopt_trace(frame: *mut ffi::PyFrameObject, obj: *mut ffi::PyObject) {
    // SAFETY: the layout proved by `self_check`; the frame keeps the new
    // reference and releases it when it is deallocated or cleared.
    unsafe {
        let prefix = frame as *mut FramePrefix;
        if (*prefix).f_trace.is_null() && TRACE_SLOT_OK.load(Ordering::Relaxed) {
            (*prefix).f_trace = ffi::Py_NewRef(obj);
        }
    }
}

/// Compares the direct reads with `PyFrame_GetCode` and `frame.f_trace` on
/// the current frame, and enables each direct access whose read agrees.
/// `marker` is any object (set as the frame's `f_trace` for a moment).
///
/// # Safety
/// GIL held, called from Python (so there is a current frame).
pub unsafe fn self_check(marker: *mut ffi::PyObject) {
    // SAFETY: GIL held; the frame is borrowed, GetCode and GetAttr return
    // new references.
    unsafe {
        let frame = ffi::PyEval_GetFrame();
        if frame.is_null() {
            return;
        }
        let expected = ffi::PyFrame_GetCode(frame);
        let ok = read_code(frame) == expected;
        ffi::Py_DECREF(expected as *mut ffi::PyObject);
        LAYOUT_OK.store(ok, Ordering::Relaxed);

        let obj = frame as *mut ffi::PyObject;
        let name = c"f_trace".as_ptr();
        let before = ffi::PyObject_GetAttrString(obj, name);
        if before.is_null() {
            ffi::PyErr_Clear();
            return;
        }
        let mut ok = ffi::PyObject_SetAttrString(obj, name, marker) == 0
            && (*(frame as *const FramePrefix)).f_trace == marker;
        ok &= ffi::PyObject_SetAttrString(obj, name, before) == 0;
        ffi::Py_DECREF(before);
        if !ok {
            ffi::PyErr_Clear();
        }
        TRACE_SLOT_OK.store(ok, Ordering::Relaxed);
    }
}

/// `RESUME`'s opcode in this Python (`dis.opmap`), set by [`init`].
static RESUME: AtomicU8 = AtomicU8::new(0);

extern "C" {
    // Public since 3.11 (the code's bytes, specialisations undone; cached
    // by the code object).
    fn PyCode_GetCode(code: *mut ffi::PyCodeObject) -> *mut ffi::PyObject;
}

/// Reads what [`resumed`] needs from the `dis` module.
pub fn init(py: pyo3::Python<'_>) -> pyo3::PyResult<()> {
    use pyo3::prelude::*;
    let opcode: u8 = py
        .import("dis")?
        .getattr("opmap")?
        .get_item("RESUME")?
        .extract()?;
    RESUME.store(opcode, Ordering::Relaxed);
    Ok(())
}

/// Whether a legacy `call` event of a generator or coroutine frame is a
/// resume (after a `yield`, an `await` that waited, or into a `throw()`),
/// not the start of its call.  A call starts at the code's `RESUME 0`; a
/// resume is at a `RESUME` with another argument, or at the `YIELD_VALUE`
/// an exception is thrown into.
///
/// # Safety
/// GIL held; `frame` and `code` as the interpreter passed them to a hook.
pub unsafe fn resumed(frame: *mut ffi::PyFrameObject, code: *mut ffi::PyCodeObject) -> bool {
    // SAFETY: forwarded from the caller; the bytes are a new reference.
    unsafe {
        let lasti = ffi::PyFrame_GetLasti(frame) as isize;
        if lasti < 0 {
            return false;
        }
        let bytes = PyCode_GetCode(code);
        if bytes.is_null() {
            ffi::PyErr_Clear();
            return false;
        }
        let data = ffi::PyBytes_AsString(bytes) as *const u8;
        let len = ffi::PyBytes_Size(bytes);
        let byte = |at: isize| (0..len).contains(&at).then(|| *data.add(at as usize));
        let start =
            byte(lasti) == Some(RESUME.load(Ordering::Relaxed)) && byte(lasti + 1) == Some(0);
        ffi::Py_DECREF(bytes);
        !start
    }
}
