"""The peers of pikos in the overhead benchmarks (run.py): the profilers it
is compared with (cProfile, line_profiler, memory_profiler, yappi) and the
floors (empty hooks: pikos' native ones, built with the floors feature, an
empty Python callback, sys.monitoring with native no-op callbacks).
"""

from __future__ import annotations

import cProfile
import sys
import time

from measurement import Context, Run, Timer, Unavailable, import_pikos


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
