"""Enable/disable, re-entrancy and polite coexistence with other hooks.

Every test runs for both monitors: FunctionMonitor owns the profile hook
(sys.getprofile/sys.setprofile), LineMonitor the trace hook
(sys.gettrace/sys.settrace).
"""

import cProfile
import pstats
import sys

import harness
import pytest
import targets
from monitoring import CountingRecorder, pikos_frames
from pikos.monitors.api import FunctionMonitor, LineMonitor
from pikos.monitors.records import FunctionRecord, LineRecord
from pikos.recorders.api import ListRecorder

# The tests here set other hooks on purpose; the warning that pikos takes
# them over is tested in tests/robustness/test_coexistence_warnings.py.
pytestmark = pytest.mark.filterwarnings("ignore::pikos.errors.HookTakenWarning")

MONITORS = [
    pytest.param(FunctionMonitor, FunctionRecord, "profile", id="FunctionMonitor"),
    pytest.param(LineMonitor, LineRecord, "trace", id="LineMonitor"),
]


def get_hook(kind):
    return sys.getprofile() if kind == "profile" else sys.gettrace()


def set_hook(kind, hook):
    if kind == "profile":
        sys.setprofile(hook)
    else:
        sys.settrace(hook)


class RecordingHook:
    """A Python profile/trace function standing in for a debugger or coverage."""

    def __init__(self):
        self.events = []

    def __call__(self, frame, event, arg):
        self.events.append((frame.f_code.co_name, event))
        return self


@pytest.fixture
def previous_hook():
    """Install a Python hook of each kind before the test; remove it after."""
    hooks = {"profile": RecordingHook(), "trace": RecordingHook()}
    sys.setprofile(hooks["profile"])
    sys.settrace(hooks["trace"])
    try:
        yield hooks
    finally:
        sys.setprofile(None)
        sys.settrace(None)


@pytest.mark.parametrize(("monitor_class", "record_type", "kind"), MONITORS)
def test_nested_with_prepares_and_finalizes_once(monitor_class, record_type, kind):
    recorder = CountingRecorder()
    monitor = monitor_class(recorder)
    with monitor:
        with monitor:
            targets.leaf(1)
        assert recorder.finalized == 0
        targets.after_pikos()  # still inside the outer block: recorded
    assert recorder.prepared == [record_type]
    assert recorder.finalized == 1
    functions = {record.function for record in recorder.records}
    assert {"leaf", "after_pikos"} <= functions


@pytest.mark.parametrize(("monitor_class", "record_type", "kind"), MONITORS)
def test_nested_enable_disable_calls_prepare_and_finalize_once(
    monitor_class, record_type, kind
):
    before = get_hook(kind)
    recorder = CountingRecorder()
    monitor = monitor_class(recorder)
    monitor.enable()
    monitor.enable()
    targets.leaf(1)
    monitor.disable()
    assert recorder.finalized == 0
    targets.after_pikos()  # still enabled after the inner disable
    monitor.disable()
    assert recorder.prepared == [record_type]
    assert recorder.finalized == 1
    assert get_hook(kind) is before
    assert "after_pikos" in {record.function for record in recorder.records}


@pytest.mark.parametrize(("monitor_class", "record_type", "kind"), MONITORS)
def test_nothing_is_recorded_after_the_outermost_exit(monitor_class, record_type, kind):
    recorder = ListRecorder()
    with monitor_class(recorder):
        targets.leaf(1)
    count = len(recorder.records)
    targets.after_pikos()
    assert count > 0
    assert len(recorder.records) == count


@pytest.mark.parametrize(("monitor_class", "record_type", "kind"), MONITORS)
def test_unbalanced_disable_is_harmless(monitor_class, record_type, kind):
    before = get_hook(kind)
    recorder = CountingRecorder()
    monitor = monitor_class(recorder)
    monitor.disable()
    assert recorder.finalized == 0
    assert get_hook(kind) is before
    with monitor:
        targets.leaf(1)
    monitor.disable()
    monitor.disable()
    assert recorder.prepared == [record_type]
    assert recorder.finalized == 1
    assert get_hook(kind) is before
    # and the monitor still works afterwards, its index continuing
    count = len(recorder.records)
    with monitor:
        targets.leaf(2)
    assert recorder.prepared == [record_type, record_type]
    assert recorder.finalized == 2
    assert [r.index for r in recorder.records] == list(range(len(recorder.records)))
    assert len(recorder.records) > count


@pytest.mark.parametrize(("monitor_class", "record_type", "kind"), MONITORS)
def test_monitor_own_frames_never_appear(monitor_class, record_type, kind):
    recorder = ListRecorder()
    monitor = monitor_class(recorder)
    with monitor:
        pass
    monitor.enable()
    monitor.disable()
    with monitor:
        with monitor:
            pass
    assert pikos_frames(recorder.records) == []
    assert harness.without_harness(recorder.records) == []
    if monitor_class is FunctionMonitor:
        # no __enter__/__exit__/enable/disable, not even as c_call events
        assert recorder.records == []


@pytest.mark.parametrize(("monitor_class", "record_type", "kind"), MONITORS)
def test_previous_python_hook_is_restored_and_works_again(
    monitor_class, record_type, kind, previous_hook
):
    previous = previous_hook[kind]
    recorder = ListRecorder()
    with monitor_class(recorder):
        targets.leaf(1)
    restored = get_hook(kind)
    previous.events.clear()
    targets.after_pikos()
    assert restored is previous
    assert recorder.records
    assert ("after_pikos", "call") in previous.events
    if kind == "trace":
        assert ("after_pikos", "line") in previous.events


@pytest.mark.parametrize(("monitor_class", "record_type", "kind"), MONITORS)
def test_other_kind_of_hook_is_left_alone(
    monitor_class, record_type, kind, previous_hook
):
    other = "trace" if kind == "profile" else "profile"
    with monitor_class(ListRecorder()):
        targets.leaf(1)
        assert get_hook(other) is previous_hook[other]
    assert get_hook(other) is previous_hook[other]
    assert get_hook(kind) is previous_hook[kind]


@pytest.mark.parametrize(("monitor_class", "record_type", "kind"), MONITORS)
@pytest.mark.parametrize("exc_type", [ValueError, KeyboardInterrupt])
def test_exception_propagates_unchanged_and_hook_is_restored(
    monitor_class, record_type, kind, exc_type, previous_hook
):
    error = exc_type("boom")
    recorder = CountingRecorder()
    with pytest.raises(exc_type) as excinfo:
        with monitor_class(recorder):
            targets.raising(error)
    assert excinfo.value is error
    assert get_hook(kind) is previous_hook[kind]
    assert recorder.finalized == 1
    assert "raising" in {record.function for record in recorder.records}


@pytest.mark.parametrize(("monitor_class", "record_type", "kind"), MONITORS)
def test_exception_from_attached_function_propagates_and_hook_is_restored(
    monitor_class, record_type, kind, previous_hook
):
    error = LookupError("attached")
    recorder = ListRecorder()
    attached = monitor_class(recorder).attach(targets.raising)
    with pytest.raises(LookupError) as excinfo:
        attached(error)
    assert excinfo.value is error
    assert get_hook(kind) is previous_hook[kind]
    assert recorder.records[0].function == "raising"


@pytest.mark.parametrize(("monitor_class", "record_type", "kind"), MONITORS)
def test_cprofile_keeps_collecting_after_pikos_exits(monitor_class, record_type, kind):
    profiler = cProfile.Profile()
    recorder = ListRecorder()
    profiler.enable()
    try:
        before = (sys.getprofile(), sys.gettrace())
        with monitor_class(recorder):
            targets.leaf(1)
        after = (sys.getprofile(), sys.gettrace())
        targets.after_pikos()
    finally:
        profiler.disable()
    assert after[0] is before[0]
    assert after[1] is before[1]
    assert "leaf" in {record.function for record in recorder.records}
    collected = {key[2] for key in pstats.Stats(profiler).stats}
    assert "after_pikos" in collected


def test_function_and_line_monitors_can_run_together():
    function_records, line_records = ListRecorder(), ListRecorder()
    with LineMonitor(line_records):
        with FunctionMonitor(function_records):
            targets.work()
    _, expected_functions = harness.profile_reference(targets.work)
    _, expected_lines = harness.trace_reference(targets.work)
    harness.assert_same_events(
        harness.without_index(function_records.records), expected_functions
    )
    assert pikos_frames(line_records.records) == []
    harness.assert_same_events(
        harness.without_index(harness.without_harness(line_records.records)),
        expected_lines,
    )
