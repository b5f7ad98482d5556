"""Threads started while a monitor is enabled, and the threading hooks.

A monitor covers the threads started while it is enabled (what
threading.setprofile / threading.settrace would set up). Once every monitor
is disabled, the threading module's hooks are what they were before.
"""

import threading

import pytest
import targets
from pikos.monitors.api import (
    FocusedFunctionMonitor,
    FocusedLineMonitor,
    FunctionMemoryMonitor,
    FunctionMonitor,
    LineMemoryMonitor,
    LineMonitor,
)
from pikos.recorders.api import ListRecorder

WAIT = 30  # seconds; only a guard against a deadlock

MONITORS = [
    pytest.param(FunctionMonitor, "profile", id="FunctionMonitor"),
    pytest.param(LineMonitor, "trace", id="LineMonitor"),
    pytest.param(FunctionMemoryMonitor, "profile", id="FunctionMemoryMonitor"),
    pytest.param(LineMemoryMonitor, "trace", id="LineMemoryMonitor"),
    pytest.param(FocusedFunctionMonitor, "profile", id="FocusedFunctionMonitor"),
    pytest.param(FocusedLineMonitor, "trace", id="FocusedLineMonitor"),
]


def threading_hook(kind):
    return threading.getprofile() if kind == "profile" else threading.gettrace()


def set_threading_hook(kind, hook):
    if kind == "profile":
        threading.setprofile(hook)
    else:
        threading.settrace(hook)


class UserHook:
    """A Python hook a user gave to threading.setprofile/settrace."""

    def __init__(self):
        self.functions = []

    def __call__(self, frame, event, arg):
        if event == "call":
            self.functions.append(frame.f_code.co_name)
        return self


def make(monitor_class, recorder):
    if monitor_class in (FocusedFunctionMonitor, FocusedLineMonitor):
        return monitor_class(recorder, functions=[targets.thread_work])
    return monitor_class(recorder)


def run_thread(function):
    worker = threading.Thread(target=function)
    worker.start()
    worker.join(WAIT)
    assert not worker.is_alive()


def thread_work_functions(records):
    return [r.function for r in records if r.filename == targets.__file__]


@pytest.mark.parametrize(("monitor_class", "kind"), MONITORS)
def test_thread_started_while_enabled_is_covered(monitor_class, kind):
    recorder = ListRecorder()
    with make(monitor_class, recorder):
        run_thread(targets.thread_work)
    assert "thread_work" in thread_work_functions(recorder.records)
    count = len(recorder.records)
    run_thread(targets.thread_work)
    assert len(recorder.records) == count


@pytest.mark.parametrize(("monitor_class", "kind"), MONITORS)
def test_threading_hook_is_restored_after_disable(monitor_class, kind):
    before = threading_hook(kind)
    with make(monitor_class, ListRecorder()):
        run_thread(targets.thread_work)
    assert threading_hook(kind) is before


@pytest.mark.parametrize(("monitor_class", "kind"), MONITORS)
def test_users_threading_hook_is_restored_and_used_again(monitor_class, kind):
    user = UserHook()
    set_threading_hook(kind, user)
    recorder = ListRecorder()
    with make(monitor_class, recorder):
        run_thread(targets.thread_work)
    assert threading_hook(kind) is user
    user.functions.clear()
    run_thread(targets.thread_work)
    assert "thread_work" in user.functions
    assert "thread_work" in thread_work_functions(recorder.records)


@pytest.mark.parametrize(("monitor_class", "kind"), MONITORS)
def test_threading_hook_is_restored_after_nested_monitors(monitor_class, kind):
    before = threading_hook(kind)
    first, second = ListRecorder(), ListRecorder()
    with make(monitor_class, first):
        with make(monitor_class, second):
            run_thread(targets.thread_work)
        assert threading_hook(kind) is not before
    assert threading_hook(kind) is before


@pytest.mark.parametrize(("monitor_class", "kind"), MONITORS)
def test_threading_hook_is_restored_when_monitors_stop_out_of_order(
    monitor_class, kind
):
    before = threading_hook(kind)
    first, second = ListRecorder(), ListRecorder()
    a, b = make(monitor_class, first), make(monitor_class, second)
    a.enable()
    b.enable()
    a.disable()
    b.disable()
    assert threading_hook(kind) is before
    run_thread(targets.thread_work)
    assert thread_work_functions(first.records) == []
    assert thread_work_functions(second.records) == []


def test_function_and_line_monitors_cover_the_same_new_thread():
    before = (threading.getprofile(), threading.gettrace())
    functions, lines = ListRecorder(), ListRecorder()
    with LineMonitor(lines), FunctionMonitor(functions):
        run_thread(targets.thread_work)
    assert [
        (r.type, r.function)
        for r in functions.records
        if r.filename == targets.__file__
    ] == [
        ("call", "thread_work"),
        ("call", "leaf"),
        ("return", "leaf"),
        ("return", "thread_work"),
    ]
    assert thread_work_functions(lines.records) == ["thread_work", "leaf"]
    assert threading.getprofile() is before[0]
    assert threading.gettrace() is before[1]
