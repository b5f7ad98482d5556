"""Record the process's memory on Python function events."""

from pikos.monitors.hook_monitor import HookMonitor
from pikos.monitors.records import FunctionMemoryRecord

__all__ = ["FunctionMemoryMonitor", "FunctionMemoryRecord"]


class FunctionMemoryMonitor(HookMonitor):
    """Like :class:`~pikos.monitors.function_monitor.FunctionMonitor`, with
    the process's resident (``RSS``) and virtual (``VMS``) size in bytes read
    at each event.

    Parameters
    ----------
    recorder : a recorder (an object with prepare, record and finalize).
    record_type : the record class; default :class:`FunctionMemoryRecord`.
    """

    _kind = "function_memory"
