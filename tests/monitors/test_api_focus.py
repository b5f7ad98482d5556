"""pikos.api decorator factories: focus_on=, focused=, memory factories."""

import csv

import focus_targets
import harness
import pytest
from pikos import api
from pikos.monitors.api import (
    FocusedFunctionMemoryMonitor,
    FocusedFunctionMonitor,
    FocusedLineMemoryMonitor,
    FocusedLineMonitor,
    FunctionMemoryMonitor,
    LineMemoryMonitor,
)
from pikos.monitors.records import (
    FunctionMemoryRecord,
    FunctionRecord,
    LineMemoryRecord,
    LineRecord,
)
from pikos.recorders.api import ListRecorder

ft = focus_targets

# (factory, its alias, record type, focused monitor class, kind of events)
FACTORIES = [
    pytest.param(
        api.function_monitor,
        api.monitor_functions,
        FunctionRecord,
        FocusedFunctionMonitor,
        "function",
        id="function_monitor",
    ),
    pytest.param(
        api.line_monitor,
        api.monitor_lines,
        LineRecord,
        FocusedLineMonitor,
        "line",
        id="line_monitor",
    ),
    pytest.param(
        api.function_memory_monitor,
        api.memory_on_functions,
        FunctionMemoryRecord,
        FocusedFunctionMemoryMonitor,
        "function",
        id="function_memory_monitor",
    ),
    pytest.param(
        api.line_memory_monitor,
        api.memory_on_lines,
        LineMemoryRecord,
        FocusedLineMemoryMonitor,
        "line",
        id="line_memory_monitor",
    ),
]
FACTORY_ARGS = ("factory", "alias", "record_type", "monitor_class", "kind")
MEMORY_FACTORIES = [
    pytest.param(api.function_memory_monitor, FunctionMemoryMonitor, id="function"),
    pytest.param(api.memory_on_functions, FunctionMemoryMonitor, id="functions-alias"),
    pytest.param(api.line_memory_monitor, LineMemoryMonitor, id="line"),
    pytest.param(api.memory_on_lines, LineMemoryMonitor, id="lines-alias"),
]


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


def reference(kind, functions, driver, *args):
    codes = {function.__code__ for function in functions}
    if kind == "function":
        return harness.focused_profile_reference(codes, driver, *args)
    return harness.focused_trace_reference(codes, driver, *args)


@pytest.mark.parametrize(FACTORY_ARGS, FACTORIES)
def test_aliases_are_the_same_factory(factory, alias, record_type, monitor_class, kind):
    assert alias is factory


@pytest.mark.parametrize(FACTORY_ARGS, FACTORIES)
@pytest.mark.parametrize("spelling", ["name", "alias"])
def test_focus_on_records_only_inside_the_focused_functions(
    factory, alias, record_type, monitor_class, kind, spelling
):
    recorder = ListRecorder()
    decorator = (factory if spelling == "name" else alias)(
        recorder=recorder, focus_on=[ft.focused]
    )
    decorated = decorator(ft.outer)
    assert decorated.__wrapped__ is ft.outer
    assert decorated.__name__ == "outer"
    assert decorated() == ft.outer()
    _, expected = reference(kind, [ft.focused], ft.outer)
    assert expected
    assert all(type(record) is record_type for record in recorder.records)
    harness.assert_same_events(events_of(recorder.records), expected)


@pytest.mark.parametrize(FACTORY_ARGS, FACTORIES)
def test_focused_true_focuses_on_the_decorated_function(
    factory, alias, record_type, monitor_class, kind
):
    recorder = ListRecorder()
    decorated = factory(recorder=recorder, focused=True)(ft.focused)
    assert decorated(1) == ft.focused(1)
    _, expected = reference(kind, [ft.focused], ft.focused, 1)
    assert expected
    assert all(type(record) is record_type for record in recorder.records)
    harness.assert_same_events(events_of(recorder.records), expected)


@pytest.mark.parametrize(FACTORY_ARGS, FACTORIES)
def test_focused_true_and_focus_on_combine(
    factory, alias, record_type, monitor_class, kind
):
    recorder = ListRecorder()
    decorated = factory(recorder=recorder, focus_on=[ft.leaf], focused=True)(ft.between)
    decorated()
    _, expected = reference(kind, [ft.between, ft.leaf], ft.between)
    harness.assert_same_events(events_of(recorder.records), expected)
    if kind == "line":
        # between's own lines and leaf's lines, not first's or second's.
        assert {r.function for r in recorder.records} == {"between", "leaf"}


@pytest.mark.parametrize(FACTORY_ARGS, FACTORIES)
def test_focus_on_without_focused_does_not_record_the_decorated_function(
    factory, alias, record_type, monitor_class, kind
):
    recorder = ListRecorder()
    factory(recorder=recorder, focus_on=[ft.leaf])(ft.between)()
    assert {r.function for r in recorder.records} == {"leaf"}
    _, expected = reference(kind, [ft.leaf], ft.between)
    harness.assert_same_events(events_of(recorder.records), expected)


@pytest.mark.parametrize(FACTORY_ARGS, FACTORIES)
def test_focused_decorator_called_twice_writes_one_csv(
    factory, alias, record_type, monitor_class, kind, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    expected_recorder = ListRecorder()
    attached = monitor_class(
        expected_recorder, functions=[ft.outer, ft.focused]
    ).attach(ft.outer)
    attached()
    attached()
    expected = expected_recorder.records
    decorated = factory(recorder=api.csvfile(), focused=True, focus_on=[ft.focused])(
        ft.outer
    )
    decorated()
    decorated()
    path = tmp_path / "monitor_records.csv"
    with open(path, newline="") as stream:
        rows = list(csv.reader(stream))
    assert tuple(rows[0]) == record_type._fields
    assert sum(row == rows[0] for row in rows) == 1
    body = rows[1:]
    assert [int(row[0]) for row in body] == list(range(len(body)))
    half = len(body) // 2
    assert len(body) == 2 * half > 0
    functions = record_type._fields.index("function")
    assert {row[functions] for row in body} >= {"outer", "focused"}
    if "RSS" in record_type._fields:
        # Memory readings differ between runs: compare everything else.
        names = record_type._fields
        fields = [i for i, name in enumerate(names) if name not in ("RSS", "VMS")]
        assert [[row[i] for i in fields] for row in body] == [
            [str(record[i]) for i in fields] for record in expected
        ]
    else:
        written = path.read_bytes()
        assert written == harness.csv_oracle(record_type._fields, expected).encode()


@pytest.mark.parametrize(FACTORY_ARGS, FACTORIES)
def test_focused_decorator_default_recorder_is_the_screen(
    factory, alias, record_type, monitor_class, kind, capsys
):
    factory(focus_on=[ft.leaf])(ft.callee)(1)
    lines = capsys.readouterr().out.splitlines()
    header = record_type.header.format(*record_type._fields)
    assert lines[0] == header
    assert lines[1] == "-" * len(header)
    expected = 2 if kind == "function" else 1
    assert len(lines) == 2 + expected
    assert all("leaf" in line for line in lines[2:])


@pytest.mark.parametrize(("factory", "monitor_class"), MEMORY_FACTORIES)
def test_memory_factories_produce_memory_records(factory, monitor_class):
    recorder = ListRecorder()
    factory(recorder=recorder)(ft.allocate_and_free)()
    records = recorder.records
    record_type = (
        FunctionMemoryRecord
        if monitor_class is FunctionMemoryMonitor
        else LineMemoryRecord
    )
    assert len(records) == 4
    assert all(type(record) is record_type for record in records)
    before, alive, _, freed = records
    most = int(ft.BLOCK_SIZE * 0.9)
    assert alive.RSS - before.RSS >= most
    assert alive.RSS - freed.RSS >= most


@pytest.mark.parametrize(("factory", "monitor_class"), MEMORY_FACTORIES)
@pytest.mark.parametrize("focus", ["unfocused", "focus_on", "focused"])
def test_memory_factories_pass_memory_interval(factory, monitor_class, focus):
    recorder = ListRecorder()
    kwargs = {
        "unfocused": {},
        "focus_on": {"focus_on": [ft.allocate_and_free]},
        "focused": {"focused": True},
    }[focus]
    factory(recorder=recorder, memory_interval=60e6, **kwargs)(ft.allocate_and_free)()
    assert len(recorder.records) == 4
    assert len({(r.RSS, r.VMS) for r in recorder.records}) == 1


@pytest.mark.parametrize(("factory", "monitor_class"), MEMORY_FACTORIES)
def test_memory_factories_reject_bad_memory_interval(factory, monitor_class):
    with pytest.raises(ValueError):
        factory(recorder=ListRecorder(), memory_interval=-1)(ft.leaf)
    with pytest.raises(TypeError):
        factory(recorder=ListRecorder(), memory_interval="1")(ft.leaf)


@pytest.mark.parametrize(FACTORY_ARGS, FACTORIES)
def test_focus_on_rejects_non_functions(
    factory, alias, record_type, monitor_class, kind
):
    with pytest.raises(TypeError, match="42"):
        factory(recorder=ListRecorder(), focus_on=[42])(ft.outer)


@pytest.mark.parametrize(FACTORY_ARGS, FACTORIES)
def test_empty_focus_on_records_nothing(
    factory, alias, record_type, monitor_class, kind
):
    recorder = ListRecorder()
    decorated = factory(recorder=recorder, focus_on=[])(ft.outer)
    assert decorated() == ft.outer()
    assert recorder.records == []
