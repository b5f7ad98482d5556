"""One owner per rule across the Python/Rust line: the record layouts, the
kind names and the timed kinds come from the core (``pikos.kinds`` reads
``_native.RECORD_KINDS``), ``memory_interval`` is checked by the core alone,
and the built-in recorders offer the monitors one declared protocol."""

import fractions
import io
import math

import harness
import pytest
from pikos import _native, kinds
from pikos.api import function_memory_monitor
from pikos.monitors.api import (
    FunctionMemoryMonitor,
    FunctionMonitor,
    LineMemoryMonitor,
    LineMonitor,
)
from pikos.monitors.records import RECORD_CLASSES, TIMED_KINDS
from pikos.recorders.api import CSVRecorder, ListRecorder
from pikos.recorders.builtin_recorder import BuiltinRecorder

#: The layouts SPEC §3 documents, kept here as literals: the core's table
#: must not drift from them.
DOCUMENTED = {
    "function": harness.FUNCTION_FIELDS,
    "line": harness.LINE_FIELDS,
    "function_memory": harness.FUNCTION_MEMORY_FIELDS,
    "line_memory": harness.LINE_MEMORY_FIELDS,
    "timed_function": harness.FUNCTION_FIELDS + ("time", "thread"),
    "timed_function_memory": harness.FUNCTION_MEMORY_FIELDS + ("time", "thread"),
    "timed_line": harness.LINE_FIELDS + ("time", "thread"),
    "timed_line_memory": harness.LINE_MEMORY_FIELDS + ("time", "thread"),
}

RUST = {row["name"]: row for row in _native.RECORD_KINDS}


def test_python_knows_exactly_the_cores_kinds():
    assert list(RUST) == list(DOCUMENTED)
    assert list(kinds.KINDS) == list(RUST)
    assert set(RECORD_CLASSES) == set(RUST)


@pytest.mark.parametrize("name", list(DOCUMENTED))
def test_record_class_matches_the_cores_layout_field_by_field(name):
    python_fields = RECORD_CLASSES[name]._fields
    rust_fields = RUST[name]["fields"]
    assert len(python_fields) == len(rust_fields)
    pairs = zip(python_fields, rust_fields, strict=True)
    for position, (ours, core) in enumerate(pairs):
        assert (position, ours) == (position, core)
    assert tuple(rust_fields) == DOCUMENTED[name]
    assert RECORD_CLASSES[name]._pikos_kind == name


def test_timed_kinds_are_the_cores():
    core = {name: row["timed"] for name, row in RUST.items() if row["timed"]}
    assert (
        TIMED_KINDS
        == core
        == {
            "function": "timed_function",
            "function_memory": "timed_function_memory",
            "line": "timed_line",
            "line_memory": "timed_line_memory",
        }
    )
    for name, timed in TIMED_KINDS.items():
        assert RUST[timed]["fields"] == RUST[name]["fields"] + ("time", "thread")


def test_event_and_memory_flags_are_the_cores():
    for name, kind in kinds.KINDS.items():
        assert kind.function == ("function" in name)
        assert kind.memory == ("memory" in name)


def test_monitor_names():
    assert {k.name: k.monitor for k in kinds.KINDS.values()} == {
        "function": "functions",
        "line": "lines",
        "function_memory": "function_memory",
        "line_memory": "line_memory",
        "timed_function": None,
        "timed_function_memory": None,
        "timed_line": None,
        "timed_line_memory": None,
    }


def _work():
    return len([1, 2])


@pytest.mark.parametrize(
    ("monitor_class", "options"),
    [
        (FunctionMonitor, {}),
        (FunctionMonitor, {"timed": True}),
        (LineMonitor, {}),
        (LineMonitor, {"timed": True}),
        (FunctionMemoryMonitor, {}),
        (FunctionMemoryMonitor, {"timed": True}),
        (LineMemoryMonitor, {}),
        (LineMemoryMonitor, {"timed": True}),
    ],
)
def test_the_cores_csv_header_is_the_record_classs_fields(monitor_class, options):
    out = io.StringIO()
    monitor = monitor_class(CSVRecorder(out, lineterminator="\n"), **options)
    with monitor:
        _work()
    header = out.getvalue().splitlines()[0]
    assert header == ",".join(monitor.record_type._fields)
    assert header == ",".join(RUST[monitor._kind]["fields"])


# --- memory_interval: the core's one check ---------------------------------------

BAD_TYPES = [True, False, "10", b"10", [10], 1j]
BAD_VALUES = [(-1, "-1.0"), (-0.5, "-0.5"), (math.nan, "nan"), (-math.inf, "-inf")]


def _checks():
    """Every way a user or pikos reaches the rule."""
    return [
        lambda v: FunctionMemoryMonitor(ListRecorder(), memory_interval=v),
        lambda v: function_memory_monitor(recorder=ListRecorder(), memory_interval=v),
        lambda v: _native.Hook("line_memory", v),
        _native.check_memory_interval,
    ]


@pytest.mark.parametrize("value", BAD_TYPES, ids=repr)
def test_memory_interval_type_error_names_the_value(value):
    for check in _checks():
        with pytest.raises(TypeError) as error:
            check(value)
        assert str(error.value) == (
            f"memory_interval must be a number of microseconds or None, not {value!r}"
        )


@pytest.mark.parametrize(("value", "shown"), BAD_VALUES, ids=repr)
def test_memory_interval_value_error_names_the_value(value, shown):
    for check in _checks():
        with pytest.raises(ValueError) as error:
            check(value)
        assert str(error.value) == (
            "memory_interval must be >= 0 microseconds (0 or None: a fresh "
            f"reading per event), not {shown}"
        )


@pytest.mark.parametrize(
    ("value", "checked"),
    [
        (None, None),
        (0, 0.0),
        (3, 3.0),
        (0.5, 0.5),
        (fractions.Fraction(1, 4), 0.25),
        (10**400, math.inf),
        (math.inf, math.inf),
    ],
    ids=repr,
)
def test_memory_interval_as_a_float(value, checked):
    assert _native.check_memory_interval(value) == checked
    monitor = FunctionMemoryMonitor(ListRecorder(), memory_interval=value)
    assert monitor.memory_interval == checked


def test_a_huge_negative_int_is_minus_infinity():
    with pytest.raises(ValueError, match="not -inf$"):
        _native.check_memory_interval(-(10**400))


# --- the built-in recorders' protocol ---------------------------------------------


def test_every_built_in_recorder_declares_the_protocol():
    from pikos.recorders import api

    for name in dir(api):
        value = getattr(api, name)
        if isinstance(value, type) and name.endswith("Recorder"):
            if name != "AbstractRecorder":
                assert issubclass(value, BuiltinRecorder), name


class _LooksBuiltIn:
    """A custom recorder that happens to have the private names: it gets
    prepare/record/finalize only."""

    def __init__(self):
        self.calls = []

    def _pikos_prepare(self, *args):
        raise AssertionError("a custom recorder is not asked for a sink")

    def _pikos_finalize(self):
        raise AssertionError("a custom recorder is finalized plainly")

    def prepare(self, record_type):
        self.calls.append(("prepare", record_type))

    def record(self, data):
        self.calls.append("record")

    def finalize(self):
        self.calls.append("finalize")


def test_custom_recorders_get_prepare_record_finalize_only():
    recorder = _LooksBuiltIn()
    with FunctionMonitor(recorder):
        _work()
    assert recorder.calls[0] == ("prepare", RECORD_CLASSES["function"])
    assert "record" in recorder.calls
    assert recorder.calls[-1] == "finalize"
