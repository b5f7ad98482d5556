"""Filters: OnValue, NotOnValue, OnChange and any Python callable.

The expected records are computed here in plain Python from an unfiltered
run, so the filters are checked against their documented meaning, with
every recorder kind.
"""

import io
import re
import sys

import harness
import pytest
import targets
from pikos._specs import FilterSpec, native_filters
from pikos.filters.api import NotOnValue, OnChange, OnValue
from pikos.monitors.api import FunctionMonitor, LineMonitor
from pikos.monitors.records import FunctionRecord, LineRecord
from pikos.recorders.api import CSVRecorder, ListRecorder, TextStreamRecorder


def call(index, type_="call", function="f", line=1, filename="x.py"):
    return FunctionRecord(index, type_, function, line, filename)


def changes(records, field):
    """Reference OnChange: keep a record whose field differs from the last seen."""
    kept, previous, first = [], None, True
    for record in records:
        value = getattr(record, field)
        if first or value != previous:
            kept.append(record)
        previous, first = value, False
    return kept


# --- plain callables ----------------------------------------------------------


def test_on_value_is_a_predicate_on_one_field():
    keep = OnValue("type", "call", "c_call")
    assert keep(call(0, "call")) is True
    assert keep(call(1, "c_call")) is True
    assert keep(call(2, "return")) is False


def test_not_on_value_is_the_opposite_predicate():
    drop = NotOnValue("function", "leaf", "middle")
    assert drop(call(0, function="leaf")) is False
    assert drop(call(1, function="middle")) is False
    assert drop(call(2, function="work")) is True


def test_on_value_compares_values_like_python():
    keep = OnValue("lineNo", 12)
    assert keep(call(0, line=12)) is True
    assert keep(call(0, line=13)) is False
    assert OnValue("lineNo", 12.0)(call(0, line=12)) is True


# --- bad filters fail at construction (issue 17) --------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: OnValue("function"), "OnValue('function') has no values"),
        (lambda: NotOnValue("type"), "NotOnValue('type') has no values"),
        (
            lambda: OnValue("lineNo", "6"),
            "OnValue: lineNo is a number, not '6' (str)",
        ),
        (
            lambda: NotOnValue("function", 3),
            "NotOnValue: function is text, not 3 (int)",
        ),
        (lambda: OnValue(3, "f"), "OnValue: the field must be a name (str), not 3"),
        (lambda: OnChange(None), "OnChange: the field must be a name (str), not None"),
    ],
)
def test_bad_built_in_filters_fail_at_construction(make, message):
    with pytest.raises((TypeError, ValueError)) as error:
        make()
    assert message in str(error.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda f: ListRecorder(filter_=f),
        lambda f: CSVRecorder(io.StringIO(), filter_=f),
        lambda f: TextStreamRecorder(io.StringIO(), filter_=f),
    ],
)
def test_a_non_callable_filter_fails_at_construction(make):
    with pytest.raises(
        TypeError, match=r"filter_ must be callable .*not 'type' \(str\)"
    ):
        make("type")


def test_on_change_keeps_first_record_and_each_change():
    on_change = OnChange("function")
    decisions = [
        on_change(call(i, function=name))
        for i, name in enumerate(["a", "a", "b", "b", "a", "c", "c"])
    ]
    assert decisions == [True, False, True, False, True, True, False]


def test_on_change_keeps_the_first_record_even_when_its_value_is_none():
    on_change = OnChange("line")
    record = LineRecord(0, "f", 1, None, "x.py")
    assert on_change(record) is True
    assert on_change(record._replace(index=1)) is False


# --- with monitors and every recorder kind ------------------------------------


FUNCTION_CASES = [
    pytest.param(
        lambda: OnValue("type", "call", "c_call"),
        lambda rs: [r for r in rs if r.type in ("call", "c_call")],
        id="OnValue-type",
    ),
    pytest.param(
        lambda: OnValue("function", "leaf"),
        lambda rs: [r for r in rs if r.function == "leaf"],
        id="OnValue-function",
    ),
    pytest.param(
        lambda: OnValue("lineNo", targets.leaf.__code__.co_firstlineno),
        lambda rs: [r for r in rs if r.lineNo == targets.leaf.__code__.co_firstlineno],
        id="OnValue-lineNo",
    ),
    pytest.param(
        lambda: NotOnValue("function", "leaf", "divmod"),
        lambda rs: [r for r in rs if r.function not in ("leaf", "divmod")],
        id="NotOnValue",
    ),
    pytest.param(
        lambda: OnChange("function"),
        lambda rs: changes(rs, "function"),
        id="OnChange-function",
    ),
    pytest.param(
        lambda: lambda record: record.index % 3 == 0,
        lambda rs: [r for r in rs if r.index % 3 == 0],
        id="python-callable",
    ),
]

LINE_CASES = [
    pytest.param(
        lambda: OnValue("function", "leaf", "middle"),
        lambda rs: [r for r in rs if r.function in ("leaf", "middle")],
        id="OnValue-function",
    ),
    pytest.param(
        lambda: NotOnValue("function", "work"),
        lambda rs: [r for r in rs if r.function != "work"],
        id="NotOnValue",
    ),
    pytest.param(
        lambda: OnChange("function"),
        lambda rs: changes(rs, "function"),
        id="OnChange-function",
    ),
]


def make_list(filter_):
    recorder = ListRecorder(filter_=filter_)
    return recorder, lambda: recorder.records, lambda fields, rs: rs


def make_csv(filter_):
    stream = io.StringIO()
    return (
        CSVRecorder(stream, filter_=filter_),
        stream.getvalue,
        harness.csv_oracle,
    )


def make_text(filter_):
    stream = io.StringIO()
    return (
        TextStreamRecorder(stream, filter_=filter_),
        stream.getvalue,
        lambda fields, rs: harness.text_oracle(fields, rs, formatted=False),
    )


def make_formatted(filter_):
    stream = io.StringIO()
    return (
        TextStreamRecorder(stream, filter_=filter_, formatted=True),
        stream.getvalue,
        lambda fields, rs: harness.text_oracle(fields, rs, formatted=True),
    )


RECORDERS = [
    pytest.param(make_list, id="list"),
    pytest.param(make_csv, id="csv"),
    pytest.param(make_text, id="text"),
    pytest.param(make_formatted, id="formatted"),
]


def unfiltered(monitor_class):
    recorder = ListRecorder()
    monitor_class(recorder).attach(targets.work)()
    return recorder.records


@pytest.mark.parametrize("make_recorder", RECORDERS)
@pytest.mark.parametrize(("make_filter", "expect"), FUNCTION_CASES)
def test_function_monitor_filters(make_recorder, make_filter, expect):
    everything = unfiltered(FunctionMonitor)
    expected = expect(everything)
    assert 0 < len(expected) < len(everything)
    recorder, output, oracle = make_recorder(make_filter())
    FunctionMonitor(recorder).attach(targets.work)()
    # kept records keep the index they had in the unfiltered run
    assert output() == oracle(FunctionRecord._fields, expected)


@pytest.mark.parametrize("make_recorder", RECORDERS)
@pytest.mark.parametrize(("make_filter", "expect"), LINE_CASES)
def test_line_monitor_filters(make_recorder, make_filter, expect):
    everything = unfiltered(LineMonitor)
    expected = expect(everything)
    assert 0 < len(expected) < len(everything)
    recorder, output, oracle = make_recorder(make_filter())
    LineMonitor(recorder).attach(targets.work)()
    assert output() == oracle(LineRecord._fields, expected)


@pytest.mark.parametrize("make_recorder", RECORDERS)
def test_filters_apply_when_recorders_are_fed_directly(make_recorder):
    records = [
        call(0, "call", "a"),
        call(1, "c_call", "len"),
        call(2, "c_return", "len"),
        call(3, "return", "a"),
    ]
    recorder, output, oracle = make_recorder(OnValue("function", "len"))
    recorder.prepare(FunctionRecord)
    for record in records:
        recorder.record(record)
    recorder.finalize()
    assert output() == oracle(FunctionRecord._fields, records[1:3])


def test_python_filter_receives_real_records():
    seen = []

    def keep_calls(record):
        seen.append(type(record))
        return record.type == "call"

    recorder = ListRecorder(filter_=keep_calls)
    FunctionMonitor(recorder).attach(targets.work)()
    records = recorder.records
    assert records
    assert all(record.type == "call" for record in records)
    assert len(seen) > len(records)
    assert set(seen) == {FunctionRecord}


# --- when a filter runs (issue 17) ---------------------------------------------


def marker():
    return "marker"


@pytest.mark.parametrize("make_recorder", RECORDERS)
def test_a_python_filter_runs_at_the_event(make_recorder):
    # A filter that depends on state outside the record: it keeps what
    # happens while `window["open"]` is set, so it must run when the event
    # happens, not later (ListRecorder ran it when `records` was read).
    window = {"open": False}
    seen = []

    def in_window(record):
        seen.append(record.index)
        return window["open"]

    def program():
        marker()
        window["open"] = True
        marker()
        window["open"] = False
        marker()

    everything = ListRecorder()
    FunctionMonitor(everything).attach(program)()
    recorder, output, oracle = make_recorder(in_window)
    FunctionMonitor(recorder).attach(program)()
    seen_during_run = list(seen)
    # The second marker's call and return.
    expected = [r for r in everything.records if r.function == "marker"][2:4]
    text = output()
    assert seen == seen_during_run  # reading the output runs no filter
    assert seen == [r.index for r in everything.records]
    assert text == oracle(FunctionRecord._fields, expected)


class FilterError(Exception):
    pass


def test_a_raising_filter_stops_a_list_recorder_at_the_event(monkeypatch):
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)
    error = FilterError("the filter's own error")

    def fails_at_3(record):
        if record.index == 3:
            raise error
        return True

    recorder = ListRecorder(filter_=fails_at_3)
    monitor = FunctionMonitor(recorder)
    with monitor:
        marker()
        marker()
        marker()
    # The program went on; the failure is the monitor's, reported once.
    assert monitor.error is error
    assert [r.exc_value for r in reports] == [error]
    assert [r.index for r in recorder.records] == [0, 1, 2]


class CountingOnChange(OnChange):
    """A built-in filter that counts the calls Python makes of it."""

    calls = 0

    def __call__(self, record):
        CountingOnChange.calls += 1
        return super().__call__(record)


def test_list_recorder_runs_built_in_filters_natively():
    # No Python call per event, and OnChange keeps its state across a read
    # of `records` in the middle of the run, and across the batches the
    # core filters as they fill (records as tuples: reading them records
    # no namedtuple construction).
    def program(recorder):
        targets.work()
        recorder.records  # noqa: B018 (reading is what is tested)
        for _ in range(5000):
            targets.leaf(1)
        targets.work()

    everything = ListRecorder()
    FunctionMonitor(everything, record_type=tuple).attach(program)(everything)
    records = everything.records
    assert len(records) > 8192
    expected, previous = [], None
    for record in records:
        if not expected or record[2] != previous:
            expected.append(record)
        previous = record[2]
    recorder = ListRecorder(filter_=CountingOnChange("function"))
    FunctionMonitor(recorder, record_type=tuple).attach(program)(recorder)
    assert recorder.records == expected
    assert CountingOnChange.calls == 0


def test_only_built_in_filters_reach_the_core():
    # The route is the type (pikos._specs.NativeFilter), not an attribute: a
    # callable that merely has the method is called per record in Python.
    class LooksNative:
        calls = 0

        def __call__(self, record):
            LooksNative.calls += 1
            return True

        def _pikos_spec(self, fields):
            return FilterSpec("on_value", 0, (-1,))  # would keep nothing

    assert native_filters(LooksNative(), FunctionRecord._fields) is None
    assert native_filters(OnValue("type", "call"), FunctionRecord._fields) == [
        FilterSpec("on_value", 1, ("call",))
    ]
    recorder = ListRecorder(filter_=LooksNative())
    FunctionMonitor(recorder).attach(targets.work)()
    assert recorder.records
    assert LooksNative.calls == len(recorder.records)


# --- unknown fields -----------------------------------------------------------


UNKNOWN_FIELD_CASES = [
    pytest.param(FunctionMonitor, "nope", id="FunctionMonitor-nope"),
    pytest.param(FunctionMonitor, "line", id="FunctionMonitor-line"),
    pytest.param(LineMonitor, "nope", id="LineMonitor-nope"),
    pytest.param(LineMonitor, "type", id="LineMonitor-type"),
]
FILTER_FACTORIES = [
    pytest.param(lambda field: OnValue(field, "x"), id="OnValue"),
    pytest.param(lambda field: NotOnValue(field, "x"), id="NotOnValue"),
    pytest.param(lambda field: OnChange(field), id="OnChange"),
]


def sentinel_hook(frame, event, arg):
    return None


@pytest.mark.parametrize("make_recorder", RECORDERS)
@pytest.mark.parametrize("make_filter", FILTER_FACTORIES)
@pytest.mark.parametrize(("monitor_class", "field"), UNKNOWN_FIELD_CASES)
def test_unknown_filter_field_raises_value_error_on_enable(
    monitor_class, field, make_filter, make_recorder
):
    recorder, _, _ = make_recorder(make_filter(field))
    monitor = monitor_class(recorder)
    ran = []
    trace_before = sys.gettrace()
    sys.setprofile(sentinel_hook)
    try:
        # the message names the field as a word ("line", not just "lineNo")
        with pytest.raises(ValueError, match=rf"\b{re.escape(field)}\b"):
            with monitor:
                ran.append(True)
        profile_after = sys.getprofile()
        trace_after = sys.gettrace()
    finally:
        sys.setprofile(None)
    assert profile_after is sentinel_hook
    assert trace_after is trace_before
    assert ran == []
