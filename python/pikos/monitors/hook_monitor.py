"""The machinery shared by the built-in monitors: a native interpreter hook
(``pikos._native.Hook``) fed to a recorder.

Built-in recorders with built-in (or no) filters receive events natively:
no Python object is made per event.  Any other recorder, a Python callable as
filter, or a custom ``record_type`` takes the documented slow path: the hook
builds each record and calls ``recorder.record(record)``.

A monitor covers the thread that enables it and the threads started while it
is enabled: the hook that ``threading.setprofile``/``settrace`` would set
hands new threads a bootstrap that installs the native hook on them at their
first event.
"""

import _thread
import math
import numbers
import os
import threading
import weakref

from pikos import _native
from pikos.monitors.monitor import Monitor
from pikos.monitors.records import RECORD_CLASSES, TIMED_KINDS

_PROTOCOL = ("prepare", "record", "finalize")


def check_recorder(recorder):
    """Raise TypeError unless ``recorder`` has prepare/record/finalize."""
    missing = [
        name for name in _PROTOCOL if not callable(getattr(recorder, name, None))
    ]
    if missing:
        raise TypeError(
            f"{recorder!r} is not a recorder: it has no callable "
            f"{', '.join(missing)} (a recorder needs prepare(record_type), "
            "record(data) and finalize())"
        )


class _ThreadingSlot:
    """One of ``threading``'s new-thread hooks (``_profile_hook``, the value
    ``threading.setprofile`` sets, or ``_trace_hook``), shared by all enabled
    monitors of that hook kind: the slot holds the bootstrap of the latest
    enabled monitor still running, and what was there before once none is,
    whatever order they are disabled in.  A value someone else set meanwhile
    is left alone."""

    def __init__(self, name):
        self._name = name
        self._bootstraps = []
        self._before = None
        self._ours = None

    def push(self, bootstrap):
        if not self._bootstraps:
            self._before = getattr(threading, self._name)
        self._bootstraps.append(bootstrap)
        self._set(bootstrap)

    def remove(self, bootstrap):
        if bootstrap in self._bootstraps:
            self._bootstraps.remove(bootstrap)
        if getattr(threading, self._name) is not self._ours:
            return
        if self._bootstraps:
            self._set(self._bootstraps[-1])
        else:
            self._set(self._before)
            self._before = self._ours = None

    def _set(self, value):
        # An attribute, not threading.setprofile(): no Python frame runs, so
        # an enclosing monitor records nothing of it.
        setattr(threading, self._name, value)
        self._ours = value


_PROFILE_SLOT = _ThreadingSlot("_profile_hook")
_TRACE_SLOT = _ThreadingSlot("_trace_hook")


#: The monitors enabled in this process, id -> weak reference (see
#: ``_stop_in_forked_child``).  A plain dict: enable and disable must not
#: call Python code an enclosing monitor would record.
_ENABLED = {}


def _stop_in_forked_child():
    """After ``fork``, in the child: every enabled monitor stops recording
    there.  The child has none of the parent's pikos threads, and its copy
    of a recorder shares the parent's output, which stays the parent's."""
    for ref in list(_ENABLED.values()):
        monitor = ref()
        if monitor is not None:
            monitor._stop_in_child()
    _ENABLED.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_stop_in_forked_child)


#: ``PIKOS_HOOK``: the mechanism of line monitors on Python 3.12+.
_BACKENDS = ("auto", "legacy", "monitoring")


def hook_backend():
    """The line hooks' mechanism asked for by the ``PIKOS_HOOK`` environment
    variable: "auto" (unset: ``sys.monitoring`` where it measured faster,
    i.e. focused line monitors on 3.12+ and all line monitors on 3.12, when
    a tool id is free; else the legacy trace hook), "legacy" or
    "monitoring"."""
    value = os.environ.get("PIKOS_HOOK", "").strip().lower() or "auto"
    if value not in _BACKENDS:
        raise ValueError(
            f"PIKOS_HOOK={os.environ['PIKOS_HOOK']!r} is not a hook backend "
            f"(expected one of {', '.join(_BACKENDS)})"
        )
    return value


def check_memory_interval(value):
    """``memory_interval`` in microseconds: None, or a number >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"memory_interval must be a number of microseconds or None, not {value!r}"
        )
    try:
        value = float(value)
    except OverflowError:  # an int too large for a float: longer than any run
        value = math.inf if value > 0 else -math.inf
    if math.isnan(value) or value < 0:
        raise ValueError(
            f"memory_interval must be >= 0 microseconds (0 or None: a fresh "
            f"reading per event), not {value!r}"
        )
    return value


class HookMonitor(Monitor):
    """A monitor backed by a native hook.  Subclasses set ``_kind``."""

    _kind = None

    def __init__(self, recorder, record_type=None):
        check_recorder(recorder)
        if getattr(recorder, "_pikos_needs_timed", False) and self._kind not in (
            TIMED_KINDS.values()
        ):
            raise ValueError(
                f"{type(recorder).__name__} writes timed function records: use it "
                f"with a function monitor (FunctionMonitor, FunctionMemoryMonitor "
                f"or their focused kinds), not {type(self).__name__}"
            )
        self._recorder = recorder
        self._default_record = RECORD_CLASSES[self._kind]
        self._record_type = self._default_record if record_type is None else record_type
        self._hook = self._new_hook()
        self._depth = 0
        # Names of the threads recorded, by ident, for recorders that show
        # them (threads that ended before the end of the session included).
        self._thread_names = {}
        self._start_thread = self._hook_new_thread
        trace = self._kind in ("line", "line_memory")
        self._threading_slot = _TRACE_SLOT if trace else _PROFILE_SLOT

    def _new_hook(self):
        return _native.Hook(self._kind)

    def _choose_timed(self, recorder, timed):
        """For function monitors: record time and thread when ``timed`` is
        true, or when it is None and the recorder needs them (speedscope,
        Chrome trace, collapsed stacks)."""
        needs = getattr(recorder, "_pikos_needs_timed", False)
        if timed is None:
            timed = needs
        elif not isinstance(timed, bool):
            raise TypeError(f"timed must be True, False or None, not {timed!r}")
        elif needs and not timed:
            raise ValueError(
                f"{type(recorder).__name__} needs timed records (time and "
                "thread): pass timed=True or leave timed out"
            )
        if timed:
            self._kind = TIMED_KINDS[type(self)._kind]

    @property
    def timed(self):
        """Whether records carry their time and thread."""
        return self._kind in TIMED_KINDS.values()

    def _hook_new_thread(self, frame, event, arg):
        # Runs as the Python-level hook of a thread started while enabled,
        # once: it puts the native hook in its place and hands it this event.
        self._note_thread()
        self._hook.install_thread(frame, event, arg)

    def _note_thread(self):
        # No Python-level call here (current_thread(), the name property):
        # another monitor may be recording this thread, and pikos' own frames
        # are the only ones it skips.  get_ident is a builtin called from
        # this file, and _active and _name are plain lookups.
        ident = _thread.get_ident()
        thread = threading._active.get(ident)
        name = getattr(thread, "_name", None)
        if isinstance(name, str):
            self._thread_names[ident] = name

    @property
    def recorder(self):
        """The recorder this monitor feeds."""
        return self._recorder

    @property
    def record_type(self):
        """The class of the records this monitor emits."""
        return self._record_type

    def enable(self):
        """Install the hook and prepare the recorder (outermost call only)."""
        self._depth += 1
        if self._depth > 1:
            return
        try:
            self._install()
        except BaseException:
            self._depth = 0
            raise

    def _install(self):
        self._note_thread()
        if self._threading_slot is _TRACE_SLOT:  # before the recorder starts
            self._hook.set_backend(hook_backend())
        record_type = self._record_type
        native_ok = record_type is self._default_record or record_type is tuple
        prepare_native = getattr(self._recorder, "_pikos_prepare", None)
        if prepare_native is not None:
            sink = prepare_native(record_type, self._kind, native_ok)
        else:
            self._recorder.prepare(record_type)
            sink = None
        # The recorder was started: a failed install closes it (its output
        # stays valid).
        if sink is not None:
            self._install_hook(self._recorder.finalize, sink=sink)
        else:
            self._install_hook(
                self._recorder.finalize,
                recorder=self._recorder,
                record_type=None if record_type is tuple else record_type,
            )

    def _install_hook(self, undo, **target):
        """Install the native hook feeding ``target`` (``Hook.install``'s
        keywords), covering new threads too; if that fails, call ``undo``
        and raise."""
        # Installing the hook is the last thing enable does: the events of
        # its own return are pikos' frames and are never recorded.
        self._threading_slot.push(self._start_thread)
        _ENABLED[id(self)] = weakref.ref(self)
        try:
            self._hook.install(**target)
        except BaseException:
            self._threading_slot.remove(self._start_thread)
            _ENABLED.pop(id(self), None)
            undo()
            raise

    def _stop_in_child(self):
        self._depth = 0
        self._hook.uninstall()
        self._threading_slot.remove(self._start_thread)
        forget = getattr(self._recorder, "_pikos_forget_after_fork", None)
        if forget is not None:
            forget()

    def leave_thread(self):
        """Stop recording on the calling thread only; the other covered
        threads go on until :meth:`disable`.  (``pikos-run`` calls this when
        the script's main code is done and it waits for its threads.)"""
        if self._depth:
            self._hook.leave_thread()

    def disable(self):
        """Remove the hook and finalize the recorder (outermost call only)."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth:
            return
        # Removing the hook is the first thing disable does.
        self._hook.uninstall()
        _ENABLED.pop(id(self), None)
        self._threading_slot.remove(self._start_thread)
        self._finish()

    def _finish(self):
        """The end of a session, the hook removed: finalize the recorder
        (telling the recorders that name threads which ones ran)."""
        names = getattr(self._recorder, "_pikos_thread_names", None)
        if names is not None:
            names(dict(self._thread_names))
        self._recorder.finalize()


class MemoryHookMonitor(HookMonitor):
    """A hook monitor that reads the process's memory at each event.

    ``memory_interval`` (microseconds) trades resolution for speed: a reading
    is reused until it is older than the interval.  The default (None, like
    0) reads fresh memory at every event.
    """

    def __init__(self, recorder, record_type=None, *, memory_interval=None):
        self._memory_interval = check_memory_interval(memory_interval)
        super().__init__(recorder, record_type)

    @property
    def memory_interval(self):
        """Microseconds a memory reading is reused for (None: never)."""
        return self._memory_interval

    def _new_hook(self):
        return _native.Hook(self._kind, self._memory_interval)
