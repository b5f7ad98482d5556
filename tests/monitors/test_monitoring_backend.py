"""Line monitors on ``sys.monitoring`` (3.12+) report exactly what the legacy
trace hook reports, share the interpreter with other tools, and give their
tool id back."""

import sys
import threading

import harness
import line_corpus
import pytest
from pikos.monitors.api import (
    FocusedLineMemoryMonitor,
    FocusedLineMonitor,
    LineMemoryMonitor,
    LineMonitor,
)
from pikos.recorders.api import ListRecorder

HAS_MONITORING = sys.version_info >= (3, 12)
needs_monitoring = pytest.mark.skipif(
    not HAS_MONITORING, reason="sys.monitoring is new in Python 3.12"
)
PIKOS_TOOL_IDS = (2, 3, 4, 5)


@pytest.fixture(autouse=True)
def _clean_backend(monkeypatch):
    monkeypatch.delenv("PIKOS_HOOK", raising=False)
    yield
    if HAS_MONITORING:
        leaked = [i for i in PIKOS_TOOL_IDS if sys.monitoring.get_tool(i) == "pikos"]
        assert leaked == [], f"pikos kept sys.monitoring tool ids {leaked}"


@pytest.fixture(scope="module", autouse=True)
def _warm_up():
    line_corpus.run_all()


def make(monitor_class, recorder):
    if monitor_class in (FocusedLineMonitor, FocusedLineMemoryMonitor):
        return monitor_class(recorder, functions=line_corpus.all_codes())
    return monitor_class(recorder)


def record_corpus(monitor_class, backend, monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", backend)
    recorder = ListRecorder()
    monitor = make(monitor_class, recorder)
    with monitor:
        result = harness.outcome(line_corpus.run_all)
    used = monitor._hook.backend
    monkeypatch.delenv("PIKOS_HOOK")
    return result, used, recorder.records


def comparable(records):
    """(function, lineNo, line, filename) of the corpus' own records."""
    out = []
    for record in records:
        fields = record._asdict()
        if fields["filename"] != line_corpus.__file__:
            continue
        out.append(
            (fields["function"], fields["lineNo"], fields["line"], fields["filename"])
        )
    return out


# --- the same events ---------------------------------------------------------


@needs_monitoring
@pytest.mark.parametrize(
    "monitor_class",
    [LineMonitor, FocusedLineMonitor, LineMemoryMonitor, FocusedLineMemoryMonitor],
)
def test_monitoring_records_what_the_legacy_hook_records(monitor_class, monkeypatch):
    legacy_result, legacy_used, legacy = record_corpus(
        monitor_class, "legacy", monkeypatch
    )
    result, used, records = record_corpus(monitor_class, "monitoring", monkeypatch)
    assert (legacy_used, used) == ("legacy", "monitoring")
    assert result == legacy_result
    assert len(comparable(records)) > 150
    harness.assert_same_events(comparable(records), comparable(legacy))
    # Indices count from zero without gaps on both.
    assert [r.index for r in records] == list(range(len(records)))


@needs_monitoring
def test_monitoring_matches_a_python_settrace_reference(monkeypatch):
    _, expected = harness.trace_reference(line_corpus.run_all)
    expected = [e for e in expected if e[3] == line_corpus.__file__]
    _, used, records = record_corpus(LineMonitor, "monitoring", monkeypatch)
    assert used == "monitoring"
    harness.assert_same_events(comparable(records), expected)


@needs_monitoring
def test_focused_monitoring_matches_the_focused_reference(monkeypatch):
    codes = [line_corpus.loops.__code__, line_corpus.one_liner.__code__]
    _, expected = harness.focused_trace_reference(codes, line_corpus.run_all)
    monkeypatch.setenv("PIKOS_HOOK", "monitoring")
    recorder = ListRecorder()
    with FocusedLineMonitor(recorder, functions=codes):
        line_corpus.run_all()
    assert comparable(recorder.records) == expected
    assert {r.function for r in recorder.records} == {"loops", "one_liner"}


# --- which mechanism ---------------------------------------------------------


@needs_monitoring
def test_auto_uses_monitoring_for_focused_line_monitors():
    monitor = FocusedLineMonitor(ListRecorder(), functions=[line_corpus.loops])
    with monitor:
        assert monitor._hook.backend == "monitoring"
        assert sys.monitoring.get_tool(monitor._hook.tool_id) == "pikos"
    assert monitor._hook.tool_id is None


@needs_monitoring
def test_auto_for_unfocused_line_monitors_depends_on_the_version():
    monitor = LineMonitor(ListRecorder())
    with monitor:
        pass
    expected = "monitoring" if sys.version_info < (3, 13) else "legacy"
    assert monitor._hook.backend == expected


@needs_monitoring
def test_pikos_hook_legacy_keeps_the_legacy_hook(monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", "legacy")
    monitor = FocusedLineMonitor(ListRecorder(), functions=[line_corpus.loops])
    with monitor:
        line_corpus.loops(3)
    assert monitor._hook.backend == "legacy"
    assert monitor.recorder.records


def test_an_unknown_pikos_hook_is_an_error_before_anything_starts(monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", "fastest")
    recorder = ListRecorder()
    monitor = LineMonitor(recorder)
    before = sys.gettrace()
    with pytest.raises(ValueError, match="PIKOS_HOOK='fastest'"):
        monitor.enable()
    assert sys.gettrace() is before
    assert recorder.records == []
    monkeypatch.delenv("PIKOS_HOOK")
    with monitor:  # the monitor is still usable
        line_corpus.loops(2)
    assert recorder.records


@pytest.mark.skipif(HAS_MONITORING, reason="3.11 only")
def test_pikos_hook_monitoring_needs_3_12(monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", "monitoring")
    with pytest.raises(ValueError, match="3.12"):
        LineMonitor(ListRecorder()).enable()


# --- tool ids and other tools ------------------------------------------------


@pytest.fixture
def taken_tool_ids():
    """Takes every tool id pikos may use; gives them back afterwards."""
    taken = []
    for tool in PIKOS_TOOL_IDS:
        if sys.monitoring.get_tool(tool) is None:
            sys.monitoring.use_tool_id(tool, "test")
            taken.append(tool)
    yield taken
    for tool in taken:
        sys.monitoring.free_tool_id(tool)


@needs_monitoring
def test_without_a_free_tool_id_auto_falls_back_to_legacy(taken_tool_ids):
    recorder = ListRecorder()
    monitor = FocusedLineMonitor(recorder, functions=[line_corpus.loops])
    with monitor:
        line_corpus.loops(3)
    assert monitor._hook.backend == "legacy"
    assert {r.function for r in recorder.records} == {"loops"}


@needs_monitoring
def test_without_a_free_tool_id_monitoring_is_a_clear_error(
    taken_tool_ids, monkeypatch
):
    monkeypatch.setenv("PIKOS_HOOK", "monitoring")
    recorder = FailingRecorder()
    monitor = FocusedLineMonitor(recorder, functions=[line_corpus.loops])
    with pytest.raises(RuntimeError, match="no sys.monitoring tool id is free"):
        monitor.enable()
    assert sys.gettrace() is None
    assert recorder.finalized  # started, so closed again
    for tool in taken_tool_ids:
        assert sys.monitoring.get_tool(tool) == "test"


@needs_monitoring
def test_another_tool_keeps_its_events_and_its_id():
    events = sys.monitoring.events
    seen = []
    tool = 2
    sys.monitoring.use_tool_id(tool, "other")
    try:
        sys.monitoring.register_callback(
            tool, events.LINE, lambda code, line: seen.append(line)
        )
        sys.monitoring.set_local_events(tool, line_corpus.loops.__code__, events.LINE)
        line_corpus.loops(3)
        alone = list(seen)
        seen.clear()
        recorder = ListRecorder()
        monitor = FocusedLineMonitor(recorder, functions=[line_corpus.loops])
        with monitor:
            assert monitor._hook.tool_id != tool
            line_corpus.loops(3)
        assert seen == alone
        assert sys.monitoring.get_tool(tool) == "other"
        seen.clear()
        line_corpus.loops(3)
        assert seen == alone
    finally:
        sys.monitoring.set_local_events(tool, line_corpus.loops.__code__, 0)
        sys.monitoring.register_callback(tool, events.LINE, None)
        sys.monitoring.free_tool_id(tool)


@needs_monitoring
def test_cprofile_sees_every_call_after_a_monitoring_session():
    # pikos disables events where it needs none; the tool id it gave back
    # (cProfile's, on 3.12+) must not keep them disabled.
    import cProfile
    import pstats

    with FocusedLineMonitor(ListRecorder(), functions=[line_corpus.one_liner]):
        for _ in range(3):
            line_corpus.nested(1)
            line_corpus.one_liner(1)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        line_corpus.nested(1)
        line_corpus.one_liner(1)
    finally:
        profiler.disable()
    names = {key[2]: value[0] for key, value in pstats.Stats(profiler).stats.items()}
    assert names["inner"] == 2
    assert names["one_liner"] == 1


@needs_monitoring
def test_two_focused_monitors_at_once_use_two_tool_ids():
    first, second = ListRecorder(), ListRecorder()
    outer = FocusedLineMonitor(first, functions=[line_corpus.loops])
    inner = FocusedLineMonitor(second, functions=[line_corpus.breaks])
    with outer, inner:
        assert outer._hook.tool_id != inner._hook.tool_id
        line_corpus.run_all()
    assert {r.function for r in first.records} == {"loops"}
    assert {r.function for r in second.records} == {"breaks"}


# --- focus changes, threads, failures ----------------------------------------


@needs_monitoring
def test_focus_changes_while_enabled_move_the_local_events():
    recorder = ListRecorder()
    monitor = FocusedLineMonitor(recorder, functions=[line_corpus.loops])
    with monitor:
        line_corpus.breaks(1)
        monitor.functions.add(line_corpus.breaks)
        line_corpus.breaks(1)
        monitor.functions.discard(line_corpus.loops)
        line_corpus.loops(1)
    assert monitor._hook.backend == "monitoring"
    names = [r.function for r in recorder.records]
    assert "loops" not in names
    assert names.count("breaks") == len(
        [e for e in harness.trace_reference(line_corpus.breaks, 1)[1]]
    )


@needs_monitoring
def test_threads_follow_the_legacy_rules():
    # A thread running before enable is not covered; one started while
    # enabled is; leave_thread stops the calling thread only.
    recorder = ListRecorder()
    monitor = FocusedLineMonitor(recorder, functions=[line_corpus.recursive])
    go, done = threading.Event(), threading.Event()

    def early():
        go.wait()
        line_corpus.recursive(3)
        done.set()

    early_thread = threading.Thread(target=early)
    early_thread.start()
    with monitor:
        assert monitor._hook.backend == "monitoring"
        go.set()
        done.wait()
        late = threading.Thread(target=line_corpus.recursive, args=(4,))
        late.start()
        late.join()
        monitor.leave_thread()
        line_corpus.recursive(5)
    early_thread.join()
    per_call = len(harness.trace_reference(line_corpus.recursive, 1)[1])
    assert per_call == 2
    # recursive(4) alone: 4 frames, the last returns at once.
    expected = len(harness.trace_reference(line_corpus.recursive, 4)[1])
    assert len(recorder.records) == expected


class FailingRecorder:
    """A recorder whose third record() raises."""

    def __init__(self):
        self.records = []
        self.finalized = False

    def prepare(self, record_type):
        pass

    def record(self, data):
        if len(self.records) == 2:
            raise OSError(28, "No space left on device")
        self.records.append(data)

    def finalize(self):
        self.finalized = True


@needs_monitoring
def test_a_failing_recorder_stops_the_session_and_frees_the_tool_id(monkeypatch):
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)
    recorder = FailingRecorder()
    monitor = FocusedLineMonitor(recorder, functions=[line_corpus.loops])
    with monitor:
        tool = monitor._hook.tool_id
        result = line_corpus.loops(4)
        line_corpus.loops(4)
    assert result == line_corpus.loops(4)
    assert len(recorder.records) == 2
    assert recorder.finalized
    assert len(reports) == 1
    assert isinstance(reports[0].exc_value, OSError)
    assert sys.monitoring.get_tool(tool) is None
