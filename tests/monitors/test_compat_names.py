"""Names the original pikos' documentation shows being imported (issue 19):
``pikos._internal.keep_track.KeepTrack``,
``pikos._internal.function_set.FunctionSet`` (with its warnings),
``ProfileFunctionManager``/``TraceFunctionManager`` (``replace``/``recover``),
the record constants of ``pikos.monitors.records``,
``pikos.recorders.zeromq_recorder.RecordingStopped`` and the yappi-era
methods of ``YappiProfiler``."""

import sys
import threading

import pytest
from pikos._internal.function_set import FunctionSet
from pikos._internal.keep_track import KeepTrack
from pikos._internal.profile_function_manager import ProfileFunctionManager
from pikos._internal.trace_function_manager import TraceFunctionManager
from pikos.monitors import records
from pikos.monitors.api import FocusedFunctionMonitor
from pikos.recorders.api import ListRecorder


def work():
    return 1


def other():
    return 2


def test_keep_track_is_true_between_the_first_ping_and_the_last_pong():
    # What a monitor's enable/disable does with it: only the outermost call
    # of each acts.
    tracker = KeepTrack()
    acted = [tracker(message) for message in ("ping", "ping", "pong", "pong")]
    assert acted == [True, False, False, True]
    assert not tracker
    assert repr(KeepTrack(2)) == "KeepTrack(depth=2)"
    with pytest.raises(ValueError):
        KeepTrack(-1)


def test_function_set_is_a_mutable_set_of_the_functions():
    functions = FunctionSet([work, work.__code__])
    assert list(functions) == [work]  # the functions, once per code
    assert work in functions and work.__code__ in functions
    functions.add(other)
    assert len(functions) == 2
    functions.discard(work)
    assert list(functions) == [other]
    functions.remove(other)  # the MutableSet methods
    assert not functions
    with pytest.raises(KeyError):
        functions.remove(other)


def test_function_set_warns_about_builtins_and_objects_without_code():
    with pytest.warns(UserWarning, match="Built-in functions are not supported"):
        functions = FunctionSet([work, len])
    assert list(functions) == [work]
    with pytest.warns(
        UserWarning, match="Could not extract a code object for the object 42"
    ):
        functions.add(42)
    with pytest.warns(UserWarning, match="Could not extract a code object"):
        functions.discard("work")
    assert list(functions) == [work]


def test_a_monitors_functions_argument_is_stricter_than_function_set():
    # functions= fails at construction (naming the object), not later.
    with pytest.raises(TypeError, match="len"):
        FocusedFunctionMonitor(ListRecorder(), functions=[work, len])


def test_function_set_can_be_given_to_a_focused_monitor():
    recorder = ListRecorder()
    with FocusedFunctionMonitor(recorder, functions=FunctionSet([work])):
        other()
        work()
    assert [(r.type, r.function) for r in recorder.records] == [
        ("call", "work"),
        ("return", "work"),
    ]


@pytest.mark.parametrize(
    ("manager_class", "get", "get_threading"),
    [
        (ProfileFunctionManager, sys.getprofile, threading.getprofile),
        (TraceFunctionManager, sys.gettrace, threading.gettrace),
    ],
)
def test_function_managers_replace_and_recover(manager_class, get, get_threading):
    events = []

    def hook(frame, event, arg):
        events.append(event)

    def another(frame, event, arg):
        pass

    manager = manager_class()
    with pytest.raises(RuntimeError, match="has not been set"):
        manager.recover()
    manager.replace(hook)
    try:
        assert get() is hook and get_threading() is hook
        manager.replace(hook)  # the same again: nothing happens
        with pytest.raises(RuntimeError, match="more than once"):
            manager.replace(another)
        work()
    finally:
        manager.recover()
    assert get() is None and get_threading() is None
    assert "call" in events
    with pytest.raises(RuntimeError):
        manager.recover()


def test_records_module_constants():
    assert records.FUNCTION_RECORD == (
        "index",
        "type",
        "function",
        "lineNo",
        "filename",
    )
    assert records.LINE_RECORD == ("index", "function", "lineNo", "line", "filename")
    assert records.FUNCTION_MEMORY_RECORD == (
        "index",
        "type",
        "function",
        "RSS",
        "VMS",
        "lineNo",
        "filename",
    )
    assert records.LINE_MEMORY_RECORD == (
        "index",
        "function",
        "lineNo",
        "RSS",
        "VMS",
        "line",
        "filename",
    )
    assert records.FUNCTION_RECORD_TEMPLATE == "{:<8} {:<11} {:<30} {:<5} {}"
    assert records.LINE_RECORD_TEMPLATE == "{:<12} {:<50} {:<7} {} -- {}"
    assert (
        records.FUNCTION_MEMORY_RECORD_TEMPLATE
        == "{:>8} | {:<11} | {:<12} | {:>15} | {:>15} | {:>6} | {}"
    )
    assert (
        records.FUNCTION_MEMORY_HEADER_TEMPLATE
        == "{:<8} | {:<11} | {:<12} | {:<15} | {:<15} | {:>6} | {}"
    )
    assert (
        records.LINE_MEMORY_RECORD_TEMPLATE
        == "{:<12} | {:<30} | {:<7} | {:>15} | {:>15} | {} {}"
    )
    assert (
        records.LINE_MEMORY_HEADER_TEMPLATE
        == "{:^12} | {:^30} | {:^7} | {:^15} | {:^15} | {} {}"
    )


def test_early_module_spellings_of_the_constants():
    from pikos.monitors.function_monitor import (
        FUNCTION_RECORD,
        FUNCTION_RECORD_TEMPLATE,
    )
    from pikos.monitors.line_monitor import LINE_RECORD, LINE_RECORD_TEMPLATE

    assert FUNCTION_RECORD is records.FUNCTION_RECORD
    assert FUNCTION_RECORD_TEMPLATE is records.FUNCTION_RECORD_TEMPLATE
    assert LINE_RECORD is records.LINE_RECORD
    assert LINE_RECORD_TEMPLATE is records.LINE_RECORD_TEMPLATE


def test_recording_stopped_is_importable_where_the_original_had_it():
    from pikos.recorders.zeromq_recorder import RecordingStopped

    assert isinstance(RecordingStopped(), RecordingStopped)


@pytest.fixture
def yappi():
    yappi = pytest.importorskip("yappi")
    yield yappi
    if yappi.is_running():
        yappi.stop()
    yappi.clear_stats()
    yappi.set_clock_type("cpu")


def test_yappi_profiler_has_the_original_methods(yappi):
    from pikos.external.yappi_profiler import YappiProfiler

    profiler = YappiProfiler()
    with profiler:
        with profiler:
            work()
        profiler.close()  # stops whatever the nesting
        assert not profiler.is_running()
    names = []
    profiler.enum_stats(lambda stat: names.append(stat.name))
    assert "work" in names
    assert "work" in [stat.name for stat in profiler.get_stats()]
    threads = []
    profiler.enum_thread_stats(threads.append)
    assert threads and len(profiler.enum_thread_stats()) == len(threads)
    profiler.clear()
    assert not list(profiler.get_stats())
