"""pikos.api: recorder factories and decorator factories."""

import contextlib
import io
import re

import harness
import pytest
import targets
from monitoring import attached_records, feed
from pikos import api
from pikos.filters.api import OnValue
from pikos.monitors.api import FunctionMonitor, LineMonitor
from pikos.monitors.records import FunctionRecord, LineRecord
from pikos.recorders.api import (
    CSVFileRecorder,
    ListRecorder,
    TextFileRecorder,
    TextStreamRecorder,
)

SAMPLES = [
    FunctionRecord(0, "call", "work", 10, "t.py"),
    FunctionRecord(1, "c_call", "len", 11, "t.py"),
    FunctionRecord(2, "return", "work", 12, "t.py"),
]

FUNCTION_DECORATORS = [
    pytest.param(api.function_monitor, id="function_monitor"),
    pytest.param(api.monitor_functions, id="monitor_functions"),
]
LINE_DECORATORS = [
    pytest.param(api.line_monitor, id="line_monitor"),
    pytest.param(api.monitor_lines, id="monitor_lines"),
]
CSV_FACTORIES = [
    pytest.param(api.csvfile, id="csvfile"),
    pytest.param(api.csv_file, id="csv_file"),
]


# --- screen -------------------------------------------------------------------


def test_screen_writes_formatted_records_to_stdout(capsys):
    recorder = api.screen()
    assert isinstance(recorder, TextStreamRecorder)
    feed(recorder, FunctionRecord, SAMPLES)
    expected = harness.text_oracle(FunctionRecord._fields, SAMPLES, formatted=True)
    assert capsys.readouterr().out == expected


def test_screen_uses_the_stdout_current_when_it_is_called(capsys):
    redirected = io.StringIO()
    with contextlib.redirect_stdout(redirected):
        recorder = api.screen()
    feed(recorder, FunctionRecord, SAMPLES)
    expected = harness.text_oracle(FunctionRecord._fields, SAMPLES, formatted=True)
    assert redirected.getvalue() == expected
    assert capsys.readouterr().out == ""


def test_screen_flushes_each_record():
    class Counting(io.StringIO):
        flushes = 0

        def flush(self):
            Counting.flushes += 1

    stream = Counting()
    with contextlib.redirect_stdout(stream):
        recorder = api.screen()
    recorder.prepare(FunctionRecord)
    recorder.record(SAMPLES[0])
    assert stream.getvalue().endswith(FunctionRecord.line.format(*SAMPLES[0]) + "\n")
    assert Counting.flushes >= 2
    recorder.finalize()


def test_screen_filter(capsys):
    feed(api.screen(filter_=OnValue("type", "c_call")), FunctionRecord, SAMPLES)
    expected = harness.text_oracle(FunctionRecord._fields, SAMPLES[1:2], True)
    assert capsys.readouterr().out == expected


# --- textfile / csvfile -------------------------------------------------------


def test_textfile_defaults_to_formatted_monitor_records_log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recorder = api.textfile()
    assert isinstance(recorder, TextFileRecorder)
    feed(recorder, FunctionRecord, SAMPLES)
    expected = harness.text_oracle(FunctionRecord._fields, SAMPLES, formatted=True)
    assert (tmp_path / "monitor_records.log").read_bytes() == expected.encode()


def test_textfile_filename_and_filter(tmp_path):
    path = tmp_path / "custom.log"
    feed(
        api.textfile(filename=str(path), filter_=OnValue("index", 0, 2)),
        FunctionRecord,
        SAMPLES,
    )
    expected = harness.text_oracle(FunctionRecord._fields, SAMPLES[0::2], True)
    assert path.read_bytes() == expected.encode()


@pytest.mark.parametrize("factory", CSV_FACTORIES)
def test_csvfile_defaults_to_monitor_records_csv(factory, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recorder = factory()
    assert isinstance(recorder, CSVFileRecorder)
    feed(recorder, FunctionRecord, SAMPLES)
    expected = harness.csv_oracle(FunctionRecord._fields, SAMPLES)
    assert (tmp_path / "monitor_records.csv").read_bytes() == expected.encode()


@pytest.mark.parametrize("factory", CSV_FACTORIES)
def test_csvfile_filename_and_filter(factory, tmp_path):
    path = tmp_path / "custom.csv"
    feed(
        factory(filename=str(path), filter_=OnValue("function", "len")),
        FunctionRecord,
        SAMPLES,
    )
    expected = harness.csv_oracle(FunctionRecord._fields, SAMPLES[1:2])
    assert path.read_bytes() == expected.encode()


@pytest.mark.parametrize(
    "factory",
    [api.textfile, api.csvfile, api.csv_file],
    ids=["textfile", "csvfile", "csv_file"],
)
def test_file_factories_reject_a_directory(factory, tmp_path):
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
        factory(filename=str(tmp_path))


# --- decorator factories ------------------------------------------------------


@pytest.mark.parametrize("decorator_factory", FUNCTION_DECORATORS)
def test_function_monitor_decorator_records_the_function(decorator_factory):
    recorder = ListRecorder()
    decorated = decorator_factory(recorder=recorder)(targets.work)
    assert decorated(4) == targets.work(4)
    assert decorated.__wrapped__ is targets.work
    assert decorated.__name__ == "work"
    _, expected = harness.profile_reference(targets.work, 4)
    harness.assert_same_events(harness.without_index(recorder.records), expected)


@pytest.mark.parametrize("decorator_factory", LINE_DECORATORS)
def test_line_monitor_decorator_records_the_function(decorator_factory):
    recorder = ListRecorder()
    decorated = decorator_factory(recorder=recorder)(targets.work)
    assert decorated(4) == targets.work(4)
    assert decorated.__wrapped__ is targets.work
    _, expected = harness.trace_reference(targets.work, 4)
    harness.assert_same_events(harness.without_index(recorder.records), expected)


@pytest.mark.parametrize(
    ("decorator_factory", "monitor_class", "record_type"),
    [
        pytest.param(api.function_monitor, FunctionMonitor, FunctionRecord, id="fm"),
        pytest.param(api.monitor_functions, FunctionMonitor, FunctionRecord, id="mf"),
        pytest.param(api.line_monitor, LineMonitor, LineRecord, id="lm"),
        pytest.param(api.monitor_lines, LineMonitor, LineRecord, id="ml"),
    ],
)
def test_decorator_default_recorder_is_the_screen(
    decorator_factory, monitor_class, record_type, capsys
):
    expected = attached_records(monitor_class, targets.work)
    decorated = decorator_factory()(targets.work)
    decorated()
    assert capsys.readouterr().out == harness.text_oracle(
        record_type._fields, expected, formatted=True
    )


@pytest.mark.parametrize(
    ("decorator_factory", "monitor_class"),
    [
        pytest.param(api.function_monitor, FunctionMonitor, id="function_monitor"),
        pytest.param(api.line_monitor, LineMonitor, id="line_monitor"),
    ],
)
def test_decorated_function_called_twice_with_csv_file(
    decorator_factory, monitor_class, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    expected = attached_records(monitor_class, targets.work, calls=2)
    decorated = decorator_factory(recorder=api.csv_file())(targets.work)
    decorated()
    decorated()
    written = (tmp_path / "monitor_records.csv").read_bytes()
    assert written == harness.csv_oracle(expected[0]._fields, expected).encode()
    assert written.count(b"index,") == 1
