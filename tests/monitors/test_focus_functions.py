"""`functions=` of the focused monitors, `monitor.functions` and attach."""

import re

import focus_targets
import pytest
from pikos.monitors.api import (
    FocusedFunctionMemoryMonitor,
    FocusedFunctionMonitor,
    FocusedLineMemoryMonitor,
    FocusedLineMonitor,
)
from pikos.recorders.api import ListRecorder

ft = focus_targets
Kinds = ft.Kinds

FOCUSED_MONITORS = [
    pytest.param(FocusedFunctionMonitor, id="FocusedFunctionMonitor"),
    pytest.param(FocusedLineMonitor, id="FocusedLineMonitor"),
    pytest.param(FocusedFunctionMemoryMonitor, id="FocusedFunctionMemoryMonitor"),
    pytest.param(FocusedLineMemoryMonitor, id="FocusedLineMemoryMonitor"),
]
LINE_MONITORS = (FocusedLineMonitor, FocusedLineMemoryMonitor)

LEAF = [("call", "leaf"), ("return", "leaf")]


def window(name):
    return [("call", name), *LEAF, ("return", name)]


def calls_of(records):
    return [(record.type, record.function) for record in records]


# (spelling, the code it stands for, how to call it, the recorded function name)
KINDS = [
    pytest.param(ft.leaf, ft.leaf.__code__, lambda: ft.callee(1), "leaf", id="func"),
    pytest.param(
        Kinds().method,
        Kinds.method.__code__,
        lambda: Kinds().method(1),
        "method",
        id="bound-method",
    ),
    pytest.param(
        Kinds.method,
        Kinds.method.__code__,
        lambda: Kinds().method(1),
        "method",
        id="unbound-method",
    ),
    pytest.param(
        Kinds.__dict__["static"],
        Kinds.static.__code__,
        lambda: Kinds.static(1),
        "static",
        id="staticmethod-object",
    ),
    pytest.param(
        Kinds.static,
        Kinds.static.__code__,
        lambda: Kinds().static(1),
        "static",
        id="staticmethod-looked-up",
    ),
    pytest.param(
        Kinds.__dict__["klass"],
        Kinds.klass.__func__.__code__,
        lambda: Kinds.klass(1),
        "klass",
        id="classmethod-object",
    ),
    pytest.param(
        Kinds.klass,
        Kinds.klass.__func__.__code__,
        lambda: Kinds().klass(1),
        "klass",
        id="classmethod-looked-up",
    ),
    pytest.param(
        ft.decorated,
        ft.decorated.__wrapped__.__wrapped__.__code__,
        lambda: ft.decorated(1),
        "decorated",
        id="decorated",
    ),
    pytest.param(
        ft.callee.__code__,
        ft.callee.__code__,
        lambda: ft.callee(1),
        "callee",
        id="code",
    ),
]


# --- accepted kinds --------------------------------------------------------------


@pytest.mark.parametrize(("spelling", "code", "run", "name"), KINDS)
def test_accepted_kind_resolves_to_its_code_and_is_recorded(spelling, code, run, name):
    recorder = ListRecorder()
    monitor = FocusedFunctionMonitor(recorder, functions=[spelling])
    assert monitor.functions.codes == [code]
    assert list(monitor.functions) == [spelling]  # as the original: as given
    assert code in monitor.functions
    assert spelling in monitor.functions
    with monitor:
        run()
    if name == "leaf":
        assert calls_of(recorder.records) == LEAF
    else:
        assert calls_of(recorder.records) == window(name)


@pytest.mark.parametrize(("spelling", "code", "run", "name"), KINDS)
def test_a_single_object_is_accepted(spelling, code, run, name):
    recorder = ListRecorder()
    monitor = FocusedFunctionMonitor(recorder, functions=spelling)
    assert monitor.functions.codes == [code]
    with monitor:
        run()
    assert recorder.records[0].function == name


@pytest.mark.parametrize("monitor_class", FOCUSED_MONITORS)
def test_every_focused_monitor_accepts_every_kind(monitor_class):
    spellings = [kind.values[0] for kind in KINDS]
    monitor = monitor_class(ListRecorder(), functions=spellings)
    assert set(monitor.functions.codes) == {kind.values[1] for kind in KINDS}
    # leaf and method, unbound and bound, etc.: each code counted once.
    assert len(monitor.functions) == len({kind.values[1] for kind in KINDS})


def test_a_lambda_is_a_function():
    def call_it(function):
        return function(3)

    square = lambda x: x * x  # noqa: E731
    recorder = ListRecorder()
    with FocusedFunctionMonitor(recorder, functions=[square]):
        call_it(square)
    assert calls_of(recorder.records) == [("call", "<lambda>"), ("return", "<lambda>")]


def test_decorated_function_records_the_innermost_function_only():
    recorder = ListRecorder()
    with FocusedFunctionMonitor(recorder, functions=[ft.decorated]):
        ft.decorated(2)
    # The two `wrapper` frames are outside the window.
    assert calls_of(recorder.records) == window("decorated")


def test_functions_accepts_any_iterable():
    codes = {ft.first.__code__, ft.second.__code__}
    for functions in (
        (ft.first, ft.second),
        {ft.first, ft.second},
        iter([ft.first, ft.second]),
        (f for f in (ft.first, ft.second)),
        {ft.first: 1, ft.second: 2},
    ):
        monitor = FocusedFunctionMonitor(ListRecorder(), functions=functions)
        assert set(monitor.functions.codes) == codes
        assert set(monitor.functions) == {ft.first, ft.second}


@pytest.mark.parametrize("monitor_class", FOCUSED_MONITORS)
def test_default_functions_is_empty_and_records_nothing(monitor_class):
    recorder = ListRecorder()
    monitor = monitor_class(recorder)
    assert len(monitor.functions) == 0
    assert list(monitor.functions) == []
    with monitor:
        ft.outer()
    assert recorder.records == []


def test_functions_is_keyword_only():
    with pytest.raises(TypeError):
        FocusedFunctionMonitor(ListRecorder(), None, [ft.focused])


# --- rejected kinds --------------------------------------------------------------

REJECTED = [
    pytest.param(42, id="int"),
    pytest.param(len, id="builtin"),
    pytest.param(Kinds, id="class"),
    pytest.param("focused", id="str"),
    pytest.param(None, id="None"),
    pytest.param(object(), id="object"),
    pytest.param([].append, id="builtin-method"),
]


@pytest.mark.parametrize("monitor_class", FOCUSED_MONITORS)
@pytest.mark.parametrize("rejected", REJECTED)
def test_rejected_object_is_a_type_error_naming_it(monitor_class, rejected):
    with pytest.raises(TypeError, match=re.escape(repr(rejected))):
        monitor_class(ListRecorder(), functions=[ft.focused, rejected])


@pytest.mark.parametrize("rejected", [42, len, Kinds, 3.5], ids=repr)
def test_rejected_single_object_is_a_type_error_naming_it(rejected):
    with pytest.raises(TypeError, match=re.escape(repr(rejected))):
        FocusedFunctionMonitor(ListRecorder(), functions=rejected)


def test_a_bare_string_is_rejected():
    with pytest.raises(TypeError):
        FocusedFunctionMonitor(ListRecorder(), functions="focused")


# --- FunctionSet ------------------------------------------------------------------


def test_function_set_len_contains_iter():
    monitor = FocusedFunctionMonitor(
        ListRecorder(),
        functions=[ft.first, ft.first, ft.first.__code__, Kinds.method, Kinds().method],
    )
    functions = monitor.functions
    assert len(functions) == 2
    # Iterating yields the functions, the first spelling of each code (as
    # the original pikos); .codes the code objects.
    assert list(functions) == [ft.first, Kinds.method]
    assert functions.codes == [ft.first.__code__, Kinds.method.__code__]
    assert ft.first in functions
    assert ft.first.__code__ in functions
    assert Kinds().method in functions
    assert Kinds.method in functions
    assert ft.second not in functions
    assert ft.second.__code__ not in functions
    assert Kinds.static not in functions


def test_function_set_contains_resolves_decorators_and_descriptors():
    monitor = FocusedFunctionMonitor(
        ListRecorder(),
        functions=[ft.decorated.__wrapped__.__wrapped__, Kinds.static, Kinds.klass],
    )
    assert ft.decorated in monitor.functions
    assert Kinds.__dict__["static"] in monitor.functions
    assert Kinds.__dict__["klass"] in monitor.functions
    assert Kinds().klass in monitor.functions


def test_function_set_add():
    recorder = ListRecorder()
    monitor = FocusedFunctionMonitor(recorder, functions=[ft.first])
    monitor.functions.add(ft.second)
    monitor.functions.add(ft.second)
    monitor.functions.add(ft.decorated)
    assert len(monitor.functions) == 3
    assert ft.second in monitor.functions
    assert ft.decorated.__wrapped__.__wrapped__.__code__ in monitor.functions
    with monitor:
        ft.between()
        ft.decorated(1)
    assert calls_of(recorder.records) == (
        window("first") + window("second") + window("decorated")
    )


@pytest.mark.parametrize("rejected", [42, len, Kinds, "first"], ids=repr)
def test_function_set_add_rejects_like_the_constructor(rejected):
    monitor = FocusedFunctionMonitor(ListRecorder(), functions=[ft.first])
    with pytest.raises(TypeError, match=re.escape(repr(rejected))):
        monitor.functions.add(rejected)
    assert list(monitor.functions) == [ft.first]


def test_monitor_functions_is_the_same_set_each_time():
    monitor = FocusedFunctionMonitor(ListRecorder())
    monitor.functions.add(ft.first)
    assert ft.first in monitor.functions
    assert len(monitor.functions) == 1


# --- attach ------------------------------------------------------------------------


@pytest.mark.parametrize("monitor_class", FOCUSED_MONITORS)
def test_plain_attach_on_an_empty_focused_monitor_records_nothing(monitor_class):
    recorder = ListRecorder()
    attached = monitor_class(recorder).attach(ft.outer)
    assert attached() == ft.outer()
    assert recorder.records == []


def test_plain_attach_records_only_the_focus_window():
    recorder = ListRecorder()
    monitor = FocusedFunctionMonitor(recorder, functions=[ft.callee])

    @monitor.attach
    def run():
        return ft.focused(1)

    assert run() == ft.focused(1)
    assert len(monitor.functions) == 1
    assert calls_of(recorder.records) == window("callee")


def test_attach_include_decorated_adds_the_function_and_records_it():
    recorder = ListRecorder()
    monitor = FocusedFunctionMonitor(recorder)
    attached = monitor.attach(include_decorated=True)(ft.callee)
    assert attached.__wrapped__ is ft.callee
    assert ft.callee in monitor.functions
    assert len(monitor.functions) == 1
    assert attached(1) == ft.callee(1)
    assert calls_of(recorder.records) == window("callee")


def test_attach_include_decorated_as_a_decorator():
    recorder = ListRecorder()
    monitor = FocusedFunctionMonitor(recorder, functions=[ft.leaf])

    @monitor.attach(include_decorated=True)
    def caller(x):
        return ft.callee(x) + len([x])

    assert caller.__name__ == "caller"
    assert len(monitor.functions) == 2
    assert caller in monitor.functions
    assert caller(1) == 5
    assert calls_of(recorder.records) == [
        ("call", "caller"),
        ("call", "callee"),
        *LEAF,
        ("return", "callee"),
        ("c_call", "len"),
        ("c_return", "len"),
        ("return", "caller"),
    ]


@pytest.mark.parametrize("monitor_class", LINE_MONITORS)
def test_line_attach_include_decorated_records_its_own_lines(monitor_class):
    recorder = ListRecorder()
    monitor = monitor_class(recorder)
    monitor.attach(include_decorated=True)(ft.focused)(1)
    first = ft.focused.__code__.co_firstlineno
    assert [(r.function, r.lineNo) for r in recorder.records] == [
        ("focused", first + 1),
        ("focused", first + 2),
    ]


def test_attach_with_function_keyword():
    recorder = ListRecorder()
    monitor = FocusedFunctionMonitor(recorder)
    attached = monitor.attach(function=ft.callee, include_decorated=True)
    attached(1)
    assert calls_of(recorder.records) == window("callee")


def test_attach_include_decorated_false_does_not_add():
    recorder = ListRecorder()
    monitor = FocusedFunctionMonitor(recorder)
    attached = monitor.attach(include_decorated=False)(ft.callee)
    attached(1)
    assert len(monitor.functions) == 0
    assert recorder.records == []


def test_attach_include_decorated_on_a_recursive_function():
    recorder = ListRecorder()
    monitor = FocusedFunctionMonitor(recorder)

    @monitor.attach(include_decorated=True)
    def factorial(n):
        # Calls itself through the wrapper: the wrapper's frames are pikos'.
        return 1 if n <= 1 else n * factorial(n - 1)

    assert factorial(4) == 24
    assert calls_of(recorder.records) == (
        [("call", "factorial")] * 4 + [("return", "factorial")] * 4
    )
    assert [r.index for r in recorder.records] == list(range(8))


def test_attach_include_decorated_on_a_generator_function():
    recorder = ListRecorder()
    monitor = FocusedFunctionMonitor(recorder)
    attached = monitor.attach(include_decorated=True)(ft.counting)
    generator = attached(2)
    assert recorder.records == []
    assert next(generator) == 1
    assert calls_of(recorder.records) == window("counting")
    ft.leaf(0)  # between resumes: not recorded
    assert list(generator) == [2]
    python_calls = [
        call for call in calls_of(recorder.records) if call[0] in ("call", "return")
    ]
    assert python_calls == (
        window("counting") * 2
        + [("call", "counting"), ("call", "callee"), *LEAF]
        + [("return", "callee"), ("return", "counting")]
    )
