"""Robustness beside other tools (issue 8): coverage.py, a Python trace
function and profile function (what pdb and other debuggers set), pdb
itself, and cProfile.  pikos records exactly what it records alone, and the
other tool keeps working: its hook comes back as the same object and is
called again, and what it measures outside pikos' sessions is unchanged.
"""

import cProfile
import json
import os
import pstats
import subprocess
import sys
from pathlib import Path

import pytest
from commands import SCRIPTS
from pikos.errors import HookTakenWarning
from pikos.monitors.api import (
    FunctionMemoryMonitor,
    FunctionMonitor,
    LineMemoryMonitor,
    LineMonitor,
    StatsMonitor,
)
from pikos.recorders.api import ListRecorder

ROBUSTNESS_SCRIPTS = SCRIPTS / "robustness"
COVERAGE_TARGET = str(ROBUSTNESS_SCRIPTS / "coverage_target.py")
PDB_TARGET = str(ROBUSTNESS_SCRIPTS / "pdb_target.py")
TIMEOUT = 300  # seconds; only a guard against a hang

# The takeovers here are on purpose; the warning itself is tested in
# test_coexistence_warnings.py.
pytestmark = pytest.mark.filterwarnings("ignore::pikos.errors.HookTakenWarning")


def run(argv, cwd, env=None, stdin=None):
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env=env,
        input=stdin,
    )


def marked_lines(path, mark):
    """Line numbers (from 1) of the lines of ``path`` whose comment is
    ``mark``."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [n for n, text in enumerate(lines, start=1) if text.endswith(f"# {mark}")]


# --- (a) coverage.py ----------------------------------------------------------------

CORES = [
    pytest.param("ctrace", id="ctrace"),
    pytest.param("pytrace", id="pytrace"),
    pytest.param(
        "sysmon",
        id="sysmon",
        marks=pytest.mark.skipif(
            sys.version_info < (3, 12), reason="coverage's sysmon core needs 3.12+"
        ),
    ),
]


# PIKOS_HOOK: "auto" runs line monitors beside a trace function on
# sys.monitoring on 3.12+; "legacy" makes them take the trace hook over, as
# they always do on 3.11.
HOOKS = [
    pytest.param("auto", id="auto"),
    pytest.param(
        "legacy",
        id="legacy",
        marks=pytest.mark.skipif(
            sys.version_info < (3, 12), reason="on 3.11 auto is the legacy hook"
        ),
    ),
]


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("core", CORES)
def test_under_coverage(tmp_path, core, hook):
    import coverage

    env = dict(os.environ, PIKOS_HOOK=hook)
    plain = run([sys.executable, COVERAGE_TARGET], tmp_path, env=env)
    assert plain.returncode == 0, plain.stderr
    alone = json.loads(plain.stdout)

    data_file = tmp_path / "coverage.data"
    env["COVERAGE_CORE"] = core
    covered = run(
        [
            sys.executable,
            "-m",
            "coverage",
            "run",
            f"--data-file={data_file}",
            COVERAGE_TARGET,
        ],
        tmp_path,
        env=env,
    )
    assert covered.returncode == 0, covered.stderr
    under = json.loads(covered.stdout)

    # The program and pikos' records are what they are without coverage.
    assert alone["before"] == under["before"] == 2
    assert alone["after"] == under["after"] == 6
    assert under["functions"] == alone["functions"]
    assert under["lines"] == alone["lines"]
    assert under["stats"] == alone["stats"]
    assert len(alone["functions"]) == 2 + 2 * 5
    # coverage's tracer (or None for sysmon) is the same object after each
    # pikos session as before it.
    for key in (
        "trace_kept_after_functions",
        "trace_kept_after_lines",
        "trace_kept_after_stats",
    ):
        assert alone[key] is True
        assert under[key] is True, key

    # coverage saw every line run outside pikos' sessions.
    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    measured = data.lines(os.path.realpath(COVERAGE_TARGET))
    assert measured is not None, sorted(data.measured_files())
    expected = marked_lines(COVERAGE_TARGET, "BEFORE") + marked_lines(
        COVERAGE_TARGET, "AFTER"
    )
    assert len(expected) == 16
    missing = sorted(set(expected) - set(measured))
    assert missing == []


# --- (b) a Python trace function and profile function ---------------------------------


def leaf(x):
    return x * 2


def work(n):
    total = 0
    for i in range(n):
        total += leaf(i)
    return total


def raising_work(n, error):
    work(n)
    raise error


def after(x):
    y = x * 2
    return y + 1


OURS = {leaf.__code__, work.__code__, raising_work.__code__, after.__code__}


class PythonHook:
    """A Python trace/profile function (as pdb and coverage's pytrace set):
    keeps the events of this file's workload functions."""

    def __init__(self):
        self.events = []

    def __call__(self, frame, event, arg):
        if frame.f_code in OURS:
            self.events.append((event, frame.f_code.co_name))
        return self


# Which of the two Python hooks each monitor takes over, on this Python, when
# both are set: function monitors the profile hook; line monitors the trace
# hook on 3.11, and on 3.12+ run beside it on sys.monitoring (README, "Line
# hooks on 3.12+"); StatsMonitor the profile hook on 3.11, sys.monitoring on
# 3.12+.
ON_312_PLUS = sys.version_info >= (3, 12)
MONITORS = [
    pytest.param(FunctionMonitor, {"profile"}, id="FunctionMonitor"),
    pytest.param(FunctionMemoryMonitor, {"profile"}, id="FunctionMemoryMonitor"),
    pytest.param(LineMonitor, set() if ON_312_PLUS else {"trace"}, id="LineMonitor"),
    pytest.param(
        LineMemoryMonitor, set() if ON_312_PLUS else {"trace"}, id="LineMemoryMonitor"
    ),
    pytest.param(
        StatsMonitor, set() if ON_312_PLUS else {"profile"}, id="StatsMonitor"
    ),
]


def new_monitor(monitor_class):
    if monitor_class is StatsMonitor:
        return StatsMonitor(), None
    recorder = ListRecorder()
    return monitor_class(recorder), recorder


def outcome(monitor, recorder):
    """What a monitor gathered, without indices and memory values."""
    if recorder is None:
        return sorted(
            (key[2], value[0], value[1]) for key, value in monitor.snapshot().items()
        )
    return [
        tuple(
            v
            for k, v in zip(r._fields, r, strict=True)
            if k not in ("index", "RSS", "VMS")
        )
        for r in recorder.records
    ]


def run_session(monitor_class, raising):
    monitor, recorder = new_monitor(monitor_class)
    if raising:
        error = ValueError("from the monitored code")
        attached = monitor.attach(raising_work)
        with pytest.raises(ValueError) as excinfo:
            attached(2, error)
        assert excinfo.value is error
    else:
        assert monitor.attach(work)(2) == 2
    return outcome(monitor, recorder)


@pytest.mark.parametrize("raising", [False, True], ids=["returns", "raises"])
@pytest.mark.parametrize(("monitor_class", "taken"), MONITORS)
def test_python_trace_and_profile_functions_restored(monitor_class, taken, raising):
    alone = run_session(monitor_class, raising)
    tracer, profiler = PythonHook(), PythonHook()
    sys.settrace(tracer)
    sys.setprofile(profiler)
    try:
        beside = run_session(monitor_class, raising)
        trace_after, profile_after = sys.gettrace(), sys.getprofile()
        during = {"trace": list(tracer.events), "profile": list(profiler.events)}
        tracer.events.clear()
        profiler.events.clear()
        assert after(1) == 3
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    assert trace_after is tracer
    assert profile_after is profiler
    # Both are called again afterwards, as before pikos.
    assert tracer.events == [
        ("call", "after"),
        ("line", "after"),
        ("line", "after"),
        ("return", "after"),
    ]
    assert profiler.events == [("call", "after"), ("return", "after")]
    # The hook pikos does not take saw the monitored code all along.
    for kind in {"trace", "profile"} - taken:
        assert during[kind].count(("call", "leaf")) == 2, kind
    # and pikos recorded what it records with no hook before it.
    assert beside == alone


class StackHook:
    """A trace/profile function that keeps a stack of the frames it saw
    called, as coverage's tracers and cProfile do: it relies on seeing the
    return of every call it saw."""

    def __init__(self):
        self.stack = []
        self.unmatched_returns = 0

    def __call__(self, frame, event, arg):
        if event == "call":
            self.stack.append(frame.f_code.co_name)
        elif event == "return":
            if self.stack:
                self.stack.pop()
            else:
                self.unmatched_returns += 1
        return self


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("raising", [False, True], ids=["returns", "raises"])
@pytest.mark.parametrize(("monitor_class", "taken"), MONITORS)
def test_stack_keeping_hooks_stay_balanced(
    monitor_class, taken, raising, hook, monkeypatch
):
    monkeypatch.setenv("PIKOS_HOOK", hook)
    tracer, profiler = StackHook(), StackHook()
    sys.settrace(tracer)
    sys.setprofile(profiler)
    try:
        run_session(monitor_class, raising)
        trace_stack, profile_stack = list(tracer.stack), list(profiler.stack)
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    # run_session was called and has returned: nothing is left open, and no
    # return came without its call.
    assert (trace_stack, tracer.unmatched_returns) == ([], 0)
    assert (profile_stack, profiler.unmatched_returns) == ([], 0)


# --- (c) pdb --------------------------------------------------------------------------


def test_pdb_stops_after_a_pikos_session(tmp_path):
    env = dict(os.environ, PYTHONBREAKPOINT="0")  # the reference: no debugger
    plain = run([sys.executable, PDB_TARGET], tmp_path, env=env)
    assert plain.returncode == 0, plain.stderr
    printed = dict(line.split(" ", 1) for line in plain.stdout.splitlines())
    assert printed["after"] == "6"

    (break_line,) = marked_lines(PDB_TARGET, "BREAK HERE")
    (call_line,) = marked_lines(PDB_TARGET, "BREAKPOINT CALL")
    commands = [
        f"b {break_line + 1}",  # the line after the two sessions' results
        "c",
        "p value",
        "c",  # on to breakpoint()
        "p count",
        "c",  # to the end
    ]
    env = dict(os.environ)
    env.pop("PYTHONBREAKPOINT", None)
    debugged = run(
        [sys.executable, "-m", "pdb", PDB_TARGET],
        tmp_path,
        env=env,
        stdin="\n".join(commands) + "\n",
    )
    assert debugged.returncode == 0, debugged.stderr
    out = debugged.stdout
    stop = f"> {PDB_TARGET}({break_line + 1})<module>()"
    # 3.13's breakpoint() stops at its own line; before, at the next one.
    at_call = call_line if sys.version_info >= (3, 13) else call_line + 1
    stop_at_call = f"> {PDB_TARGET}({at_call})<module>()"
    assert stop in out
    assert stop_at_call in out
    assert out.index(stop) < out.index(stop_at_call)
    after_stop = out[out.index(stop) :].splitlines()
    # the prompt, then the value printed by `p value`
    assert f"(Pdb) {printed['value']}" in after_stop
    after_call = out[out.index(stop_at_call) :].splitlines()
    assert f"(Pdb) {printed['count']}" in after_call
    # and the program ran to its end, printing what it prints without pdb
    assert plain.stdout in out.replace("(Pdb) ", "")
    assert "The program finished and will be restarted" in out


# --- (d) cProfile ------------------------------------------------------------------


def counted(i):
    return i + 1


def cprofile_counts(monitor):
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        for i in range(3):
            counted(i)
        if monitor is None:
            for i in range(5):
                counted(i)
        else:
            with monitor:
                for i in range(5):
                    counted(i)
        for i in range(7):
            counted(i)
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler).stats
    code = counted.__code__
    primitive, calls, _, _, callers = stats[
        (code.co_filename, code.co_firstlineno, code.co_name)
    ]
    return (primitive, calls), {
        caller[2]: value[:2] for caller, value in callers.items()
    }


@pytest.mark.parametrize("monitor_class", [FunctionMonitor, LineMonitor, StatsMonitor])
def test_cprofile_counts_are_unchanged(monitor_class):
    alone = cprofile_counts(None)
    assert alone[0] == (15, 15)
    monitor, _ = new_monitor(monitor_class)
    shares_the_hook = sys.version_info < (3, 12) and monitor_class is not LineMonitor
    if not shares_the_hook:
        # 3.12+: cProfile is on sys.monitoring; a line monitor never needs
        # the profile hook.
        assert cprofile_counts(monitor) == alone
        return
    # 3.11: one profile hook per thread, which pikos takes over, saying so;
    # cProfile misses the session's 5 calls and nothing else, and its view
    # of the stack stays whole: no caller of pikos' own in its table (the
    # loop's frame started before cProfile did: it has no caller at all).
    with pytest.warns(HookTakenWarning, match="cProfile.Profile"):
        counts = cprofile_counts(monitor)
    assert counts == ((10, 10), {})
