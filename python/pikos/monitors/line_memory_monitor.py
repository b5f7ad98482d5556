"""Record the process's memory on Python line events."""

from pikos.monitors.hook_monitor import HookMonitor
from pikos.monitors.records import LineMemoryRecord

__all__ = ["LineMemoryMonitor", "LineMemoryRecord"]


class LineMemoryMonitor(HookMonitor):
    """Like :class:`~pikos.monitors.line_monitor.LineMonitor`, with the
    process's resident (``RSS``) and virtual (``VMS``) size in bytes read
    before each line runs.

    Parameters
    ----------
    recorder : a recorder (an object with prepare, record and finalize).
    record_type : the record class; default :class:`LineMemoryRecord`.
    """

    _kind = "line_memory"
