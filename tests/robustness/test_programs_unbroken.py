"""Programs that handle hooks themselves keep working under pikos (issue 17):
a hook saved, cleared and handed back (doctest does it), Ctrl-C or
sys.exit raised inside a Python filter or recorder, one function running in
several threads under statistics, and several pikos monitors at once.
"""

import doctest
import io
import pstats
import subprocess
import sys
import threading
import time
import types

import pytest
from commands import SCRIPTS
from pikos.external.python_cprofiler import PythonCProfiler
from pikos.external.yappi_profiler import YappiProfiler
from pikos.filters.api import OnValue
from pikos.monitors.api import (
    FunctionMemoryMonitor,
    FunctionMonitor,
    LineMemoryMonitor,
    LineMonitor,
    StatsMonitor,
)
from pikos.recorders.abstract_recorder import AbstractRecorder
from pikos.recorders.api import CSVRecorder, ListRecorder


def f(x):
    return x + 1


def g():
    a = 1
    b = 2
    return a + b


def clear_and_restore(get, set_):
    """What doctest and debuggers do: save the hook, clear it, hand it back.
    Returns nothing; the lines after ``set_(old)`` are the ones checked."""
    f(0)
    old = get()
    set_(None)
    f(1)
    set_(old)
    after = 1  # a line event in this frame, after the hook came back
    f(2)
    return after


# PIKOS_HOOK: which mechanism takes the thread's hook.  On 3.12+ "auto"
# runs line monitors on sys.monitoring (sys.gettrace() is None there) and
# statistics too; "legacy" takes the thread's hook on every version.
BACKENDS = ["auto"] + (["legacy"] if sys.version_info >= (3, 12) else [])


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", request.param)
    return request.param


@pytest.mark.parametrize("monitor_class", [FunctionMonitor, FunctionMemoryMonitor])
def test_a_profile_hook_handed_back_records_on(monitor_class, backend):
    recorder = ListRecorder()
    with monitor_class(recorder):
        clear_and_restore(sys.getprofile, sys.setprofile)
        f(3)
    assert sys.getprofile() is None
    calls = [r.function for r in recorder.records if r.type == "call"]
    # f(1) ran while the hook was cleared; everything after it is recorded.
    assert calls == ["clear_and_restore", "f", "f", "f"]


@pytest.mark.parametrize("monitor_class", [LineMonitor, LineMemoryMonitor])
def test_a_trace_hook_handed_back_records_on(monitor_class, backend):
    recorder = ListRecorder()
    with monitor_class(recorder):
        took_trace_hook = sys.gettrace() is not None
        clear_and_restore(sys.gettrace, sys.settrace)
        f(3)
    assert sys.gettrace() is None
    code = clear_and_restore.__code__
    lines = [
        r.lineNo - code.co_firstlineno
        for r in recorder.records
        if r.function == "clear_and_restore"
    ]
    calls_of_f = sum(1 for r in recorder.records if r.function == "f")
    if took_trace_hook:
        # The frame's lines go on right after settrace(old), as they do for a
        # Python trace function; f(1) and the line that restores ran untraced.
        assert lines == [3, 4, 5, 8, 9, 10]
        assert calls_of_f == 3
    else:  # sys.monitoring: the trace hook was never pikos'
        assert lines == [3, 4, 5, 6, 7, 8, 9, 10]
        assert calls_of_f == 4


def test_a_statistics_hook_handed_back_records_on(backend):
    monitor = StatsMonitor()
    with monitor:
        clear_and_restore(sys.getprofile, sys.setprofile)
        f(3)
    assert sys.getprofile() is None
    calls = {key[2]: value[1] for key, value in monitor.snapshot().items()}
    assert calls["f"] in (3, 4)  # f(1) is counted where sys.monitoring serves
    assert calls["clear_and_restore"] == 1


DOCTESTED = '''
def double(x):
    """
    >>> double(2)
    4
    >>> double(-1)
    -2
    """
    return 2 * x
'''


@pytest.mark.parametrize(
    "monitor_class", [FunctionMonitor, LineMonitor, LineMemoryMonitor, StatsMonitor]
)
def test_doctest_runs_under_every_monitor(monitor_class, backend):
    # doctest saves the trace hook, clears it and puts it back per example.
    module = types.ModuleType("doctested")
    exec(compile(DOCTESTED, "doctested.py", "exec"), module.__dict__)
    monitor = StatsMonitor() if monitor_class is StatsMonitor else None
    monitor = monitor or monitor_class(ListRecorder())
    with monitor:
        result = doctest.testmod(module, report=False)
        g()
    assert (result.failed, result.attempted) == (0, 2)
    assert monitor.error is None
    if monitor_class is StatsMonitor:
        assert any(key[2] == "g" for key in monitor.snapshot())
    else:
        assert any(r.function == "g" for r in monitor.recorder.records)


# --- Ctrl-C and sys.exit in a Python filter or recorder --------------------------


class Interrupting:
    """A filter that raises ``exception`` at the record of ``f``'s call
    whose argument is 1, once (state kept per instance)."""

    def __init__(self, exception):
        self.exception = exception
        self.raised = False

    def __call__(self, record):
        if not self.raised and record.function == "f":
            self.raised = True
            raise self.exception
        return True


@pytest.mark.parametrize("exception", [KeyboardInterrupt, SystemExit(3)])
@pytest.mark.parametrize("monitor_class", [FunctionMonitor, LineMonitor])
def test_ctrl_c_in_a_filter_reaches_the_program(exception, monitor_class, backend):
    out = io.StringIO()
    recorder = CSVRecorder(out, filter_=Interrupting(exception))
    monitor = monitor_class(recorder)
    caught = None
    with monitor:
        try:
            f(1)
        except BaseException as exc:  # what the program itself would see
            caught = exc
        f(2)
    expected = exception if isinstance(exception, type) else type(exception)
    assert isinstance(caught, expected)
    if isinstance(exception, SystemExit):
        assert caught.code == 3
    assert monitor.error is None
    # Recording went on after the program handled it: f(2) is there.
    assert sum(",f," in row for row in out.getvalue().splitlines()) >= 1


class RaisingRecorder(AbstractRecorder):
    """A custom (Python) recorder whose ``record`` raises once."""

    def __init__(self, exception):
        self.exception = exception
        self.raised = False
        self.records = []

    def prepare(self, record_type):
        pass

    def finalize(self):
        pass

    def record(self, data):
        if not self.raised and data.function == "f":
            self.raised = True
            raise self.exception
        self.records.append(data)


@pytest.mark.parametrize("monitor_class", [FunctionMonitor, LineMonitor])
def test_ctrl_c_in_a_recorder_reaches_the_program(monitor_class, backend):
    recorder = RaisingRecorder(KeyboardInterrupt)
    monitor = monitor_class(recorder)
    with pytest.raises(KeyboardInterrupt):
        with monitor:
            f(1)
    assert monitor.error is None
    assert sys.getprofile() is None and sys.gettrace() is None


def test_an_ordinary_error_in_a_filter_still_stops_only_the_monitor(monkeypatch):
    def broken(record):
        raise ValueError("broken filter")

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    monitor = FunctionMonitor(CSVRecorder(io.StringIO(), filter_=broken))
    with monitor:
        assert f(1) == 2
    assert isinstance(monitor.error, ValueError)
    assert [type(r.exc_value) for r in reported] == [ValueError]


# --- statistics of one function in several threads -------------------------------


def sleeper():
    for _ in range(10):
        time.sleep(0.005)


@pytest.mark.parametrize("monitor_backend", BACKENDS)
def test_one_function_in_four_threads_is_not_recursion(monitor_backend, monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", monitor_backend)
    monitor = StatsMonitor()
    with monitor:
        threads = [threading.Thread(target=sleeper) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    stats = pstats.Stats(monitor).stats
    (sleep,) = [key for key in stats if "time.sleep" in key[2]]
    primitive, calls, own, cumulative, _ = stats[sleep]
    assert (calls, primitive) == (40, 40)
    assert cumulative >= own
    (work,) = [key for key in stats if key[2] == "sleeper"]
    primitive, calls, own, cumulative, callers = stats[work]
    assert (calls, primitive) == (4, 4)
    assert cumulative >= own
    assert cumulative >= stats[sleep][3]


# --- several pikos monitors at once ------------------------------------------------

FUNCTION_KINDS = [FunctionMonitor, FunctionMemoryMonitor]
LINE_KINDS = [LineMonitor, LineMemoryMonitor]


def names(records):
    return [(getattr(r, "type", "line"), r.function) for r in records]


@pytest.mark.parametrize("outer", FUNCTION_KINDS + LINE_KINDS)
@pytest.mark.parametrize("inner", FUNCTION_KINDS + LINE_KINDS + [StatsMonitor])
def test_nested_monitors_all_record_everything(outer, inner, backend):
    a = ListRecorder()
    inner_monitor = StatsMonitor() if inner is StatsMonitor else inner(ListRecorder())
    with outer(a):
        f(0)
        with inner_monitor:
            f(1)
        f(2)
    assert sys.getprofile() is None and sys.gettrace() is None
    # The outer monitor saw f three times, and nothing of pikos' own code
    # (the inner enable reads PIKOS_HOOK, installs, and disables).
    here = sys._getframe().f_code.co_name
    assert {r.function for r in a.records} <= {"f", here}
    assert sum(1 for r in a.records if r.function == "f") == (
        6 if outer in FUNCTION_KINDS else 3
    )
    if inner is StatsMonitor:
        assert {key[2] for key in inner_monitor.snapshot()} == {"f"}
    else:
        assert {r.function for r in inner_monitor.recorder.records} >= {"f"}
        assert sum(1 for r in inner_monitor.recorder.records if r.function == "f") == (
            2 if inner in FUNCTION_KINDS else 1
        )


@pytest.mark.parametrize("kind", [FunctionMonitor, LineMonitor])
def test_monitors_stopped_in_another_order(kind, backend):
    a, b = ListRecorder(), ListRecorder()
    first, second = kind(a), kind(b)
    first.enable()
    f(0)
    second.enable()
    f(1)
    first.disable()
    f(2)
    second.disable()
    f(3)
    assert sys.getprofile() is None and sys.gettrace() is None
    per_call = 2 if kind is FunctionMonitor else 1
    assert sum(1 for r in a.records if r.function == "f") == 2 * per_call
    assert sum(1 for r in b.records if r.function == "f") == 2 * per_call


def test_two_monitors_on_several_threads(backend):
    a, b = ListRecorder(), ListRecorder()

    def work():
        for i in range(100):
            f(i)

    with FunctionMonitor(a):
        with FunctionMonitor(b):
            threads = [threading.Thread(target=work) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    for recorder in (a, b):
        assert sum(1 for r in recorder.records if r.function == "f") == 600


def test_wrapped_profilers_show_no_pikos_frames():
    profiler = PythonCProfiler()
    wrapped = profiler.attach(f)
    wrapped(1)
    with profiler:
        f(2)
    stats = pstats.Stats(profiler).stats
    assert {key[2] for key in stats} == {"f"}
    assert all(not callers for *_, callers in stats.values())

    yappi_profiler = YappiProfiler(builtins=True)
    yappi_profiler.clear_stats()
    wrapped = yappi_profiler.attach(f)
    wrapped(1)
    with yappi_profiler:
        f(2)
    assert {s.name for s in yappi_profiler.get_func_stats()} == {"f"}
    yappi_profiler.clear_stats()


def test_nested_monitors_with_built_in_filters():
    # OnValue runs natively: nested monitors with built-in filters too.
    a = ListRecorder(filter_=OnValue("function", "f"))
    with FunctionMonitor(a):
        with FunctionMonitor(ListRecorder()):
            f(1)
    assert [r.function for r in a.records] == ["f", "f"]


def test_a_hook_handed_back_as_its_only_reference(backend):
    """``saved = sys.getprofile(); sys.setprofile(None);
    sys.setprofile(saved); del saved``: the slot holds the hook's last
    reference when it puts itself back (a crash on 3.11 before)."""
    script = SCRIPTS / "robustness" / "hook_handed_back_alone.py"
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    counts = dict(line.split() for line in result.stdout.splitlines())
    assert set(counts) == {"FunctionMonitor", "LineMonitor"}
    assert all(int(n) > 0 for n in counts.values())
