//! The profile and trace hooks of the current thread, read and written
//! exactly, so that whatever was installed before pikos (a debugger,
//! coverage, cProfile on 3.11) is put back as it was.
//!
//! CPython has no public getter for the C-level hook (`sys.getprofile()`
//! returns only the object), so we read the fields of `PyThreadState`
//! directly.  Their offsets differ per minor version; [`self_check`] proves
//! them at import time against `PyEval_SetProfile`/`PyEval_SetTrace`.

use pyo3::ffi;
use std::os::raw::c_int;

/// The prefix of `struct _ts` up to the hook fields.
#[repr(C)]
struct ThreadStatePrefix {
    prev: *mut ffi::PyThreadState,
    next: *mut ffi::PyThreadState,
    interp: *mut ffi::PyInterpreterState,
    #[cfg(Py_3_13)]
    eval_breaker: usize,
    #[cfg(not(Py_3_12))]
    _initialized: c_int,
    #[cfg(not(Py_3_12))]
    _static: c_int,
    #[cfg(Py_3_12)]
    _status: u32,
    #[cfg(Py_3_13)]
    _whence: c_int,
    #[cfg(Py_3_13)]
    state: c_int,
    recursion_1: c_int,
    recursion_2: c_int,
    #[cfg(Py_3_12)]
    recursion_3: c_int,
    recursion_headroom: c_int,
    tracing: c_int,
    tracing_what: c_int,
    frame: *mut std::ffi::c_void,
    c_profilefunc: Option<ffi::Py_tracefunc>,
    c_tracefunc: Option<ffi::Py_tracefunc>,
    c_profileobj: *mut ffi::PyObject,
    c_traceobj: *mut ffi::PyObject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookKind {
    Profile,
    Trace,
}

/// A hook as installed on a thread: the C function and its object (a
/// borrowed pointer; [`SavedHook`] owns a reference).
#[derive(Clone, Copy)]
pub struct RawHook {
    pub func: Option<ffi::Py_tracefunc>,
    pub obj: *mut ffi::PyObject,
}

impl RawHook {
    /// Whether this hook is the C function `func` (compared by address).
    pub fn is(&self, func: ffi::Py_tracefunc) -> bool {
        self.func.map(|f| f as *const ()) == Some(func as *const ())
    }
}

/// # Safety
/// The GIL must be held (the current thread state is read).
pub unsafe fn current(kind: HookKind) -> RawHook {
    // SAFETY: with the GIL held there is a current thread state.
    unsafe { of(ffi::PyThreadState_Get(), kind) }
}

/// The hook of thread state `ts`.
///
/// # Safety
/// The GIL must be held and `ts` a live thread state of this interpreter.
pub unsafe fn of(ts: *mut ffi::PyThreadState, kind: HookKind) -> RawHook {
    // SAFETY: `ts` is valid; the prefix layout is the one of the running
    // minor version (checked by `self_check`).
    unsafe {
        let ts = ts as *const ThreadStatePrefix;
        match kind {
            HookKind::Profile => RawHook {
                func: (*ts).c_profilefunc,
                obj: (*ts).c_profileobj,
            },
            HookKind::Trace => RawHook {
                func: (*ts).c_tracefunc,
                obj: (*ts).c_traceobj,
            },
        }
    }
}

/// # Safety
/// The GIL must be held.
pub unsafe fn install(kind: HookKind, hook: RawHook) {
    // SAFETY: both functions take a borrowed object and keep their own ref.
    unsafe {
        match kind {
            HookKind::Profile => ffi::PyEval_SetProfile(hook.func, hook.obj),
            HookKind::Trace => ffi::PyEval_SetTrace(hook.func, hook.obj),
        }
    }
}

extern "C" {
    // Exported by CPython 3.11 to 3.13: the hook of another thread, with the
    // interpreter's bookkeeping (`PyEval_SetProfile` is this on the
    // current thread).  3.13 no longer exports the trace counterpart.
    fn _PyEval_SetProfile(
        tstate: *mut ffi::PyThreadState,
        func: Option<ffi::Py_tracefunc>,
        arg: *mut ffi::PyObject,
    ) -> c_int;
    #[cfg(not(Py_3_13))]
    fn _PyEval_SetTrace(
        tstate: *mut ffi::PyThreadState,
        func: Option<ffi::Py_tracefunc>,
        arg: *mut ffi::PyObject,
    ) -> c_int;
}

/// Whether [`install_on`] can set hooks of `kind` on other threads.
pub const fn can_install_on_others(kind: HookKind) -> bool {
    matches!(kind, HookKind::Profile) || cfg!(not(Py_3_13))
}

/// Installs `hook` on thread state `ts` (another thread of this
/// interpreter); false when CPython refused (an audit hook) or cannot
/// (see [`can_install_on_others`]).
///
/// # Safety
/// The GIL must be held and `ts` a live thread state of this interpreter.
pub unsafe fn install_on(ts: *mut ffi::PyThreadState, kind: HookKind, hook: RawHook) -> bool {
    // SAFETY: as above; both functions take their own reference to `obj`.
    unsafe {
        match kind {
            HookKind::Profile => _PyEval_SetProfile(ts, hook.func, hook.obj) == 0,
            #[cfg(not(Py_3_13))]
            HookKind::Trace => _PyEval_SetTrace(ts, hook.func, hook.obj) == 0,
            #[cfg(Py_3_13)]
            HookKind::Trace => false,
        }
    }
}

/// The other thread states of the calling thread's interpreter.
///
/// # Safety
/// The GIL must be held; the pointers stay valid only while it is (and no
/// Python code runs that could end a thread).
pub unsafe fn other_threads() -> Vec<*mut ffi::PyThreadState> {
    let mut all = Vec::new();
    // SAFETY: GIL held: the interpreter's list of thread states is stable.
    unsafe {
        let me = ffi::PyThreadState_Get();
        let mut ts = ffi::PyInterpreterState_ThreadHead(ffi::PyThreadState_GetInterpreter(me));
        while !ts.is_null() {
            if ts != me {
                all.push(ts);
            }
            ts = ffi::PyThreadState_Next(ts);
        }
    }
    all
}

/// A hook taken off a thread, holding a strong reference to its object so
/// that it can be reinstalled exactly.
pub struct SavedHook {
    kind: HookKind,
    hook: RawHook,
}

// SAFETY: the object pointer is only touched with the GIL held.
unsafe impl Send for SavedHook {}
unsafe impl Sync for SavedHook {}

impl SavedHook {
    /// # Safety
    /// The GIL must be held.
    pub unsafe fn take(kind: HookKind) -> Self {
        // SAFETY: GIL held.
        unsafe { Self::take_from(ffi::PyThreadState_Get(), kind) }
    }

    /// The hook of thread state `ts`.
    ///
    /// # Safety
    /// The GIL must be held and `ts` a live thread state.
    pub unsafe fn take_from(ts: *mut ffi::PyThreadState, kind: HookKind) -> Self {
        // SAFETY: GIL held; the new reference is released on drop.
        let hook = unsafe { of(ts, kind) };
        unsafe { ffi::Py_XINCREF(hook.obj) };
        SavedHook { kind, hook }
    }

    /// The hook as it was installed (the object borrowed from this).
    pub fn raw(&self) -> RawHook {
        self.hook
    }

    /// The same object under another C function.
    pub fn with_func(mut self, func: ffi::Py_tracefunc) -> Self {
        self.hook.func = Some(func);
        self
    }

    /// "No hook": restoring it clears the thread's hook.
    pub fn empty(kind: HookKind) -> Self {
        SavedHook {
            kind,
            hook: RawHook {
                func: None,
                obj: std::ptr::null_mut(),
            },
        }
    }

    /// Reinstalls the saved hook (our reference is released on drop).
    ///
    /// # Safety
    /// The GIL must be held.
    pub unsafe fn restore(self) {
        // SAFETY: GIL held; `install` takes its own reference before we drop ours.
        unsafe { install(self.kind, self.hook) };
    }
}

impl Drop for SavedHook {
    fn drop(&mut self) {
        let obj = self.hook.obj;
        // SAFETY: we own one reference to `obj` (taken in `take`).
        pyo3::Python::attach(|_py| unsafe { ffi::Py_XDECREF(obj) });
    }
}

unsafe extern "C" fn probe_hook(
    _obj: *mut ffi::PyObject,
    _frame: *mut ffi::PyFrameObject,
    _what: c_int,
    _arg: *mut ffi::PyObject,
) -> c_int {
    0
}

/// Proves the layout: the object read through it must be the one
/// `sys.getprofile()`/`sys.gettrace()` returned (`expected`, compared as
/// pointers only), and a probe hook installed with `PyEval_SetProfile` /
/// `PyEval_SetTrace` must read back as installed.  What was there is put back.
///
/// # Safety
/// The GIL must be held; `expected` are the objects the sys functions return
/// for this thread right now (Py_None stands for no hook).
pub unsafe fn self_check(
    expected_profile: *mut ffi::PyObject,
    expected_trace: *mut ffi::PyObject,
    marker: *mut ffi::PyObject,
) -> bool {
    for (kind, expected) in [
        (HookKind::Profile, expected_profile),
        (HookKind::Trace, expected_trace),
    ] {
        // SAFETY: GIL held; only pointer values are compared before the
        // layout is known to be right.
        unsafe {
            let seen = current(kind).obj;
            let seen = if seen.is_null() { ffi::Py_None() } else { seen };
            if seen != expected {
                return false;
            }
            let saved = SavedHook::take(kind);
            install(
                kind,
                RawHook {
                    func: Some(probe_hook),
                    obj: marker,
                },
            );
            let probe = current(kind);
            let ok = probe.obj == marker && probe.is(probe_hook);
            saved.restore();
            if !ok {
                return false;
            }
        }
    }
    true
}
