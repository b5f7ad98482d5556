"""The machinery shared by the built-in monitors: a native interpreter hook
(``pikos._native.Hook``) fed to a recorder.

Built-in recorders with built-in (or no) filters receive events natively:
no Python object is made per event.  Any other recorder, a Python callable as
filter, or a custom ``record_type`` takes the documented slow path: the hook
builds each record and calls ``recorder.record(record)``.  A monitor that
overrides ``gather_info``, ``on_function_event`` or ``on_line_event`` takes
the Python-level path instead (``python_path.py``).

A monitor covers the thread that enables it and the threads started while it
is enabled: the hook that ``threading.setprofile``/``settrace`` would set
hands new threads a bootstrap that installs the native hook on them at their
first event.
"""

import _thread
import sys
import threading
import time
import warnings
import weakref

from pikos import _OWN_PREFIX, _native
from pikos.errors import HookTakenWarning
from pikos.kinds import KINDS, TIMED_KINDS, is_timed
from pikos.monitors.monitor import Monitor
from pikos.monitors.python_path import PythonSession, overrides_extension_points
from pikos.monitors.records import RECORD_CLASSES
from pikos.process.forks import ENABLED
from pikos.recorders.builtin_recorder import BuiltinRecorder

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
    monitors of that hook kind.  While any is enabled the slot holds
    :meth:`_start`, which puts every enabled monitor's hook on a new thread
    (oldest first, each chained to the one before) and hands the thread's
    first event to them; once none is, what was there before comes back,
    whatever order they are disabled in.  A value someone else set
    meanwhile is left alone."""

    def __init__(self, name, get_hook):
        self._name = name
        self._get_hook = get_hook
        self._starts = []
        self._before = None
        self._ours = None
        self._bootstrap = self._start  # one bound method: compared by identity

    def push(self, start):
        if not self._starts:
            self._before = getattr(threading, self._name)
        self._starts.append(start)
        self._set(self._bootstrap)

    def remove(self, start):
        if start in self._starts:
            self._starts.remove(start)
        if getattr(threading, self._name) is not self._ours:
            return
        if not self._starts:
            self._set(self._before)
            self._before = self._ours = None

    def _set(self, value):
        # An attribute, not threading.setprofile(): no Python frame runs, so
        # an enclosing monitor records nothing of it.
        setattr(threading, self._name, value)
        self._ours = value

    def _start(self, frame, event, arg):
        # The Python-level hook of a thread started while monitors are
        # enabled, called once, at its first event: the native hooks take
        # its place (none, if every monitor runs on sys.monitoring or has
        # ended), then the newest of them records this event and hands it on.
        for start in list(self._starts):
            start()
        hook = self._get_hook()
        if hook is self._bootstrap:  # no native hook took the slot
            hook = None
            self._clear()
        return hook(frame, event, arg) if hook is not None else None

    def _clear(self):
        setter = sys.setprofile if self._name == "_profile_hook" else sys.settrace
        setter(None)


_PROFILE_SLOT = _ThreadingSlot("_profile_hook", sys.getprofile)
_TRACE_SLOT = _ThreadingSlot("_trace_hook", sys.gettrace)


def builtin(recorder):
    """``recorder`` when it is a built-in recorder (the protocol of
    ``pikos.recorders.builtin_recorder``), else None: a custom recorder gets
    prepare/record/finalize only."""
    # Not isinstance(): BuiltinRecorder is an ABC, whose __instancecheck__
    # is Python code that an enclosing monitor would record.
    return recorder if BuiltinRecorder in type(recorder).__mro__ else None


def _outside_pikos():
    """The ``stacklevel`` of a warning from the caller of ``warnings.warn``
    that names the first frame outside pikos (the user's ``with`` or
    ``enable()``)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_OWN_PREFIX):
        frame, level = frame.f_back, level + 1
    return level


def describe_hook(owner):
    """A tool's hook object, by name: ``pdb.Pdb.trace_dispatch``,
    ``coverage.CTracer``, ``cProfile.Profile``."""
    function = getattr(owner, "__func__", owner)
    qualname = getattr(function, "__qualname__", None)
    module = getattr(function, "__module__", None)
    if not isinstance(qualname, str):
        qualname = type(owner).__qualname__
        module = type(owner).__module__
    return f"{module}.{qualname}" if module else qualname


def check_all_threads(value):
    """``all_threads``: a bool."""
    if not isinstance(value, bool):
        raise TypeError(f"all_threads must be True or False, not {value!r}")
    return value


def note_all_threads(names):
    """Put the name of every running thread in ``names`` (by ident).  Plain
    lookups only, as in ``HookMonitor._note_thread``."""
    for ident, thread in list(threading._active.items()):
        name = getattr(thread, "_name", None)
        if isinstance(name, str):
            names[ident] = name


#: ``memory_interval`` in microseconds checked: None, or a number >= 0, as
#: a float (the core owns the rule; ``Hook`` checks it with the same code).
check_memory_interval = _native.check_memory_interval


class HookMonitor(Monitor):
    """A monitor backed by a native hook.  Subclasses set ``_kind``."""

    _kind = None
    #: The running (or ending) session on the Python-level path, else None.
    _python = None

    def __init__(self, recorder, record_type=None, *, all_threads=False):
        check_recorder(recorder)
        #: The recorder when it is a built-in one, else None.
        self._builtin = builtin(recorder)
        if self._needs_timed(recorder) and not (
            is_timed(self._kind) and KINDS[self._kind].function
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
        self._hook.set_label(f"{type(self).__name__} -> {type(recorder).__name__}")
        self._all_threads = check_all_threads(all_threads)
        self._depth = 0
        self._error = None
        # Names of the threads recorded, by ident, for recorders that show
        # them (threads that ended before the end of the session included).
        self._thread_names = {}
        self._start_thread = self._hook_new_thread
        trace = not KINDS[self._kind].function
        self._threading_slot = _TRACE_SLOT if trace else _PROFILE_SLOT
        self._check_python_path(overrides_extension_points(type(self)))

    def _check_python_path(self, overridden):
        """What the Python-level path cannot do, refused before anything
        starts: ``overridden`` names the extension points replaced."""
        if not overridden:
            return
        names = ", ".join(overridden)
        if self._all_threads:
            raise ValueError(
                f"{type(self).__name__} overrides {names}, so it records through "
                "sys.setprofile/sys.settrace, which reach only the enabling thread "
                "and the threads started while it is enabled: all_threads=True "
                "needs the native path"
            )
        if self.timed:
            raise ValueError(
                f"{type(self).__name__} overrides {names}, so it records through "
                "Python, which cannot read the native clock of timed records: "
                "leave timed out (or use a recorder that does not need time)"
            )

    @property
    def _index(self):
        """The next record index (the original pikos' attribute, read by
        ``gather_info``); one counter for the native and the Python-level
        path."""
        return self._hook.index

    @_index.setter
    def _index(self, value):
        self._hook.index = value

    @property
    def python_level(self):
        """Whether the running session (else the next one) records through
        the Python-level path: the monitor overrides ``gather_info``,
        ``on_function_event`` or ``on_line_event`` (docs/extending.md)."""
        if self._python is not None:
            return True
        return bool(overrides_extension_points(self))

    def _new_hook(self):
        return _native.Hook(self._kind)

    @staticmethod
    def _needs_timed(recorder):
        return builtin(recorder) is not None and recorder._pikos_needs_timed

    def _choose_timed(self, recorder, timed):
        """Record time and thread when ``timed`` is true, or when it is None
        and the recorder needs them (speedscope, Chrome trace, collapsed
        stacks: function monitors only, which ``__init__`` checks)."""
        # Line monitors with such a recorder: __init__ says what is wrong.
        needs = self._needs_timed(recorder) and KINDS[type(self)._kind].function
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
        return is_timed(self._kind)

    def _hook_new_thread(self):
        # Called by the threading slot's bootstrap in a thread started while
        # enabled, at its first event, which the slot then hands over.
        self._note_thread()
        if self._python is not None:
            self._python.install_thread()
        else:
            self._hook.install_thread()

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
    def all_threads(self):
        """Whether the monitor also covers the threads already running when
        it is enabled (else only the enabling thread and the threads started
        while it is enabled)."""
        return self._all_threads

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
        if self._all_threads:
            note_all_threads(self._thread_names)
        if self._threading_slot is _TRACE_SLOT:  # before the recorder starts
            # PIKOS_HOOK, read natively (os.environ is Python code that an
            # enclosing monitor would record).
            self._hook.set_backend()
        record_type = self._record_type
        overridden = overrides_extension_points(self)
        self._check_python_path(overridden)
        native_ok = not overridden and (
            record_type is self._default_record or record_type is tuple
        )
        if self._builtin is not None:
            sink = self._builtin._pikos_prepare(record_type, self._kind, native_ok)
        else:
            self._recorder.prepare(record_type)
            sink = None
        # The recorder was started: a failed install closes it (its output
        # stays valid).
        if overridden:
            self._install_python(self._recorder.finalize)
        elif sink is not None:
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
        trace = self._threading_slot is _TRACE_SLOT
        owner = sys.gettrace() if trace else sys.getprofile()
        statistics = "stats" in target
        if (
            owner is not None
            and not isinstance(owner, _native.ThreadHook)
            and self._hook.takes_thread_hook(statistics, self._all_threads)
        ):
            # Said before the hook is ours: the warning machinery is Python
            # code, which this monitor would record.  (Warnings made errors
            # stop the enable here, with the recorder closed.)
            try:
                self._warn_taken(owner, "trace" if trace else "profile")
            except BaseException:
                undo()
                raise
        self._threading_slot.push(self._start_thread)
        ENABLED[id(self)] = weakref.ref(self)
        try:
            self._hook.install(all_threads=self._all_threads, **target)
        except BaseException:
            self._threading_slot.remove(self._start_thread)
            ENABLED.pop(id(self), None)
            undo()
            raise

    def _install_python(self, undo):
        """Start a session on the Python-level path: a ``sys.setprofile``/
        ``sys.settrace`` function calling ``on_function_event``/
        ``on_line_event``; if that fails, call ``undo`` and raise."""
        trace = self._threading_slot is _TRACE_SLOT
        session = PythonSession(self, trace)
        owner = session.owner()
        if owner is not None:
            try:
                self._warn_taken(owner, "trace" if trace else "profile")
            except BaseException:
                undo()
                raise
        self._python = session
        self._threading_slot.push(self._start_thread)
        ENABLED[id(self)] = weakref.ref(self)
        session.install()

    def _warn_taken(self, owner, kind):
        name = type(self).__name__
        hint = (
            " (on Python 3.12+ a line monitor runs beside it on sys.monitoring "
            "when a tool id is free: unset PIKOS_HOOK)"
            if kind == "trace" and sys.version_info >= (3, 12)
            else ""
        )
        warnings.warn(
            f"{name}: this thread's {kind} hook belongs to {describe_hook(owner)}; "
            f"pikos takes it over until the monitor is disabled, and puts it back "
            f"exactly then: {describe_hook(owner)} sees no events meanwhile{hint}",
            HookTakenWarning,
            stacklevel=_outside_pikos(),
        )

    def _stop_in_child(self):
        self._depth = 0
        if self._python is not None:
            self._python, session = None, self._python
            session.uninstall()
        else:
            self._hook.uninstall()
        self._threading_slot.remove(self._start_thread)
        if self._builtin is not None:
            self._builtin._pikos_forget_after_fork()

    def leave_thread(self):
        """Stop recording on the calling thread only; the other covered
        threads go on until :meth:`disable`.  (``pikos-run`` calls this when
        the script's main code is done and it waits for its threads.)"""
        if self._depth:
            if self._python is not None:
                self._python.leave_thread()
            else:
                self._hook.leave_thread()

    def disable(self):
        """Remove the hook and finalize the recorder (outermost call only)."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth:
            return
        # Removing the hook is the first thing disable does.
        if self._python is not None:
            self._python.uninstall()
        else:
            self._hook.uninstall()
        ENABLED.pop(id(self), None)
        self._threading_slot.remove(self._start_thread)
        self._finish()

    @property
    def error(self):
        """The error that stopped the last session early, or None.

        A failure while recording (the recorder raised, its file could not be
        written, an internal error) never reaches the program: the monitor
        stops recording on every thread, puts the previous hook back, reports
        the error once through :func:`sys.unraisablehook`, and keeps it here.
        """
        return self._error

    def _finish(self):
        """The end of a session, the hook removed: finalize the recorder
        (telling the recorders that name threads which ones ran)."""
        python, self._python = self._python, None
        self._error = self._hook.take_error() if python is None else python.error
        if self._builtin is not None:
            self._builtin._pikos_thread_names(dict(self._thread_names))
        self._finalize_recorder()

    def _finalize_recorder(self):
        """Finalize the recorder.  A built-in recorder that cannot write its
        last records (a full disk at the last batch) stopped recording like
        one that fails midway, and is reported the same way, whenever the
        writer meets the fault: kept in ``error`` and reported once through
        :func:`sys.unraisablehook`, never raised into the program."""
        if self._builtin is None:
            self._recorder.finalize()
            return
        error = self._builtin._pikos_finalize()
        if error is None:
            return
        error.add_note(
            f"pikos could not write the last records of {type(self).__name__} "
            f"-> {type(self._recorder).__name__}; the program goes on, and the "
            "records written before are kept"
        )
        if self._error is None:
            self._error = error
        _native.report_unraisable(error, self._hook)


class MemoryHookMonitor(HookMonitor):
    """A hook monitor that reads the process's memory at each event.

    ``memory_interval`` (microseconds) trades resolution for speed: a reading
    is reused until it is older than the interval.  The default (None, like
    0) reads fresh memory at every event.
    """

    def __init__(self, recorder, record_type=None, *, memory_interval=None, **options):
        self._memory_interval = check_memory_interval(memory_interval)
        self._last_memory = None  # (when, (rss, vms)) of the Python-level path
        super().__init__(recorder, record_type, **options)

    def _read_memory(self):
        """``(rss, vms)`` in bytes for the Python-level path, read now, or
        the last reading while it is younger than ``memory_interval``."""
        interval = self._memory_interval
        if not interval:
            return _native.memory_info()
        now = time.monotonic()
        last = self._last_memory
        if last is None or (now - last[0]) * 1e6 >= interval:
            last = self._last_memory = (now, _native.memory_info())
        return last[1]

    @property
    def memory_interval(self):
        """Microseconds a memory reading is reused for (None: never)."""
        return self._memory_interval

    def _new_hook(self):
        return _native.Hook(self._kind, self._memory_interval)
