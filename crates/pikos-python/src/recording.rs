//! What a monitor's native half records into, and how: the `Hook` object
//! (one per monitor) with its session state (`Recording`: the target, the
//! focus, the index, the memory probe, the error that stopped it), the
//! record path every hook mechanism ends in (`emit`, `stats_event`), and
//! the end of a session and its failure report.  The mechanisms that call
//! into it are `legacy` (C profile/trace callbacks) and `monitoring`
//! (`sys.monitoring` callbacks); `thread_hook` puts the hook on threads and
//! takes it off; `hook` is what Python calls.

use pikos_core::event::{EventKind, NO_LINE};
use pikos_core::memory::SampledProbe;
use pikos_core::tables::TablesView;
use pikos_core::{Event, RecordKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::{ffi, intern};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::codes;
use crate::gil_cell::GilCell;
#[cfg(Py_3_12)]
use crate::line_stats::LineEvent;
use crate::line_stats::LineStats;
use crate::rows;
use crate::sink::Sink;
use crate::stats::{Stats, StatsEvent};
use crate::tstate::HookKind;

pub(crate) enum Target {
    Idle,
    Native(Py<Sink>),
    /// A statistics monitor's totals (function events only).
    Stats(Py<Stats>),
    /// A line statistics monitor's totals (line events, with the starts
    /// and ends of frames).
    LineStats(Py<LineStats>),
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
    pub(crate) fn with_capacity(n: usize) -> Self {
        Focus {
            codes: FxHashSet::default(),
            refs: Vec::with_capacity(n),
            last: (0, false),
        }
    }

    #[inline(always)]
    pub(crate) fn contains(&mut self, code: usize) -> bool {
        if self.last.0 != code {
            self.last = (code, self.codes.contains(&code));
        }
        self.last.1
    }
}

pub(crate) struct Recording {
    pub(crate) kind: RecordKind,
    pub(crate) index: u64,
    pub(crate) probe: Option<SampledProbe>,
    pub(crate) target: Target,
    pub(crate) focus: Option<Focus>,
    /// Increases at every install; `active` while it has not ended.
    pub(crate) session: u64,
    pub(crate) active: bool,
    pub(crate) error: Option<PyErr>,
    /// Which mechanism the next session may use.
    pub(crate) choice: Choice,
    /// The `sys.monitoring` session, when this session runs on it.
    #[cfg(Py_3_12)]
    pub(crate) monitoring: Option<crate::monitoring::session::Session>,
    /// Whether the last session ran on `sys.monitoring`.
    pub(crate) used_monitoring: bool,
    /// The session covers the threads already running too.
    pub(crate) all_threads: bool,
    /// Fault injection for the tests: panic in the hook at this index
    /// (records given to a Python recorder only: never on a fast path).
    pub(crate) panic_at: Option<u64>,
    /// What the hook records into, for its reports ("FunctionMonitor ->
    /// CSVFileRecorder"), set by the monitor.
    pub(crate) label: String,
}

/// The mechanism a line hook uses on 3.12+: `sys.monitoring` with native
/// callbacks (local events for focused monitors), or the legacy trace hook.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    /// `sys.monitoring` when available and a tool id is free, else legacy.
    Auto,
    Legacy,
    /// `sys.monitoring` or an error.
    Monitoring,
}

impl Choice {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(Choice::Auto),
            "legacy" => Some(Choice::Legacy),
            "monitoring" => Some(Choice::Monitoring),
            _ => None,
        }
    }

    /// What `PIKOS_HOOK` asks for.
    pub(crate) fn from_env() -> PyResult<Self> {
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

impl Recording {
    fn end_session(&mut self) {
        self.active = false;
        self.target = Target::Idle;
    }
}

/// The native half of a monitor.
#[pyclass(frozen, module = "pikos._native")]
pub struct Hook {
    pub(crate) hook_kind: HookKind,
    /// The C function installed in a thread's hook slot for this hook
    /// (`legacy::callback_for(hook_kind)`): how a slot is recognised as ours.
    pub(crate) callback: ffi::Py_tracefunc,
    state: GilCell<Recording>,
}

impl Hook {
    /// A hook of `kind` recording into `recording`, installed in thread
    /// slots with `callback`.
    pub(crate) fn with(
        hook_kind: HookKind,
        callback: ffi::Py_tracefunc,
        recording: Recording,
    ) -> Self {
        Hook {
            hook_kind,
            callback,
            state: GilCell::new(recording),
        }
    }

    #[inline(always)]
    pub(crate) fn state<'py>(&'py self, py: Python<'py>) -> &'py mut Recording {
        // SAFETY: GIL held; every borrow below ends before a call into Python.
        unsafe { self.state.get_mut(py) }
    }

    /// Ends the session; a `sys.monitoring` session also gives its events
    /// and tool id back (outside the state's borrow: that calls Python).
    pub(crate) fn end(slf: &Bound<'_, Self>) {
        let st = slf.get().state(slf.py());
        st.end_session();
        #[cfg(Py_3_12)]
        if let Some(session) = st.monitoring.take() {
            session.stop(slf.py());
        }
    }

    /// Reports a failure that stopped the session (the hook is already off
    /// this thread): once through `sys.unraisablehook`, with a note naming
    /// the monitor; kept for `monitor.error`.
    pub(crate) fn report(slf: &Bound<'_, Self>, err: PyErr) {
        let py = slf.py();
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

/// Whether an error raised by a Python filter or recorder belongs to the
/// program rather than to pikos: a `BaseException` that is not an
/// `Exception` (Ctrl-C's `KeyboardInterrupt`, `sys.exit`'s `SystemExit`).
/// It reaches the program where it was raised, as it would without pikos,
/// and the monitor goes on recording (that event's record is not taken).
pub(crate) fn for_the_program(py: Python<'_>, err: &PyErr) -> bool {
    !err.is_instance_of::<pyo3::exceptions::PyException>(py)
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

/// An event for a line statistics hook, on the thread keyed `thread`, in
/// a frame of `slot`'s code; false when the hook has no line statistics
/// (the event is then recorded as usual).
#[cfg(Py_3_12)]
#[inline(always)]
pub(crate) fn line_stats_event(
    py: Python<'_>,
    hook: &Hook,
    thread: usize,
    slot: &codes::CodeSlot,
    event: LineEvent,
) -> bool {
    if let Target::LineStats(stats) = &hook.state(py).target {
        stats.get().event(py, thread, slot, event);
        return true;
    }
    false
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
        // Statistics take their events before this.
        Target::Stats(_) | Target::LineStats(_) | Target::Idle => {}
    }
    Ok(())
}
