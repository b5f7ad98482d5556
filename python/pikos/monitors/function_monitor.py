"""Record Python function events."""

from pikos.monitors.hook_monitor import HookMonitor
from pikos.monitors.records import FunctionRecord, TimedFunctionRecord

__all__ = ["FunctionMonitor", "FunctionRecord", "TimedFunctionRecord"]


class FunctionMonitor(HookMonitor):
    """Record function events: ``call``, ``return``, ``c_call``, ``c_return``
    and ``c_exception``, exactly as ``sys.setprofile`` reports them, through a
    C-level profile hook.

        >>> from pikos.recorders.api import ListRecorder
        >>> recorder = ListRecorder()
        >>> with FunctionMonitor(recorder):
        ...     _ = len("abc")
        >>> [r.function for r in recorder.records]
        ['len', 'len']

    Parameters
    ----------
    recorder : a recorder (an object with prepare, record and finalize).
    record_type : the record class; default :class:`FunctionRecord`
        (:class:`TimedFunctionRecord` when timed).  ``tuple`` gives plain
        tuples.
    timed : keep each event's time (nanoseconds, monotonic) and thread
        (``threading.get_ident()``) in the record, for timelines and the
        speedscope, Chrome trace and collapsed-stack exports.  None (the
        default) turns it on for the recorders that need it.
    all_threads : also cover the threads already running when the monitor is
        enabled (keyword only).  False (the default), as the original pikos:
        the enabling thread and the threads started while it is enabled.
    """

    _kind = "function"

    def __init__(self, recorder, record_type=None, *, timed=None, all_threads=False):
        self._choose_timed(recorder, timed)
        super().__init__(recorder, record_type, all_threads=all_threads)
