//! The interpreter hook: a C-level profile or trace function, one `Hook`
//! object per monitor.  Per event it resolves the code to ids, reads the
//! line (and memory for memory monitors) and hands a fixed-size event to a
//! native sink; only for custom recorders, Python filters or custom record
//! types does it build a Python record and call `recorder.record()`.

use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pikos_core::event::{EventKind, NO_LINE};
use pikos_core::memory::MemoryProbe;
use pikos_core::tables::TablesView;
use pikos_core::{Event, RecordKind};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::{ffi, intern};
use rustc_hash::FxHashMap;

use crate::codes;
use crate::gil_cell::GilCell;
use crate::rows;
use crate::sink::Sink;
use crate::tstate::{self, HookKind, RawHook, SavedHook};

enum Target {
    Idle,
    Native(Py<Sink>),
    Python {
        recorder: Py<PyAny>,
        /// `None` for plain tuples.
        record_type: Option<Py<PyAny>>,
        strings: FxHashMap<(u8, u32, i32), Py<PyAny>>,
        view: TablesView,
    },
}

struct HookState {
    kind: RecordKind,
    index: u64,
    probe: Option<MemoryProbe>,
    target: Target,
    saved: Option<SavedHook>,
    error: Option<PyErr>,
}

/// The native half of a monitor.
#[pyclass(frozen, module = "pikos._native")]
pub struct Hook {
    hook_kind: HookKind,
    state: GilCell<HookState>,
}

impl Hook {
    #[inline(always)]
    fn state<'py>(&'py self, py: Python<'py>) -> &'py mut HookState {
        // SAFETY: GIL held; every borrow below ends before a call into Python.
        unsafe { self.state.get_mut(py) }
    }

    fn callback(&self) -> ffi::Py_tracefunc {
        match self.hook_kind {
            HookKind::Profile => profile_callback,
            HookKind::Trace => trace_callback,
        }
    }

    /// Takes our hook off the thread, putting back what was there before.
    /// If something replaced our hook meanwhile, that one stays.
    fn remove(&self, py: Python<'_>, me: *mut ffi::PyObject) {
        let saved = self.state(py).saved.take();
        let Some(saved) = saved else { return };
        // SAFETY: GIL held.
        let current = unsafe { tstate::current(self.hook_kind) };
        if current.obj == me && current.is(self.callback()) {
            // SAFETY: GIL held.
            unsafe { saved.restore() };
        }
        // Otherwise another tool replaced our hook meanwhile: that one stays,
        // and dropping `saved` releases our reference to the old one.
    }

    /// A failure inside the hook: stop recording, restore the previous
    /// hook, report once; the profiled program goes on.
    fn fail(&self, py: Python<'_>, me: *mut ffi::PyObject, err: PyErr) {
        self.remove(py, me);
        let hook = unsafe { Bound::from_borrowed_ptr(py, me) };
        err.clone_ref(py).write_unraisable(py, Some(&hook));
        let st = self.state(py);
        st.error.get_or_insert(err);
    }
}

#[pymethods]
impl Hook {
    /// `kind` is "function", "line", "function_memory" or "line_memory".
    #[new]
    fn new(kind: &str) -> PyResult<Self> {
        let kind = RecordKind::from_name(kind)
            .ok_or_else(|| PyValueError::new_err(format!("unknown monitor kind {kind:?}")))?;
        let hook_kind = match kind {
            RecordKind::Function | RecordKind::FunctionMemory => HookKind::Profile,
            RecordKind::Line | RecordKind::LineMemory => HookKind::Trace,
        };
        let memory = matches!(kind, RecordKind::FunctionMemory | RecordKind::LineMemory);
        Ok(Hook {
            hook_kind,
            state: GilCell::new(HookState {
                kind,
                index: 0,
                probe: memory.then(MemoryProbe::new),
                target: Target::Idle,
                saved: None,
                error: None,
            }),
        })
    }

    /// Installs the hook on the calling thread.  Events go to `sink` when
    /// given, else each becomes `record_type(*values)` (a tuple when
    /// `record_type` is None) passed to `recorder.record()`.
    #[pyo3(signature = (sink=None, recorder=None, record_type=None))]
    fn install(
        slf: &Bound<'_, Self>,
        sink: Option<Py<Sink>>,
        recorder: Option<Py<PyAny>>,
        record_type: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let st = this.state(py);
        if st.saved.is_some() {
            return Err(PyRuntimeError::new_err(
                "this monitor's hook is already installed",
            ));
        }
        st.target = match (sink, recorder) {
            (Some(sink), _) => Target::Native(sink),
            (None, Some(recorder)) => Target::Python {
                recorder,
                record_type,
                strings: FxHashMap::default(),
                view: TablesView::default(),
            },
            (None, None) => {
                return Err(PyValueError::new_err(
                    "install() needs a sink or a recorder",
                ))
            }
        };
        st.error = None;
        // SAFETY: GIL held; installing last, so nothing of ours runs after it
        // but the return to Python (whose events the own-code rule drops).
        unsafe {
            st.saved = Some(SavedHook::take(this.hook_kind));
            tstate::install(
                this.hook_kind,
                RawHook {
                    func: Some(this.callback()),
                    obj: slf.as_ptr(),
                },
            );
        }
        Ok(())
    }

    /// Removes the hook (restoring the previous one) and drops the target.
    fn uninstall(slf: &Bound<'_, Self>) {
        let py = slf.py();
        let this = slf.get();
        this.remove(py, slf.as_ptr());
        this.state(py).target = Target::Idle;
    }

    /// Whether the hook is installed (and has not failed).
    #[getter]
    fn installed(&self, py: Python<'_>) -> bool {
        self.state(py).saved.is_some()
    }

    /// The next record index.
    #[getter]
    fn index(&self, py: Python<'_>) -> u64 {
        self.state(py).index
    }

    /// The error that stopped the hook, if any (cleared by reading).
    fn take_error(&self, py: Python<'_>) -> Option<PyErr> {
        self.state(py).error.take()
    }
}

unsafe extern "C" fn profile_callback(
    obj: *mut ffi::PyObject,
    frame: *mut ffi::PyFrameObject,
    what: c_int,
    arg: *mut ffi::PyObject,
) -> c_int {
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
    if what != ffi::PyTrace_LINE {
        return 0;
    }
    // SAFETY: as above.
    unsafe { dispatch(obj, frame, EventKind::Line, arg) }
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
    // SAFETY: `obj` is the Hook we installed (we only install Hook objects).
    let hook = unsafe { Bound::from_borrowed_ptr(py, obj).cast_into_unchecked::<Hook>() };
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe {
        record_event(py, hook.get(), frame, kind, arg)
    }));
    let err = match outcome {
        Ok(Ok(())) => return 0,
        Ok(Err(err)) => err,
        Err(_) => PyRuntimeError::new_err(
            "pikos: internal error (panic) in the interpreter hook; monitoring stopped",
        ),
    };
    hook.get().fail(py, obj, err);
    0
}

#[inline(always)]
unsafe fn record_event(
    py: Python<'_>,
    hook: &Hook,
    frame: *mut ffi::PyFrameObject,
    kind: EventKind,
    arg: *mut ffi::PyObject,
) -> PyResult<()> {
    // SAFETY: valid frame from the interpreter; GetCode returns a new reference.
    let slot = unsafe {
        let code = ffi::PyFrame_GetCode(frame);
        let slot = codes::lookup(py, code, frame, kind == EventKind::Line);
        ffi::Py_DECREF(code as *mut ffi::PyObject);
        slot?
    };
    if slot.own {
        return Ok(());
    }
    let function = match kind {
        // SAFETY: for c_* events `arg` is the called builtin.
        EventKind::CCall | EventKind::CReturn | EventKind::CException => unsafe {
            codes::builtin_name(py, arg)?
        },
        _ => slot.name,
    };
    // SAFETY: valid frame.
    let lineno = unsafe { ffi::PyFrame_GetLineNumber(frame) };
    let st = hook.state(py);
    let memory = st.probe.as_mut().map(MemoryProbe::read).unwrap_or_default();
    let event = Event {
        index: st.index,
        rss: memory.rss,
        vms: memory.vms,
        code: slot.with_lines.unwrap_or(slot.plain),
        function,
        lineno: if lineno < 0 { NO_LINE } else { lineno },
        kind,
    };
    st.index += 1;
    match &mut st.target {
        Target::Native(sink) => {
            let sink = sink.bind(py).clone();
            sink.get().push(py, event)
        }
        Target::Python {
            recorder,
            record_type,
            strings,
            view,
        } => {
            let values = rows::event_values(py, st.kind, &event, strings, view)?;
            let recorder = recorder.clone_ref(py);
            let record_type = record_type.as_ref().map(|t| t.clone_ref(py));
            let values = PyTuple::new(py, values)?;
            let record = match record_type {
                Some(t) => t.call1(py, values)?,
                None => values.into_any().unbind(),
            };
            recorder.call_method1(py, intern!(py, "record"), (record,))?;
            Ok(())
        }
        Target::Idle => Ok(()),
    }
}

unsafe extern "C" fn empty_callback(
    _obj: *mut ffi::PyObject,
    _frame: *mut ffi::PyFrameObject,
    _what: c_int,
    _arg: *mut ffi::PyObject,
) -> c_int {
    0
}

/// Installs a C hook that does nothing: the floor the benchmarks compare
/// against.  Not for recording.
#[pyfunction]
pub fn empty_hook_enable(trace: bool) {
    // SAFETY: called from Python, so the GIL is held.
    unsafe {
        let kind = if trace {
            HookKind::Trace
        } else {
            HookKind::Profile
        };
        tstate::install(
            kind,
            RawHook {
                func: Some(empty_callback),
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
            if tstate::current(kind).is(empty_callback) {
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
