//! Hooks on `sys.monitoring` (PEP 669, Python 3.12+), with native
//! callbacks: `session` (tool id, registration, threads), `callbacks` (what
//! every callback does around its event), `lines`, `stats`.
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

mod callbacks;
mod line_stats;
mod lines;
pub(crate) mod session;
mod stats;

pub(crate) use session::{free_tool_id, Callback, Session};

// Event numbers of `sys.monitoring.events` (the same on 3.12 and 3.13).
pub(crate) const PY_START: u32 = 0;
pub(crate) const PY_RESUME: u32 = 1;
pub(crate) const PY_RETURN: u32 = 2;
pub(crate) const PY_YIELD: u32 = 3;
pub(crate) const CALL: u32 = 4;
pub(crate) const LINE: u32 = 5;
pub(crate) const JUMP: u32 = 7;
pub(crate) const PY_UNWIND: u32 = 12;
pub(crate) const PY_THROW: u32 = 13;
pub(crate) const C_RETURN: u32 = 15;
pub(crate) const C_RAISE: u32 = 16;

/// What a session reports.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Line events (line monitors).
    Lines,
    /// Function events into statistics (`StatsMonitor`).
    Stats,
    /// Line events with the starts and ends of frames, into line
    /// statistics (`LineStatsMonitor`).
    LineStats,
}

impl SessionKind {
    /// The callbacks a session of this kind registers.
    pub(crate) fn callbacks(self) -> &'static [Callback] {
        match self {
            SessionKind::Lines => &lines::CALLBACKS,
            SessionKind::Stats => &stats::CALLBACKS,
            SessionKind::LineStats => &line_stats::CALLBACKS,
        }
    }
}
