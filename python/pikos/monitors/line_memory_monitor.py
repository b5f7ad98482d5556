"""Record the process's memory on Python line events."""

from pikos.monitors.hook_monitor import MemoryHookMonitor
from pikos.monitors.records import LineMemoryRecord, TimedLineMemoryRecord

__all__ = ["LineMemoryMonitor", "LineMemoryRecord", "TimedLineMemoryRecord"]


class LineMemoryMonitor(MemoryHookMonitor):
    """Like :class:`~pikos.monitors.line_monitor.LineMonitor`, with the
    process's resident (``RSS``) and virtual (``VMS``) size in bytes read
    before each line runs.

    Parameters
    ----------
    recorder : a recorder (an object with prepare, record and finalize).
    record_type : the record class; default :class:`LineMemoryRecord`
        (:class:`TimedLineMemoryRecord` when timed).
    memory_interval : microseconds a memory reading may be reused for, to
        trade resolution for speed on long runs; None (the default) or 0
        reads fresh memory at every event.
    timed : as for :class:`~pikos.monitors.line_monitor.LineMonitor`
        (records are then :class:`TimedLineMemoryRecord`).
    all_threads : also cover the threads already running when the monitor is
        enabled (keyword only).  False (the default), as the original pikos:
        the enabling thread and the threads started while it is enabled.
    """

    _kind = "line_memory"

    def __init__(
        self,
        recorder,
        record_type=None,
        *,
        memory_interval=None,
        timed=False,
        all_threads=False,
    ):
        self._choose_timed(recorder, timed)
        super().__init__(
            recorder,
            record_type,
            memory_interval=memory_interval,
            all_threads=all_threads,
        )
