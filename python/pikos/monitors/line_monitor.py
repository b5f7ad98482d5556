"""Record Python line events."""

from pikos.monitors.hook_monitor import HookMonitor
from pikos.monitors.records import LineRecord

__all__ = ["LineMonitor", "LineRecord"]


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
    record_type : the record class; default :class:`LineRecord`.
    all_threads : also cover the threads already running when the monitor is
        enabled (keyword only).  False (the default), as the original pikos:
        the enabling thread and the threads started while it is enabled.
    """

    _kind = "line"
