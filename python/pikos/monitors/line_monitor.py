"""Record Python line events."""

from pikos.monitors.hook_monitor import HookMonitor
from pikos.monitors.records import LineRecord, TimedLineRecord

__all__ = ["LineMonitor", "LineRecord", "TimedLineRecord"]


class LineMonitor(HookMonitor):
    """Record each line about to run, as ``sys.settrace`` reports ``line``
    events, through a C-level trace hook.  Each record carries the source
    text (indentation kept, trailing whitespace stripped).

        >>> from pikos.recorders.api import ListRecorder
        >>> def f():
        ...     return 1
        >>> recorder = ListRecorder()
        >>> with LineMonitor(recorder):
        ...     _ = f()
        >>> [r.line.strip() for r in recorder.records if r.function == "f"]
        ['return 1']

    Parameters
    ----------
    recorder : a recorder (an object with prepare, record and finalize).
    record_type : the record class; default :class:`LineRecord`
        (:class:`TimedLineRecord` when timed).
    timed : keep each line's start time (nanoseconds, monotonic, from one
        origin per process) and thread (``threading.get_ident()``) in the
        record (keyword only; default False): the time a line took is the
        next record's time of the same thread minus its own.
    all_threads : also cover the threads already running when the monitor is
        enabled (keyword only).  False (the default), as the original pikos:
        the enabling thread and the threads started while it is enabled.
    """

    _kind = "line"

    def __init__(self, recorder, record_type=None, *, timed=False, all_threads=False):
        self._choose_timed(recorder, timed)
        super().__init__(recorder, record_type, all_threads=all_threads)
