"""Record the process's memory on Python function events."""

from pikos.monitors.hook_monitor import MemoryHookMonitor
from pikos.monitors.records import FunctionMemoryRecord

__all__ = ["FunctionMemoryMonitor", "FunctionMemoryRecord"]


class FunctionMemoryMonitor(MemoryHookMonitor):
    """Like :class:`~pikos.monitors.function_monitor.FunctionMonitor`, with
    the process's resident (``RSS``) and virtual (``VMS``) size in bytes read
    at each event.

    Parameters
    ----------
    recorder : a recorder (an object with prepare, record and finalize).
    record_type : the record class; default :class:`FunctionMemoryRecord`.
    memory_interval : microseconds a memory reading may be reused for, to
        trade resolution for speed on long runs; None (the default) or 0
        reads fresh memory at every event.
    """

    _kind = "function_memory"
