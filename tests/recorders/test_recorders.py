"""Recorders: exact text and CSV bytes, files, errors (SPEC section 4).

The oracles are csv.writer and the SPEC's text rules (harness.py). Records
produced by a monitor are compared with the same monitor's records taken by
a ListRecorder.
"""

import collections
import csv
import io
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import harness
import pytest
import targets
from monitoring import attached_records, feed
from pikos.monitors.api import FunctionMonitor, LineMonitor
from pikos.monitors.records import (
    NO_SOURCE,
    FunctionMemoryRecord,
    FunctionRecord,
    LineMemoryRecord,
    LineRecord,
)
from pikos.recorders.api import (
    AbstractRecorder,
    CSVFileRecorder,
    CSVRecorder,
    ListRecorder,
    RecorderError,
    TextFileRecorder,
    TextStreamRecorder,
)

FUNCTION_SAMPLES = [
    FunctionRecord(0, "call", "f", 1, "x.py"),
    FunctionRecord(1, "c_call", "len", 22, "/tmp/dir with space/a,b.py"),
    FunctionRecord(2, "return", "<lambda>", 333, 'odd "name".py'),
    FunctionRecord(3, "c_exception", "a_rather_long_function_name_over_30", 4, "y.py"),
]
LINE_SAMPLES = [
    LineRecord(0, "f", 1, '    x = "a, \\"b\\""', "x.py"),
    LineRecord(1, "g", 22, "    text = 'semi;colon'\tand tab", "x.py"),
    LineRecord(2, "h", 3, '    word = "café ✓"', "ü.py"),
    LineRecord(3, "<module>", 1, NO_SOURCE, "<generated>"),
    LineRecord(4, "k", 5, "first\nsecond, 'third'", "z.py"),
]
FUNCTION_MEMORY_SAMPLES = [
    FunctionMemoryRecord(0, "call", "f", 1048576, 4194304, 7, "m.py"),
    FunctionMemoryRecord(1, "return", "f", 1052672, 4198400, 9, "m.py"),
]
LINE_MEMORY_SAMPLES = [
    LineMemoryRecord(0, "f", 7, 1048576, 4194304, "    x = 1", "m.py"),
]
SAMPLES = {
    FunctionRecord: FUNCTION_SAMPLES,
    LineRecord: LINE_SAMPLES,
    FunctionMemoryRecord: FUNCTION_MEMORY_SAMPLES,
    LineMemoryRecord: LINE_MEMORY_SAMPLES,
}
RECORD_TYPES = [FunctionRecord, LineRecord, FunctionMemoryRecord, LineMemoryRecord]

CSV_KWARGS = [
    pytest.param({}, id="excel"),
    pytest.param({"lineterminator": "\n"}, id="lf"),
    pytest.param({"delimiter": ";"}, id="semicolon"),
    pytest.param({"quoting": csv.QUOTE_ALL}, id="quote-all"),
    pytest.param({"quoting": csv.QUOTE_NONNUMERIC}, id="quote-nonnumeric"),
    pytest.param({"quoting": csv.QUOTE_NONE, "escapechar": "\\"}, id="quote-none"),
    pytest.param({"quotechar": "'"}, id="single-quote"),
    pytest.param({"dialect": "excel-tab"}, id="excel-tab"),
    pytest.param(
        {"delimiter": ";", "quoting": csv.QUOTE_ALL, "lineterminator": "\n"},
        id="combined",
    ),
]


class FlushCountingStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.flushes = 0

    def flush(self):
        self.flushes += 1
        super().flush()


# --- ListRecorder -------------------------------------------------------------


def test_list_recorder_keeps_records_in_order_and_is_ready():
    recorder = ListRecorder()
    assert recorder.ready is True
    assert recorder.records == []
    feed(recorder, FunctionRecord, FUNCTION_SAMPLES)
    assert recorder.ready is True
    assert recorder.records == FUNCTION_SAMPLES
    assert isinstance(recorder.records, list)


def test_list_recorder_filter_is_applied():
    recorder = ListRecorder(filter_=lambda record: record.index % 2 == 0)
    feed(recorder, LineRecord, LINE_SAMPLES)
    assert recorder.records == LINE_SAMPLES[0::2]


# --- AbstractRecorder ---------------------------------------------------------


def test_abstract_recorder_cannot_be_instantiated():
    with pytest.raises(TypeError):
        AbstractRecorder()


def test_abstract_recorder_subclass_must_implement_every_method():
    class Incomplete(AbstractRecorder):
        def prepare(self, record_type):
            pass

        def finalize(self):
            pass

    with pytest.raises(TypeError):
        Incomplete()


def test_abstract_recorder_subclass_works_with_a_monitor():
    class Collecting(AbstractRecorder):
        def __init__(self):
            self.seen = []

        def prepare(self, record_type):
            self.seen.append(("prepare", record_type))

        def record(self, data):
            self.seen.append(("record", type(data)))

        def finalize(self):
            self.seen.append(("finalize",))

    recorder = Collecting()
    FunctionMonitor(recorder).attach(targets.leaf)(1)
    assert recorder.seen == [
        ("prepare", FunctionRecord),
        ("record", FunctionRecord),
        ("record", FunctionRecord),
        ("finalize",),
    ]


@pytest.mark.parametrize(
    "make",
    [
        ListRecorder,
        lambda: TextStreamRecorder(io.StringIO()),
        lambda: CSVRecorder(io.StringIO()),
    ],
    ids=["list", "text", "csv"],
)
def test_builtin_recorders_are_abstract_recorders(make):
    assert isinstance(make(), AbstractRecorder)


def test_file_recorders_are_abstract_recorders(tmp_path):
    assert isinstance(TextFileRecorder(str(tmp_path / "a.log")), AbstractRecorder)
    assert isinstance(CSVFileRecorder(str(tmp_path / "a.csv")), AbstractRecorder)


# --- TextStreamRecorder -------------------------------------------------------


@pytest.mark.parametrize("formatted", [False, True], ids=["plain", "formatted"])
@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=lambda t: t.__name__)
def test_text_stream_direct_feed_matches_spec(record_type, formatted):
    stream = io.StringIO()
    feed(
        TextStreamRecorder(stream, formatted=formatted),
        record_type,
        SAMPLES[record_type],
    )
    expected = harness.text_oracle(
        record_type._fields, SAMPLES[record_type], formatted=formatted
    )
    assert stream.getvalue() == expected


def test_text_stream_plain_header_literal():
    stream = io.StringIO()
    feed(TextStreamRecorder(stream), FunctionRecord, FUNCTION_SAMPLES[:1])
    assert stream.getvalue() == (
        "index type function lineNo filename\n"
        "-----------------------------------\n"
        "0 call f 1 x.py\n"
    )


def test_text_stream_formatted_literal():
    stream = io.StringIO()
    feed(
        TextStreamRecorder(stream, formatted=True), FunctionRecord, FUNCTION_SAMPLES[:1]
    )
    header = "index    type        function                       lineNo filename"
    record = "0        call        f                              1     x.py"
    assert stream.getvalue() == f"{header}\n{'-' * len(header)}\n{record}\n"


def test_formatted_memory_header_uses_the_header_template_not_the_line_template():
    stream = io.StringIO()
    feed(TextStreamRecorder(stream, formatted=True), FunctionMemoryRecord, [])
    header = stream.getvalue().splitlines()[0]
    assert header == harness.FUNCTION_MEMORY_HEADER.format(
        *FunctionMemoryRecord._fields
    )
    assert header.startswith("index    | ")


@pytest.mark.parametrize("formatted", [False, True], ids=["plain", "formatted"])
@pytest.mark.parametrize(
    ("monitor_class", "func"),
    [(FunctionMonitor, targets.work), (LineMonitor, targets.work)],
    ids=["FunctionMonitor", "LineMonitor"],
)
def test_text_stream_output_from_a_monitor_matches_spec(monitor_class, func, formatted):
    records = attached_records(monitor_class, func)
    stream = io.StringIO()
    monitor_class(TextStreamRecorder(stream, formatted=formatted)).attach(func)()
    expected = harness.text_oracle(records[0]._fields, records, formatted=formatted)
    assert stream.getvalue() == expected


def test_text_stream_writes_the_header_only_on_the_first_prepare():
    stream = io.StringIO()
    recorder = TextStreamRecorder(stream)
    feed(recorder, FunctionRecord, FUNCTION_SAMPLES[:2])
    feed(recorder, FunctionRecord, FUNCTION_SAMPLES[2:])
    assert stream.getvalue() == harness.text_oracle(
        FunctionRecord._fields, FUNCTION_SAMPLES, formatted=False
    )


def test_text_stream_filter_is_applied():
    stream = io.StringIO()
    recorder = TextStreamRecorder(stream, filter_=lambda r: r.type == "call")
    feed(recorder, FunctionRecord, FUNCTION_SAMPLES)
    assert stream.getvalue() == harness.text_oracle(
        FunctionRecord._fields, FUNCTION_SAMPLES[:1], formatted=False
    )


def test_text_stream_auto_flush_makes_each_record_visible_at_once():
    stream = FlushCountingStream()
    recorder = TextStreamRecorder(stream, auto_flush=True)
    recorder.prepare(FunctionRecord)
    assert stream.getvalue() == harness.text_header(FunctionRecord._fields, False)
    flushes = stream.flushes
    assert flushes >= 1
    recorder.record(FUNCTION_SAMPLES[0])
    assert stream.getvalue().endswith("0 call f 1 x.py\n")
    assert stream.flushes > flushes
    recorder.finalize()


def test_text_stream_finalize_leaves_the_stream_open():
    stream = io.StringIO()
    feed(TextStreamRecorder(stream), FunctionRecord, FUNCTION_SAMPLES)
    assert not stream.closed
    stream.write("still usable")


# --- CSVRecorder --------------------------------------------------------------


@pytest.mark.parametrize("csv_kwargs", CSV_KWARGS)
@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=lambda t: t.__name__)
def test_csv_direct_feed_matches_csv_writer(record_type, csv_kwargs):
    stream = io.StringIO()
    feed(CSVRecorder(stream, **csv_kwargs), record_type, SAMPLES[record_type])
    expected = harness.csv_oracle(
        record_type._fields, SAMPLES[record_type], **csv_kwargs
    )
    assert stream.getvalue() == expected


def test_csv_default_dialect_literal():
    stream = io.StringIO()
    feed(CSVRecorder(stream), LineRecord, LINE_SAMPLES[:1])
    assert stream.getvalue() == (
        "index,function,lineNo,line,filename\r\n"
        '0,f,1,"    x = ""a, \\""b\\""""",x.py\r\n'
    )


@pytest.mark.parametrize("csv_kwargs", CSV_KWARGS)
@pytest.mark.parametrize(
    ("monitor_class", "func"),
    [(FunctionMonitor, targets.work), (LineMonitor, targets.quoted)],
    ids=["FunctionMonitor", "LineMonitor"],
)
def test_csv_output_from_a_monitor_matches_csv_writer(monitor_class, func, csv_kwargs):
    records = attached_records(monitor_class, func)
    stream = io.StringIO()
    monitor_class(CSVRecorder(stream, **csv_kwargs)).attach(func)()
    expected = harness.csv_oracle(records[0]._fields, records, **csv_kwargs)
    assert stream.getvalue() == expected


def test_csv_of_a_line_with_comma_and_quotes_parses_back():
    stream = io.StringIO()
    LineMonitor(CSVRecorder(stream)).attach(targets.quoted)()
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[0] == list(LineRecord._fields)
    assert rows[1][1:4] == [
        "quoted",
        str(targets.quoted.__code__.co_firstlineno + 1),
        '    x = "a, \\"b\\""',
    ]
    assert rows[1][4] == targets.__file__


def test_csv_filter_is_applied():
    stream = io.StringIO()
    feed(CSVRecorder(stream, filter_=lambda r: r.lineNo > 2), LineRecord, LINE_SAMPLES)
    kept = [r for r in LINE_SAMPLES if r.lineNo > 2]
    assert stream.getvalue() == harness.csv_oracle(LineRecord._fields, kept)


def test_csv_writes_the_header_only_on_the_first_prepare():
    stream = io.StringIO()
    recorder = CSVRecorder(stream)
    feed(recorder, FunctionRecord, FUNCTION_SAMPLES[:1])
    feed(recorder, FunctionRecord, FUNCTION_SAMPLES[1:])
    assert stream.getvalue() == harness.csv_oracle(
        FunctionRecord._fields, FUNCTION_SAMPLES
    )


def test_recorders_accept_any_namedtuple_record_type():
    point = collections.namedtuple("Point", "x y label")
    records = [point(1, 2, "a,b"), point(3, 4, 'say "hi"')]
    csv_stream, text_stream, listed = io.StringIO(), io.StringIO(), ListRecorder()
    feed(CSVRecorder(csv_stream), point, records)
    feed(TextStreamRecorder(text_stream), point, records)
    feed(listed, point, records)
    assert csv_stream.getvalue() == harness.csv_oracle(point._fields, records)
    assert text_stream.getvalue() == ('x y label\n---------\n1 2 a,b\n3 4 say "hi"\n')
    assert listed.records == records


# --- errors before prepare ----------------------------------------------------


STREAM_AND_FILE_RECORDERS = [
    pytest.param(lambda path: TextStreamRecorder(io.StringIO()), id="text-stream"),
    pytest.param(lambda path: CSVRecorder(io.StringIO()), id="csv-stream"),
    pytest.param(lambda path: TextFileRecorder(str(path)), id="text-file"),
    pytest.param(lambda path: CSVFileRecorder(str(path)), id="csv-file"),
]


@pytest.mark.parametrize("make", STREAM_AND_FILE_RECORDERS)
def test_record_before_prepare_raises_recorder_error(make, tmp_path):
    recorder = make(tmp_path / "out")
    with pytest.raises(RecorderError):
        recorder.record(FUNCTION_SAMPLES[0])


@pytest.mark.parametrize("make", STREAM_AND_FILE_RECORDERS)
def test_finalize_before_prepare_raises_recorder_error(make, tmp_path):
    recorder = make(tmp_path / "out")
    with pytest.raises(RecorderError):
        recorder.finalize()


# --- file recorders -----------------------------------------------------------

# (make recorder from a filename, oracle(fields, records) -> expected text)
FILE_RECORDERS = [
    pytest.param(
        lambda path: TextFileRecorder(path),
        lambda fields, records: harness.text_oracle(fields, records, False),
        id="TextFileRecorder",
    ),
    pytest.param(
        lambda path: TextFileRecorder(path, formatted=True),
        lambda fields, records: harness.text_oracle(fields, records, True),
        id="TextFileRecorder-formatted",
    ),
    pytest.param(
        lambda path: CSVFileRecorder(path),
        lambda fields, records: harness.csv_oracle(fields, records),
        id="CSVFileRecorder",
    ),
    pytest.param(
        lambda path: CSVFileRecorder(path, lineterminator="\n", delimiter=";"),
        lambda fields, records: harness.csv_oracle(
            fields, records, lineterminator="\n", delimiter=";"
        ),
        id="CSVFileRecorder-kwargs",
    ),
]


@pytest.mark.parametrize(("make", "oracle"), FILE_RECORDERS)
def test_file_recorder_direct_feed_writes_exact_utf8_bytes(make, oracle, tmp_path):
    path = tmp_path / "records.out"
    feed(make(str(path)), LineRecord, LINE_SAMPLES)
    expected = oracle(LineRecord._fields, LINE_SAMPLES)
    assert path.read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize(("make", "oracle"), FILE_RECORDERS)
def test_file_recorder_opens_its_file_at_prepare(make, oracle, tmp_path):
    path = tmp_path / "records.out"
    recorder = make(str(path))
    assert not path.exists()
    recorder.prepare(FunctionRecord)
    recorder.finalize()
    expected = oracle(FunctionRecord._fields, [])
    assert path.read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize(("make", "oracle"), FILE_RECORDERS)
def test_file_recorder_second_session_appends_without_a_second_header(
    make, oracle, tmp_path
):
    path = tmp_path / "records.out"
    recorder = make(str(path))
    feed(recorder, FunctionRecord, FUNCTION_SAMPLES[:2])
    feed(recorder, FunctionRecord, FUNCTION_SAMPLES[2:])
    expected = oracle(FunctionRecord._fields, FUNCTION_SAMPLES)
    assert path.read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize(("make", "oracle"), FILE_RECORDERS)
@pytest.mark.parametrize(
    "monitor_class", [FunctionMonitor, LineMonitor], ids=lambda c: c.__name__
)
def test_decorated_function_called_twice_writes_one_header(
    monitor_class, make, oracle, tmp_path
):
    expected = attached_records(monitor_class, targets.work, calls=2)
    path = tmp_path / "records.out"
    attached = monitor_class(make(str(path))).attach(targets.work)
    attached()
    attached()
    assert len({r.index for r in expected}) == len(expected) > 4
    text = oracle(expected[0]._fields, expected)
    assert path.read_bytes() == text.encode("utf-8")


@pytest.mark.parametrize(("make", "oracle"), FILE_RECORDERS)
def test_new_file_recorder_replaces_a_stale_file(make, oracle, tmp_path):
    path = tmp_path / "records.out"
    path.write_text("stale content from an earlier run\n")
    feed(make(str(path)), FunctionRecord, FUNCTION_SAMPLES)
    expected = oracle(FunctionRecord._fields, FUNCTION_SAMPLES)
    assert path.read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize(("make", "oracle"), FILE_RECORDERS)
def test_file_recorder_accepts_a_path_object(make, oracle, tmp_path):
    path = tmp_path / "records.out"
    feed(make(pathlib.Path(path)), FunctionRecord, FUNCTION_SAMPLES)
    expected = oracle(FunctionRecord._fields, FUNCTION_SAMPLES)
    assert path.read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize("recorder_class", [TextFileRecorder, CSVFileRecorder])
def test_directory_as_filename_is_rejected_at_construction(recorder_class, tmp_path):
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
        recorder_class(str(tmp_path))


def test_file_recorders_write_utf8_whatever_the_locale(tmp_path):
    # ASCII-only script (escapes), run with an ASCII locale and no UTF-8 mode
    script = textwrap.dedent(
        """
        import locale, sys
        from pikos.monitors.records import LineRecord
        from pikos.recorders.api import CSVFileRecorder, TextFileRecorder
        text = '    word = "caf\\u00e9 \\u2713"'
        record = LineRecord(0, "f", 1, text, "\\u00fc.py")
        for recorder in (TextFileRecorder(sys.argv[1]), CSVFileRecorder(sys.argv[2])):
            recorder.prepare(LineRecord)
            recorder.record(record)
            recorder.finalize()
        print(locale.getpreferredencoding(False))
        """
    )
    assert script.isascii()
    text_path, csv_path = tmp_path / "r.log", tmp_path / "r.csv"
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0")
    env["PYTHONCOERCECLOCALE"] = "0"
    env.pop("PYTHONIOENCODING", None)
    result = subprocess.run(
        [sys.executable, "-c", script, str(text_path), str(csv_path)],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    if "utf" in result.stdout.lower().replace("-", ""):
        pytest.skip("could not force a non-UTF-8 locale here")
    record = LineRecord(0, "f", 1, '    word = "café ✓"', "ü.py")
    assert text_path.read_bytes() == harness.text_oracle(
        LineRecord._fields, [record], False
    ).encode("utf-8")
    assert csv_path.read_bytes() == harness.csv_oracle(
        LineRecord._fields, [record]
    ).encode("utf-8")
