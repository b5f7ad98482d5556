//! Line hooks on `sys.monitoring` (PEP 669, Python 3.12+), with native
//! callbacks.
//!
//! On 3.12+ the legacy trace hook is itself built on `sys.monitoring`: per
//! line it makes (once per frame) a frame object and calls the C trace
//! function with it.  Registering our own callbacks skips both, and lets a
//! focused monitor ask for events in its focused code objects only
//! (`set_local_events`): everything else runs uninstrumented.
//!
//! Events stay those of the legacy hook, by doing what CPython's legacy
//! layer does (`Python/legacy_tracing.c`): a `LINE` event is a line event;
//! a backward `JUMP` within one line (a one-line loop) is a line event too;
//! other jumps are disabled where they are.  `PY_START` is registered
//! because 3.13 reports the first line of a function whose body starts on
//! its `def` line (one-liners, lambdas) only while `PY_START` is active at
//! its start, as the legacy layer has it; elsewhere it is disabled.  At the
//! end, `restart_events()` undoes our disables: they would otherwise stay
//! with the tool id for the next tool to take it.
//!
//! Statistics (`StatsMonitor`) run here too, on the events `cProfile` takes
//! on 3.12+: `PY_START` is a call, `PY_RESUME`/`PY_THROW` a resume (not a
//! new call, unlike `cProfile`), `PY_RETURN`/`PY_YIELD`/`PY_UNWIND` the
//! frame leaving the stack, and `CALL` of a builtin, then its
//! `C_RETURN`/`C_RAISE`, a builtin's call and return, exactly where the
//! legacy profile hook reports them, without its frame object per call.
//!
//! A session may cover every thread (`all_threads`): then the threads it
//! does not cover are those that left it (`Hook.leave_thread`).
//!
//! `sys.monitoring` is process-wide, so the session keeps the threads it
//! covers (by thread-state id, never reused): the thread that enabled it,
//! and the threads started meanwhile (added by `Hook.install_thread`).

use std::ffi::CStr;
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pikos_core::event::{EventKind, NO_LINE};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::{ffi, intern};
use rustc_hash::FxHashSet;

use crate::codes;
use crate::gil_cell::GilCell;
use crate::hook::{self, Hook};
use crate::stats::StatsEvent;

// Event numbers of `sys.monitoring.events` (the same on 3.12 and 3.13).
const PY_START: u32 = 0;
const PY_RESUME: u32 = 1;
const PY_RETURN: u32 = 2;
const PY_YIELD: u32 = 3;
const CALL: u32 = 4;
const LINE: u32 = 5;
const JUMP: u32 = 7;
const PY_UNWIND: u32 = 12;
const PY_THROW: u32 = 13;
const C_RETURN: u32 = 15;
const C_RAISE: u32 = 16;

/// What a session reports.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Line events (line monitors).
    Lines,
    /// Function events into statistics (`StatsMonitor`).
    Stats,
}

impl SessionKind {
    /// Each callback's definition and the events it is registered for.
    fn callbacks(self) -> &'static [(usize, &'static [u32])] {
        match self {
            SessionKind::Lines => &[(0, &[LINE]), (1, &[JUMP]), (2, &[PY_START])],
            SessionKind::Stats => &[
                (3, &[PY_START]),
                (4, &[PY_RETURN, PY_YIELD, PY_UNWIND]),
                (5, &[CALL]),
                (6, &[C_RETURN, C_RAISE]),
                (7, &[PY_RESUME, PY_THROW]),
            ],
        }
    }

    fn events(self) -> u32 {
        self.callbacks()
            .iter()
            .flat_map(|(_, events)| events.iter())
            .fold(0, |all, event| all | (1 << event))
    }
}

/// The tool ids tried, in order: the profiler's, then those no tool is
/// assigned, never the debugger's or coverage's.
pub(crate) const TOOL_IDS: [u8; 4] = [2, 3, 4, 5];

/// The callbacks' method definitions, static as CPython requires.
struct Defs([ffi::PyMethodDef; 8]);
// SAFETY: immutable after construction; only pointers to static data.
unsafe impl Sync for Defs {}

const fn def(name: &'static CStr, meth: ffi::PyCFunctionFast) -> ffi::PyMethodDef {
    ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFast: meth,
        },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: std::ptr::null::<c_char>(),
    }
}

static DEFS: Defs = Defs([
    def(c"pikos_line", line_callback),
    def(c"pikos_jump", jump_callback),
    def(c"pikos_start", start_callback),
    def(c"pikos_stats_call", stats_call_callback),
    def(c"pikos_stats_return", stats_return_callback),
    def(c"pikos_stats_c_call", stats_c_call_callback),
    def(c"pikos_stats_c_return", stats_c_return_callback),
    def(c"pikos_stats_resume", stats_resume_callback),
]);

/// Callables of ended sessions, kept until the next session starts: a
/// session can end inside one of its own callbacks (a failing recorder),
/// and CPython does not hold a reference to the callable it is running.
static ENDED: GilCell<Vec<Py<PyAny>>> = GilCell::new(Vec::new());

/// A running `sys.monitoring` session of one hook.
pub struct Session {
    tool: u8,
    kind: SessionKind,
    /// The focused code objects with local events; None: global events.
    local: Option<Vec<Py<PyAny>>>,
    callables: Vec<Py<PyAny>>,
    threads: FxHashSet<i64>,
    /// Every thread is covered (`all_threads`) but those in `left`.
    all: bool,
    left: FxHashSet<i64>,
    last_thread: (i64, bool),
    disable: Py<PyAny>,
}

impl Session {
    /// Takes a free tool id and starts `hook`'s events: in `focus` only
    /// (local events) when given, else everywhere.  None when every tool id
    /// pikos may use is taken.
    pub fn start(
        hook: &Bound<'_, Hook>,
        focus: Option<Vec<Py<PyAny>>>,
        kind: SessionKind,
        all: bool,
    ) -> PyResult<Option<Session>> {
        let py = hook.py();
        // SAFETY: GIL held; no other borrow of ENDED is live (the callbacks
        // only push to it, and none runs while we are here).
        drop(std::mem::take(unsafe { ENDED.get_mut(py) }));
        let monitoring = py
            .import(intern!(py, "sys"))?
            .getattr(intern!(py, "monitoring"))?;
        let mut tool = None;
        for id in TOOL_IDS {
            if monitoring
                .call_method1(intern!(py, "get_tool"), (id,))?
                .is_none()
            {
                monitoring.call_method1(intern!(py, "use_tool_id"), (id, "pikos"))?;
                tool = Some(id);
                break;
            }
        }
        let Some(tool) = tool else {
            return Ok(None);
        };
        let mut session = Session {
            tool,
            kind,
            local: None,
            callables: Vec::with_capacity(4),
            threads: FxHashSet::default(),
            all,
            left: FxHashSet::default(),
            last_thread: (-1, false),
            disable: monitoring.getattr(intern!(py, "DISABLE"))?.unbind(),
        };
        session.add_thread(py);
        let started = session.register(py, hook, &monitoring, focus);
        if let Err(err) = started {
            session.stop(py);
            return Err(err);
        }
        Ok(Some(session))
    }

    fn register(
        &mut self,
        py: Python<'_>,
        hook: &Bound<'_, Hook>,
        monitoring: &Bound<'_, PyAny>,
        focus: Option<Vec<Py<PyAny>>>,
    ) -> PyResult<()> {
        let events = self.kind.events();
        for &(def, callback_events) in self.kind.callbacks() {
            let def = &DEFS.0[def];
            // SAFETY: GIL held; a static method def; `hook` becomes the
            // callable's self, which keeps it alive.
            let callable = unsafe {
                Bound::from_owned_ptr_or_err(
                    py,
                    ffi::PyCFunction_NewEx(
                        def as *const ffi::PyMethodDef as *mut ffi::PyMethodDef,
                        hook.as_ptr(),
                        std::ptr::null_mut(),
                    ),
                )?
            };
            for event in callback_events {
                monitoring.call_method1(
                    intern!(py, "register_callback"),
                    (self.tool, 1u32 << event, &callable),
                )?;
            }
            self.callables.push(callable.unbind());
        }
        match focus {
            Some(codes) => {
                let mut local = Vec::with_capacity(codes.len());
                for code in codes {
                    monitoring.call_method1(
                        intern!(py, "set_local_events"),
                        (self.tool, &code, events),
                    )?;
                    local.push(code);
                }
                self.local = Some(local);
            }
            None => {
                monitoring.call_method1(intern!(py, "set_events"), (self.tool, events))?;
            }
        }
        Ok(())
    }

    /// Gives the events and the tool id back.  Best effort: a failure here
    /// is reported, never raised (the monitor is stopping anyway).
    pub fn stop(mut self, py: Python<'_>) {
        let result = (|| -> PyResult<()> {
            let monitoring = py
                .import(intern!(py, "sys"))?
                .getattr(intern!(py, "monitoring"))?;
            match self.local.take() {
                Some(codes) => {
                    for code in codes {
                        monitoring
                            .call_method1(intern!(py, "set_local_events"), (self.tool, code, 0))?;
                    }
                }
                None => {
                    monitoring.call_method1(intern!(py, "set_events"), (self.tool, 0))?;
                }
            }
            let events = self.kind.callbacks().iter().flat_map(|(_, e)| e.iter());
            for event in events {
                monitoring.call_method1(
                    intern!(py, "register_callback"),
                    (self.tool, 1u32 << event, py.None()),
                )?;
            }
            monitoring.call_method1(intern!(py, "free_tool_id"), (self.tool,))?;
            // Locations we disabled stay disabled for the tool id, whoever
            // takes it next (cProfile takes 2 on 3.12+), until a restart.
            // A restart re-enables every tool's disabled events; tools see
            // their events again once, which DISABLE's contract allows.
            monitoring.call_method0(intern!(py, "restart_events"))?;
            Ok(())
        })();
        if let Err(err) = result {
            err.write_unraisable(py, None);
        }
        // SAFETY: GIL held; no other borrow of ENDED is live.
        unsafe { ENDED.get_mut(py) }.append(&mut self.callables);
    }

    /// The focus changed while running: local events follow it.
    pub fn refocus(&mut self, py: Python<'_>, codes: &[Py<PyAny>]) -> PyResult<()> {
        let Some(local) = &mut self.local else {
            return Ok(());
        };
        let monitoring = py
            .import(intern!(py, "sys"))?
            .getattr(intern!(py, "monitoring"))?;
        let new: FxHashSet<usize> = codes.iter().map(|c| c.as_ptr() as usize).collect();
        let old: FxHashSet<usize> = local.iter().map(|c| c.as_ptr() as usize).collect();
        for code in local
            .iter()
            .filter(|c| !new.contains(&(c.as_ptr() as usize)))
        {
            monitoring.call_method1(intern!(py, "set_local_events"), (self.tool, code, 0))?;
        }
        local.retain(|c| new.contains(&(c.as_ptr() as usize)));
        for code in codes
            .iter()
            .filter(|c| !old.contains(&(c.as_ptr() as usize)))
        {
            monitoring.call_method1(
                intern!(py, "set_local_events"),
                (self.tool, code, self.kind.events()),
            )?;
            local.push(code.clone_ref(py));
        }
        Ok(())
    }

    /// Covers the calling thread.
    pub fn add_thread(&mut self, _py: Python<'_>) {
        let id = current_thread();
        self.threads.insert(id);
        self.left.remove(&id);
        self.last_thread = (-1, false);
    }

    /// Stops covering the calling thread.
    pub fn remove_thread(&mut self, _py: Python<'_>) {
        let id = current_thread();
        self.threads.remove(&id);
        self.left.insert(id);
        self.last_thread = (-1, false);
    }

    #[inline(always)]
    fn covers_current(&mut self) -> bool {
        let id = current_thread();
        if self.last_thread.0 != id {
            let covered = if self.all {
                !self.left.contains(&id)
            } else {
                self.threads.contains(&id)
            };
            self.last_thread = (id, covered);
        }
        self.last_thread.1
    }

    pub fn tool(&self) -> u8 {
        self.tool
    }
}

#[inline(always)]
fn current_thread() -> i64 {
    // SAFETY: called with the GIL held, so there is a current thread state.
    unsafe { ffi::PyThreadState_GetID(ffi::PyThreadState_Get()) }
}

/// What a callback makes of its event.
enum Outcome {
    /// Nothing to record here.
    Skip,
    /// Never again at this location (a jump that is no line event).
    Disable,
    /// A line event at this line.
    Line(i32),
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
/// `KeyboardInterrupt` or `SystemExit` ([`hook::for_the_program`]).
#[inline(always)]
unsafe fn run(
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
        if hook::for_the_program(py, &err) {
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

unsafe fn none() -> *mut ffi::PyObject {
    // SAFETY: GIL held (caller); None is immortal on 3.12+.
    unsafe { ffi::Py_NewRef(ffi::Py_None()) }
}

/// The slot of a code object a callback received.
///
/// # Safety
/// GIL held; `code` is the code object CPython passed, running in the
/// current frame.
unsafe fn slot_of(
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

fn record_line(py: Python<'_>, hook: &Hook, code: *mut ffi::PyObject, line: i32) -> PyResult<()> {
    // SAFETY: `code` is the code object CPython passed; its frame is the
    // current one.
    let slot = unsafe { slot_of(py, code, true)? };
    if slot.own {
        return Ok(());
    }
    let lineno = if line < 0 { NO_LINE } else { line };
    hook::emit(py, hook, slot, slot.name, lineno, EventKind::Line)
}

/// `LINE(code, line_number)`.
unsafe extern "C" fn line_callback(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    _nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: CPython passes (code, line) to LINE callbacks.
    unsafe {
        run(slf, args, true, |_py, _hook, _code| {
            let line = ffi::PyLong_AsLong(*args.add(1));
            Ok(Outcome::Line(line as i32))
        })
    }
}

/// `JUMP(code, from_offset, to_offset)`: a backward jump within one line
/// is a line event, as the legacy layer makes it; other jumps never are.
unsafe extern "C" fn jump_callback(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    _nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
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

/// `PY_START(code, offset)`: never recorded; disabled except where 3.13
/// needs it (see the module's notes).
unsafe extern "C" fn start_callback(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    _nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
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

/// A statistics event of a Python function (`PY_*(code, offset, ...)`).
///
/// # Safety
/// A callback's arguments.
#[inline(always)]
unsafe fn stats_python(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    kind: StatsEvent,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded from the callback.
    unsafe {
        run(slf, args, true, |py, hook, code| {
            let slot = slot_of(py, code, false)?;
            if !slot.own {
                let thread = gated_thread(py, hook);
                hook::stats_event(py, hook, thread, kind, slot.plain, slot.name);
            }
            Ok(Outcome::Skip)
        })
    }
}

/// A statistics event of a call `(code, offset, callable, arg0)`: a
/// builtin's call or return, called from `code`; nothing for other calls.
///
/// # Safety
/// A callback's arguments.
#[inline(always)]
unsafe fn stats_builtin(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    kind: StatsEvent,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded from the callback: CPython passes 4 arguments.
    unsafe {
        let callable = *args.add(2);
        // Most calls are of Python functions: nothing more to do for them.
        if ffi::Py_TYPE(callable) == std::ptr::addr_of_mut!(ffi::PyFunction_Type) {
            return none();
        }
        run(slf, args, true, |py, hook, code| {
            let given = *args.add(3) != missing(py);
            let Some(label) = codes::callable_label(py, callable, given)? else {
                return Ok(Outcome::Skip);
            };
            let slot = slot_of(py, code, false)?;
            if !slot.own {
                let thread = gated_thread(py, hook);
                hook::stats_event(py, hook, thread, kind, slot.plain, label);
            }
            Ok(Outcome::Skip)
        })
    }
}

/// The thread the gate just let through (its id: the statistics' key).
fn gated_thread(py: Python<'_>, hook: &Hook) -> usize {
    match &hook.state(py).monitoring {
        Some(session) => session.last_thread.0 as usize,
        None => current_thread() as usize,
    }
}

/// `sys.monitoring.MISSING`, the `arg0` of a call without arguments.
fn missing(py: Python<'_>) -> *mut ffi::PyObject {
    static MISSING: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    MISSING
        .get_or_init(py, || {
            py.import("sys")
                .and_then(|sys| sys.getattr("monitoring"))
                .and_then(|m| m.getattr("MISSING"))
                .map(Bound::unbind)
                .unwrap_or_else(|_| py.None())
        })
        .as_ptr()
}

unsafe extern "C" fn stats_call_callback(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    _nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: a callback's arguments.
    unsafe { stats_python(slf, args, StatsEvent::Call) }
}

unsafe extern "C" fn stats_return_callback(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    _nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: a callback's arguments.
    unsafe { stats_python(slf, args, StatsEvent::Return) }
}

unsafe extern "C" fn stats_resume_callback(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    _nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: a callback's arguments.
    unsafe { stats_python(slf, args, StatsEvent::Resume) }
}

unsafe extern "C" fn stats_c_call_callback(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    _nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: a callback's arguments.
    unsafe { stats_builtin(slf, args, StatsEvent::CCall) }
}

unsafe extern "C" fn stats_c_return_callback(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    _nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: a callback's arguments.
    unsafe { stats_builtin(slf, args, StatsEvent::CReturn) }
}

/// `sys.monitoring.DISABLE` (None once the session has ended).
///
/// # Safety
/// GIL held; `slf` is the callable's self, a Hook.
unsafe fn disable(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
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
