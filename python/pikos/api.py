"""Shortcuts: recorder factories and monitor decorator factories.

>>> from pikos.api import function_monitor, csvfile
>>> @function_monitor(recorder=csvfile("work.csv"), focused=True)
... def work(n):
...     return sum(range(n))
"""

import sys

from pikos.monitors.api import (
    FocusedFunctionMemoryMonitor,
    FocusedFunctionMonitor,
    FocusedLineMemoryMonitor,
    FocusedLineMonitor,
    FunctionMemoryMonitor,
    FunctionMonitor,
    LineMemoryMonitor,
    LineMonitor,
)
from pikos.monitors.focus import FunctionSet
from pikos.monitors.focused_monitor_attach import FocusedMonitorAttach
from pikos.monitors.hook_monitor import MemoryHookMonitor, check_memory_interval
from pikos.monitors.monitor_attach import MonitorAttach
from pikos.recorders.csv_file_recorder import CSVFileRecorder
from pikos.recorders.text_file_recorder import TextFileRecorder
from pikos.recorders.text_stream_recorder import TextStreamRecorder

__all__ = [
    "screen",
    "textfile",
    "csvfile",
    "csv_file",
    "function_monitor",
    "monitor_functions",
    "line_monitor",
    "monitor_lines",
    "function_memory_monitor",
    "memory_on_functions",
    "line_memory_monitor",
    "memory_on_lines",
]


def screen(filter_=None):
    """Formatted records on the current ``sys.stdout``, flushed per record."""
    return TextStreamRecorder(
        sys.stdout, filter_=filter_, formatted=True, auto_flush=True
    )


def textfile(filename="monitor_records.log", filter_=None):
    """Formatted records in a text file."""
    return TextFileRecorder(filename, filter_=filter_, formatted=True)


def csvfile(filename="monitor_records.csv", filter_=None):
    """Records as CSV rows in a file."""
    return CSVFileRecorder(filename, filter_=filter_)


csv_file = csvfile


def _factory(monitor_class, focused_class, name):
    def make(recorder, focus_on, focused, options):
        # Resolved now, so that a bad function fails here.
        focus = None if focus_on is None else list(FunctionSet(focus_on))
        chosen = screen() if recorder is None else recorder
        if focus is None and not focused:
            return MonitorAttach(monitor_class(chosen, **options))
        monitor = focused_class(chosen, functions=focus or (), **options)
        return FocusedMonitorAttach(monitor, include_decorated=focused)

    if issubclass(monitor_class, MemoryHookMonitor):

        def factory(recorder=None, focus_on=None, focused=False, memory_interval=None):
            interval = check_memory_interval(memory_interval)
            return make(recorder, focus_on, focused, {"memory_interval": interval})

        extra = ", memory_interval=None"
    else:

        def factory(recorder=None, focus_on=None, focused=False):
            return make(recorder, focus_on, focused, {})

        extra = ""

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (
        f"Decorator factory ``{name}(recorder=None, focus_on=None, "
        f"focused=False{extra})``: monitor the decorated function with a "
        f"{monitor_class.__name__} writing to ``recorder`` (default "
        f":func:`screen`).  ``focus_on=[...]`` uses a "
        f"{focused_class.__name__} on those functions instead; "
        f"``focused=True`` focuses on the decorated function itself.  "
        f"Returns a MonitorAttach (FocusedMonitorAttach when focused) holding "
        f"the monitor as ``_monitor_object``: every function it decorates "
        f"shares that monitor and recorder."
    )
    return factory


function_monitor = monitor_functions = _factory(
    FunctionMonitor, FocusedFunctionMonitor, "function_monitor"
)
line_monitor = monitor_lines = _factory(LineMonitor, FocusedLineMonitor, "line_monitor")
function_memory_monitor = memory_on_functions = _factory(
    FunctionMemoryMonitor, FocusedFunctionMemoryMonitor, "function_memory_monitor"
)
line_memory_monitor = memory_on_lines = _factory(
    LineMemoryMonitor, FocusedLineMemoryMonitor, "line_memory_monitor"
)
