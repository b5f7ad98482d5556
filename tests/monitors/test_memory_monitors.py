"""Memory monitors: field order, RSS/VMS readings, and memory_interval."""

import csv
import math

import focus_targets
import harness
import pytest
import targets
from pikos.monitors.api import (
    FocusedFunctionMemoryMonitor,
    FocusedLineMemoryMonitor,
    FunctionMemoryMonitor,
    LineMemoryMonitor,
)
from pikos.monitors.records import FunctionMemoryRecord, LineMemoryRecord
from pikos.recorders.api import CSVFileRecorder, ListRecorder

BLOCK = focus_targets.BLOCK_SIZE
# At least 90% of the block must show up in RSS while it is alive, and go
# away again once it is freed.
MOST = int(BLOCK * 0.9)

MEMORY_MONITORS = [
    pytest.param(FunctionMemoryMonitor, id="FunctionMemoryMonitor"),
    pytest.param(LineMemoryMonitor, id="LineMemoryMonitor"),
]
ALL_MEMORY_MONITORS = [
    *MEMORY_MONITORS,
    pytest.param(FocusedFunctionMemoryMonitor, id="FocusedFunctionMemoryMonitor"),
    pytest.param(FocusedLineMemoryMonitor, id="FocusedLineMemoryMonitor"),
]
FIELDS = {
    FunctionMemoryMonitor: harness.FUNCTION_MEMORY_FIELDS,
    LineMemoryMonitor: harness.LINE_MEMORY_FIELDS,
}
RECORD_TYPES = {
    FunctionMemoryMonitor: FunctionMemoryRecord,
    LineMemoryMonitor: LineMemoryRecord,
}


@pytest.fixture(scope="module", autouse=True)
def _warm_up():
    targets.work()
    focus_targets.allocate_and_free(1024)


def make(monitor_class, recorder, **kwargs):
    if monitor_class in (FocusedFunctionMemoryMonitor, FocusedLineMemoryMonitor):
        kwargs.setdefault("functions", [focus_targets.allocate_and_free])
    return monitor_class(recorder, **kwargs)


def allocation_records(monitor_class, **kwargs):
    recorder = ListRecorder()
    attached = make(monitor_class, recorder, **kwargs).attach(
        focus_targets.allocate_and_free
    )
    assert attached() == BLOCK
    return recorder.records


# --- fields -----------------------------------------------------------------------


def test_function_memory_records_field_order():
    recorder = ListRecorder()
    FunctionMemoryMonitor(recorder).attach(targets.leaf)(1)
    assert FunctionMemoryRecord._fields == harness.FUNCTION_MEMORY_FIELDS
    first = recorder.records[0]
    assert type(first) is FunctionMemoryRecord
    index, kind, function, rss, vms, line_no, filename = first
    assert (index, kind, function, line_no, filename) == (
        0,
        "call",
        "leaf",
        targets.leaf.__code__.co_firstlineno,
        targets.__file__,
    )
    assert (first.RSS, first.VMS) == (rss, vms)
    assert [(r.index, r.type, r.function) for r in recorder.records] == [
        (0, "call", "leaf"),
        (1, "return", "leaf"),
    ]


def test_line_memory_records_field_order():
    recorder = ListRecorder()
    LineMemoryMonitor(recorder).attach(targets.leaf)(1)
    assert LineMemoryRecord._fields == harness.LINE_MEMORY_FIELDS
    (record,) = recorder.records
    assert type(record) is LineMemoryRecord
    index, function, line_no, rss, vms, line, filename = record
    assert (index, function, line_no, line, filename) == (
        0,
        "leaf",
        targets.leaf.__code__.co_firstlineno + 1,
        "    return x + 1",
        targets.__file__,
    )
    assert (record.RSS, record.VMS) == (rss, vms)


@pytest.mark.parametrize("monitor_class", MEMORY_MONITORS)
def test_memory_fields_are_positive_ints_and_vms_is_at_least_rss(monitor_class):
    recorder = ListRecorder()
    monitor_class(recorder).attach(targets.work)()
    assert len(recorder.records) > 10
    for record in recorder.records:
        assert type(record) is RECORD_TYPES[monitor_class]
        assert type(record.RSS) is int
        assert type(record.VMS) is int
        assert 0 < record.RSS <= record.VMS


@pytest.mark.parametrize(
    ("monitor_class", "reference"),
    [
        pytest.param(FunctionMemoryMonitor, harness.profile_reference, id="function"),
        pytest.param(LineMemoryMonitor, harness.trace_reference, id="line"),
    ],
)
def test_memory_monitors_see_the_same_events_as_the_reference(monitor_class, reference):
    recorder = ListRecorder()
    monitor_class(recorder).attach(targets.work)(4)
    _, expected = reference(targets.work, 4)
    events = [
        tuple(
            value
            for field, value in zip(r._fields, r, strict=True)
            if field not in ("RSS", "VMS")
        )
        for r in recorder.records
    ]
    harness.assert_same_events(harness.without_index(events), expected)


@pytest.mark.parametrize("monitor_class", MEMORY_MONITORS)
def test_record_type_tuple_gives_plain_tuples_in_field_order(monitor_class):
    plain = ListRecorder()
    monitor_class(plain, record_type=tuple).attach(targets.work)()
    named = ListRecorder()
    monitor_class(named).attach(targets.work)()
    assert len(plain.records) > 10
    assert all(type(record) is tuple for record in plain.records)
    assert all(len(record) == len(FIELDS[monitor_class]) for record in plain.records)

    def without_memory(record):
        return tuple(
            value
            for field, value in zip(FIELDS[monitor_class], record, strict=True)
            if field not in ("RSS", "VMS")
        )

    assert [without_memory(r) for r in plain.records] == [
        without_memory(r) for r in named.records
    ]
    rss = FIELDS[monitor_class].index("RSS")
    for record in plain.records:
        assert type(record[rss]) is int
        assert type(record[rss + 1]) is int
        assert 0 < record[rss] <= record[rss + 1]


@pytest.mark.parametrize("monitor_class", MEMORY_MONITORS)
def test_csv_file_header_and_rows(monitor_class, tmp_path):
    path = tmp_path / "memory.csv"
    monitor_class(CSVFileRecorder(str(path))).attach(targets.leaf)(1)
    with open(path, newline="") as stream:
        rows = list(csv.reader(stream))
    assert path.read_bytes().startswith(
        (",".join(FIELDS[monitor_class]) + "\r\n").encode()
    )
    assert tuple(rows[0]) == FIELDS[monitor_class]
    assert len(rows) == 3 if monitor_class is FunctionMemoryMonitor else 2
    for row in rows[1:]:
        record = dict(zip(rows[0], row, strict=True))
        assert record["function"] == "leaf"
        assert record["filename"] == targets.__file__
        assert 0 < int(record["RSS"]) <= int(record["VMS"])


# --- RSS follows a 200 MB allocation -------------------------------------------------


@pytest.mark.parametrize("monitor_class", ALL_MEMORY_MONITORS)
def test_rss_rises_with_an_allocation_and_falls_after_it_is_freed(monitor_class):
    records = allocation_records(monitor_class)
    for record in records:
        assert record.RSS <= record.VMS
    if monitor_class in (FunctionMemoryMonitor, FocusedFunctionMemoryMonitor):
        # call (before), c_call len / c_return len (alive), return (freed).
        assert [(r.type, r.function) for r in records] == [
            ("call", "allocate_and_free"),
            ("c_call", "len"),
            ("c_return", "len"),
            ("return", "allocate_and_free"),
        ]
        before, alive, _, freed = records
    else:
        first = focus_targets.allocate_and_free.__code__.co_firstlineno
        # block = ... (before), kept = len(block), del block, return (freed).
        assert [r.lineNo - first for r in records] == [1, 2, 3, 4]
        before, alive, _, freed = records
    assert alive.RSS - before.RSS >= MOST
    assert alive.VMS - before.VMS >= MOST
    assert alive.RSS - freed.RSS >= MOST


# --- memory_interval ---------------------------------------------------------------


@pytest.mark.parametrize("monitor_class", ALL_MEMORY_MONITORS)
@pytest.mark.parametrize("interval", [60e6, 60_000_000, math.inf])
def test_huge_interval_reuses_one_reading(monitor_class, interval):
    records = allocation_records(monitor_class, memory_interval=interval)
    assert len(records) == 4
    assert len({(record.RSS, record.VMS) for record in records}) == 1


@pytest.mark.parametrize("monitor_class", ALL_MEMORY_MONITORS)
@pytest.mark.parametrize("interval", ["default", None, 0, 0.0])
def test_no_interval_reads_memory_at_every_event(monitor_class, interval):
    kwargs = {} if interval == "default" else {"memory_interval": interval}
    records = allocation_records(monitor_class, **kwargs)
    before, alive, _, freed = records
    assert alive.RSS - before.RSS >= MOST
    assert alive.RSS - freed.RSS >= MOST


@pytest.mark.parametrize("monitor_class", ALL_MEMORY_MONITORS)
@pytest.mark.parametrize("interval", [-1, -0.5, -1e-9, math.nan, -math.inf])
def test_negative_or_nan_interval_is_a_value_error(monitor_class, interval):
    with pytest.raises(ValueError):
        make(monitor_class, ListRecorder(), memory_interval=interval)


@pytest.mark.parametrize("monitor_class", ALL_MEMORY_MONITORS)
@pytest.mark.parametrize("interval", [True, False, "10", b"10", [10]], ids=repr)
def test_non_number_interval_is_a_type_error(monitor_class, interval):
    with pytest.raises(TypeError):
        make(monitor_class, ListRecorder(), memory_interval=interval)


@pytest.mark.parametrize("monitor_class", ALL_MEMORY_MONITORS)
@pytest.mark.parametrize("interval", [1, 0.5, 1000])
def test_small_intervals_are_accepted(monitor_class, interval):
    records = allocation_records(monitor_class, memory_interval=interval)
    assert len(records) == 4
    for record in records:
        assert 0 < record.RSS <= record.VMS


@pytest.mark.parametrize("monitor_class", ALL_MEMORY_MONITORS)
def test_memory_interval_is_keyword_only(monitor_class):
    with pytest.raises(TypeError):
        monitor_class(ListRecorder(), None, 0)


@pytest.mark.parametrize("interval", [1e300, 10**400])
def test_intervals_too_long_to_represent_mean_one_reading(interval):
    records = allocation_records(LineMemoryMonitor, memory_interval=interval)
    assert len({(record.RSS, record.VMS) for record in records}) == 1


def test_a_negative_int_too_large_for_a_float_is_a_value_error():
    with pytest.raises(ValueError):
        make(LineMemoryMonitor, ListRecorder(), memory_interval=-(10**400))
