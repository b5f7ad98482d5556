"""The original's documented recorder and filter behaviours, kept for
drop-in code: plain tuples written as rows without a header, a second
``finalize`` of a file recorder, and ``OnChange.previous``."""

import csv
import io

import harness
import pytest
import targets
from pikos.errors import RecorderError
from pikos.filters.on_change import OnChange
from pikos.filters.on_value import OnValue
from pikos.monitors.api import FunctionMonitor, LineMonitor
from pikos.monitors.records import FunctionRecord, LineRecord
from pikos.recorders.api import (
    CSVFileRecorder,
    CSVRecorder,
    ListRecorder,
    SpeedscopeRecorder,
    TextFileRecorder,
    TextStreamRecorder,
)

ROWS = [(5, "pikos", "apikos"), (6, "froutopia", None)]

# --- prepare(tuple): rows only, no header -----------------------------------------


def test_text_stream_recorder_writes_tuples_without_a_header():
    out = io.StringIO()
    recorder = TextStreamRecorder(out)
    recorder.prepare(tuple)
    recorder.record(ROWS[0])
    recorder.finalize()
    assert out.getvalue() == "5 pikos apikos\n"


def test_csv_recorder_writes_tuples_without_a_header():
    out = io.StringIO()
    recorder = CSVRecorder(out)
    recorder.prepare(tuple)
    for row in ROWS:
        recorder.record(row)
    recorder.finalize()
    assert out.getvalue() == "5,pikos,apikos\r\n6,froutopia,\r\n"


def test_csv_recorder_in_a_python_only_dialect_writes_tuples_without_a_header():
    out = io.StringIO()
    recorder = CSVRecorder(out, quoting=csv.QUOTE_NONE, escapechar="\\")
    recorder.prepare(tuple)
    recorder.record(ROWS[0])
    recorder.finalize()
    assert out.getvalue() == "5,pikos,apikos\r\n"


def test_text_file_recorder_writes_tuples_without_a_header(tmp_path):
    path = tmp_path / "records.log"
    recorder = TextFileRecorder(str(path))
    recorder.prepare(tuple)
    recorder.record(ROWS[0])
    recorder.finalize()
    assert path.read_text() == "5 pikos apikos\n"


def test_csv_file_recorder_writes_tuples_without_a_header(tmp_path):
    path = tmp_path / "records.csv"
    recorder = CSVFileRecorder(str(path))
    recorder.prepare(tuple)
    recorder.record(ROWS[0])
    recorder.finalize()
    assert path.read_bytes() == b"5,pikos,apikos\r\n"


def test_formatted_text_of_plain_tuples_needs_a_monitors_kind():
    with pytest.raises(RecorderError, match="record kind"):
        TextStreamRecorder(io.StringIO(), formatted=True).prepare(tuple)


@pytest.mark.parametrize("make", [TextStreamRecorder, CSVRecorder])
def test_a_field_filter_on_plain_tuples_fails_at_prepare(make):
    recorder = make(io.StringIO(), filter_=OnValue("type", "call"))
    with pytest.raises(RecorderError, match="no field names"):
        recorder.prepare(tuple)


# --- a monitor with record_type=tuple -----------------------------------------


def records_of(monitor_class):
    """The records a monitor of this class takes of ``targets.work``."""
    recorder = ListRecorder()
    monitor_class(recorder).attach(targets.work)()
    return recorder.records


MONITORS = [
    pytest.param(FunctionMonitor, FunctionRecord, id="functions"),
    pytest.param(LineMonitor, LineRecord, id="lines"),
]


@pytest.mark.parametrize(("monitor_class", "record_class"), MONITORS)
@pytest.mark.parametrize("formatted", [False, True], ids=["plain", "formatted"])
def test_a_tuple_monitor_writes_text_rows_only(monitor_class, record_class, formatted):
    expected = records_of(monitor_class)
    out = io.StringIO()
    recorder = TextStreamRecorder(out, formatted=formatted)
    monitor_class(recorder, record_type=tuple).attach(targets.work)()
    # Formatted: each row by the line template of the monitor's record kind.
    assert out.getvalue() == "".join(
        harness.text_line(record_class._fields, record, formatted)
        for record in expected
    )


@pytest.mark.parametrize(("monitor_class", "record_class"), MONITORS)
def test_a_tuple_monitor_writes_csv_rows_only(monitor_class, record_class):
    expected = records_of(monitor_class)
    out = io.StringIO()
    monitor_class(CSVRecorder(out), record_type=tuple).attach(targets.work)()
    rows = io.StringIO()
    csv.writer(rows).writerows(expected)
    assert out.getvalue() == rows.getvalue()


@pytest.mark.parametrize("make", [TextFileRecorder, CSVFileRecorder])
def test_a_tuple_monitor_writes_file_rows_only(make, tmp_path):
    expected = records_of(FunctionMonitor)
    path = tmp_path / "records"
    FunctionMonitor(make(str(path)), record_type=tuple).attach(targets.work)()
    lines = path.read_text().splitlines()
    assert len(lines) == len(expected)
    assert lines[0].split(" " if make is TextFileRecorder else ",")[:3] == [
        "0",
        "call",
        "work",
    ]


def test_a_tuple_monitor_with_a_field_filter_keeps_its_rows_only():
    out = io.StringIO()
    recorder = CSVRecorder(out, filter_=OnValue("function", "leaf"))
    FunctionMonitor(recorder, record_type=tuple).attach(targets.work)()
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows and all(row[2] == "leaf" for row in rows)


# --- finalize twice -----------------------------------------------------------


@pytest.mark.parametrize("make", [TextFileRecorder, CSVFileRecorder])
def test_a_second_finalize_of_a_file_recorder_does_nothing(make, tmp_path):
    path = tmp_path / "records"
    recorder = make(str(path))
    recorder.prepare(FunctionRecord)
    recorder.record(FunctionRecord(0, "call", "f", 1, "a.py"))
    recorder.finalize()
    written = path.read_bytes()
    recorder.finalize()
    assert path.read_bytes() == written
    assert b"0" in written


def test_a_second_finalize_of_a_timeline_recorder_does_nothing(tmp_path):
    path = tmp_path / "profile.speedscope.json"
    recorder = SpeedscopeRecorder(str(path))
    FunctionMonitor(recorder).attach(targets.work)()
    written = path.read_bytes()
    recorder.finalize()
    assert path.read_bytes() == written


@pytest.mark.parametrize("make", [TextFileRecorder, CSVFileRecorder])
def test_finalize_before_any_prepare_still_raises(make, tmp_path):
    with pytest.raises(RecorderError, match="before prepare"):
        make(str(tmp_path / "records")).finalize()


@pytest.mark.parametrize("make", [TextStreamRecorder, CSVRecorder])
def test_a_second_finalize_of_a_stream_recorder_does_nothing(make):
    out = io.StringIO()
    recorder = make(out)
    recorder.prepare(FunctionRecord)
    recorder.finalize()
    written = out.getvalue()
    recorder.finalize()
    assert out.getvalue() == written


# --- OnChange.previous --------------------------------------------------------


def test_on_change_previous_is_none_before_the_first_record():
    changes = OnChange("function")
    assert changes.previous is None
    assert changes(LineRecord(0, "f", 1, "", "a.py"))
    assert changes.previous == "f"
    assert not changes(LineRecord(1, "f", 2, "", "a.py"))
    assert changes(LineRecord(2, "g", 1, "", "a.py"))
    assert changes.previous == "g"


def test_on_change_keeps_a_first_record_whose_value_is_none():
    changes = OnChange("function")
    assert changes(LineRecord(0, None, 1, "", "a.py"))
    assert changes.previous is None
    assert not changes(LineRecord(1, None, 2, "", "a.py"))
