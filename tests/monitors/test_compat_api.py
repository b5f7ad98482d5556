"""``MonitorAttach`` and ``FocusedMonitorAttach`` as the original documents
them: what ``pikos.api``'s decorator factories and a focused monitor's
``attach(...)`` return, holding the monitor as ``_monitor_object``."""

import cProfile
import pstats

import focus_targets as ft
import pytest
import targets
from pikos import api
from pikos.monitors import api as monitors_api
from pikos.monitors.api import (
    FocusedFunctionMonitor,
    FocusedLineMonitor,
    FocusedMonitorAttach,
    FunctionMonitor,
    LineMonitor,
    MonitorAttach,
)
from pikos.monitors.focused_monitor_attach import (
    FocusedMonitorAttach as FocusedMonitorAttachModule,
)
from pikos.monitors.monitor_attach import MonitorAttach as MonitorAttachModule
from pikos.recorders.api import ListRecorder


def test_monitors_api_exports_the_attach_classes():
    assert "MonitorAttach" in monitors_api.__all__
    assert "FocusedMonitorAttach" in monitors_api.__all__
    assert MonitorAttach is MonitorAttachModule
    assert FocusedMonitorAttach is FocusedMonitorAttachModule
    assert issubclass(FocusedMonitorAttach, MonitorAttach)


def test_monitor_attach_works_with_a_cprofile_profile():
    profile = cProfile.Profile()
    attach = MonitorAttach(profile)
    assert attach._monitor_object is profile
    decorated = attach(targets.work)
    assert decorated(3) == targets.work(3)
    assert decorated.__wrapped__ is targets.work
    names = {name for _, _, name in pstats.Stats(profile).stats}
    assert {"work", "middle", "leaf"} <= names


def test_monitor_attach_wraps_generators_too():
    recorder = ListRecorder()
    decorated = MonitorAttach(FunctionMonitor(recorder))(ft.counting)
    assert list(decorated(3)) == list(ft.counting(3))
    assert {"counting", "leaf", "callee"} <= {r.function for r in recorder.records}


def test_monitor_attach_needs_a_context_manager():
    with pytest.raises(TypeError, match="context manager"):
        MonitorAttach(42)


def test_monitor_attach_decorates_only_callables():
    with pytest.raises(TypeError, match="not callable"):
        MonitorAttach(FunctionMonitor(ListRecorder()))(42)


FUNCTIONS = (FunctionMonitor, FocusedFunctionMonitor)
LINES = (LineMonitor, FocusedLineMonitor)
FACTORIES = [
    pytest.param(api.function_monitor, *FUNCTIONS, id="function_monitor"),
    pytest.param(api.monitor_functions, *FUNCTIONS, id="monitor_functions"),
    pytest.param(api.line_monitor, *LINES, id="line_monitor"),
    pytest.param(api.monitor_lines, *LINES, id="monitor_lines"),
]


@pytest.mark.parametrize(("factory", "monitor_class", "focused_class"), FACTORIES)
def test_factories_return_a_monitor_attach_holding_the_monitor(
    factory, monitor_class, focused_class
):
    recorder = ListRecorder()
    decorator = factory(recorder=recorder)
    assert type(decorator) is MonitorAttach
    monitor = decorator._monitor_object
    assert type(monitor) is monitor_class
    assert monitor.recorder is recorder
    assert decorator(targets.work)() == targets.work()
    assert recorder.records


@pytest.mark.parametrize(("factory", "monitor_class", "focused_class"), FACTORIES)
def test_focused_factories_return_a_focused_monitor_attach(
    factory, monitor_class, focused_class
):
    recorder = ListRecorder()
    decorator = factory(recorder=recorder, focused=True)
    assert type(decorator) is FocusedMonitorAttach
    monitor = decorator._monitor_object
    assert type(monitor) is focused_class
    decorated = decorator(ft.outer)
    assert ft.outer in monitor.functions
    assert decorated() == ft.outer()
    assert recorder.records


@pytest.mark.parametrize(("factory", "monitor_class", "focused_class"), FACTORIES)
def test_focus_on_factories_return_a_focused_monitor_attach(
    factory, monitor_class, focused_class
):
    decorator = factory(recorder=ListRecorder(), focus_on=[ft.leaf])
    assert type(decorator) is FocusedMonitorAttach
    decorator(ft.outer)
    monitor = decorator._monitor_object
    assert ft.leaf in monitor.functions
    assert ft.outer not in monitor.functions


def test_one_factory_result_shares_its_monitor_between_functions():
    recorder = ListRecorder()
    decorator = api.function_monitor(recorder=recorder)
    first, second = decorator(ft.twice), decorator(ft.outer)
    first()
    count = len(recorder.records)
    second()
    assert len(recorder.records) > count
    assert recorder.records[count].index == count  # one monitor's indices


def test_focused_attach_with_arguments_returns_a_focused_monitor_attach():
    monitor = FocusedFunctionMonitor(ListRecorder())
    decorator = monitor.attach(include_decorated=True)
    assert type(decorator) is FocusedMonitorAttach
    assert decorator._monitor_object is monitor
    decorator(ft.outer)
    assert ft.outer in monitor.functions


def test_focused_monitor_attach_needs_functions_to_include_the_decorated():
    with pytest.raises(TypeError, match="focused monitor"):
        FocusedMonitorAttach(FunctionMonitor(ListRecorder()), include_decorated=True)
