"""The monitors, by class name."""

from pikos.monitors.function_memory_monitor import FunctionMemoryMonitor
from pikos.monitors.function_monitor import FunctionMonitor
from pikos.monitors.line_memory_monitor import LineMemoryMonitor
from pikos.monitors.line_monitor import LineMonitor
from pikos.monitors.monitor import Monitor

__all__ = [
    "Monitor",
    "FunctionMonitor",
    "LineMonitor",
    "FunctionMemoryMonitor",
    "LineMemoryMonitor",
]
