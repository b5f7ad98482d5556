"""Record Python line events."""

import linecache

from pikos.monitors.hook_monitor import HookMonitor
from pikos.monitors.records import (
    LINE_RECORD,
    LINE_RECORD_TEMPLATE,
    NO_SOURCE,
    LineRecord,
    TimedLineRecord,
)

# LINE_RECORD and LINE_RECORD_TEMPLATE: where an early version of the
# original pikos defined them.
__all__ = [
    "LineMonitor",
    "LineRecord",
    "TimedLineRecord",
    "LINE_RECORD",
    "LINE_RECORD_TEMPLATE",
]


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

    def __init__(self, recorder, record_type=None, *, timed=False, **options):
        self._choose_timed(recorder, timed)
        super().__init__(recorder, record_type, **options)

    def on_line_event(self, frame, why, arg):
        """Record a ``line`` trace event (the original pikos' extension
        point); other events (``call``, ``return``, ``exception``) are not
        recorded.  Returns itself, the local trace function.

        Builds the record from :meth:`gather_info`'s values (``record_type``
        of them, or the plain tuple), gives it to the recorder and moves the
        index on.  A subclass that overrides this method or
        :meth:`gather_info` is fed by a Python-level ``sys.settrace``
        function calling it for each event (slower; docs/extending.md);
        it may also be called directly with a frame, an event name and an
        argument.
        """
        if why == "line":
            values = self.gather_info(frame)
            record_type = self._record_type
            self._recorder.record(
                values if record_type is tuple else record_type(*values)
            )
            self._index += 1
        return self.on_line_event

    def gather_info(self, frame):
        """The values of the record of the line ``frame`` is about to run,
        as a tuple in the order of :class:`LineRecord`: ``(index, function,
        lineNo, line, filename)``, the source text right-stripped."""
        return gather_line(self, frame)


def source_line(frame):
    """The source text of the line ``frame`` is at, indentation kept and
    trailing whitespace stripped; a placeholder without source."""
    code = frame.f_code
    line_no = frame.f_lineno
    lines = linecache.getlines(code.co_filename, frame.f_globals)
    if line_no is None or not 0 < line_no <= len(lines):
        return NO_SOURCE
    return lines[line_no - 1].rstrip()


def check_untimed(monitor):
    """Timed records need the native clock: not on the Python-level path."""
    if monitor.timed:
        raise ValueError(
            f"{type(monitor).__name__} records time and thread (timed=True), "
            "which the Python-level path cannot read: leave timed out when "
            "overriding gather_info or on_line_event"
        )


def gather_line(monitor, frame):
    """``LineMonitor.gather_info``'s values (shared by the memory kind)."""
    check_untimed(monitor)
    code = frame.f_code
    return (
        monitor._index,
        code.co_name,
        frame.f_lineno,
        source_line(frame),
        code.co_filename,
    )
