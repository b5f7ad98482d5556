"""Record memory on Python line events of chosen functions only."""

from pikos.monitors.focused_line_mixin import FocusedLineMixin
from pikos.monitors.line_memory_monitor import LineMemoryMonitor

__all__ = ["FocusedLineMemoryMonitor"]


class FocusedLineMemoryMonitor(FocusedLineMixin, LineMemoryMonitor):
    """Like :class:`~pikos.monitors.focused_line_monitor.FocusedLineMonitor`,
    with the process's ``RSS`` and ``VMS`` in bytes before each line.

    Parameters
    ----------
    recorder : a recorder (an object with prepare, record and finalize).
    record_type : the record class; default as for :class:`LineMemoryMonitor`.
    functions : the functions to focus on (keyword only): functions, bound
        or unbound methods, decorated functions (unwrapped through
        ``__wrapped__``) or code objects.  See
        :class:`~pikos.monitors.focus.FunctionSet`.
    timed : as for :class:`LineMemoryMonitor` (keyword only).
    memory_interval : microseconds a memory reading may be reused for;
        None (the default) reads fresh memory at every event.
    """
