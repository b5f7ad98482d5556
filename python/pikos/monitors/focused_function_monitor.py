"""Record Python function events inside chosen functions only."""

from pikos.monitors.focused_function_mixin import FocusedFunctionMixin
from pikos.monitors.function_monitor import FunctionMonitor

__all__ = ["FocusedFunctionMonitor"]


class FocusedFunctionMonitor(FocusedFunctionMixin, FunctionMonitor):
    """Record function events only while a focused function runs.

    The window opens at the ``call`` of a focused function and closes at its
    matching ``return``; everything in between is recorded (callees,
    builtins, recursion), and nothing outside.  Focus is tracked per thread::

        >>> from pikos.recorders.api import ListRecorder
        >>> def inner():
        ...     return len([1])
        >>> def work():
        ...     return inner()
        >>> recorder = ListRecorder()
        >>> with FocusedFunctionMonitor(recorder, functions=[work]):
        ...     _ = inner()  # outside the focus: not recorded
        ...     _ = work()
        >>> [r.function for r in recorder.records]
        ['work', 'inner', 'len', 'len', 'inner', 'work']

    Parameters
    ----------
    recorder : a recorder (an object with prepare, record and finalize).
    record_type : the record class; default as for :class:`FunctionMonitor`.
    functions : the functions to focus on (keyword only): functions, bound
        or unbound methods, decorated functions (unwrapped through
        ``__wrapped__``) or code objects.  See
        :class:`~pikos.monitors.focus.FunctionSet`.
    """
