//! A `sys.monitoring` session of one hook: a tool id taken from those pikos
//! may use, callbacks registered for their events (everywhere, or as local
//! events in a focused monitor's code objects), the threads it covers, and
//! everything given back at its end.

use std::ffi::CStr;
use std::os::raw::c_char;

use pyo3::prelude::*;
use pyo3::{ffi, intern};
use rustc_hash::FxHashSet;

use crate::gil_cell::GilCell;

/// The tool ids tried, in order: the profiler's, then those no tool is
/// assigned, never the debugger's or coverage's.
pub(crate) const TOOL_IDS: [u8; 4] = [2, 3, 4, 5];

/// The first of [`TOOL_IDS`] no tool holds (`monitoring` is
/// `sys.monitoring`).
pub(crate) fn free_tool_id(monitoring: &Bound<'_, PyAny>) -> PyResult<Option<u8>> {
    let py = monitoring.py();
    for id in TOOL_IDS {
        if monitoring
            .call_method1(intern!(py, "get_tool"), (id,))?
            .is_none()
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// The events `set_local_events` takes (`sys.monitoring`'s local
/// events: PY_START to JUMP and BRANCH, STOP_ITERATION); the others
/// (PY_UNWIND, PY_THROW, RAISE, C_RETURN...) can only be set globally.
const LOCAL_EVENTS: u32 = (1 << 0)
    | (1 << 1)
    | (1 << 2)
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | (1 << 6)
    | (1 << 7)
    | (1 << 8)
    | (1 << 9);

/// A native callback and the events it is registered for.  The method
/// definition is static, as CPython requires.
pub(crate) struct Callback {
    pub(crate) def: ffi::PyMethodDef,
    pub(crate) events: &'static [u32],
}

// SAFETY: immutable after construction; only pointers to static data.
unsafe impl Sync for Callback {}

impl Callback {
    pub(crate) const fn new(
        name: &'static CStr,
        meth: ffi::PyCFunctionFast,
        events: &'static [u32],
    ) -> Self {
        Callback {
            def: ffi::PyMethodDef {
                ml_name: name.as_ptr(),
                ml_meth: ffi::PyMethodDefPointer {
                    PyCFunctionFast: meth,
                },
                ml_flags: ffi::METH_FASTCALL,
                ml_doc: std::ptr::null::<c_char>(),
            },
            events,
        }
    }
}

/// Callables of ended sessions, kept until the next session starts: a
/// session can end inside one of its own callbacks (a failing recorder),
/// and CPython does not hold a reference to the callable it is running.
static ENDED: GilCell<Vec<Py<PyAny>>> = GilCell::new(Vec::new());

/// A running `sys.monitoring` session of one hook.
pub struct Session {
    tool: u8,
    callbacks: &'static [Callback],
    /// The focused code objects with local events; None: global events.
    local: Option<Vec<Py<PyAny>>>,
    callables: Vec<Py<PyAny>>,
    threads: FxHashSet<i64>,
    /// Every thread is covered (`all_threads`) but those in `left`.
    all: bool,
    left: FxHashSet<i64>,
    pub(crate) last_thread: (i64, bool),
    pub(crate) disable: Py<PyAny>,
}

impl Session {
    /// Takes a free tool id and registers `callbacks`, with `owner` (the
    /// monitor's Hook) as their self, for their events: in `focus` only
    /// (local events) when given, else everywhere.  None when every tool id
    /// pikos may use is taken.
    pub fn start(
        owner: &Bound<'_, PyAny>,
        callbacks: &'static [Callback],
        focus: Option<Vec<Py<PyAny>>>,
        all: bool,
    ) -> PyResult<Option<Session>> {
        let py = owner.py();
        // SAFETY: GIL held; no other borrow of ENDED is live (the callbacks
        // only push to it, and none runs while we are here).
        drop(std::mem::take(unsafe { ENDED.get_mut(py) }));
        let monitoring = py
            .import(intern!(py, "sys"))?
            .getattr(intern!(py, "monitoring"))?;
        let tool = free_tool_id(&monitoring)?;
        if let Some(id) = tool {
            monitoring.call_method1(intern!(py, "use_tool_id"), (id, "pikos"))?;
        }
        let Some(tool) = tool else {
            return Ok(None);
        };
        let mut session = Session {
            tool,
            callbacks,
            local: None,
            callables: Vec::with_capacity(4),
            threads: FxHashSet::default(),
            all,
            left: FxHashSet::default(),
            last_thread: (-1, false),
            disable: monitoring.getattr(intern!(py, "DISABLE"))?.unbind(),
        };
        session.add_thread(py);
        let started = session.register(py, owner, &monitoring, focus);
        if let Err(err) = started {
            session.stop(py);
            return Err(err);
        }
        Ok(Some(session))
    }

    fn register(
        &mut self,
        py: Python<'_>,
        owner: &Bound<'_, PyAny>,
        monitoring: &Bound<'_, PyAny>,
        focus: Option<Vec<Py<PyAny>>>,
    ) -> PyResult<()> {
        let events = self.events();
        for callback in self.callbacks {
            let def = &callback.def;
            // SAFETY: GIL held; a static method def; `owner` becomes the
            // callable's self, which keeps it alive.
            let callable = unsafe {
                Bound::from_owned_ptr_or_err(
                    py,
                    ffi::PyCFunction_NewEx(
                        def as *const ffi::PyMethodDef as *mut ffi::PyMethodDef,
                        owner.as_ptr(),
                        std::ptr::null_mut(),
                    ),
                )?
            };
            for event in callback.events {
                monitoring.call_method1(
                    intern!(py, "register_callback"),
                    (self.tool, 1u32 << event, &callable),
                )?;
            }
            self.callables.push(callable.unbind());
        }
        match focus {
            Some(codes) => {
                // Events that cannot be local are global; the gate keeps
                // those of the focused code only.
                if events & !LOCAL_EVENTS != 0 {
                    monitoring.call_method1(
                        intern!(py, "set_events"),
                        (self.tool, events & !LOCAL_EVENTS),
                    )?;
                }
                let mut local = Vec::with_capacity(codes.len());
                for code in codes {
                    monitoring.call_method1(
                        intern!(py, "set_local_events"),
                        (self.tool, &code, events & LOCAL_EVENTS),
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
            if let Some(codes) = self.local.take() {
                for code in codes {
                    monitoring
                        .call_method1(intern!(py, "set_local_events"), (self.tool, code, 0))?;
                }
            }
            monitoring.call_method1(intern!(py, "set_events"), (self.tool, 0))?;
            let events = self.callbacks.iter().flat_map(|c| c.events.iter());
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
        let events = self.events() & LOCAL_EVENTS;
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
            monitoring.call_method1(intern!(py, "set_local_events"), (self.tool, code, events))?;
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

    /// Every event of the session's callbacks, as a `sys.monitoring` set.
    fn events(&self) -> u32 {
        self.callbacks
            .iter()
            .flat_map(|c| c.events.iter())
            .fold(0, |all, event| all | (1 << event))
    }

    #[inline(always)]
    pub(crate) fn covers_current(&mut self) -> bool {
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
pub(crate) fn current_thread() -> i64 {
    // SAFETY: called with the GIL held, so there is a current thread state.
    unsafe { ffi::PyThreadState_GetID(ffi::PyThreadState_Get()) }
}
