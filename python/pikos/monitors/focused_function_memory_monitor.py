"""Record memory on Python function events inside chosen functions only."""

from pikos.monitors.focused_function_mixin import FocusedFunctionMixin
from pikos.monitors.function_memory_monitor import FunctionMemoryMonitor

__all__ = ["FocusedFunctionMemoryMonitor"]


class FocusedFunctionMemoryMonitor(FocusedFunctionMixin, FunctionMemoryMonitor):
    """Like :class:`~pikos.monitors.focused_function_monitor.FocusedFunctionMonitor`,
    with the process's ``RSS`` and ``VMS`` in bytes at each event.

    Parameters
    ----------
    recorder : a recorder (an object with prepare, record and finalize).
    record_type : the record class; default as for :class:`FunctionMemoryMonitor`.
    functions : the functions to focus on (keyword only): functions, bound
        or unbound methods, decorated functions (unwrapped through
        ``__wrapped__``) or code objects.  See
        :class:`~pikos.monitors.focus.FunctionSet`.
    memory_interval : microseconds a memory reading may be reused for;
        None (the default) reads fresh memory at every event.
    """
