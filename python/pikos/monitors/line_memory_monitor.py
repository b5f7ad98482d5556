"""Record the process's memory on Python line events."""

from pikos.monitors.hook_monitor import MemoryHookMonitor
from pikos.monitors.line_monitor import LineMonitor, check_untimed, source_line
from pikos.monitors.records import LineMemoryRecord, TimedLineMemoryRecord

__all__ = ["LineMemoryMonitor", "LineMemoryRecord", "TimedLineMemoryRecord"]


class LineMemoryMonitor(MemoryHookMonitor, LineMonitor):
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
        # LineMonitor.__init__ (next after MemoryHookMonitor) chooses timed.
        super().__init__(
            recorder,
            record_type,
            memory_interval=memory_interval,
            timed=timed,
            all_threads=all_threads,
        )

    def gather_info(self, frame):
        """The values of the record of the line ``frame`` is about to run,
        as a tuple in the order of :class:`LineMemoryRecord`: ``(index,
        function, lineNo, RSS, VMS, line, filename)``, the memory read now."""
        check_untimed(self)
        code = frame.f_code
        rss, vms = self._read_memory()
        return (
            self._index,
            code.co_name,
            frame.f_lineno,
            rss,
            vms,
            source_line(frame),
            code.co_filename,
        )
