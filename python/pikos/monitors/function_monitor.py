"""Record Python function events."""

from pikos.monitors.hook_monitor import HookMonitor
from pikos.monitors.records import FunctionRecord

__all__ = ["FunctionMonitor", "FunctionRecord"]


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
    record_type : the record class; default :class:`FunctionRecord`.
        ``tuple`` gives plain tuples.
    """

    _kind = "function"
