"""The documented import surface for monitors, records, recorders, filters, api."""

import importlib

import pytest

DOCUMENTED = [
    ("pikos.api", "screen"),
    ("pikos.api", "textfile"),
    ("pikos.api", "csvfile"),
    ("pikos.api", "csv_file"),
    ("pikos.api", "function_monitor"),
    ("pikos.api", "monitor_functions"),
    ("pikos.api", "line_monitor"),
    ("pikos.api", "monitor_lines"),
    ("pikos.api", "function_memory_monitor"),
    ("pikos.api", "memory_on_functions"),
    ("pikos.api", "line_memory_monitor"),
    ("pikos.api", "memory_on_lines"),
    ("pikos.monitors.api", "FunctionMonitor"),
    ("pikos.monitors.api", "LineMonitor"),
    ("pikos.monitors.function_monitor", "FunctionMonitor"),
    ("pikos.monitors.line_monitor", "LineMonitor"),
    ("pikos.monitors.api", "FunctionMemoryMonitor"),
    ("pikos.monitors.api", "LineMemoryMonitor"),
    ("pikos.monitors.api", "FocusedFunctionMonitor"),
    ("pikos.monitors.api", "FocusedLineMonitor"),
    ("pikos.monitors.api", "FocusedFunctionMemoryMonitor"),
    ("pikos.monitors.api", "FocusedLineMemoryMonitor"),
    ("pikos.monitors.function_memory_monitor", "FunctionMemoryMonitor"),
    ("pikos.monitors.line_memory_monitor", "LineMemoryMonitor"),
    ("pikos.monitors.focused_function_monitor", "FocusedFunctionMonitor"),
    ("pikos.monitors.focused_line_monitor", "FocusedLineMonitor"),
    (
        "pikos.monitors.focused_function_memory_monitor",
        "FocusedFunctionMemoryMonitor",
    ),
    ("pikos.monitors.focused_line_memory_monitor", "FocusedLineMemoryMonitor"),
    ("pikos.monitors.records", "FunctionRecord"),
    ("pikos.monitors.records", "LineRecord"),
    ("pikos.monitors.records", "FunctionMemoryRecord"),
    ("pikos.monitors.records", "LineMemoryRecord"),
    ("pikos.monitors.records", "NO_SOURCE"),
    ("pikos.recorders.abstract_recorder", "AbstractRecorder"),
    ("pikos.recorders.abstract_recorder", "RecorderError"),
    ("pikos.recorders.list_recorder", "ListRecorder"),
    ("pikos.recorders.text_stream_recorder", "TextStreamRecorder"),
    ("pikos.recorders.text_file_recorder", "TextFileRecorder"),
    ("pikos.recorders.csv_recorder", "CSVRecorder"),
    ("pikos.recorders.csv_file_recorder", "CSVFileRecorder"),
    ("pikos.recorders.zeromq_recorder", "ZeroMQRecorder"),
    ("pikos.recorders.api", "ZeroMQRecorder"),
    ("pikos.monitors.api", "StatsMonitor"),
    ("pikos.monitors.stats_monitor", "StatsMonitor"),
    ("pikos.live", "subscribe"),
    ("pikos.filters.on_value", "OnValue"),
    ("pikos.filters.not_on_value", "NotOnValue"),
    ("pikos.filters.on_change", "OnChange"),
]

# (api module, name, defining module): the api must re-export the same object.
REEXPORTS = [
    ("pikos.recorders.api", "ZeroMQRecorder", "pikos.recorders.zeromq_recorder"),
    ("pikos.monitors.api", "StatsMonitor", "pikos.monitors.stats_monitor"),
    ("pikos.monitors.api", "FunctionMonitor", "pikos.monitors.function_monitor"),
    ("pikos.monitors.api", "LineMonitor", "pikos.monitors.line_monitor"),
    (
        "pikos.monitors.api",
        "FunctionMemoryMonitor",
        "pikos.monitors.function_memory_monitor",
    ),
    ("pikos.monitors.api", "LineMemoryMonitor", "pikos.monitors.line_memory_monitor"),
    (
        "pikos.monitors.api",
        "FocusedFunctionMonitor",
        "pikos.monitors.focused_function_monitor",
    ),
    (
        "pikos.monitors.api",
        "FocusedLineMonitor",
        "pikos.monitors.focused_line_monitor",
    ),
    (
        "pikos.monitors.api",
        "FocusedFunctionMemoryMonitor",
        "pikos.monitors.focused_function_memory_monitor",
    ),
    (
        "pikos.monitors.api",
        "FocusedLineMemoryMonitor",
        "pikos.monitors.focused_line_memory_monitor",
    ),
    ("pikos.recorders.api", "AbstractRecorder", "pikos.recorders.abstract_recorder"),
    ("pikos.recorders.api", "RecorderError", "pikos.recorders.abstract_recorder"),
    ("pikos.recorders.api", "ListRecorder", "pikos.recorders.list_recorder"),
    (
        "pikos.recorders.api",
        "TextStreamRecorder",
        "pikos.recorders.text_stream_recorder",
    ),
    ("pikos.recorders.api", "TextFileRecorder", "pikos.recorders.text_file_recorder"),
    ("pikos.recorders.api", "CSVRecorder", "pikos.recorders.csv_recorder"),
    ("pikos.recorders.api", "CSVFileRecorder", "pikos.recorders.csv_file_recorder"),
    ("pikos.filters.api", "OnValue", "pikos.filters.on_value"),
    ("pikos.filters.api", "NotOnValue", "pikos.filters.not_on_value"),
    ("pikos.filters.api", "OnChange", "pikos.filters.on_change"),
]


@pytest.mark.parametrize(("module", "name"), DOCUMENTED)
def test_documented_name_is_importable(module, name):
    assert getattr(importlib.import_module(module), name) is not None


@pytest.mark.parametrize(("api", "name", "home"), REEXPORTS)
def test_api_module_reexports_the_same_object(api, name, home):
    exported = getattr(importlib.import_module(api), name)
    assert exported is getattr(importlib.import_module(home), name)


def test_recorder_error_is_an_exception():
    from pikos.recorders.abstract_recorder import RecorderError

    assert issubclass(RecorderError, Exception)


def test_version_is_the_installed_one(capsys):
    from importlib.metadata import version

    import pikos
    from pikos.cli import main

    assert pikos.__version__ == version("pikos")
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"pikos {version('pikos')}\n"
