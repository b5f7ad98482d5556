"""Exceptions raised by pikos."""


class PikosError(Exception):
    """Base class of pikos' own errors."""


class RecorderError(PikosError):
    """A recorder was used out of order (record or finalize before prepare)."""


class HookTakenWarning(RuntimeWarning):
    """A monitor took over a thread's profile or trace hook from another tool
    (a debugger, coverage.py, another profiler): that tool sees no events
    until the monitor is disabled, when its hook is put back exactly."""
