//! The interpreter hook: a C-level profile or trace function, one `Hook`
//! object per monitor.  Per event it decides focus, resolves the code to
//! ids, reads the line (and memory for memory monitors) and hands a
//! fixed-size event to a native sink; only for custom recorders, Python
//! filters or custom record types does it build a Python record and call
//! `recorder.record()`.
//!
//! Threads: the thread that enables the monitor installs the hook on itself
//! ([`Hook::install`]); threads started while it is enabled install it on
//! themselves at their first event ([`Hook::install_thread`], called from
//! the `threading` profile/trace bootstrap).  A hook can only be taken off
//! the thread it runs on, so when the monitor is disabled the other threads
//! find out at their next event that their session is over and take the
//! hook off themselves before anything is recorded.

use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use pikos_core::event::{EventKind, NO_LINE};
use pikos_core::memory::{MemoryProbe, SampledProbe};
use pikos_core::tables::TablesView;
use pikos_core::{Event, RecordKind};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::{ffi, intern};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::codes;
use crate::frames;
use crate::gil_cell::GilCell;
use crate::rows;
use crate::sink::Sink;
use crate::stats::{Stats, StatsEvent};
use crate::tstate::{self, HookKind, RawHook, SavedHook};

enum Target {
    Idle,
    Native(Py<Sink>),
    /// A statistics monitor's totals (function events only).
    Stats(Py<Stats>),
    Python {
        recorder: Py<PyAny>,
        /// `None` for plain tuples.
        record_type: Option<Py<PyAny>>,
        strings: FxHashMap<(u8, u32, i32), Py<PyAny>>,
        view: TablesView,
    },
}

/// The code objects a focused monitor records in.  The set is keyed by the
/// code's address (a strong reference in `refs` keeps that address ours), so
/// the per-event decision is one comparison with the last code seen or one
/// hash probe, made before any other work.
pub(crate) struct Focus {
    pub(crate) codes: FxHashSet<usize>,
    pub(crate) refs: Vec<Py<PyAny>>,
    last: (usize, bool),
}

impl Focus {
    #[inline(always)]
    pub(crate) fn contains(&mut self, code: usize) -> bool {
        if self.last.0 != code {
            self.last = (code, self.codes.contains(&code));
        }
        self.last.1
    }
}

pub(crate) struct HookState {
    kind: RecordKind,
    index: u64,
    probe: Option<SampledProbe>,
    target: Target,
    pub(crate) focus: Option<Focus>,
    /// Increases at every install; `active` while it has not ended.
    session: u64,
    pub(crate) active: bool,
    error: Option<PyErr>,
    /// Which mechanism the next session may use.
    choice: Choice,
    /// The `sys.monitoring` session, when this session runs on it.
    #[cfg(Py_3_12)]
    pub(crate) monitoring: Option<crate::monitoring::Session>,
    /// Whether the last session ran on `sys.monitoring`.
    used_monitoring: bool,
    /// The session covers the threads already running too.
    all_threads: bool,
    /// Fault injection for the tests: panic in the hook at this index
    /// (records given to a Python recorder only: never on a fast path).
    panic_at: Option<u64>,
    /// What the hook records into, for its reports ("FunctionMonitor ->
    /// CSVFileRecorder"), set by the monitor.
    label: String,
}

/// The mechanism a line hook uses on 3.12+: `sys.monitoring` with native
/// callbacks (local events for focused monitors), or the legacy trace hook.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Choice {
    /// `sys.monitoring` when available and a tool id is free, else legacy.
    Auto,
    Legacy,
    /// `sys.monitoring` or an error.
    Monitoring,
}

impl Choice {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(Choice::Auto),
            "legacy" => Some(Choice::Legacy),
            "monitoring" => Some(Choice::Monitoring),
            _ => None,
        }
    }

    /// What `PIKOS_HOOK` asks for.
    fn from_env() -> PyResult<Self> {
        let raw = std::env::var_os("PIKOS_HOOK").unwrap_or_default();
        let text = raw.to_string_lossy();
        let name = text.trim().to_lowercase();
        if name.is_empty() {
            return Ok(Choice::Auto);
        }
        Choice::from_name(&name).ok_or_else(|| {
            PyValueError::new_err(format!(
                "PIKOS_HOOK='{text}' is not a hook backend (expected one of auto, legacy, \
                 monitoring)"
            ))
        })
    }
}

impl HookState {
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

    /// [`HookState::wants_monitoring`] for a session not started yet.
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

    fn end_session(&mut self) {
        self.active = false;
        self.target = Target::Idle;
    }
}

/// The native half of a monitor.
#[pyclass(frozen, module = "pikos._native")]
pub struct Hook {
    hook_kind: HookKind,
    state: GilCell<HookState>,
}

/// What a thread's hook slot holds while the monitor covers that thread:
/// the interpreter passes it to every callback, so per-thread state (the
/// session it belongs to, the focus depth, the hook it replaced) comes
/// without looking the thread up.
#[pyclass(frozen, module = "pikos._native")]
pub struct ThreadHook {
    hook: Py<Hook>,
    session: u64,
    local: GilCell<ThreadLocal>,
}

struct ThreadLocal {
    /// Focused frames on this thread's stack (function kinds): inside the
    /// window while positive.
    depth: u32,
    /// What to put back when the hook comes off this thread (nothing, for a
    /// thread started while the monitor was enabled).
    saved: Option<SavedHook>,
}

impl Hook {
    #[inline(always)]
    pub(crate) fn state<'py>(&'py self, py: Python<'py>) -> &'py mut HookState {
        // SAFETY: GIL held; every borrow below ends before a call into Python.
        unsafe { self.state.get_mut(py) }
    }

    fn callback(&self) -> ffi::Py_tracefunc {
        match self.hook_kind {
            HookKind::Profile => profile_callback,
            HookKind::Trace => trace_callback,
        }
    }

    /// A [`ThreadHook`] of the current session.
    fn thread_hook<'py>(
        slf: &Bound<'py, Self>,
        depth: u32,
        saved: Option<SavedHook>,
    ) -> PyResult<Bound<'py, ThreadHook>> {
        let py = slf.py();
        Bound::new(
            py,
            ThreadHook {
                hook: slf.clone().unbind(),
                session: slf.get().state(py).session,
                local: GilCell::new(ThreadLocal { depth, saved }),
            },
        )
    }

    /// Puts a new [`ThreadHook`] of the current session on this thread.
    fn install_here(slf: &Bound<'_, Self>, depth: u32, saved: Option<SavedHook>) -> PyResult<()> {
        let this = slf.get();
        let thread_hook = Self::thread_hook(slf, depth, saved)?;
        // SAFETY: GIL held; the thread's slot takes its own reference.
        unsafe {
            tstate::install(
                this.hook_kind,
                RawHook {
                    func: Some(this.callback()),
                    obj: thread_hook.as_ptr(),
                },
            )
        };
        Ok(())
    }

    /// The hook this thread had, to put back when ours comes off.  Another
    /// monitor's thread hook handed back through `sys.setprofile` /
    /// `sys.settrace` (the Python-level layer calling it) is saved as the
    /// native hook it stands for, so the chain of pikos hooks serves it
    /// every event ([`hand_over`]).
    ///
    /// # Safety
    /// GIL held.
    unsafe fn take_previous(py: Python<'_>, this: &Self) -> SavedHook {
        // SAFETY: GIL held.
        let saved = unsafe { SavedHook::take(this.hook_kind) };
        let raw = saved.raw();
        if raw.func.is_none() || raw.is(this.callback()) || raw.obj.is_null() {
            return saved;
        }
        // SAFETY: GIL held; `raw.obj` is alive (held by `saved`).
        let obj = unsafe { pyo3::Borrowed::from_ptr(py, raw.obj) };
        match obj.cast::<ThreadHook>() {
            Ok(other) if other.get().hook.get().hook_kind == this.hook_kind => {
                saved.with_func(this.callback())
            }
            _ => saved,
        }
    }

    /// Puts the hook on every other thread of the interpreter too (the
    /// threads already running: `all_threads`).  Each takes it off itself
    /// at its first event after the session ends, as new threads do.
    fn install_on_others(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let kind = this.hook_kind;
        // SAFETY: GIL held.
        for ts in unsafe { tstate::other_threads() } {
            // Making the object may run the garbage collector, and so Python
            // code: the thread may have ended meanwhile.
            let thread_hook = Self::thread_hook(slf, 0, None)?;
            // SAFETY: GIL held; `ts` is checked to be alive first, and no
            // Python code runs between that check and the install.
            unsafe {
                if !tstate::other_threads().contains(&ts) {
                    continue;
                }
                let saved = match Self::ours_in(slf, tstate::of(ts, kind)) {
                    Some(old) => old.get().local.get_mut(py).saved.take(),
                    None => Some(SavedHook::take_from(ts, kind)),
                };
                thread_hook.get().local.get_mut(py).saved = saved;
                let hook = RawHook {
                    func: Some(this.callback()),
                    obj: thread_hook.as_ptr(),
                };
                if !tstate::install_on(ts, kind, hook) {
                    return Err(PyErr::take(py).unwrap_or_else(|| {
                        PyRuntimeError::new_err(
                            "pikos could not install its hook on a running thread",
                        )
                    }));
                }
            }
        }
        Ok(())
    }

    /// Our thread hook on this thread, if the slot holds one of this hook.
    ///
    /// # Safety
    /// GIL held.
    unsafe fn ours_here<'py>(slf: &Bound<'py, Self>) -> Option<Bound<'py, ThreadHook>> {
        // SAFETY: GIL held.
        unsafe { Self::ours_in(slf, tstate::current(slf.get().hook_kind)) }
    }

    /// Whether another tool (not this hook) holds the calling thread's hook
    /// of the kind this hook needs.
    fn taken_here(slf: &Bound<'_, Self>) -> bool {
        // SAFETY: GIL held (token in `slf`).
        unsafe {
            let current = tstate::current(slf.get().hook_kind);
            current.func.is_some() && Self::ours_in(slf, current).is_none()
        }
    }

    /// Our thread hook, if `current` (a thread's hook) is one of this hook.
    ///
    /// # Safety
    /// GIL held; `current` read from a live thread state.
    unsafe fn ours_in<'py>(
        slf: &Bound<'py, Self>,
        current: RawHook,
    ) -> Option<Bound<'py, ThreadHook>> {
        // SAFETY: GIL held; our callbacks are only ever installed with a
        // ThreadHook as their object.
        unsafe {
            if !current.is(slf.get().callback()) || current.obj.is_null() {
                return None;
            }
            let thread_hook =
                Bound::from_borrowed_ptr(slf.py(), current.obj).cast_into_unchecked::<ThreadHook>();
            (thread_hook.get().hook.as_ptr() == slf.as_ptr()).then_some(thread_hook)
        }
    }

    /// Takes our hook off the calling thread, putting back what was there
    /// before.  If something replaced our hook meanwhile, that one stays.
    fn remove_here(slf: &Bound<'_, Self>) {
        let py = slf.py();
        // SAFETY: GIL held.
        let Some(thread_hook) = (unsafe { Self::ours_here(slf) }) else {
            Self::unlink_here(slf);
            return;
        };
        // SAFETY: GIL held; `thread_hook` is a strong reference, so it
        // outlives the slot's, which the swap below releases.
        unsafe {
            let local = thread_hook.get().local.get_mut(py);
            match local.saved.take() {
                Some(saved) => saved.restore(),
                None => SavedHook::empty(slf.get().hook_kind).restore(),
            }
        }
    }

    /// Takes our hook out of the chain of pikos hooks on this thread, when
    /// another monitor enabled after this one holds the slot and hands its
    /// events on to ours (monitors disabled in another order than they were
    /// enabled): the link that held ours now holds what ours replaced.
    fn unlink_here(slf: &Bound<'_, Self>) {
        let py = slf.py();
        let callback = slf.get().callback();
        // SAFETY: GIL held.
        let mut link = unsafe { tstate::current(slf.get().hook_kind) };
        loop {
            if !link.is(callback) || link.obj.is_null() {
                return;
            }
            // SAFETY: GIL held; our callbacks are installed with a ThreadHook
            // (kept alive by the slot or by the link before it).  No Python
            // code runs while a link's state is borrowed; the replaced link
            // is dropped after the borrow ends.
            unsafe {
                let holder = pyo3::Borrowed::from_ptr(py, link.obj).cast_unchecked::<ThreadHook>();
                let local = holder.get().local.get_mut(py);
                let Some(next) = local.saved.as_ref().map(SavedHook::raw) else {
                    return;
                };
                if next.is(callback) && !next.obj.is_null() {
                    let linked =
                        pyo3::Borrowed::from_ptr(py, next.obj).cast_unchecked::<ThreadHook>();
                    if linked.get().hook.as_ptr() == slf.as_ptr() {
                        let rest = linked.get().local.get_mut(py).saved.take();
                        let ours = std::mem::replace(&mut local.saved, rest);
                        drop(ours);
                        return;
                    }
                }
                link = next;
            }
        }
    }

    /// Ends the session and takes the hook off this thread; the other
    /// threads take it off themselves at their next event.
    fn remove(slf: &Bound<'_, Self>) {
        Self::end(slf);
        Self::remove_here(slf);
    }

    /// Ends the session; a `sys.monitoring` session also gives its events
    /// and tool id back (outside the state's borrow: that calls Python).
    fn end(slf: &Bound<'_, Self>) {
        let st = slf.get().state(slf.py());
        st.end_session();
        #[cfg(Py_3_12)]
        if let Some(session) = st.monitoring.take() {
            session.stop(slf.py());
        }
    }

    /// A failure inside the hook: stop recording, restore the previous
    /// hook, report once; the profiled program goes on.
    pub(crate) fn fail(slf: &Bound<'_, Self>, err: PyErr) {
        let py = slf.py();
        Self::remove(slf);
        let st = slf.get().state(py);
        let note = format!(
            "pikos stopped recording ({}) after this error; the program goes on, \
             and the records taken before it are kept",
            st.label
        );
        st.error.get_or_insert(err.clone_ref(py));
        // Best effort: the report goes out with or without the note.
        let _ = err.value(py).call_method1(intern!(py, "add_note"), (note,));
        // The report names the hook, whose repr now says it stopped.
        err.write_unraisable(py, Some(slf.as_any()));
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
    fn new(kind: &str, memory_interval: Option<f64>) -> PyResult<Self> {
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
        let interval = match memory_interval {
            None => None,
            // Too long to represent (infinity included): one reading per
            // session.
            Some(us) if us >= 0.0 => {
                Some(Duration::try_from_secs_f64(us / 1e6).unwrap_or(Duration::MAX))
            }
            Some(us) => {
                return Err(PyValueError::new_err(format!(
                    "memory_interval must be a number of microseconds >= 0, not {us}"
                )))
            }
        };
        let memory = kind.has_memory();
        Ok(Hook {
            hook_kind,
            state: GilCell::new(HookState {
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
            }),
        })
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
        let mut focus = Focus {
            codes: FxHashSet::default(),
            refs: Vec::with_capacity(codes.len()),
            last: (0, false),
        };
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
    /// given, to `stats` (function hooks) when given, else each becomes
    /// `record_type(*values)` (a tuple when `record_type` is None) passed to
    /// `recorder.record()`.
    ///
    /// With `all_threads`, the threads already running are covered too.
    #[pyo3(signature = (sink=None, recorder=None, record_type=None, stats=None, all_threads=false))]
    fn install(
        slf: &Bound<'_, Self>,
        sink: Option<Py<Sink>>,
        recorder: Option<Py<PyAny>>,
        record_type: Option<Py<PyAny>>,
        stats: Option<Py<Stats>>,
        all_threads: bool,
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
        st.target = match (sink, recorder, stats) {
            (_, _, Some(stats)) => Target::Stats(stats),
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
            let kind = if matches!(st.target, Target::Stats(_)) {
                crate::monitoring::SessionKind::Stats
            } else {
                crate::monitoring::SessionKind::Lines
            };
            match crate::monitoring::Session::start(slf, focus, kind, all_threads) {
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
        let saved = previous.raw().is(this.callback()).then_some(previous);
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
    /// `HookState::wants_monitoring` says and a tool id is free, else the
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
            for id in crate::monitoring::TOOL_IDS {
                if monitoring.call_method1("get_tool", (id,))?.is_none() {
                    return Ok(false);
                }
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
    let result = unsafe { (hook.callback())(obj, frame.as_ptr() as *mut _, what, arg) };
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
        // SAFETY: GIL held; the slot takes its own reference to `slf` and
        // releases the one the Python-level layer held, whose caller holds
        // another for this call.
        unsafe {
            tstate::install(
                kind,
                RawHook {
                    func: Some(hook.callback()),
                    obj: slf.as_ptr(),
                },
            )
        };
        deliver(py, hook, slf.as_ptr(), frame, event, arg)?;
        // The trace layer makes the result the frame's local trace function.
        Ok((kind == HookKind::Trace).then(|| slf.clone()))
    }
}

/// How many frames on the calling thread's stack run focused code: a
/// monitor enabled inside a focused function is inside its window.
///
/// # Safety
/// GIL held.
unsafe fn focused_frames_on_stack(focus: &Focus) -> u32 {
    let mut depth = 0;
    // SAFETY: GIL held; PyEval_GetFrame is borrowed, GetBack/GetCode return
    // new references, released as we go.
    unsafe {
        let mut frame = ffi::PyEval_GetFrame();
        ffi::Py_XINCREF(frame as *mut ffi::PyObject);
        while !frame.is_null() {
            let code = ffi::PyFrame_GetCode(frame);
            if focus.codes.contains(&(code as usize)) {
                depth += 1;
            }
            ffi::Py_DECREF(code as *mut ffi::PyObject);
            let back = ffi::PyFrame_GetBack(frame);
            ffi::Py_DECREF(frame as *mut ffi::PyObject);
            frame = back;
        }
    }
    depth
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

/// Whether an error raised by a Python filter or recorder belongs to the
/// program rather than to pikos: a `BaseException` that is not an
/// `Exception` (Ctrl-C's `KeyboardInterrupt`, `sys.exit`'s `SystemExit`).
/// It reaches the program where it was raised, as it would without pikos,
/// and the monitor goes on recording (that event's record is not taken).
pub(crate) fn for_the_program(py: Python<'_>, err: &PyErr) -> bool {
    !err.is_instance_of::<pyo3::exceptions::PyException>(py)
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

/// A function event for a statistics hook: the thread's key, the event,
/// the code id and the function's name (or the builtin's label).
#[inline(always)]
pub(crate) fn stats_event(
    py: Python<'_>,
    hook: &Hook,
    thread: usize,
    kind: StatsEvent,
    code: u32,
    function: u32,
) {
    if let Target::Stats(stats) = &hook.state(py).target {
        stats.get().event(py, thread, kind, code, function);
    }
}

/// Records one event of `slot`'s code: memory (for memory monitors), the
/// next index, then the sink or the recorder.
#[inline(always)]
pub(crate) fn emit(
    py: Python<'_>,
    hook: &Hook,
    slot: codes::CodeSlot,
    function: u32,
    lineno: i32,
    kind: EventKind,
) -> PyResult<()> {
    let st = hook.state(py);
    let memory = st
        .probe
        .as_mut()
        .map(SampledProbe::read)
        .unwrap_or_default();
    let (time, thread) = if st.kind.is_timed() {
        // SAFETY: no precondition (the calling thread's identifier).
        let thread = unsafe { ffi::PyThread_get_thread_ident() };
        // c_ulong: u64 here, u32 on Windows.
        #[allow(clippy::useless_conversion)]
        let thread = u64::from(thread);
        (pikos_core::clock::ticks(), thread)
    } else {
        (0, 0)
    };
    let event = Event {
        index: st.index,
        rss: memory.rss,
        vms: memory.vms,
        time,
        thread,
        code: slot.with_lines.unwrap_or(slot.plain),
        function,
        lineno: if lineno < 0 { NO_LINE } else { lineno },
        kind,
    };
    st.index += 1;
    match &mut st.target {
        Target::Native(sink) => {
            if let Err(event) = sink.get().push_native(py, event) {
                // Streams call Python: a strong reference, as the state may
                // change meanwhile.
                let sink = sink.bind(py).clone();
                sink.get().push(py, event)?;
            }
        }
        Target::Python {
            recorder,
            record_type,
            strings,
            view,
        } => {
            if st.panic_at == Some(event.index) {
                panic!(
                    "pikos: a panic injected by a test at record {}",
                    event.index
                );
            }
            let values = rows::event_values(py, st.kind, &event, strings, view)?;
            let recorder = recorder.clone_ref(py);
            let record_type = record_type.as_ref().map(|t| t.clone_ref(py));
            let values = PyTuple::new(py, values)?;
            let record = match record_type {
                Some(t) => t.call1(py, values)?,
                None => values.into_any().unbind(),
            };
            recorder.call_method1(py, intern!(py, "record"), (record,))?;
        }
        // Statistics take their events in `record_event`.
        Target::Stats(_) | Target::Idle => {}
    }
    Ok(())
}

unsafe extern "C" fn empty_callback(
    _obj: *mut ffi::PyObject,
    _frame: *mut ffi::PyFrameObject,
    _what: c_int,
    _arg: *mut ffi::PyObject,
) -> c_int {
    0
}

/// The probe of the "empty hook that reads memory" floor.
static FLOOR_PROBE: GilCell<Option<MemoryProbe>> = GilCell::new(None);

fn floor_read(py: Python<'_>) {
    // SAFETY: GIL held; no Python call while borrowed.
    let probe = unsafe { FLOOR_PROBE.get_mut(py) };
    std::hint::black_box(probe.get_or_insert_with(MemoryProbe::new).read());
}

/// Reads memory at every profile event, as a function memory monitor does.
unsafe extern "C" fn memory_profile_callback(
    _obj: *mut ffi::PyObject,
    _frame: *mut ffi::PyFrameObject,
    _what: c_int,
    _arg: *mut ffi::PyObject,
) -> c_int {
    // SAFETY: the interpreter holds the GIL while calling a hook.
    floor_read(unsafe { Python::assume_attached() });
    0
}

/// Reads memory at every line event, as a line memory monitor does.
unsafe extern "C" fn memory_trace_callback(
    _obj: *mut ffi::PyObject,
    _frame: *mut ffi::PyFrameObject,
    what: c_int,
    _arg: *mut ffi::PyObject,
) -> c_int {
    if what == ffi::PyTrace_LINE {
        // SAFETY: the interpreter holds the GIL while calling a hook.
        floor_read(unsafe { Python::assume_attached() });
    }
    0
}

/// Installs a C hook that does nothing (or, with `memory`, only reads the
/// process's memory at the events a memory monitor reads it): the floors
/// the benchmarks compare against.  Not for recording.
#[pyfunction]
#[pyo3(signature = (trace, memory=false))]
pub fn empty_hook_enable(trace: bool, memory: bool) {
    let kind = if trace {
        HookKind::Trace
    } else {
        HookKind::Profile
    };
    let func: ffi::Py_tracefunc = match (memory, trace) {
        (false, _) => empty_callback,
        (true, false) => memory_profile_callback,
        (true, true) => memory_trace_callback,
    };
    // SAFETY: called from Python, so the GIL is held.
    unsafe {
        tstate::install(
            kind,
            RawHook {
                func: Some(func),
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
            let current = tstate::current(kind);
            let floors = [
                empty_callback as ffi::Py_tracefunc,
                memory_profile_callback,
                memory_trace_callback,
            ];
            if floors.into_iter().any(|f| current.is(f)) {
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
