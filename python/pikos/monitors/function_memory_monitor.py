"""Record the process's memory on Python function events."""

from pikos.monitors.function_monitor import FunctionMonitor, gather_function
from pikos.monitors.hook_monitor import MemoryHookMonitor
from pikos.monitors.records import FunctionMemoryRecord, TimedFunctionMemoryRecord

__all__ = [
    "FunctionMemoryMonitor",
    "FunctionMemoryRecord",
    "TimedFunctionMemoryRecord",
]


class FunctionMemoryMonitor(MemoryHookMonitor, FunctionMonitor):
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
    timed : as for :class:`~pikos.monitors.function_monitor.FunctionMonitor`
        (records are then :class:`TimedFunctionMemoryRecord`).
    all_threads : also cover the threads already running when the monitor is
        enabled (keyword only).  False (the default), as the original pikos:
        the enabling thread and the threads started while it is enabled.
    """

    _kind = "function_memory"

    def __init__(
        self,
        recorder,
        record_type=None,
        *,
        memory_interval=None,
        timed=None,
        all_threads=False,
    ):
        super().__init__(
            recorder,
            record_type,
            memory_interval=memory_interval,
            timed=timed,
            all_threads=all_threads,
        )

    def gather_info(self, frame, event, arg):
        """The values of one function event's record, as a tuple in the
        order of :class:`FunctionMemoryRecord`: ``(index, type, function,
        RSS, VMS, lineNo, filename)``, the memory read now."""
        index, event, function, line_no, filename = gather_function(
            self, frame, event, arg
        )
        rss, vms = self._read_memory()
        return (index, event, function, rss, vms, line_no, filename)
