"""The Python-level path of the built-in monitors (docs/extending.md).

A monitor whose class (or instance) replaces one of the original pikos'
extension points, ``gather_info``, ``on_function_event`` or
``on_line_event``, gets its records from its own methods: instead of the
native hook, a plain ``sys.setprofile``/``sys.settrace`` function calls
``on_function_event(frame, event, arg)`` / ``on_line_event(frame, why,
arg)`` for each event, as the original pikos did.  Everyone else keeps the
native hook, and pays nothing for this path's existence.

What the native hook guarantees holds here too: pikos' own frames are never
seen by the methods, the threads started while the monitor is enabled are
covered, the hook that was there before is put back at the end, and an
error in the methods or the recorder stops the recording (reported once
through :func:`sys.unraisablehook`, kept in ``monitor.error``) instead of
reaching the program.  Focus, record types, filters and recorders are the
methods' own business, as in the original: the default methods honour them.
"""

import _thread
import sys

from pikos import _OWN_PREFIX, _native

__all__ = ["EXTENSION_POINTS", "PythonSession", "overrides_extension_points"]

#: The methods whose replacement sends a monitor down the Python-level path.
EXTENSION_POINTS = ("gather_info", "on_function_event", "on_line_event")


def _is_pikos_own(method):
    function = getattr(method, "__func__", method)
    code = getattr(function, "__code__", None)
    return code is not None and code.co_filename.startswith(_OWN_PREFIX)


def overrides_extension_points(monitor):
    """The names of the extension points that ``monitor`` (its class or the
    instance itself) replaces with code that is not pikos' own."""
    return [
        name
        for name in EXTENSION_POINTS
        if (method := getattr(monitor, name, None)) is not None
        and not _is_pikos_own(method)
    ]


class PythonSession:
    """One session (outermost ``enable`` to ``disable``) of a monitor on the
    Python-level path.  ``trace`` chooses ``sys.settrace`` (line kinds) over
    ``sys.setprofile`` (function kinds)."""

    def __init__(self, monitor, trace):
        self._monitor = monitor
        self._trace = trace
        self._set = sys.settrace if trace else sys.setprofile
        self._get = sys.gettrace if trace else sys.getprofile
        self.active = True
        self.error = None
        #: thread ident -> the hook that thread had before this session
        self._previous = {}
        #: frames given this session's local trace function at enable
        self._frames = []
        handler = monitor.on_line_event if trace else monitor.on_function_event
        self._handler = handler
        own = _OWN_PREFIX
        session = self

        if trace:

            def local(frame, why, arg):
                if not session.active:
                    frame.f_trace = None
                    return None
                try:
                    result = handler(frame, why, arg)
                except Exception as error:
                    session.fail(error)
                    return None
                if result is None:
                    return None
                return local if result == handler else result

            def hook(frame, why, arg):
                if not session.active:
                    session._leave()
                    return None
                if frame.f_code.co_filename.startswith(own):
                    return None
                return local(frame, why, arg)

            self._local = local
        else:

            def hook(frame, event, arg):
                if not session.active:
                    session._leave()
                    return
                if frame.f_code.co_filename.startswith(own):
                    return
                try:
                    handler(frame, event, arg)
                except Exception as error:
                    session.fail(error)

        self.hook = hook

    def __repr__(self):
        label = (
            f"{type(self._monitor).__name__} -> {type(self._monitor.recorder).__name__}"
        )
        if self.error is not None:
            return (
                f"<pikos Python-level hook of {label}: it stopped recording after "
                "this error, and the program goes on>"
            )
        return f"<pikos Python-level hook of {label}>"

    def owner(self):
        """The hook this thread has now (checked for another tool's)."""
        return self._get()

    def install(self):
        """Put the hook on this thread, and for line kinds on the frames of
        its stack outside pikos, so the lines after ``enable`` (a ``with``
        block's) are recorded as the native hook records them."""
        self._previous[_thread.get_ident()] = self._get()
        self._set(self.hook)
        if self._trace:
            frame = sys._getframe(1)
            while frame is not None:
                if not frame.f_code.co_filename.startswith(_OWN_PREFIX):
                    if frame.f_trace is None:
                        frame.f_trace = self._local
                        self._frames.append(frame)
                frame = frame.f_back

    def install_thread(self):
        """Put the hook on a thread started while the session runs (called
        by the threading bootstrap at the thread's first event)."""
        if self.active:
            self._previous.setdefault(_thread.get_ident(), None)
            self._set(self.hook)

    def uninstall(self):
        """End the session: this thread gets its previous hook back now,
        every other thread at its next event."""
        self.active = False
        self._leave()
        for frame in self._frames:
            if frame.f_trace is self._local:
                frame.f_trace = None
        self._frames.clear()

    def leave_thread(self):
        """Take the hook off the calling thread only; the others go on."""
        self._leave()

    def _leave(self):
        # The previous hook stays referenced here after it is handed back:
        # another pikos monitor's hook (a ThreadHook) handed back through
        # sys.setprofile/settrace with no other reference crashed (seen on
        # 3.11 with the entry popped here).
        if self._get() is self.hook:
            self._set(self._previous.get(_thread.get_ident()))

    def fail(self, error):
        """An error in the monitor's methods or its recorder: stop recording
        on every thread, keep the error, report it once."""
        if not self.active:
            return
        self.active = False
        self.error = error
        self._leave()
        error.add_note(
            f"pikos stopped recording ({type(self._monitor).__name__} -> "
            f"{type(self._monitor.recorder).__name__}, on the Python-level path) "
            "after this error; the program goes on, and the records taken "
            "before it are kept"
        )
        _native.report_unraisable(error, self)
