"""Record Python line events of chosen functions only."""

from pikos.monitors.focused_line_mixin import FocusedLineMixin
from pikos.monitors.line_monitor import LineMonitor

__all__ = ["FocusedLineMonitor"]


class FocusedLineMonitor(FocusedLineMixin, LineMonitor):
    """Record only the lines of the focused functions' own frames (not
    the lines of what they call).

    Parameters
    ----------
    recorder : a recorder (an object with prepare, record and finalize).
    record_type : the record class; default as for :class:`LineMonitor`.
    functions : the functions to focus on (keyword only): functions, bound
        or unbound methods, decorated functions (unwrapped through
        ``__wrapped__``) or code objects.  See
        :class:`~pikos.monitors.focus.FunctionSet`.
    timed : as for :class:`LineMonitor` (keyword only).
    """
