"""Record Python function events."""

from pikos.monitors.hook_monitor import HookMonitor
from pikos.monitors.records import (
    FUNCTION_RECORD,
    FUNCTION_RECORD_TEMPLATE,
    FunctionRecord,
    TimedFunctionRecord,
)

# FUNCTION_RECORD and FUNCTION_RECORD_TEMPLATE: where an early version of
# the original pikos defined them.
__all__ = [
    "FunctionMonitor",
    "FunctionRecord",
    "TimedFunctionRecord",
    "FUNCTION_RECORD",
    "FUNCTION_RECORD_TEMPLATE",
]


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

    def __init__(self, recorder, record_type=None, *, timed=None, **options):
        self._choose_timed(recorder, timed)
        super().__init__(recorder, record_type, **options)

    def on_function_event(self, frame, event, arg):
        """Record one function event (the original pikos' extension point).

        Builds the record from :meth:`gather_info`'s values (``record_type``
        of them, or the plain tuple), gives it to the recorder and moves the
        index on.  A subclass that overrides this method or
        :meth:`gather_info` is fed by a Python-level ``sys.setprofile``
        function calling it for each event (slower; docs/extending.md);
        it may also be called directly with a frame, an event name and the
        profile function's ``arg``.
        """
        values = self.gather_info(frame, event, arg)
        record_type = self._record_type
        self._recorder.record(values if record_type is tuple else record_type(*values))
        self._index += 1

    def gather_info(self, frame, event, arg):
        """The values of one function event's record, as a tuple in the
        order of :class:`FunctionRecord`: ``(index, type, function, lineNo,
        filename)``, the builtin's name for ``c_*`` events (``arg``)."""
        return gather_function(self, frame, event, arg)


def gather_function(monitor, frame, event, arg):
    """``FunctionMonitor.gather_info``'s values (shared by the memory kind)."""
    if monitor.timed:
        raise ValueError(
            f"{type(monitor).__name__} records time and thread (timed=True), "
            "which the Python-level path cannot read: leave timed out when "
            "overriding gather_info or on_function_event"
        )
    code = frame.f_code
    if event.startswith("c_"):
        name = getattr(arg, "__name__", None)
        function = name if isinstance(name, str) else repr(arg)
    else:
        function = code.co_name
    return (monitor._index, event, function, frame.f_lineno, code.co_filename)
