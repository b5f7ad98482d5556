"""``FocusedFunctionMixin``: the original pikos' base of the focused function
monitors, combined with a function monitor as its documentation shows::

    class MyFocusedMonitor(FocusedFunctionMixin, FunctionMonitor):
        pass

    monitor = MyFocusedMonitor(recorder, functions=[work])
"""

import sys
import threading

from pikos._internal.keep_track import KeepTrack
from pikos.monitors.focus import FocusedMixin

__all__ = ["FocusedFunctionMixin"]


class FocusedFunctionMixin(FocusedMixin):
    """Makes a function monitor record only while a focused function runs:
    from the ``call`` of a function in ``functions`` to its matching
    ``return``, everything in between (callees, builtins, recursion), on
    each thread separately.

    Public
    ------
    functions : FunctionSet
        The functions (methods, code objects) inside which recording takes
        place (keyword ``functions=`` of the constructor).

    Private
    -------
    _code_trackers : dict
        For the calling thread, code object -> :class:`KeepTrack` of each
        focused function running now (its depth of recursion); empty
        outside the focus.  On the native path the depth is kept by the
        hook and this is a snapshot made from the thread's stack; on the
        Python-level path (docs/extending.md) it is the dict
        :meth:`on_function_event` keeps.
    """

    def __init__(self, *arguments, **keywords):
        super().__init__(*arguments, **keywords)
        self._focus_local = threading.local()

    @property
    def _code_trackers(self):
        if self._depth and self._python is None:
            return self._stack_trackers()
        local = self._focus_local
        trackers = getattr(local, "trackers", None)
        if trackers is None:
            trackers = local.trackers = {}
        return trackers

    def _stack_trackers(self):
        """code -> KeepTrack of the focused frames on this thread's stack."""
        trackers = {}
        frame = sys._getframe(1)
        while frame is not None:
            code = frame.f_code
            if code in self._functions:
                trackers.setdefault(code, KeepTrack())("ping")
            frame = frame.f_back
        return trackers

    def _install_python(self, undo):
        # Each session starts outside the focus on every thread.
        self._focus_local = threading.local()
        super()._install_python(undo)

    def on_function_event(self, frame, event, arg):
        """Record the function event when it is inside the focus (the
        original pikos' extension point, per thread): a ``call`` of a
        focused function opens a level of its tracker, its ``return`` (the
        last event recorded) closes it."""
        code = frame.f_code
        trackers = self._code_trackers
        if code in self._functions:
            if event == "call":
                trackers.setdefault(code, KeepTrack())("ping")
            elif event == "return":
                tracker = trackers.get(code)
                if not tracker:
                    return  # its call was before the monitor started
                super().on_function_event(frame, event, arg)
                tracker("pong")
                if not tracker:
                    del trackers[code]
                return
        if any(trackers.values()):
            super().on_function_event(frame, event, arg)
