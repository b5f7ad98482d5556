"""Overhead benchmarks for pikos: traced time as a ratio to untraced time.

    python benchmarks/run.py --output BENCHMARKS.md [--rounds N] [--quick]
    python benchmarks/run.py --output BENCHMARKS.md --append   # add this Python

Every configuration runs in this one process, in interleaved rounds: round r
runs each configuration once, starting at a rotating offset, so that drifts
of the machine (frequency, other load) spread over all rows alike. The
report gives the minimum and the median over the rounds, and ratios to the
untraced row of the same run.

With --append, BENCHMARKS.md keeps one section per interpreter (CPython 3.11,
3.12, ...): the section of the running interpreter is replaced, others stay.

pikos is imported lazily: rows whose pikos part is missing are reported as
unavailable with the reason, and the other rows still run.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime
import gc
import importlib
import inspect
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import (  # noqa: E402
    WORKLOADS,
    Workload,
    count_events,
    count_line_events,
    never_called,
)

REPO = Path(__file__).resolve().parent.parent
TITLE = "# pikos overhead benchmarks"


class Unavailable(Exception):
    """A configuration cannot run here; the message says why."""


# --- configurations ------------------------------------------------------------
#
# A configuration is set up once (raising Unavailable if it cannot run), then
# timed many times. Each timing covers exactly the traced region: installing
# the hook, the workload, and removing the hook (for pikos, the monitor's exit,
# which flushes and joins its writer).

Run = Callable[[], object]


@dataclass
class Config:
    key: str
    label: str
    kinds: tuple[str, ...]  # the workload kinds this configuration applies to
    setup: Callable[[Context], Timer]
    # Slow references run a scaled-down workload (1/divisor) in fewer rounds;
    # their times are scaled back up by the ratio of event counts.
    divisor: int = 1
    slow: bool = False


@dataclass
class Context:
    workload: Workload
    events: int  # events of one full-size run (profile, or trace line events)
    tmpdir: Path
    notes: list[str] = field(default_factory=list)


class Timer:
    """Times one run of the workload under a configuration."""

    def time(self, run: Run) -> float:
        raise NotImplementedError

    def check(self, run: Run, ctx: Context) -> None:
        """Optional one-off sanity check, outside the timings."""


class Untraced(Timer):
    def time(self, run: Run) -> float:
        t0 = time.perf_counter()
        run()
        return time.perf_counter() - t0


class CProfile(Timer):
    def time(self, run: Run) -> float:
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        try:
            run()
        finally:
            profiler.disable()
        return time.perf_counter() - t0


class EmptyNativeHook(Timer):
    """pikos' empty C-level hook: the interpreter's own floor.

    trace=False: a profile (call/return) hook; trace=True: a trace (line)
    hook. ``options`` go to empty_hook_enable (memory=True: read the process's
    memory on each event, the floor of the memory monitors).
    """

    def __init__(self, native, trace: bool, **options: bool) -> None:
        self.enable = native.empty_hook_enable
        self.disable = native.empty_hook_disable
        self.trace = trace
        self.options = options

    def time(self, run: Run) -> float:
        t0 = time.perf_counter()
        self.enable(self.trace, **self.options)
        try:
            run()
        finally:
            self.disable()
        return time.perf_counter() - t0


class EmptyPythonProfile(Timer):
    def time(self, run: Run) -> float:
        t0 = time.perf_counter()
        sys.setprofile(lambda f, e, a: None)
        try:
            run()
        finally:
            sys.setprofile(None)
        return time.perf_counter() - t0


def empty_tracer(frame, event, arg):
    return empty_tracer  # the local trace function too: every line is traced


class EmptyPythonTrace(Timer):
    def time(self, run: Run) -> float:
        t0 = time.perf_counter()
        sys.settrace(empty_tracer)
        try:
            run()
        finally:
            sys.settrace(None)
        return time.perf_counter() - t0


class LineProfilerTimer(Timer):
    """line_profiler, enabled around the run (its functions added at setup)."""

    def __init__(self, profiler) -> None:
        self.profiler = profiler

    def time(self, run: Run) -> float:
        t0 = time.perf_counter()
        self.profiler.enable_by_count()
        try:
            run()
        finally:
            self.profiler.disable_by_count()
        return time.perf_counter() - t0


class EmptyMonitoring(Timer):
    """sys.monitoring (3.12+) with a native do-nothing callback for the
    events a function monitor needs: the floor of that mechanism, next to
    the legacy hook's floor."""

    TOOL = 3  # neither the debugger's (0), coverage's (1) nor cProfile's (2)

    def __init__(self, noop) -> None:
        self.noop = noop
        events = sys.monitoring.events
        self.events = (
            events.PY_START,
            events.PY_RETURN,
            events.PY_UNWIND,
            events.CALL,
            events.C_RETURN,
            events.C_RAISE,
        )

    def time(self, run: Run) -> float:
        monitoring = sys.monitoring
        monitoring.use_tool_id(self.TOOL, "pikos-benchmark")
        mask = 0
        for event in self.events:
            monitoring.register_callback(self.TOOL, event, self.noop)
            mask |= event
        t0 = time.perf_counter()
        monitoring.set_events(self.TOOL, mask)
        try:
            run()
        finally:
            monitoring.set_events(self.TOOL, 0)
            elapsed = time.perf_counter() - t0
            monitoring.free_tool_id(self.TOOL)
        return elapsed


class YappiTimer(Timer):
    """yappi (default CPU clock), started and stopped around the run."""

    def __init__(self, yappi) -> None:
        self.yappi = yappi

    def time(self, run: Run) -> float:
        self.yappi.clear_stats()
        t0 = time.perf_counter()
        self.yappi.start()
        try:
            run()
        finally:
            self.yappi.stop()
        return time.perf_counter() - t0


def all_events(run: Run, ctx: Context) -> int:
    """Expected CSV data rows: one per event of the workload's kind."""
    return count_events(ctx.workload, run)


def no_events(run: Run, ctx: Context) -> int:
    """Expected CSV data rows of a focused monitor outside its focus."""
    return 0


class MonitorTimer(Timer):
    """A pikos-style monitor (context manager) around the workload.

    ``make(path)`` builds a fresh monitor for each timing, outside the timed
    region; ``path`` is a fresh file (unused by recorders that write none).
    ``expect(run, ctx)``, if given, is the number of data rows the CSV file
    must have, checked once.
    """

    def __init__(
        self,
        make: Callable[[Path], object],
        name: str,
        tmpdir: Path,
        expect: Callable[[Run, Context], int] | None = None,
    ) -> None:
        self.make = make
        self.name = name
        self.tmpdir = tmpdir
        self.expect = expect
        self.count = 0

    def _path(self) -> Path:
        self.count += 1
        return self.tmpdir / f"{self.name}-{self.count}.csv"

    def time(self, run: Run) -> float:
        path = self._path()
        monitor = self.make(path)
        t0 = time.perf_counter()
        with monitor:
            run()
        elapsed = time.perf_counter() - t0
        path.unlink(missing_ok=True)
        return elapsed

    def check(self, run: Run, ctx: Context) -> None:
        if self.expect is None:
            return
        path = self._path()
        with self.make(path):
            run()
        # A C-level trace hook also sees the lines of this frame inside the
        # with block (the call of run() and the exit); a sys.settrace count
        # does not, so rows from this file are counted apart.
        here = sys._getframe().f_code.co_filename
        header, rows, own, size = None, 0, 0, 0
        if path.exists():
            with path.open(newline="") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                where = header.index("filename") if "filename" in (header or ()) else -1
                for record in reader:
                    if where >= 0 and record[where] == here:
                        own += 1
                    rows += 1
            size = path.stat().st_size
            path.unlink()
        rows += header is not None
        expected = self.expect(run, ctx) + 1 + own
        verdict = "OK" if rows == expected else f"MISMATCH, expected {expected:,}"
        own_note = (
            f", {own} of them lines of the benchmark's own with block" if own else ""
        )
        message = (
            f"{self.name}: the CSV file had {rows:,} row{'s' * (rows != 1)} "
            f"(header {header}{own_note}), {size / 1e6:.1f} MB: {verdict}"
        )
        print("  check:", message)
        ctx.notes.append(message)


def setup_untraced(ctx: Context) -> Timer:
    return Untraced()


def setup_cprofile(ctx: Context) -> Timer:
    return CProfile()


def native_with_empty_hook():
    native = import_pikos("pikos._native")
    missing = [
        name
        for name in ("empty_hook_enable", "empty_hook_disable")
        if not hasattr(native, name)
    ]
    if missing:
        raise Unavailable(
            f"pikos._native has no {', '.join(missing)} (built without the floors "
            "feature: tools/dev-env.sh builds it)"
        )
    return native


def setup_empty_native(ctx: Context) -> Timer:
    return EmptyNativeHook(native_with_empty_hook(), trace=False)


def setup_empty_native_trace(ctx: Context) -> Timer:
    return EmptyNativeHook(native_with_empty_hook(), trace=True)


def setup_empty_native_trace_memory(ctx: Context) -> Timer:
    native = native_with_empty_hook()
    try:
        native.empty_hook_enable(True, memory=True)
    except TypeError as exc:
        raise Unavailable(
            f"pikos._native.empty_hook_enable(memory=True): {exc}"
        ) from exc
    finally:
        native.empty_hook_disable()
    return EmptyNativeHook(native, trace=True, memory=True)


def setup_empty_python(ctx: Context) -> Timer:
    return EmptyPythonProfile()


def setup_empty_python_trace(ctx: Context) -> Timer:
    return EmptyPythonTrace()


def setup_line_profiler(ctx: Context) -> Timer:
    try:
        import line_profiler
    except ImportError as exc:
        raise Unavailable(f"line_profiler is not installed ({exc})") from exc
    if not ctx.workload.functions:
        raise Unavailable(f"{ctx.workload.name} lists no functions to profile")
    # Adding a function gives it an equivalent code object of its own (so
    # line_profiler can tell copies apart). That happens here, once, before
    # any row is timed: every row then runs the same code.
    profiler = line_profiler.LineProfiler(*ctx.workload.functions)
    return LineProfilerTimer(profiler)


def setup_empty_monitoring(ctx: Context) -> Timer:
    if not hasattr(sys, "monitoring"):
        raise Unavailable("sys.monitoring is new in Python 3.12")
    native = import_pikos("pikos._native")
    if not hasattr(native, "monitoring_noop"):
        raise Unavailable(
            "pikos._native has no monitoring_noop (built without the floors "
            "feature: tools/dev-env.sh builds it)"
        )
    return EmptyMonitoring(native.monitoring_noop)


def setup_yappi(ctx: Context) -> Timer:
    try:
        import yappi
    except ImportError as exc:
        raise Unavailable(f"yappi is not installed ({exc})") from exc
    return YappiTimer(yappi)


def setup_memory_profiler(ctx: Context) -> Timer:
    try:
        import memory_profiler
    except ImportError as exc:
        raise Unavailable(f"memory_profiler is not installed ({exc})") from exc
    if not ctx.workload.functions:
        raise Unavailable(f"{ctx.workload.name} lists no functions to profile")
    # memory_profiler's line-by-line mode: a sys.settrace function reading
    # the process's memory (psutil) at every line of the added functions.
    profiler = memory_profiler.LineProfiler(backend="psutil")
    for function in ctx.workload.functions:
        profiler.add_function(function)
    return LineProfilerTimer(profiler)


def pikos_csv_monitor(
    ctx: Context,
    class_name: str,
    name: str,
    expect: Callable[[Run, Context], int],
    **options: object,
) -> Timer:
    """A pikos monitor ``class_name(CSVFileRecorder(path), **options)``."""
    monitors = import_pikos("pikos.monitors.api")
    recorders = import_pikos("pikos.recorders.api")
    monitor_class = getattr(monitors, class_name, None)
    if monitor_class is None:
        raise Unavailable(f"pikos.monitors.api has no {class_name}")

    def make(path: Path):
        return monitor_class(recorders.CSVFileRecorder(str(path)), **options)

    return MonitorTimer(make, name, ctx.tmpdir, expect=expect)


def setup_pikos_function_csv(ctx: Context) -> Timer:
    return pikos_csv_monitor(ctx, "FunctionMonitor", "pikos-function-csv", all_events)


def setup_pikos_function_memory_csv(ctx: Context) -> Timer:
    return pikos_csv_monitor(
        ctx, "FunctionMemoryMonitor", "pikos-function-memory-csv", all_events
    )


def setup_pikos_line_csv(ctx: Context) -> Timer:
    return pikos_csv_monitor(ctx, "LineMonitor", "pikos-line-csv", all_events)


def setup_pikos_line_timed_csv(ctx: Context) -> Timer:
    return pikos_csv_monitor(
        ctx, "LineMonitor", "pikos-line-timed-csv", all_events, timed=True
    )


def setup_pikos_line_stats(ctx: Context) -> Timer:
    """LineStatsMonitor on every line (line_profiler's job, natively)."""
    monitors = import_pikos("pikos.monitors.api")
    monitor_class = getattr(monitors, "LineStatsMonitor", None)
    if monitor_class is None:
        raise Unavailable("pikos.monitors.api has no LineStatsMonitor")
    return MonitorTimer(lambda path: monitor_class(), "pikos-line-stats", ctx.tmpdir)


def setup_pikos_line_memory_csv(ctx: Context) -> Timer:
    return pikos_csv_monitor(
        ctx, "LineMemoryMonitor", "pikos-line-memory-csv", all_events
    )


# memory_interval: a reading is reused for up to this many microseconds.
SAMPLED_MEMORY_INTERVAL_US = 100


def setup_pikos_line_memory_sampled_csv(ctx: Context) -> Timer:
    return pikos_csv_monitor(
        ctx,
        "LineMemoryMonitor",
        "pikos-line-memory-sampled-csv",
        all_events,
        memory_interval=SAMPLED_MEMORY_INTERVAL_US,
    )


# Focused monitors outside their focus: the focused function is never called,
# so nothing is recorded (the CSV file has its header only) and the cost is
# that of telling the focus from the rest.


def setup_pikos_focused_function_csv(ctx: Context) -> Timer:
    return pikos_csv_monitor(
        ctx,
        "FocusedFunctionMonitor",
        "pikos-focused-function-csv",
        no_events,
        functions=[never_called],
    )


def setup_pikos_focused_line_csv(ctx: Context) -> Timer:
    return pikos_csv_monitor(
        ctx,
        "FocusedLineMonitor",
        "pikos-focused-line-csv",
        no_events,
        functions=[never_called],
    )


# The same monitors on a chosen line-hook mechanism (PIKOS_HOOK, 3.12+):
# sys.monitoring with native callbacks against the legacy trace hook, in the
# same run, so that the "auto" choice is the measured faster one.


class HookBackend:
    """``monitor`` enabled with ``PIKOS_HOOK=backend`` (read at enable)."""

    def __init__(self, monitor: object, backend: str) -> None:
        self.monitor = monitor
        self.backend = backend

    # Nothing of ours runs between the monitor's enter and exit (it would
    # be recorded): the variable is restored and the mechanism checked after.

    def __enter__(self) -> object:
        self.before = os.environ.get("PIKOS_HOOK")
        os.environ["PIKOS_HOOK"] = self.backend
        return self.monitor.__enter__()

    def __exit__(self, *exc: object) -> object:
        try:
            return self.monitor.__exit__(*exc)
        finally:
            if self.before is None:
                os.environ.pop("PIKOS_HOOK", None)
            else:
                os.environ["PIKOS_HOOK"] = self.before
            used = self.monitor._hook.backend
            if used != self.backend:
                raise Unavailable(f"PIKOS_HOOK={self.backend} ran on {used}")


def on_backend(timer: Timer, backend: str) -> Timer:
    if backend == "monitoring" and not hasattr(sys, "monitoring"):
        raise Unavailable("sys.monitoring is new in Python 3.12")
    make = timer.make
    timer.make = lambda path: HookBackend(make(path), backend)
    return timer


def setup_pikos_line_csv_legacy(ctx: Context) -> Timer:
    timer = pikos_csv_monitor(ctx, "LineMonitor", "pikos-line-csv-legacy", all_events)
    return on_backend(timer, "legacy")


def setup_pikos_line_csv_monitoring(ctx: Context) -> Timer:
    timer = pikos_csv_monitor(
        ctx, "LineMonitor", "pikos-line-csv-monitoring", all_events
    )
    return on_backend(timer, "monitoring")


def setup_pikos_focused_line_csv_legacy(ctx: Context) -> Timer:
    timer = pikos_csv_monitor(
        ctx,
        "FocusedLineMonitor",
        "pikos-focused-line-csv-legacy",
        no_events,
        functions=[never_called],
    )
    return on_backend(timer, "legacy")


def focused_line_events(run: Run, ctx: Context) -> int:
    """Expected CSV data rows of a focused line monitor on the workload's
    functions: the line events of their own frames."""
    codes = {function.__code__ for function in ctx.workload.functions}
    return count_line_events(run, codes)["line"]


def setup_pikos_focused_line_in_csv(ctx: Context, backend: str) -> Timer:
    if not ctx.workload.functions:
        raise Unavailable(f"{ctx.workload.name} lists no functions to focus on")
    timer = pikos_csv_monitor(
        ctx,
        "FocusedLineMonitor",
        f"pikos-focused-line-in-csv-{backend}",
        focused_line_events,
        functions=list(ctx.workload.functions),
    )
    return on_backend(timer, backend)


def discarding_recorder_class(recorders) -> type:
    for name in dir(recorders):
        lowered = name.lower()
        if name.endswith("Recorder") and ("discard" in lowered or "null" in lowered):
            return getattr(recorders, name)
    raise Unavailable("pikos.recorders.api has no discarding recorder")


def pikos_monitor_to(ctx: Context, class_name: str, recorder_class: type) -> Timer:
    """``class_name(recorder_class())``: a monitor writing no file."""
    monitor_class = getattr(import_pikos("pikos.monitors.api"), class_name)

    def make(path: Path):
        return monitor_class(recorder_class())

    name = f"pikos-{class_name}-{recorder_class.__name__}"
    return MonitorTimer(make, name, ctx.tmpdir)


def setup_pikos_function_discard(ctx: Context) -> Timer:
    recorders = import_pikos("pikos.recorders.api")
    return pikos_monitor_to(
        ctx, "FunctionMonitor", discarding_recorder_class(recorders)
    )


def setup_pikos_line_discard(ctx: Context) -> Timer:
    recorders = import_pikos("pikos.recorders.api")
    return pikos_monitor_to(ctx, "LineMonitor", discarding_recorder_class(recorders))


def setup_pikos_function_list(ctx: Context) -> Timer:
    recorders = import_pikos("pikos.recorders.api")
    return pikos_monitor_to(ctx, "FunctionMonitor", recorders.ListRecorder)


def setup_pikos_line_list(ctx: Context) -> Timer:
    recorders = import_pikos("pikos.recorders.api")
    return pikos_monitor_to(ctx, "LineMonitor", recorders.ListRecorder)


# --- statistics and the live stream -------------------------------------------


def setup_pikos_stats(ctx: Context) -> Timer:
    """StatsMonitor keeping its totals (cProfile's job, natively)."""
    monitor_class = getattr(import_pikos("pikos.monitors.api"), "StatsMonitor", None)
    if monitor_class is None:
        raise Unavailable("pikos.monitors.api has no StatsMonitor")
    return MonitorTimer(lambda path: monitor_class(), "pikos-stats", ctx.tmpdir)


# A viewer in a process of its own that takes every message and drops it, so
# the live rows pay for real sends over TCP (a PUB socket with no subscriber
# would drop messages before they cost anything).
VIEWER = """\
import zmq
context = zmq.Context()
socket = context.socket(zmq.SUB)
socket.setsockopt(zmq.SUBSCRIBE, b"")
print(socket.bind_to_random_port("tcp://127.0.0.1"), flush=True)
while True:
    socket.recv()
"""


class LiveViewer:
    """The process of VIEWER, started once and stopped at exit."""

    _address: str | None = None

    @classmethod
    def address(cls) -> str:
        if cls._address is None:
            try:
                import zmq  # noqa: F401
            except ImportError:
                raise Unavailable("pyzmq is not installed (the viewer)") from None
            proc = subprocess.Popen(
                [sys.executable, "-c", VIEWER], stdout=subprocess.PIPE, text=True
            )
            import atexit

            atexit.register(proc.kill)
            cls._address = f"tcp://127.0.0.1:{proc.stdout.readline().strip()}"
        return cls._address


def live_recorder():
    """A ZeroMQRecorder streaming to the viewer (waiting until it is there)."""
    recorders = import_pikos("pikos.recorders.api")
    if not hasattr(recorders, "ZeroMQRecorder"):
        raise Unavailable("pikos.recorders.api has no ZeroMQRecorder")
    address = LiveViewer.address()
    return lambda: recorders.ZeroMQRecorder(
        address=address, connect=True, wait_for_ready=True, ready_timeout=30
    )


def setup_pikos_stats_live(ctx: Context) -> Timer:
    """StatsMonitor publishing its totals to a viewer every 0.25 s."""
    monitor_class = getattr(import_pikos("pikos.monitors.api"), "StatsMonitor", None)
    if monitor_class is None:
        raise Unavailable("pikos.monitors.api has no StatsMonitor")
    recorder = live_recorder()
    return MonitorTimer(
        lambda path: monitor_class(recorder()), "pikos-stats-live", ctx.tmpdir
    )


def setup_pikos_line_memory_zmq(ctx: Context) -> Timer:
    """LineMemoryMonitor streaming every record to a viewer."""
    monitors = import_pikos("pikos.monitors.api")
    recorder = live_recorder()
    return MonitorTimer(
        lambda path: monitors.LineMemoryMonitor(recorder()),
        "pikos-line-memory-zmq",
        ctx.tmpdir,
    )


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


# The rows, in report order; each applies to the workload kinds it lists.
CONFIGS: list[Config] = [
    Config("untraced", "untraced", ("function", "line"), setup_untraced),
    Config("cprofile", "cProfile", ("function",), setup_cprofile),
    Config(
        "empty-c-hook",
        "empty C-level profile hook (floor)",
        ("function",),
        setup_empty_native,
    ),
    Config(
        "empty-c-trace",
        "empty C-level trace hook (floor)",
        ("line",),
        setup_empty_native_trace,
    ),
    Config(
        "empty-c-trace-memory",
        "empty C-level trace hook reading statm (memory floor)",
        ("line",),
        setup_empty_native_trace_memory,
    ),
    Config(
        "empty-py-profile",
        "sys.setprofile, empty Python callback",
        ("function",),
        setup_empty_python,
    ),
    Config(
        "empty-py-trace",
        "sys.settrace, empty Python callback",
        ("line",),
        setup_empty_python_trace,
    ),
    Config(
        "line-profiler",
        "line_profiler (the workload's functions added)",
        ("line",),
        setup_line_profiler,
    ),
    Config(
        "empty-monitoring",
        "sys.monitoring, empty native callbacks (3.12+ floor)",
        ("function",),
        setup_empty_monitoring,
    ),
    Config("yappi", "yappi (CPU clock)", ("function",), setup_yappi),
    Config(
        "memory-profiler",
        "memory_profiler line-by-line (the workload's functions added)",
        ("line",),
        setup_memory_profiler,
        divisor=20,
        slow=True,
    ),
    Config(
        "pikos-function-csv",
        "pikos FunctionMonitor → CSVFileRecorder",
        ("function",),
        setup_pikos_function_csv,
    ),
    Config(
        "pikos-function-memory-csv",
        "pikos FunctionMemoryMonitor → CSVFileRecorder",
        ("function",),
        setup_pikos_function_memory_csv,
    ),
    Config(
        "pikos-function-discard",
        "pikos FunctionMonitor → discarding recorder",
        ("function",),
        setup_pikos_function_discard,
    ),
    Config(
        "pikos-function-list",
        "pikos FunctionMonitor → ListRecorder (records not read)",
        ("function",),
        setup_pikos_function_list,
    ),
    Config(
        "pikos-stats",
        "pikos StatsMonitor (cProfile's statistics, kept natively)",
        ("function",),
        setup_pikos_stats,
    ),
    Config(
        "pikos-stats-live",
        "pikos StatsMonitor → ZeroMQRecorder, totals published to a viewer",
        ("function",),
        setup_pikos_stats_live,
    ),
    Config(
        "pikos-focused-function-csv",
        "pikos FocusedFunctionMonitor → CSVFileRecorder, outside its focus",
        ("function",),
        setup_pikos_focused_function_csv,
    ),
    Config(
        "pikos-line-csv",
        "pikos LineMonitor → CSVFileRecorder",
        ("line",),
        setup_pikos_line_csv,
    ),
    Config(
        "pikos-line-timed-csv",
        "pikos LineMonitor(timed=True) → CSVFileRecorder",
        ("line",),
        setup_pikos_line_timed_csv,
    ),
    Config(
        "pikos-line-stats",
        "pikos LineStatsMonitor, every line (line_profiler's statistics, natively)",
        ("line",),
        setup_pikos_line_stats,
    ),
    Config(
        "pikos-line-discard",
        "pikos LineMonitor → discarding recorder",
        ("line",),
        setup_pikos_line_discard,
    ),
    Config(
        "pikos-line-list",
        "pikos LineMonitor → ListRecorder (records not read)",
        ("line",),
        setup_pikos_line_list,
    ),
    Config(
        "pikos-line-memory-csv",
        "pikos LineMemoryMonitor → CSVFileRecorder",
        ("line",),
        setup_pikos_line_memory_csv,
    ),
    Config(
        "pikos-line-memory-zmq",
        "pikos LineMemoryMonitor → ZeroMQRecorder, every record to a viewer",
        ("line",),
        setup_pikos_line_memory_zmq,
    ),
    Config(
        "pikos-line-memory-sampled-csv",
        f"pikos LineMemoryMonitor(memory_interval={SAMPLED_MEMORY_INTERVAL_US}) "
        "→ CSVFileRecorder",
        ("line",),
        setup_pikos_line_memory_sampled_csv,
    ),
    Config(
        "pikos-focused-line-csv",
        "pikos FocusedLineMonitor → CSVFileRecorder, outside its focus",
        ("line",),
        setup_pikos_focused_line_csv,
    ),
    Config(
        "pikos-focused-line-csv-legacy",
        "pikos FocusedLineMonitor → CSVFileRecorder, outside its focus, "
        "PIKOS_HOOK=legacy",
        ("line",),
        setup_pikos_focused_line_csv_legacy,
    ),
    Config(
        "pikos-focused-line-in-csv-legacy",
        "pikos FocusedLineMonitor → CSVFileRecorder, on the workload's "
        "functions, PIKOS_HOOK=legacy",
        ("line",),
        lambda ctx: setup_pikos_focused_line_in_csv(ctx, "legacy"),
    ),
    Config(
        "pikos-focused-line-in-csv-monitoring",
        "pikos FocusedLineMonitor → CSVFileRecorder, on the workload's "
        "functions, PIKOS_HOOK=monitoring",
        ("line",),
        lambda ctx: setup_pikos_focused_line_in_csv(ctx, "monitoring"),
    ),
    Config(
        "pikos-line-csv-legacy",
        "pikos LineMonitor → CSVFileRecorder, PIKOS_HOOK=legacy",
        ("line",),
        setup_pikos_line_csv_legacy,
    ),
    Config(
        "pikos-line-csv-monitoring",
        "pikos LineMonitor → CSVFileRecorder, PIKOS_HOOK=monitoring",
        ("line",),
        setup_pikos_line_csv_monitoring,
    ),
    Config(
        "historic-function-csv",
        "original pikos style (pure Python: getframeinfo, csv.writer)",
        ("function",),
        setup_historic_function_csv,
        divisor=20,
        slow=True,
    ),
    Config(
        "historic-line-memory-csv",
        "original pikos style line-memory (pure Python: getframeinfo, psutil, "
        "csv.writer)",
        ("line",),
        setup_historic_line_memory_csv,
        divisor=20,
        slow=True,
    ),
]


@dataclass(frozen=True)
class Target:
    """A target checked in the report, comparing two rows' ratios on a workload.

    form "within": the row's ratio is at most ``limit`` times the reference's;
    form "faster": the reference's ratio is at least ``limit`` times the row's.
    """

    issue: str
    workload: str
    key: str
    reference: str
    limit: float
    form: str = "within"
    # The Python versions ("3.12") it applies to; empty: all.
    pythons: tuple[str, ...] = ()


# Later issues add theirs.
TARGETS: list[Target] = [
    Target("issue 2", "call-heavy", "pikos-function-csv", "cprofile", 1.5),
    Target(
        "issue 3",
        "line-heavy",
        "pikos-line-memory-csv",
        "historic-line-memory-csv",
        40,
        form="faster",
    ),
    Target(
        "issue 3",
        "line-heavy",
        "pikos-line-memory-sampled-csv",
        "historic-line-memory-csv",
        40,
        form="faster",
    ),
    Target("issue 3", "call-heavy", "pikos-focused-function-csv", "empty-c-hook", 1.2),
    Target("issue 3", "line-heavy", "pikos-focused-line-csv", "empty-c-trace", 1.2),
    Target(
        "issue 5",
        "call-heavy",
        "pikos-function-csv",
        "cprofile",
        1.0,
        pythons=("3.11",),
    ),
    Target(
        "issue 5",
        "call-heavy",
        "pikos-function-csv",
        "cprofile",
        0.8,
        pythons=("3.12", "3.13"),
    ),
    Target("issue 5", "line-heavy", "pikos-line-csv", "line-profiler", 0.6),
    Target(
        "issue 5", "line-heavy", "pikos-line-memory-csv", "empty-c-trace-memory", 1.3
    ),
    Target("issue 6", "call-heavy", "pikos-stats", "cprofile", 1.0),
    Target("issue 6", "call-heavy", "pikos-stats-live", "cprofile", 1.0),
    # Application-shaped code (many builtin calls, small methods): at most
    # cProfile's ratio, or the floor rows show why not.
    Target("issue 18", "mixed", "pikos-function-csv", "cprofile", 1.0),
    # Line timing, against line_profiler with the workload's functions added.
    *(
        Target("issue 20", workload, key, "line-profiler", limit)
        for workload in ("line-heavy", "n-body")
        for key, limit in (("pikos-line-stats", 0.5), ("pikos-line-timed-csv", 0.6))
    ),
]


def import_pikos(module: str):
    try:
        return importlib.import_module(module)
    except Exception as exc:  # a half-built package can fail in many ways
        raise Unavailable(
            f"import {module} failed: {type(exc).__name__}: {exc}"
        ) from exc


# --- running -----------------------------------------------------------------


@dataclass
class Row:
    config: Config
    timer: Timer | None
    unavailable: str | None = None
    scale: float = 1.0  # full-size events / events of the run actually timed
    times: list[float] = field(default_factory=list)


def measure(
    workload: Workload, rounds: int, slow_rounds: int, tmpdir: Path, only: set[str]
) -> tuple[list[Row], Context]:
    full = workload.runner()
    events = count_events(workload, full)
    ctx = Context(workload=workload, events=events, tmpdir=tmpdir)
    print(f"== {workload.name}: {events:,} {EVENT_NAMES[workload.kind]} per run")

    rows: list[Row] = []
    for config in CONFIGS:
        if workload.kind not in config.kinds:
            continue
        if only and config.key not in only and config.key != "untraced":
            continue
        try:
            timer = config.setup(ctx)
        except Unavailable as exc:
            print(f"  {config.key}: unavailable: {exc}")
            rows.append(Row(config, None, unavailable=str(exc)))
            continue
        row = Row(config, timer)
        if config.divisor > 1:
            small = count_events(workload, runner_of(row, workload))
            row.scale = events / small
        rows.append(row)

    # One untimed warm-up of each row (imports, caches, first file creation),
    # then the one-off checks.
    for row in rows:
        if row.timer is not None:
            run = runner_of(row, workload)
            guarded(row, row.timer.time, run)
            if row.timer is not None:
                guarded(row, row.timer.check, run, ctx)

    slow_every = max(1, -(-rounds // max(1, slow_rounds)))  # ceil division
    for r in range(rounds):
        active = [row for row in rows if row.timer is not None]
        if not active:
            break
        shift = r % len(active)
        ran_before = {row.config.key: len(row.times) for row in active}
        for row in active[shift:] + active[:shift]:
            if row.config.slow and (r % slow_every or len(row.times) >= slow_rounds):
                continue
            run = runner_of(row, workload)
            gc.collect()
            elapsed = guarded(row, row.timer.time, run)
            if elapsed is not None:
                row.times.append(elapsed * row.scale)
        summary = "  ".join(
            f"{row.config.key}={row.times[-1]:.3f}"
            for row in active
            if len(row.times) > ran_before[row.config.key]
        )
        print(f"  round {r + 1}/{rounds}: {summary}", flush=True)
    return rows, ctx


def guarded(row: Row, action: Callable[..., float | None], *args) -> float | None:
    """Call ``action(*args)`` for ``row``; a failure drops the row, not the run."""
    try:
        result = action(*args)
    except Exception as exc:
        reason = f"failed: {type(exc).__name__}: {exc}"
    else:
        if sys.getprofile() is None and sys.gettrace() is None:
            return result
        reason = "failed: left a profile or trace hook installed"
    sys.setprofile(None)
    sys.settrace(None)
    row.timer, row.unavailable, row.times = None, reason, []
    print(f"  {row.config.key}: {reason}", flush=True)
    return None


def runner_of(row: Row, workload: Workload) -> Run:
    return workload.runner(row.config.divisor)


# --- reporting -----------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        return "no commit yet"
    try:
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        dirty = False
    return commit + (" (uncommitted changes)" if dirty else "")


def filesystem_of(path: Path) -> str:
    """The mount type holding ``path`` (tmpfs vs disk changes the CSV rows)."""
    best, kind = "", "unknown filesystem"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and path.is_relative_to(parts[1]):
                    if len(parts[1]) >= len(best):
                        best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def pikos_version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("pikos")
    except PackageNotFoundError:
        return "not installed"


def interpreter_key() -> str:
    major, minor = sys.version_info[:2]
    return f"{platform.python_implementation().lower()}-{major}.{minor}"


EVENT_NAMES = {"function": "call/return events", "line": "line events"}
EVENT_COUNTS = {
    "function": "sys.setprofile count, c_call/c_return included",
    "line": "sys.settrace count, every frame traced",
}


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x"


def render_table(rows: list[Row], ctx: Context, rounds: int) -> list[str]:
    base = next(r for r in rows if r.config.key == "untraced")
    base_min, base_med = min(base.times), statistics.median(base.times)
    lines = [
        "| configuration | min s | median s | ratio (min) | ratio (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    footnotes = []
    for row in rows:
        label = row.config.label
        if row.unavailable is not None:
            lines.append(f"| {label} | unavailable: {row.unavailable} | | | |")
            continue
        if row.config.divisor > 1:
            mark = "†" * (len(footnotes) + 1)
            label += f" {mark}"
            footnotes.append(
                f"{mark} run on 1/{row.config.divisor} of the workload "
                f"({ctx.events / row.scale:,.0f} events) in {len(row.times)} of "
                f"{rounds} rounds; times multiplied by {row.scale:.2f} "
                "(full-size events / events run)."
            )
        lo, med = min(row.times), statistics.median(row.times)
        lines.append(
            f"| {label} | {lo:.3f} | {med:.3f} | "
            f"{ratio(lo, base_min)} | {ratio(med, base_med)} |"
        )
    lines.append("")
    lines.extend(footnotes)
    return lines


def ratios_of(rows: list[Row], key: str) -> tuple[float, float] | None:
    base = next(r for r in rows if r.config.key == "untraced")
    for row in rows:
        if row.config.key == key and row.times:
            return (
                min(row.times) / min(base.times),
                statistics.median(row.times) / statistics.median(base.times),
            )
    return None


def render_targets(rows: list[Row], workload: Workload) -> list[str]:
    lines = []
    version = "{}.{}".format(*sys.version_info[:2])
    for target in TARGETS:
        if target.workload != workload.name:
            continue
        if target.pythons and version not in target.pythons:
            continue
        label = next(c.label for c in CONFIGS if c.key == target.key)
        ref_label = next(c.label for c in CONFIGS if c.key == target.reference)
        if target.form == "faster":
            head = (
                f"Target ({target.issue}): {label} at least {target.limit:g}x "
                f"faster than {ref_label} (reference ratio / this ratio)"
            )
        else:
            head = (
                f"Target ({target.issue}): {label} ratio within {target.limit:g}x "
                f"of {ref_label}'s ratio"
            )
        mine = ratios_of(rows, target.key)
        ref = ratios_of(rows, target.reference)
        if mine is None or ref is None:
            lines.append(f"- {head}: not measured (row unavailable).")
            continue
        measured = f"measured {mine[0]:.2f}x vs {ref[0]:.2f}x"
        if target.form == "faster":
            rel_min, rel_med = ref[0] / mine[0], ref[1] / mine[1]
            verdict = "PASS" if rel_min >= target.limit else "FAIL"
            result = f"**{rel_min:.1f}x** faster on minima ({rel_med:.1f}x on medians)"
        else:
            rel_min, rel_med = mine[0] / ref[0], mine[1] / ref[1]
            verdict = "PASS" if rel_min <= target.limit else "FAIL"
            result = f"**{rel_min:.2f}x** of it on minima ({rel_med:.2f}x on medians)"
        lines.append(f"- {head}: {measured} = {result}: **{verdict}**.")
    # What any monitor reading fresh memory per event can reach at best.
    floor = ratios_of(rows, "empty-c-trace-memory")
    historic = ratios_of(rows, "historic-line-memory-csv")
    if floor is not None and historic is not None:
        lines.append(
            f"- Ceiling, for reference: an empty trace hook that only reads "
            f"`/proc/self/statm` at each line ({floor[0]:.2f}x) is already only "
            f"{historic[0] / floor[0]:.1f}x faster than the original-style "
            f"reference ({historic[0]:.2f}x); a fresh memory reading per event "
            f"cannot do better than that here."
        )
    return lines


def render_section(results, rounds: int, slow_rounds: int, tmpdir: Path) -> str:
    impl = platform.python_implementation()
    command = shlex.join(["python", *sys.argv])
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lines = [
        f"<!-- pikos-bench: {interpreter_key()} -->",
        f"## {impl} {platform.python_version()}",
        "",
        f"- Command: `{command}`",
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores "
        f"({affinity} usable), {platform.system()} {platform.release()} "
        f"{platform.machine()}",
        f"- Python: {impl} {platform.python_version()} "
        f"({platform.python_compiler()}), `{sys.executable}`",
        f"- pikos: {pikos_version()}; git: {git_commit()}",
        f"- Rounds: {rounds} interleaved (slow references: {slow_rounds}); "
        "gc.collect() before each timing; time.perf_counter",
        f"- Files written to: {tmpdir} ({filesystem_of(tmpdir)})",
        f"- Peak RSS of the benchmark process: {peak_kib / 1024:.0f} MiB",
        "",
    ]
    for rows, ctx in results:
        wl = ctx.workload
        lines.append(
            f"### {wl.name}: {ctx.events:,} {EVENT_NAMES[wl.kind]} per run "
            f"({EVENT_COUNTS[wl.kind]})"
        )
        lines.append("")
        lines.append(f"Workload: {wl.description}.")
        lines.append("")
        lines.extend(render_table(rows, ctx, rounds))
        lines.append("")
        for note in ctx.notes:
            lines.append(f"- Check: {note}")
        lines.extend(render_targets(rows, wl))
        lines.append("")
    lines.append(f"<!-- end pikos-bench: {interpreter_key()} -->")
    return "\n".join(lines) + "\n"


def write_report(
    path: Path, section: str, append: bool, key: str | None = None
) -> None:
    """Write ``section`` to ``path``; with ``append``, replace only the
    section marked ``key`` (default: this interpreter's) and keep the rest."""
    header = (
        f"{TITLE}\n\n"
        "Ratio = traced time / untraced time of the same workload in the same "
        "run. Regenerate with `make bench`, or `python benchmarks/run.py "
        "--output BENCHMARKS.md --append` once per Python version "
        "(see benchmarks/README.md).\n\n"
    )
    if not append or not path.exists():
        path.write_text(header + section)
        return
    text = path.read_text()
    key = re.escape(key or interpreter_key())
    pattern = re.compile(
        rf"<!-- pikos-bench: {key} -->.*?<!-- end pikos-bench: {key} -->\n?",
        re.DOTALL,
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    if not text.startswith(TITLE):
        text = header + text
    path.write_text(text)


def publish(
    section: str, output: Path | None, append: bool, key: str | None = None
) -> None:
    """Print ``section``, and write it to ``output`` when given (see
    :func:`write_report`)."""
    print(section)
    if output:
        write_report(output, section, append, key)
        print(f"wrote {output}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write the report here")
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the other interpreters' sections of --output; replace this one's",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 11)")
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds, 1 for the slow references"
    )
    parser.add_argument(
        "--workload",
        action="append",
        choices=sorted(WORKLOADS),
        help="run only this workload (repeatable; default: all)",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        choices=[c.key for c in CONFIGS],
        help="run only this configuration (repeatable; untraced always runs)",
    )
    parser.add_argument(
        "--tmpdir", type=Path, help="where the CSV files go (default: system temp)"
    )
    args = parser.parse_args(argv)

    rounds = args.rounds or (3 if args.quick else 11)
    slow_rounds = 1 if args.quick else max(1, rounds // 3)
    if sys.getprofile() is not None or sys.gettrace() is not None:
        print("warning: a profile or trace hook is already installed", file=sys.stderr)

    results = []
    with tempfile.TemporaryDirectory(prefix="pikos-bench-", dir=args.tmpdir) as tmp:
        for name in args.workload or list(WORKLOADS):
            results.append(
                measure(
                    WORKLOADS[name], rounds, slow_rounds, Path(tmp), set(args.config)
                )
            )

    tmpdir = (args.tmpdir or Path(tempfile.gettempdir())).resolve()
    section = render_section(results, rounds, slow_rounds, tmpdir)
    print()
    publish(section, args.output, args.append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
