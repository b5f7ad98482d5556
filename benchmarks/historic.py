"""The historic reference of the overhead benchmarks (run.py): the original
pikos (2012-2015), pure Python, rebuilt faithfully so that its ratio can be
measured beside today's.
"""

from __future__ import annotations

import csv
import inspect
import os
import sys
from collections import namedtuple
from pathlib import Path

from measurement import Context, MonitorTimer, Timer, Unavailable

# --- the historic reference: the original pikos, pure Python -----------------
#
# Faithful to pikos 2012-2015 (FunctionMonitor.on_function_event with a
# CSVFileRecorder): inspect.getframeinfo on every event, a namedtuple record,
# a recorder method with a filter test, and csv.writer.writerow.

HistoricFunctionRecord = namedtuple(
    "HistoricFunctionRecord", "index type function lineNo filename"
)


class HistoricCSVFileRecorder:
    def __init__(self, filename: Path, filter_=None) -> None:
        self._filename = filename
        self._filter = (lambda x: True) if filter_ is None else filter_
        self._file = None
        self._writer = None

    def prepare(self, record) -> None:
        self._file = open(self._filename, "w", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(record._fields)

    def finalize(self) -> None:
        self._file.close()

    def record(self, data) -> None:
        if self._filter(data):
            self._writer.writerow(data)


class HistoricFunctionMonitor:
    def __init__(self, recorder: HistoricCSVFileRecorder) -> None:
        self._recorder = recorder
        self._index = 0

    def __enter__(self) -> HistoricFunctionMonitor:
        self._recorder.prepare(HistoricFunctionRecord)
        sys.setprofile(self.on_function_event)
        return self

    def __exit__(self, *exc) -> None:
        sys.setprofile(None)
        self._recorder.finalize()

    def on_function_event(self, frame, event, arg) -> None:
        filename, lineno, function, _, _ = inspect.getframeinfo(frame, context=0)
        if event.startswith("c_"):
            function = arg.__name__
        record = HistoricFunctionRecord(self._index, event, function, lineno, filename)
        self._recorder.record(record)
        self._index += 1


def setup_historic_function_csv(ctx: Context) -> Timer:
    def make(path: Path):
        return HistoricFunctionMonitor(HistoricCSVFileRecorder(path))

    return MonitorTimer(make, "historic-function-csv", ctx.tmpdir)


# The original LineMemoryMonitor (pikos 2012-2015): a sys.settrace trace
# function that, on each line event, reads the memory through psutil, the
# frame through inspect.getframeinfo (with the line's source), and writes a
# namedtuple record through the same CSV recorder.

HistoricLineMemoryRecord = namedtuple(
    "LineMemoryRecord", "index function lineNo RSS VMS line filename"
)


class HistoricLineMemoryMonitor:
    def __init__(self, recorder: HistoricCSVFileRecorder, process) -> None:
        self._recorder = recorder
        self._process = process
        self._index = 0

    def __enter__(self) -> HistoricLineMemoryMonitor:
        self._recorder.prepare(HistoricLineMemoryRecord)
        sys.settrace(self.on_line_event)
        return self

    def __exit__(self, *exc) -> None:
        sys.settrace(None)
        self._recorder.finalize()

    def on_line_event(self, frame, why, arg):
        if why.startswith("l"):
            usage = self._process.memory_info()
            filename, lineno, function, line, _ = inspect.getframeinfo(frame, context=1)
            if line is None:
                line = ["<compiled string>"]
            record = HistoricLineMemoryRecord(
                self._index, function, lineno, usage[0], usage[1], line[0], filename
            )
            self._recorder.record(record)
            self._index += 1
        return self.on_line_event


def setup_historic_line_memory_csv(ctx: Context) -> Timer:
    try:
        import psutil
    except ImportError as exc:
        raise Unavailable(f"psutil is not installed ({exc})") from exc
    process = psutil.Process(os.getpid())  # once, outside the timings

    def make(path: Path):
        return HistoricLineMemoryMonitor(HistoricCSVFileRecorder(path), process)

    return MonitorTimer(make, "historic-line-memory-csv", ctx.tmpdir)
