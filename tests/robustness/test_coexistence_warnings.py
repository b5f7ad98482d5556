"""Another tool owns the hook a monitor needs: pikos says so at enable
(``HookTakenWarning``, naming the tool), or, where the interpreter allows
both, runs beside it without a word.  Either way the tool's hook is put back
exactly at disable."""

import cProfile
import pstats
import sys
import warnings

import pytest
from pikos.errors import HookTakenWarning
from pikos.monitors.api import FunctionMonitor, LineMonitor, StatsMonitor
from pikos.recorders.api import CSVFileRecorder, ListRecorder

MONITORING = sys.version_info >= (3, 12)


def leaf(i):
    return i


class Tracer:
    """A sys.settrace tool (a debugger, coverage.py's Python tracer)."""

    def __init__(self):
        self.lines = 0

    def __call__(self, frame, event, arg):
        if event == "line":
            self.lines += 1
        return self


def test_a_profile_hook_taken_over_is_named_at_enable():
    def their_profiler(frame, event, arg):
        pass

    sys.setprofile(their_profiler)
    try:
        with pytest.warns(HookTakenWarning) as caught:
            with FunctionMonitor(ListRecorder()):
                leaf(1)
        assert sys.getprofile() is their_profiler
    finally:
        sys.setprofile(None)
    (warning,) = caught
    text = str(warning.message)
    assert "FunctionMonitor" in text and "profile hook" in text
    assert "their_profiler" in text
    assert warning.filename == __file__  # points at the user's `with`


def test_line_monitors_run_beside_a_tracer_where_the_interpreter_allows():
    tracer = Tracer()
    recorder = ListRecorder()
    monitor = LineMonitor(recorder)
    sys.settrace(tracer)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with monitor:
                before = tracer.lines
                leaf(1)
                during = tracer.lines - before
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(None)
    taken = [w for w in caught if issubclass(w.category, HookTakenWarning)]
    assert any(r.function == "leaf" for r in recorder.records)
    if MONITORING:
        # 3.12+: pikos takes sys.monitoring, the tracer keeps its events.
        assert monitor._hook.backend == "monitoring"
        assert taken == []
        assert during > 0
    else:
        assert len(taken) == 1
        assert "trace hook" in str(taken[0].message)
        assert during == 0


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring: Python 3.12+")
def test_the_legacy_hook_asked_for_takes_over_and_says_so(monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", "legacy")
    tracer = Tracer()
    sys.settrace(tracer)
    try:
        with pytest.warns(HookTakenWarning, match="unset PIKOS_HOOK"):
            with LineMonitor(ListRecorder()):
                leaf(1)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(None)


def test_cprofile_and_pikos_together():
    profile = cProfile.Profile()
    recorder = ListRecorder()
    profile.enable()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with FunctionMonitor(recorder):
            leaf(1)
    leaf(2)
    profile.disable()
    taken = [w for w in caught if issubclass(w.category, HookTakenWarning)]
    stats = pstats.Stats(profile).stats
    (calls,) = [v[1] for k, v in stats.items() if k[2] == "leaf"]
    assert [r.function for r in recorder.records].count("leaf") == 2  # call, return
    if MONITORING:
        # cProfile is on sys.monitoring: both see everything.
        assert taken == []
        assert calls == 2
    else:
        # 3.11: one profile hook per thread; cProfile's comes back after.
        assert len(taken) == 1 and "cProfile.Profile" in str(taken[0].message)
        assert calls == 1


@pytest.mark.skipif(not MONITORING, reason="sys.monitoring: Python 3.12+")
def test_statistics_with_every_tool_id_taken_fall_back_and_say_so():
    taken_ids = []
    for tool in range(2, 6):
        if sys.monitoring.get_tool(tool) is None:
            sys.monitoring.use_tool_id(tool, "someone else")
            taken_ids.append(tool)
    sys.setprofile(lambda frame, event, arg: None)
    try:
        monitor = StatsMonitor()
        with pytest.warns(HookTakenWarning, match="profile hook"):
            with monitor:
                leaf(1)
        assert monitor._hook.backend == "legacy"
    finally:
        sys.setprofile(None)
        for tool in taken_ids:
            sys.monitoring.free_tool_id(tool)


def test_warnings_as_errors_stop_the_enable_cleanly(tmp_path):
    def their_profiler(frame, event, arg):
        pass

    recorder = CSVFileRecorder(str(tmp_path / "out.csv"))
    monitor = FunctionMonitor(recorder)
    sys.setprofile(their_profiler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", HookTakenWarning)
            with pytest.raises(HookTakenWarning):
                monitor.enable()
        assert sys.getprofile() is their_profiler
    finally:
        sys.setprofile(None)
    # Nothing half-started: the recorder was closed, the monitor works again.
    assert not monitor._hook.installed
    with monitor:
        leaf(1)
    assert (tmp_path / "out.csv").read_text().count("leaf") == 2
