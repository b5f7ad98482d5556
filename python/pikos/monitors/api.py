"""The monitors, by class name."""

from pikos.monitors.focused_function_memory_monitor import (
    FocusedFunctionMemoryMonitor,
)
from pikos.monitors.focused_function_monitor import FocusedFunctionMonitor
from pikos.monitors.focused_line_memory_monitor import FocusedLineMemoryMonitor
from pikos.monitors.focused_line_monitor import FocusedLineMonitor
from pikos.monitors.focused_monitor_attach import FocusedMonitorAttach
from pikos.monitors.function_memory_monitor import FunctionMemoryMonitor
from pikos.monitors.function_monitor import FunctionMonitor
from pikos.monitors.line_memory_monitor import LineMemoryMonitor
from pikos.monitors.line_monitor import LineMonitor
from pikos.monitors.line_stats_monitor import LineStatsMonitor
from pikos.monitors.monitor import Monitor
from pikos.monitors.monitor_attach import MonitorAttach
from pikos.monitors.stats_monitor import StatsMonitor

__all__ = [
    "Monitor",
    "FunctionMonitor",
    "LineMonitor",
    "FunctionMemoryMonitor",
    "LineMemoryMonitor",
    "FocusedFunctionMonitor",
    "FocusedLineMonitor",
    "FocusedFunctionMemoryMonitor",
    "FocusedLineMemoryMonitor",
    "StatsMonitor",
    "LineStatsMonitor",
    "MonitorAttach",
    "FocusedMonitorAttach",
]
