"""Shortcuts: recorder factories and monitor decorator factories.

>>> from pikos.api import function_monitor, csvfile
>>> @function_monitor(recorder=csvfile("work.csv"))
... def work(n):
...     return sum(range(n))
"""

import sys

from pikos.monitors.function_memory_monitor import FunctionMemoryMonitor
from pikos.monitors.function_monitor import FunctionMonitor
from pikos.monitors.line_memory_monitor import LineMemoryMonitor
from pikos.monitors.line_monitor import LineMonitor
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


def _factory(monitor_class, name):
    def factory(recorder=None, focus_on=None, focused=False):
        if focus_on is not None or focused:
            raise NotImplementedError(
                f"{name}(focus_on=..., focused=...): focused monitors are not "
                "available in this version of pikos"
            )

        def decorator(function):
            monitor = monitor_class(screen() if recorder is None else recorder)
            return monitor.attach(function)

        return decorator

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (
        f"Decorator factory: monitor the decorated function with a "
        f"{monitor_class.__name__} writing to ``recorder`` (default "
        f":func:`screen`)."
    )
    return factory


function_monitor = monitor_functions = _factory(FunctionMonitor, "function_monitor")
line_monitor = monitor_lines = _factory(LineMonitor, "line_monitor")
function_memory_monitor = memory_on_functions = _factory(
    FunctionMemoryMonitor, "function_memory_monitor"
)
line_memory_monitor = memory_on_lines = _factory(
    LineMemoryMonitor, "line_memory_monitor"
)
