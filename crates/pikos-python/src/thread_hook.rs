//! A monitor's hook on threads: the `ThreadHook` a covered thread's hook
//! slot holds, and putting it on a thread, on every running thread, or
//! after another pikos hook (a chain), and taking it off again.
//!
//! A hook can only be taken off the thread it runs on, so when the monitor
//! is disabled the other threads find out at their next event that their
//! session is over and take the hook off themselves before anything is
//! recorded.

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::gil_cell::GilCell;
use crate::recording::{Focus, Hook};
use crate::tstate::{self, RawHook, SavedHook};

/// What a thread's hook slot holds while the monitor covers that thread:
/// the interpreter passes it to every callback, so per-thread state (the
/// session it belongs to, the focus depth, the hook it replaced) comes
/// without looking the thread up.
#[pyclass(frozen, module = "pikos._native")]
pub struct ThreadHook {
    pub(crate) hook: Py<Hook>,
    pub(crate) session: u64,
    pub(crate) local: GilCell<ThreadLocal>,
}

pub(crate) struct ThreadLocal {
    /// Focused frames on this thread's stack (function kinds): inside the
    /// window while positive.
    pub(crate) depth: u32,
    /// What to put back when the hook comes off this thread (nothing, for a
    /// thread started while the monitor was enabled).
    pub(crate) saved: Option<SavedHook>,
}

impl Hook {
    /// A [`ThreadHook`] of the current session.
    pub(crate) fn thread_hook<'py>(
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
    pub(crate) fn install_here(
        slf: &Bound<'_, Self>,
        depth: u32,
        saved: Option<SavedHook>,
    ) -> PyResult<()> {
        let this = slf.get();
        let thread_hook = Self::thread_hook(slf, depth, saved)?;
        // SAFETY: GIL held; the thread's slot takes its own reference.
        unsafe {
            tstate::install(
                this.hook_kind,
                RawHook {
                    func: Some(this.callback),
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
    pub(crate) unsafe fn take_previous(py: Python<'_>, this: &Self) -> SavedHook {
        // SAFETY: GIL held.
        let saved = unsafe { SavedHook::take(this.hook_kind) };
        let raw = saved.raw();
        if raw.func.is_none() || raw.is(this.callback) || raw.obj.is_null() {
            return saved;
        }
        // SAFETY: GIL held; `raw.obj` is alive (held by `saved`).
        let obj = unsafe { pyo3::Borrowed::from_ptr(py, raw.obj) };
        match obj.cast::<ThreadHook>() {
            Ok(other) if other.get().hook.get().hook_kind == this.hook_kind => {
                saved.with_func(this.callback)
            }
            _ => saved,
        }
    }

    /// Puts the hook on every other thread of the interpreter too (the
    /// threads already running: `all_threads`).  Each takes it off itself
    /// at its first event after the session ends, as new threads do.
    pub(crate) fn install_on_others(slf: &Bound<'_, Self>) -> PyResult<()> {
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
                    func: Some(this.callback),
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
    pub(crate) unsafe fn ours_here<'py>(slf: &Bound<'py, Self>) -> Option<Bound<'py, ThreadHook>> {
        // SAFETY: GIL held.
        unsafe { Self::ours_in(slf, tstate::current(slf.get().hook_kind)) }
    }

    /// Whether another tool (not this hook) holds the calling thread's hook
    /// of the kind this hook needs.
    pub(crate) fn taken_here(slf: &Bound<'_, Self>) -> bool {
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
    pub(crate) unsafe fn ours_in<'py>(
        slf: &Bound<'py, Self>,
        current: RawHook,
    ) -> Option<Bound<'py, ThreadHook>> {
        // SAFETY: GIL held; our callbacks are only ever installed with a
        // ThreadHook as their object.
        unsafe {
            if !current.is(slf.get().callback) || current.obj.is_null() {
                return None;
            }
            let thread_hook =
                Bound::from_borrowed_ptr(slf.py(), current.obj).cast_into_unchecked::<ThreadHook>();
            (thread_hook.get().hook.as_ptr() == slf.as_ptr()).then_some(thread_hook)
        }
    }

    /// Takes our hook off the calling thread, putting back what was there
    /// before.  If something replaced our hook meanwhile, that one stays.
    pub(crate) fn remove_here(slf: &Bound<'_, Self>) {
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
    pub(crate) fn unlink_here(slf: &Bound<'_, Self>) {
        let py = slf.py();
        let callback = slf.get().callback;
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
    pub(crate) fn remove(slf: &Bound<'_, Self>) {
        Self::end(slf);
        Self::remove_here(slf);
    }

    /// A failure inside the hook: stop recording, restore the previous
    /// hook, report once; the profiled program goes on.
    pub(crate) fn fail(slf: &Bound<'_, Self>, err: PyErr) {
        Self::remove(slf);
        Self::report(slf, err);
    }
}

/// How many frames on the calling thread's stack run focused code: a
/// monitor enabled inside a focused function is inside its window.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn focused_frames_on_stack(focus: &Focus) -> u32 {
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
