"""Focused monitors record only inside the focus windows of their functions."""

import inspect
import threading

import focus_targets
import harness
import pytest
import workload
from monitoring import CountingRecorder, pikos_frames
from pikos.filters.api import OnValue
from pikos.monitors.api import (
    FocusedFunctionMemoryMonitor,
    FocusedFunctionMonitor,
    FocusedLineMemoryMonitor,
    FocusedLineMonitor,
)
from pikos.monitors.records import (
    FunctionMemoryRecord,
    FunctionRecord,
    LineMemoryRecord,
    LineRecord,
)
from pikos.recorders.api import ListRecorder

FUNCTION_MONITORS = [
    pytest.param(FocusedFunctionMonitor, id="FocusedFunctionMonitor"),
    pytest.param(FocusedFunctionMemoryMonitor, id="FocusedFunctionMemoryMonitor"),
]
LINE_MONITORS = [
    pytest.param(FocusedLineMonitor, id="FocusedLineMonitor"),
    pytest.param(FocusedLineMemoryMonitor, id="FocusedLineMemoryMonitor"),
]
RECORD_TYPES = {
    FocusedFunctionMonitor: FunctionRecord,
    FocusedFunctionMemoryMonitor: FunctionMemoryRecord,
    FocusedLineMonitor: LineRecord,
    FocusedLineMemoryMonitor: LineMemoryRecord,
}

ft = focus_targets

# One focused window of ft.focused(x), as (type, function).
FOCUSED_WINDOW = [
    ("call", "focused"),
    ("c_call", "len"),
    ("c_return", "len"),
    ("call", "callee"),
    ("call", "leaf"),
    ("return", "leaf"),
    ("return", "callee"),
    ("return", "focused"),
]
LEAF = [("call", "leaf"), ("return", "leaf")]


@pytest.fixture(scope="module", autouse=True)
def _warm_up():
    workload.main()
    ft.outer()
    ft.drive_generator()
    ft.run_two_threads()


def events_of(records):
    """Records as comparable tuples without index, RSS and VMS."""
    return [
        tuple(
            value
            for field, value in zip(record._fields, record, strict=True)
            if field not in ("index", "RSS", "VMS")
        )
        for record in records
    ]


def calls_of(records):
    return [(record.type, record.function) for record in records]


def python_calls_of(records):
    return [(r.type, r.function) for r in records if r.type in ("call", "return")]


def code_of(function):
    return inspect.unwrap(function).__code__


def run_focused(monitor_class, functions, driver, *args):
    """Run driver(*args) inside `with monitor_class(..., functions=...)`."""
    recorder = ListRecorder()
    monitor = monitor_class(recorder, functions=functions)
    with monitor:
        result = harness.outcome(driver, *args)
    return result, recorder.records


# (driver, focused functions): the focus windows to compare with the reference.
SCENARIOS = [
    pytest.param(ft.outer, [ft.focused], id="callees-and-builtins"),
    pytest.param(ft.twice, [ft.focused], id="called-twice"),
    pytest.param(ft.outer, [ft.outer], id="everything"),
    pytest.param(ft.outer, [ft.leaf], id="leaf-only"),
    pytest.param(ft.run_recursive, [ft.recursive], id="recursion"),
    pytest.param(ft.between, [ft.first, ft.second], id="two-functions"),
    pytest.param(ft.run_nesting, [ft.nesting, ft.inner], id="nested"),
    pytest.param(ft.drive_generator, [ft.counting], id="generator"),
    pytest.param(ft.catcher, [ft.raising], id="exception"),
    pytest.param(workload.main, [workload.countdown], id="workload-countdown"),
    pytest.param(workload.main, [workload.fib, workload.add], id="workload-fib-add"),
    pytest.param(
        workload.main, [workload.fail, workload.bad_key], id="workload-exceptions"
    ),
    pytest.param(
        workload.main,
        [workload.Shape.describe, workload.Rect.area, workload.async_add],
        id="workload-methods-coroutine",
    ),
    pytest.param(workload.main, [workload.multiline], id="workload-multiline"),
]


# --- function variants: the reference ------------------------------------------


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
@pytest.mark.parametrize(("driver", "functions"), SCENARIOS)
def test_records_match_sys_setprofile_restricted_to_the_focus_window(
    monitor_class, driver, functions
):
    codes = {code_of(function) for function in functions}
    expected_outcome, expected = harness.focused_profile_reference(codes, driver)
    outcome, records = run_focused(monitor_class, functions, driver)
    assert outcome == expected_outcome
    assert expected, "the scenario must record something"
    assert pikos_frames(records) == []
    assert all(type(record) is RECORD_TYPES[monitor_class] for record in records)
    assert [record.index for record in records] == list(range(len(records)))
    harness.assert_same_events(events_of(records), expected)


# --- function variants: the windows, spelled out -------------------------------


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_callees_and_builtins_inside_the_window_are_recorded(monitor_class):
    _, records = run_focused(monitor_class, [ft.focused], ft.outer)
    assert calls_of(records) == FOCUSED_WINDOW
    first = ft.focused.__code__.co_firstlineno
    assert [(r.type, r.lineNo) for r in records[:3]] == [
        ("call", first),
        ("c_call", first + 1),
        ("c_return", first + 1),
    ]
    assert {r.filename for r in records} == {ft.__file__}


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_focus_survives_a_builtin_call(monitor_class):
    # focused calls len, then callee: callee's events must still be recorded.
    _, records = run_focused(monitor_class, [ft.focused], ft.focused, 5)
    assert calls_of(records) == FOCUSED_WINDOW


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_code_between_two_windows_is_not_recorded(monitor_class):
    _, records = run_focused(monitor_class, [ft.focused], ft.twice)
    assert calls_of(records) == FOCUSED_WINDOW + FOCUSED_WINDOW


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_recursion_window_closes_at_the_outermost_return(monitor_class):
    _, records = run_focused(monitor_class, [ft.recursive], ft.run_recursive)
    assert calls_of(records) == (
        [("call", "recursive")] * 4 + LEAF + [("return", "recursive")] * 4
    )
    returns = [r.lineNo for r in records if r.type == "return"]
    first = ft.recursive.__code__.co_firstlineno
    leaf_return = ft.leaf.__code__.co_firstlineno + 1
    assert returns == [leaf_return, first + 2] + [first + 3] * 3


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_two_focused_functions(monitor_class):
    _, records = run_focused(monitor_class, [ft.first, ft.second], ft.between)
    assert calls_of(records) == (
        [("call", "first")]
        + LEAF
        + [("return", "first"), ("call", "second")]
        + LEAF
        + [("return", "second")]
    )


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_nested_focused_function_does_not_close_the_outer_window(monitor_class):
    _, records = run_focused(monitor_class, [ft.nesting, ft.inner], ft.run_nesting)
    inner = [("call", "inner")] + LEAF + [("return", "inner")]
    assert calls_of(records) == (
        [("call", "nesting")]
        + inner
        + LEAF
        + inner
        + [("return", "nesting")]
        # inner(-2) after nesting returned: a window of its own.
        + inner
    )


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_generator_is_recorded_only_while_its_body_runs(monitor_class):
    _, records = run_focused(monitor_class, [ft.counting], ft.drive_generator)
    resume = [("call", "counting")] + LEAF + [("return", "counting")]
    assert python_calls_of(records) == (
        resume * 3  # next, next, then list() takes the third value
        + [("call", "counting"), ("call", "callee")]
        + LEAF
        + [("return", "callee"), ("return", "counting")]
    )
    assert records[0].type == "call" and records[-1].type == "return"


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_exception_leaving_the_focused_function_closes_the_window(monitor_class):
    outcome, records = run_focused(monitor_class, [ft.raising], ft.catcher)
    assert outcome == ("returned", -2)
    assert python_calls_of(records) == (
        [("call", "raising")] + LEAF + [("return", "raising")]
    )
    last = records[-1]
    assert (last.type, last.function) == ("return", "raising")
    assert last.lineNo == ft.raising.__code__.co_firstlineno + 2


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_exception_propagating_out_of_the_monitor(monitor_class):
    recorder = ListRecorder()
    monitor = monitor_class(recorder, functions=[ft.raising])
    with pytest.raises(ValueError), monitor:
        ft.raising(7)
    expected = [("call", "raising"), *LEAF, ("return", "raising")]
    assert python_calls_of(recorder.records) == expected
    # The window is closed: a new session outside focus adds nothing.
    count = len(recorder.records)
    with monitor:
        ft.leaf(1)
        ft.callee(2)
    assert len(recorder.records) == count


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_nothing_is_recorded_when_no_focused_function_runs(monitor_class):
    _, records = run_focused(monitor_class, [ft.second], ft.outer)
    assert records == []


# --- function variants: threads ---------------------------------------------------


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_focus_is_per_thread(monitor_class):
    # Thread A calls shared(1) from inside the focused function; thread B calls
    # shared(2) outside any focus while A is inside its window.
    outcome, records = run_focused(
        monitor_class, [ft.focused_then_shared], ft.run_two_threads
    )
    assert outcome == ("returned", [False, False])
    assert records, "a thread started while the monitor is enabled is covered"
    assert (records[0].type, records[0].function) == ("call", "focused_then_shared")
    assert (records[-1].type, records[-1].function) == (
        "return",
        "focused_then_shared",
    )
    assert python_calls_of([r for r in records if r.filename == ft.__file__]) == [
        ("call", "focused_then_shared"),
        ("call", "shared"),
        *LEAF,
        ("return", "shared"),
        ("return", "focused_then_shared"),
    ]


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_threads_are_not_covered_after_disable(monitor_class):
    recorder = ListRecorder()
    monitor = monitor_class(recorder, functions=[ft.focused])
    ready, go = threading.Event(), threading.Event()

    def body():
        ft.focused(1)
        ready.set()
        go.wait(ft.WAIT)
        ft.focused(2)

    with monitor:
        worker = threading.Thread(target=body)
        worker.start()
        assert ready.wait(ft.WAIT)
    go.set()
    worker.join(ft.WAIT)
    assert not worker.is_alive()
    assert calls_of(recorder.records) == FOCUSED_WINDOW


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_thread_started_before_enable_is_not_covered(monitor_class):
    recorder = ListRecorder()
    monitor = monitor_class(recorder, functions=[ft.focused])
    go, done = threading.Event(), threading.Event()

    def body():
        go.wait(ft.WAIT)
        ft.focused(1)
        done.set()

    worker = threading.Thread(target=body)
    worker.start()
    with monitor:
        go.set()
        assert done.wait(ft.WAIT)
        ft.focused(2)
    worker.join(ft.WAIT)
    assert calls_of(recorder.records) == FOCUSED_WINDOW


# --- function variants: enabling inside a focused function ---------------------


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_enabling_inside_the_focused_function_records_until_it_returns(
    monitor_class,
):
    recorder = ListRecorder()
    monitor = monitor_class(recorder, functions=[ft.enable_here])
    try:
        ft.enable_here(monitor)
        ft.leaf(5)
    finally:
        monitor.disable()
    assert [(r.type, r.function, r.lineNo) for r in recorder.records] == [
        ("call", "leaf", ft.leaf.__code__.co_firstlineno),
        ("return", "leaf", ft.leaf.__code__.co_firstlineno + 1),
        ("call", "leaf", ft.leaf.__code__.co_firstlineno),
        ("return", "leaf", ft.leaf.__code__.co_firstlineno + 1),
        ("return", "enable_here", ft.enable_here.__code__.co_firstlineno + 4),
    ]


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_enabling_below_the_focused_function_records_until_it_returns(
    monitor_class,
):
    recorder = ListRecorder()
    monitor = monitor_class(recorder, functions=[ft.enable_below])
    try:
        ft.enable_below(monitor)
        ft.leaf(5)
    finally:
        monitor.disable()
    assert calls_of(recorder.records) == (
        LEAF
        + LEAF
        + [("return", "enable_here"), ("call", "callee")]
        + LEAF
        + [("return", "callee"), ("return", "enable_below")]
    )


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_enabling_outside_focus_records_only_later_windows(monitor_class):
    recorder = ListRecorder()
    monitor = monitor_class(recorder, functions=[ft.callee])
    try:
        ft.enable_here(monitor)
        ft.callee(1)
    finally:
        monitor.disable()
    assert calls_of(recorder.records) == (
        [("call", "callee")] + LEAF + [("return", "callee")]
    )


# --- line variants ---------------------------------------------------------------

LINE_SCENARIOS = [
    pytest.param(ft.outer, [ft.focused], id="one-function"),
    pytest.param(ft.outer, [ft.outer], id="caller-not-callees"),
    pytest.param(ft.run_recursive, [ft.recursive], id="recursion"),
    pytest.param(ft.run_nesting, [ft.nesting, ft.inner], id="nested"),
    pytest.param(ft.drive_generator, [ft.counting], id="generator"),
    pytest.param(ft.catcher, [ft.raising], id="exception"),
    pytest.param(workload.main, [workload.countdown, workload.loops], id="workload"),
]


@pytest.mark.parametrize("monitor_class", LINE_MONITORS)
@pytest.mark.parametrize(("driver", "functions"), LINE_SCENARIOS)
def test_lines_match_sys_settrace_restricted_to_the_focused_code(
    monitor_class, driver, functions
):
    codes = {code_of(function) for function in functions}
    expected_outcome, expected = harness.focused_trace_reference(codes, driver)
    outcome, records = run_focused(monitor_class, functions, driver)
    assert outcome == expected_outcome
    assert expected, "the scenario must record something"
    assert all(type(record) is RECORD_TYPES[monitor_class] for record in records)
    assert [record.index for record in records] == list(range(len(records)))
    harness.assert_same_events(events_of(records), expected)


@pytest.mark.parametrize("monitor_class", LINE_MONITORS)
def test_only_the_focused_functions_own_lines(monitor_class):
    _, records = run_focused(monitor_class, [ft.focused], ft.outer)
    first = ft.focused.__code__.co_firstlineno
    assert [(r.function, r.lineNo, r.line) for r in records] == [
        ("focused", first + 1, "    n = len([x])"),
        ("focused", first + 2, "    return callee(x) + n"),
    ]
    assert {r.filename for r in records} == {ft.__file__}


@pytest.mark.parametrize("monitor_class", LINE_MONITORS)
def test_lines_of_the_caller_but_not_of_its_callees(monitor_class):
    _, records = run_focused(monitor_class, [ft.outer], ft.outer)
    first = ft.outer.__code__.co_firstlineno
    assert [(r.function, r.lineNo) for r in records] == [
        ("outer", first + offset) for offset in (1, 2, 3, 4)
    ]


@pytest.mark.parametrize("monitor_class", LINE_MONITORS)
def test_generator_lines_only_while_resumed(monitor_class):
    _, records = run_focused(monitor_class, [ft.counting], ft.drive_generator)
    assert {r.function for r in records} == {"counting"}
    first = ft.counting.__code__.co_firstlineno
    assert {r.lineNo - first for r in records} == {1, 2, 3}
    assert [r.lineNo - first for r in records][:3] == [1, 2, 1]


@pytest.mark.parametrize("monitor_class", LINE_MONITORS)
def test_line_monitor_covers_threads_started_while_enabled(monitor_class):
    outcome, records = run_focused(monitor_class, [ft.shared], ft.run_two_threads)
    assert outcome == ("returned", [False, False])
    # Both threads run shared (one line each); no other code is recorded.
    line = ft.shared.__code__.co_firstlineno + 1
    assert [(r.function, r.lineNo) for r in records] == [("shared", line)] * 2


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_disabling_inside_the_window_does_not_leave_it_open(monitor_class):
    recorder = ListRecorder()
    monitor = monitor_class(recorder, functions=[ft.disable_here, ft.focused])
    monitor.enable()
    ft.disable_here(monitor)
    assert calls_of(recorder.records) == [("call", "disable_here"), *LEAF]
    # A new session starts outside any focused function.
    with monitor:
        ft.leaf(2)
        ft.callee(3)
    assert calls_of(recorder.records) == [("call", "disable_here"), *LEAF]
    with monitor:
        ft.focused(1)
    assert calls_of(recorder.records)[3:] == FOCUSED_WINDOW


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_a_thread_started_inside_the_window_has_its_own_focus(monitor_class):
    _, records = run_focused(monitor_class, [ft.spawner], ft.spawner)
    assert (records[0].type, records[0].function) == ("call", "spawner")
    assert (records[-1].type, records[-1].function) == ("return", "spawner")
    # leaf(2) of spawner only, not the worker's leaf(1): the worker thread is
    # not inside a focused function.
    assert python_calls_of([r for r in records if r.filename == ft.__file__]) == [
        ("call", "spawner"),
        *LEAF,
        ("return", "spawner"),
    ]


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_a_thread_running_a_focused_function_records_its_window(monitor_class):
    _, records = run_focused(monitor_class, [ft.leaf], ft.spawner)
    # Both leaf calls: the worker's leaf(1) (a thread started while enabled)
    # and the main thread's leaf(2).
    assert calls_of(records) == LEAF + LEAF


# --- recorders, record types and filters -----------------------------------------

ALL_MONITORS = FUNCTION_MONITORS + LINE_MONITORS


@pytest.mark.parametrize("monitor_class", ALL_MONITORS)
def test_custom_recorder_receives_real_records_of_the_window(monitor_class):
    named = ListRecorder()
    with monitor_class(named, functions=[ft.focused]):
        ft.outer()
    recorder = CountingRecorder()
    with monitor_class(recorder, functions=[ft.focused]):
        ft.outer()
    record_type = RECORD_TYPES[monitor_class]
    assert recorder.prepared == [record_type]
    assert recorder.finalized == 1
    assert recorder.records
    assert all(type(record) is record_type for record in recorder.records)
    assert events_of(recorder.records) == events_of(named.records)


@pytest.mark.parametrize("monitor_class", ALL_MONITORS)
def test_record_type_tuple_gives_plain_tuples_of_the_window(monitor_class):
    named, plain = ListRecorder(), ListRecorder()
    with monitor_class(named, functions=[ft.focused]):
        ft.outer()
    with monitor_class(plain, record_type=tuple, functions=[ft.focused]):
        ft.outer()
    assert plain.records
    assert all(type(record) is tuple for record in plain.records)
    fields = RECORD_TYPES[monitor_class]._fields
    keep = [i for i, name in enumerate(fields) if name not in ("RSS", "VMS")]
    assert [[r[i] for i in keep] for r in plain.records] == [
        [r[i] for i in keep] for r in named.records
    ]


@pytest.mark.parametrize("monitor_class", FUNCTION_MONITORS)
def test_filtered_records_keep_their_window_indices(monitor_class):
    everything = ListRecorder()
    with monitor_class(everything, functions=[ft.focused]):
        ft.twice()
    calls = ListRecorder(filter_=OnValue("type", "call"))
    with monitor_class(calls, functions=[ft.focused]):
        ft.twice()
    assert [(r.index, r.function) for r in calls.records] == [
        (r.index, r.function) for r in everything.records if r.type == "call"
    ]
    assert [r.index for r in everything.records] == list(range(16))
