"""The pikos rows of the overhead benchmarks (run.py): the monitors to a
CSV file, to a capture (CaptureRecorder), to no file (discarding,
ListRecorder), focused outside and inside their focus, on a chosen hook
mechanism (PIKOS_HOOK), the statistics monitor, and the live stream to a
viewer process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from measurement import (
    Context,
    MonitorTimer,
    Run,
    Timer,
    Unavailable,
    all_events,
    import_pikos,
    no_events,
)
from workloads import (
    count_line_events,
    never_called,
)


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


# The same monitors to a capture (issue 21): its size per event is reported
# beside the row and checked against a target.


def pikos_capture_monitor(ctx: Context, class_name: str, name: str) -> Timer:
    """A pikos monitor ``class_name(CaptureRecorder(path))``."""
    monitors = import_pikos("pikos.monitors.api")
    recorders = import_pikos("pikos.recorders.api")
    if not hasattr(recorders, "CaptureRecorder"):
        raise Unavailable("pikos.recorders.api has no CaptureRecorder")
    monitor_class = getattr(monitors, class_name)

    def make(path: Path):
        return monitor_class(recorders.CaptureRecorder(str(path)))

    return MonitorTimer(make, name, ctx.tmpdir, expect=all_events, capture=True)


def setup_pikos_function_capture(ctx: Context) -> Timer:
    return pikos_capture_monitor(ctx, "FunctionMonitor", "pikos-function-capture")


def setup_pikos_line_capture(ctx: Context) -> Timer:
    return pikos_capture_monitor(ctx, "LineMonitor", "pikos-line-capture")


def setup_pikos_line_memory_capture(ctx: Context) -> Timer:
    return pikos_capture_monitor(ctx, "LineMemoryMonitor", "pikos-line-memory-capture")


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
