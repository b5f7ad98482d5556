"""The original ``pikos.runner`` names: ``MONITORS``,
``run_code_under_monitor``, ``get_function``, ``get_focused_on`` and
``main``, on the modules behind ``pikos-run``."""

import collections
import os.path
import sys
import types

import pytest
from commands import python, write
from pikos import api, runner
from pikos.monitors.api import (
    FocusedFunctionMonitor,
    FunctionMonitor,
    LineMemoryMonitor,
    MonitorAttach,
)
from pikos.recorders.api import ListRecorder

SCRIPT = """\
import sys

def helper(x):
    return x * 2

class Shape:
    def area(self):
        return helper(3)

def work():
    return helper(1) + Shape().area()

RESULT = work() if __name__ == "__main__" else None
"""


@pytest.fixture
def script(tmp_path):
    return write(tmp_path / "compat_script.py", SCRIPT)


@pytest.fixture(autouse=True)
def _keep_sys_path():
    saved = list(sys.path)
    yield
    sys.path[:] = saved


def test_monitors_are_the_api_factories_by_name():
    assert runner.MONITORS == {
        "functions": api.monitor_functions,
        "lines": api.monitor_lines,
        "function_memory": api.memory_on_functions,
        "line_memory": api.memory_on_lines,
    }
    decorator = runner.MONITORS["line_memory"](recorder=ListRecorder(), focus_on=None)
    assert type(decorator._monitor_object) is LineMemoryMonitor


def test_run_code_under_monitor_runs_the_script_as_main(script):
    recorder = ListRecorder()
    monitor = runner.MONITORS["functions"](recorder=recorder, focus_on=None)
    namespace = runner.run_code_under_monitor(str(script), monitor)
    assert namespace["__name__"] == "__main__"
    assert namespace["__file__"] == str(script)
    assert namespace["RESULT"] == 8
    assert sys.path[0] == os.path.dirname(str(script))
    functions = [r.function for r in recorder.records if r.type == "call"]
    assert functions == ["<module>", "Shape", "work", "helper", "area", "helper"]
    assert sys.modules["__main__"].__name__ == "__main__"  # left as it was


def test_run_code_under_monitor_takes_a_monitor_itself(script):
    recorder = ListRecorder()
    runner.run_code_under_monitor(script, FunctionMonitor(recorder))
    assert "work" in {r.function for r in recorder.records}


def test_run_code_under_monitor_raises_the_scripts_errors(tmp_path):
    monitor = MonitorAttach(FunctionMonitor(ListRecorder()))
    bad = write(tmp_path / "bad.py", "def broken(:\n")
    with pytest.raises(SyntaxError):
        runner.run_code_under_monitor(str(bad), monitor)
    with pytest.raises(OSError, match="missing.py"):
        runner.run_code_under_monitor(str(tmp_path / "missing.py"), monitor)
    failing = write(tmp_path / "failing.py", "raise KeyError('boom')\n")
    with pytest.raises(KeyError, match="boom"):
        runner.run_code_under_monitor(str(failing), monitor)


def test_get_function_imports_functions_and_methods():
    assert runner.get_function("os.path.join") is os.path.join
    method = runner.get_function("collections.OrderedDict.fromkeys")
    assert method == collections.OrderedDict.fromkeys
    assert isinstance(runner.get_function("os.path"), types.ModuleType)


def test_get_function_says_what_is_missing():
    with pytest.raises(ImportError):
        runner.get_function("no_such_module_for_pikos.f")
    with pytest.raises(AttributeError, match="no_such_function"):
        runner.get_function("os.path.no_such_function")


def test_get_focused_on_finds_the_scripts_functions_without_running_it(script):
    assert runner.get_focused_on(str(script), None) is None
    found = runner.get_focused_on(str(script), "work, Shape.area,os.path.join")
    assert [code.co_qualname for code in found] == ["work", "Shape.area", "join"]
    assert "compat_script" not in sys.modules  # never imported, never run


def test_get_focused_on_feeds_focus_on(script):
    recorder = ListRecorder()
    focus = runner.get_focused_on(str(script), "Shape.area")
    monitor = runner.MONITORS["functions"](recorder=recorder, focus_on=focus)
    assert type(monitor._monitor_object) is FocusedFunctionMonitor
    runner.run_code_under_monitor(str(script), monitor)
    assert [r.function for r in recorder.records if r.type == "call"] == [
        "area",
        "helper",
    ]


def test_get_focused_on_raises_value_error_for_an_unknown_name(script):
    with pytest.raises(ValueError, match="nowhere"):
        runner.get_focused_on(str(script), "nowhere")


def test_main_is_pikos_run(tmp_path, script):
    code = "from pikos.runner import main; main()"
    args = ["-c", code, "functions", "--recording", "csv", script.name]
    result = python(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "monitor_records.csv").read_text()
    assert written.startswith("index,type,function,lineNo,filename\n")
    assert ",call,work," in written


def test_python_m_pikos_runner_is_pikos_run(tmp_path, script):
    result = python("-m", "pikos.runner", "lines", "-o", "-", script.name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["index", "function", "lineNo"]
    assert "return x * 2" in result.stdout


def test_main_exits_with_the_usage_errors_status(tmp_path):
    code = "from pikos.runner import main; main()"
    result = python("-c", code, "functions", "missing.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "missing.py" in result.stderr
