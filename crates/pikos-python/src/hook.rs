//! The native half of a monitor as Python sees it (`pikos._native.Hook`):
//! made per monitor with its record kind, it chooses the mechanism of each
//! session (the legacy C hooks of `legacy`, or `sys.monitoring` callbacks
//! of `monitoring`), installs it (`thread_hook` for the thread slots),
//! and ends it.  Also the `ThreadHook` handed back to CPython's
//! Python-level hook layer (`__call__`).

use std::time::Duration;

use pikos_core::memory::SampledProbe;
use pikos_core::RecordKind;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::{ffi, intern};
use rustc_hash::FxHashMap;

use crate::legacy;
use crate::line_stats::LineStats;
use crate::recording::{Choice, Focus, Hook, Recording, Target};
use crate::sink::Sink;
use crate::stats::Stats;
use crate::thread_hook::{focused_frames_on_stack, ThreadHook};
use crate::tstate::{self, HookKind, RawHook};
use pikos_core::tables::TablesView;

impl Recording {
    /// Whether a line session should run on `sys.monitoring`.  "auto"
    /// takes it where `make bench` measured it faster with the same
    /// events: focused monitors (local events: unfocused code runs
    /// uninstrumented), and every line monitor on 3.12 (no frame object per
    /// call).  On 3.13 the legacy hook is a little faster per line event
    /// (no thread check, CPython's own fast handler), so unfocused line
    /// monitors keep it there.
    ///
    /// Statistics take it too: the legacy profile hook makes a frame object
    /// per call on 3.12+, which `cProfile` itself no longer pays.  Other
    /// function monitors keep the profile hook (its `c_call` events would
    /// need `CALL` on every call).
    ///
    /// `taken`: another tool holds this thread's hook of the kind needed.
    /// Line monitors then take `sys.monitoring`, where both can run.
    #[cfg(Py_3_12)]
    fn wants_monitoring(&self, hook_kind: HookKind, taken: bool) -> bool {
        let statistics = matches!(self.target, Target::Stats(_));
        self.would_want_monitoring(hook_kind, statistics, self.all_threads, taken)
    }

    /// [`Recording::wants_monitoring`] for a session not started yet.
    fn would_want_monitoring(
        &self,
        hook_kind: HookKind,
        statistics: bool,
        all_threads: bool,
        taken: bool,
    ) -> bool {
        if cfg!(not(Py_3_12)) || (hook_kind != HookKind::Trace && !statistics) {
            return false;
        }
        // All threads of a line hook: 3.13 cannot set another thread's
        // trace hook, and sys.monitoring covers every thread anyway.
        let others = all_threads && !tstate::can_install_on_others(hook_kind);
        match self.choice {
            Choice::Legacy => false,
            Choice::Monitoring => true,
            Choice::Auto => {
                statistics || others || taken || self.focus.is_some() || cfg!(not(Py_3_13))
            }
        }
    }
}

#[pymethods]
impl Hook {
    /// `kind` is "function", "line", "function_memory", "line_memory",
    /// "timed_function" or "timed_function_memory";
    /// `memory_interval` (microseconds) lets memory monitors reuse a reading
    /// until it is that old (None or 0: a fresh reading per event).
    #[new]
    #[pyo3(signature = (kind, memory_interval=None))]
    fn new(kind: &str, memory_interval: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let kind = RecordKind::from_name(kind)
            .ok_or_else(|| PyValueError::new_err(format!("unknown monitor kind {kind:?}")))?;
        let hook_kind = if kind.is_function() {
            HookKind::Profile
        } else {
            HookKind::Trace
        };
        if kind.is_timed() {
            // Every timestamp of the process counts from one origin.
            pikos_core::clock::start();
        }
        // The one check of the rule (`pikos._native.check_memory_interval`).
        let interval = match memory_interval {
            Some(value) => crate::convert::memory_interval(value)?,
            None => None,
        }
        // Too long to represent (infinity included): one reading per session.
        .map(|us| Duration::try_from_secs_f64(us / 1e6).unwrap_or(Duration::MAX));
        let memory = kind.has_memory();
        let recording = Recording {
            kind,
            index: 0,
            probe: memory.then(|| SampledProbe::new(interval)),
            target: Target::Idle,
            focus: None,
            session: 0,
            active: false,
            error: None,
            choice: Choice::Auto,
            #[cfg(Py_3_12)]
            monitoring: None,
            used_monitoring: false,
            all_threads: false,
            panic_at: None,
            label: String::from("a monitor"),
        };
        Ok(Hook::with(
            hook_kind,
            legacy::callback_for(hook_kind),
            recording,
        ))
    }

    /// For the tests of pikos only: the hook panics (an internal error) at
    /// record `index`, if it gives its records to a Python recorder.
    fn _inject_panic(&self, py: Python<'_>, index: Option<u64>) {
        self.state(py).panic_at = index;
    }

    /// What the hook records into, named in its reports.
    fn set_label(&self, py: Python<'_>, label: String) {
        self.state(py).label = label;
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let st = self.state(py);
        if st.error.is_some() {
            format!(
                "<pikos hook of {}: it stopped recording after this error, and the program \
                 goes on>",
                st.label
            )
        } else {
            format!("<pikos hook of {}>", st.label)
        }
    }

    /// Makes this a focused hook recording only in `codes` (code objects):
    /// for function kinds everything from the call of a focused frame to its
    /// return, for line kinds the focused frames' own lines.  May be called
    /// while installed (the set then grows or shrinks at once).
    fn set_focus(&self, py: Python<'_>, codes: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let code_type = py
            .import(intern!(py, "types"))?
            .getattr(intern!(py, "CodeType"))?;
        let mut focus = Focus::with_capacity(codes.len());
        for code in codes {
            if !code.is_instance(&code_type)? {
                return Err(PyTypeError::new_err(format!(
                    "set_focus() takes code objects, not {}",
                    code.repr()?
                )));
            }
            focus.codes.insert(code.as_ptr() as usize);
            focus.refs.push(code.unbind());
        }
        #[cfg(Py_3_12)]
        {
            // A running sys.monitoring session moves its local events to
            // the new set (calls Python: the session is out of the state
            // meanwhile).
            let running = self.state(py).monitoring.take();
            if let Some(mut session) = running {
                let moved = session.refocus(py, &focus.refs);
                self.state(py).monitoring = Some(session);
                moved?;
            }
        }
        self.state(py).focus = Some(focus);
        Ok(())
    }

    /// Installs the hook on the calling thread.  Events go to `sink` when
    /// given, to `stats` (function hooks) or `line_stats` (line hooks) when
    /// given, else each becomes
    /// `record_type(*values)` (a tuple when `record_type` is None) passed to
    /// `recorder.record()`.
    ///
    /// With `all_threads`, the threads already running are covered too.
    #[pyo3(signature = (
        sink=None, recorder=None, record_type=None, stats=None, all_threads=false,
        line_stats=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn install(
        slf: &Bound<'_, Self>,
        sink: Option<Py<Sink>>,
        recorder: Option<Py<PyAny>>,
        record_type: Option<Py<PyAny>>,
        stats: Option<Py<Stats>>,
        all_threads: bool,
        line_stats: Option<Py<LineStats>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let st = this.state(py);
        if st.active {
            return Err(PyRuntimeError::new_err(
                "this monitor's hook is already installed",
            ));
        }
        if stats.is_some() && this.hook_kind != HookKind::Profile {
            return Err(PyValueError::new_err(
                "statistics need a function hook, not a line hook",
            ));
        }
        if line_stats.is_some() && this.hook_kind != HookKind::Trace {
            return Err(PyValueError::new_err(
                "line statistics need a line hook, not a function hook",
            ));
        }
        st.target = match (sink, recorder, stats.map(Target::Stats)) {
            _ if line_stats.is_some() => line_stats.map_or(Target::Idle, Target::LineStats),
            (_, _, Some(stats)) => stats,
            (Some(sink), _, None) => Target::Native(sink),
            (None, Some(recorder), None) => Target::Python {
                recorder,
                record_type,
                strings: FxHashMap::default(),
                view: TablesView::default(),
            },
            (None, None, None) => {
                return Err(PyValueError::new_err(
                    "install() needs a sink, a recorder or statistics",
                ))
            }
        };
        st.error = None;
        st.all_threads = all_threads;
        if let Some(probe) = &mut st.probe {
            probe.reset();
        }
        st.session += 1;
        st.active = true;
        st.used_monitoring = false;
        #[cfg(Py_3_12)]
        let taken = Self::taken_here(slf);
        #[cfg(Py_3_12)]
        if st.wants_monitoring(this.hook_kind, taken) {
            let choice = st.choice;
            let focus = st
                .focus
                .as_ref()
                .map(|f| f.refs.iter().map(|c| c.clone_ref(py)).collect());
            // Calls Python: no borrow of the state across it.
            let kind = match st.target {
                Target::Stats(_) => crate::monitoring::SessionKind::Stats,
                Target::LineStats(_) => crate::monitoring::SessionKind::LineStats,
                _ => crate::monitoring::SessionKind::Lines,
            };
            match crate::monitoring::Session::start(
                slf.as_any(),
                kind.callbacks(),
                focus,
                all_threads,
            ) {
                Ok(Some(session)) => {
                    let st = this.state(py);
                    st.monitoring = Some(session);
                    st.used_monitoring = true;
                    return Ok(());
                }
                Ok(None) if choice == Choice::Auto => {}
                Ok(None) => {
                    Self::end(slf);
                    return Err(PyRuntimeError::new_err(
                        "pikos: no sys.monitoring tool id is free (pikos uses one of 2 to 5, \
                         and other tools hold them all); use the legacy hook instead",
                    ));
                }
                Err(err) => {
                    Self::end(slf);
                    return Err(err);
                }
            }
        }
        let st = this.state(py);
        let depth = st.focus.as_ref().map_or(0, |f| {
            // SAFETY: GIL held.
            unsafe { focused_frames_on_stack(f) }
        });
        // SAFETY: GIL held.
        let saved = match unsafe { Self::ours_here(slf) } {
            // Our hook of an ended session is still here: what it replaced
            // is what this session replaces.
            // SAFETY: GIL held; no Python call while borrowed.
            Some(old) => unsafe { old.get().local.get_mut(py).saved.take() },
            // SAFETY: GIL held.
            None => Some(unsafe { Self::take_previous(py, this) }),
        };
        // Installing last, so nothing of ours runs after it but the return
        // to Python (whose events the own-code rule drops).
        if let Err(err) = Self::install_here(slf, depth, saved) {
            Self::end(slf);
            return Err(err);
        }
        if all_threads {
            if !tstate::can_install_on_others(this.hook_kind) {
                Self::remove(slf);
                return Err(PyRuntimeError::new_err(
                    "pikos: on Python 3.13 a line monitor covers the threads already running \
                     (all_threads=True) through sys.monitoring only, and no tool id is free \
                     (or PIKOS_HOOK=legacy)",
                ));
            }
            if let Err(err) = Self::install_on_others(slf) {
                Self::remove(slf);
                return Err(err);
            }
        }
        Ok(())
    }

    /// Installs the hook on a thread started while the monitor is enabled,
    /// called by the `threading` bootstrap in that thread at its first
    /// event, before that event is handed to the thread's hook.  A pikos
    /// hook already installed there (another monitor's, by the same
    /// bootstrap) is chained, so every enabled monitor records the thread.
    /// On `sys.monitoring`, or once the session has ended, nothing is
    /// installed (sys.monitoring covers the thread once it is added).
    fn install_thread(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let st = this.state(py);
        if !st.active || st.used_monitoring {
            #[cfg(Py_3_12)]
            if let Some(session) = &mut st.monitoring {
                session.add_thread(py);
            }
            return Ok(());
        }
        // SAFETY: GIL held.
        let previous = unsafe { Self::take_previous(py, this) };
        let saved = previous.raw().is(this.callback).then_some(previous);
        Self::install_here(slf, 0, saved)
    }

    /// Ends the session: the hook comes off this thread now (restoring the
    /// previous one) and off the others at their next event.
    fn uninstall(slf: &Bound<'_, Self>) {
        Self::remove(slf);
    }

    /// Takes the hook off the calling thread only; the session goes on on
    /// the other threads until `uninstall`.
    fn leave_thread(slf: &Bound<'_, Self>) {
        #[cfg(Py_3_12)]
        if let Some(session) = &mut slf.get().state(slf.py()).monitoring {
            session.remove_thread(slf.py());
        }
        Self::remove_here(slf);
    }

    /// The mechanism of the next sessions of a line or statistics hook:
    /// "auto" (the default: `sys.monitoring` where
    /// `Recording::wants_monitoring` says and a tool id is free, else the
    /// legacy hook), "legacy", or "monitoring" (3.12+; enabling fails when
    /// no tool id is free).  Other function hooks always use the profile
    /// hook.
    ///
    /// Without `backend`, the `PIKOS_HOOK` environment variable says (unset
    /// or empty: "auto"; case and surrounding blanks ignored), read here
    /// rather than through `os.environ`, whose Python code an enclosing
    /// monitor would record.
    #[pyo3(signature = (backend=None))]
    fn set_backend(&self, py: Python<'_>, backend: Option<&str>) -> PyResult<()> {
        let choice = match backend {
            Some(name) => Choice::from_name(name).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "unknown hook backend {name:?} \
                     (expected \"auto\", \"legacy\" or \"monitoring\")"
                ))
            })?,
            None => Choice::from_env()?,
        };
        if choice == Choice::Monitoring && cfg!(not(Py_3_12)) {
            return Err(PyValueError::new_err(
                "the \"monitoring\" hook backend needs sys.monitoring (Python 3.12+)",
            ));
        }
        self.state(py).choice = choice;
        Ok(())
    }

    /// Whether a session started now on this thread would take its legacy
    /// profile or trace hook (rather than run on `sys.monitoring`), so that
    /// the monitor can say so before it installs anything.
    #[pyo3(signature = (statistics=false, all_threads=false))]
    fn takes_thread_hook(
        slf: &Bound<'_, Self>,
        statistics: bool,
        all_threads: bool,
    ) -> PyResult<bool> {
        let py = slf.py();
        let this = slf.get();
        let taken = Self::taken_here(slf);
        let st = this.state(py);
        if !st.would_want_monitoring(this.hook_kind, statistics, all_threads, taken) {
            return Ok(true);
        }
        // sys.monitoring when one of the tool ids pikos may use is free.
        #[cfg(Py_3_12)]
        {
            let monitoring = py.import("sys")?.getattr("monitoring")?;
            if crate::monitoring::free_tool_id(&monitoring)?.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The mechanism of the running (or last) session: "monitoring" or
    /// "legacy".
    #[getter]
    fn backend(&self, py: Python<'_>) -> &'static str {
        if self.state(py).used_monitoring {
            "monitoring"
        } else {
            "legacy"
        }
    }

    /// The `sys.monitoring` tool id of the running session, if it has one.
    #[getter]
    fn tool_id(&self, py: Python<'_>) -> Option<u8> {
        #[cfg(Py_3_12)]
        if let Some(session) = &self.state(py).monitoring {
            return Some(session.tool());
        }
        let _ = py;
        None
    }

    /// Whether a session is running (installed and not failed).
    #[getter]
    fn installed(&self, py: Python<'_>) -> bool {
        self.state(py).active
    }

    /// The next record index.
    #[getter]
    fn index(&self, py: Python<'_>) -> u64 {
        self.state(py).index
    }

    /// Sets the next record index: the Python-level path of a monitor
    /// (`on_function_event`, `on_line_event`) counts on the same index.
    #[setter]
    fn set_index(&self, py: Python<'_>, index: u64) {
        self.state(py).index = index;
    }

    /// The error that stopped the hook, if any (cleared by reading).
    fn take_error(&self, py: Python<'_>) -> Option<PyErr> {
        self.state(py).error.take()
    }
}

/// Hands an event received as a Python-level hook (`frame`, `event`,
/// `arg`, as `sys.setprofile`/`sys.settrace` functions get them) to the
/// native callback, with `obj` (a ThreadHook of `hook` in the thread's
/// slot) as its object.  An exception the callback passes to the program
/// (see [`for_the_program`]) is raised here.
fn deliver(
    py: Python<'_>,
    hook: &Hook,
    obj: *mut ffi::PyObject,
    frame: &Bound<'_, PyAny>,
    event: &str,
    arg: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let what = match (hook.hook_kind, event) {
        (HookKind::Profile, "call") => ffi::PyTrace_CALL,
        (HookKind::Profile, "return") => ffi::PyTrace_RETURN,
        (HookKind::Profile, "c_call") => ffi::PyTrace_C_CALL,
        (HookKind::Profile, "c_return") => ffi::PyTrace_C_RETURN,
        (HookKind::Profile, "c_exception") => ffi::PyTrace_C_EXCEPTION,
        (HookKind::Trace, "call") => ffi::PyTrace_CALL,
        (HookKind::Trace, "line") => ffi::PyTrace_LINE,
        _ => return Ok(()),
    };
    if !frame.is_instance_of::<pyo3::types::PyFrame>() {
        return Ok(());
    }
    let arg = if arg.is_none() {
        std::ptr::null_mut()
    } else {
        arg.as_ptr()
    };
    // SAFETY: GIL held; `obj` is our thread hook, `frame` a frame object
    // and `arg` what the interpreter passed with the event (None stands
    // for NULL).
    let result = unsafe { (hook.callback)(obj, frame.as_ptr() as *mut _, what, arg) };
    match result {
        0 => Ok(()),
        _ => Err(PyErr::take(py).unwrap_or_else(|| {
            PyRuntimeError::new_err("pikos: the hook failed without an exception")
        })),
    }
}

#[pymethods]
impl ThreadHook {
    /// The thread's hook called as a Python-level hook: what
    /// `sys.getprofile()`/`sys.gettrace()` returned was handed back to
    /// `sys.setprofile`/`sys.settrace` (doctest saves, clears and restores
    /// the trace hook; so do debuggers and test runners).  The native hook
    /// goes back in its place and records this event, so recording goes on
    /// exactly.  Called as a frame's local trace function while another
    /// tool holds the thread's hook, it records nothing and leaves the
    /// frame.
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        frame: &Bound<'py, PyAny>,
        event: &str,
        arg: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, Self>>> {
        let py = slf.py();
        let hook = slf.get().hook.get();
        let kind = hook.hook_kind;
        // SAFETY: GIL held.
        let current = unsafe { tstate::current(kind) };
        if current.obj != slf.as_ptr() {
            if kind == HookKind::Trace && frame.is_instance_of::<pyo3::types::PyFrame>() {
                frame.setattr(intern!(py, "f_trace"), py.None())?;
            }
            return Ok(None);
        }
        // The slot's reference may be the only one (`h = sys.getprofile();
        // sys.setprofile(None); sys.setprofile(h); del h`), and CPython 3.11
        // releases the slot's old object before it takes the new one: keep
        // `slf` alive across the swap, or it is freed in its own call.
        let _alive = slf.clone();
        // SAFETY: GIL held; the slot takes its own reference to `slf` and
        // releases the one the Python-level layer held; `_alive` holds
        // another for this call (the layer's caller borrows it).
        unsafe {
            tstate::install(
                kind,
                RawHook {
                    func: Some(hook.callback),
                    obj: slf.as_ptr(),
                },
            )
        };
        deliver(py, hook, slf.as_ptr(), frame, event, arg)?;
        // The trace layer makes the result the frame's local trace function.
        Ok((kind == HookKind::Trace).then(|| slf.clone()))
    }
}
