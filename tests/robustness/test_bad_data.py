"""Robustness against hostile names (issue 8): file names and function
names with commas, quotes, line breaks, tabs, non-ASCII text, a lone
surrogate, a 10,000-character name, lambdas and code without source, through
every monitor kind and every kind of recorder.

Each value read back must be what Python itself reports (``co_name``,
``co_filename``, the source line), except where pikos documents an encoding:
text that is not valid UTF-8 (a lone surrogate) is written as its backslash
escape (``"\\udcff"`` becomes the six characters ``\\udcff``), and text output
writes a line feed or carriage return inside a value as the two characters
``\\n`` / ``\\r``, so that each record stays one line.
"""

import csv
import io
import linecache
import re
from dataclasses import dataclass

import harness
import pytest
from pikos.monitors.api import (
    FunctionMemoryMonitor,
    FunctionMonitor,
    LineMemoryMonitor,
    LineMonitor,
)
from pikos.monitors.records import NO_SOURCE
from pikos.recorders.api import (
    CSVFileRecorder,
    CSVRecorder,
    ListRecorder,
    TextStreamRecorder,
)

HOSTILE_TEXT = 'a,b\t"q" é漢'
# The literal as it stands in the source: a real tab, escaped quotes.
HOSTILE_LITERAL = '"a,b\t\\"q\\" é漢"'
assert eval(HOSTILE_LITERAL) == HOSTILE_TEXT
# One function of three lines.  Its name in the source is "target"; each case
# renames the code object to its hostile name.
FUNCTION_SOURCE = f"def target(x):\n    y = x + len({HOSTILE_LITERAL})\n    return y\n"
FUNCTION_LINES = FUNCTION_SOURCE.splitlines()
LAMBDA_SOURCE = f"target = lambda x: x + len({HOSTILE_LITERAL})\n"
RESULT = 5 + len(HOSTILE_TEXT)


@dataclass(frozen=True)
class Case:
    filename: str  # the file's name (a path below tmp_path when on_disk)
    name: str | None  # the function's co_name; None: keep the lambda's
    on_disk: bool = True  # False: the code is an exec'd string, no source
    is_lambda: bool = False


CASES = {
    "comma": Case("a,b.py", "f,g"),
    "double_quotes": Case('q"uo"te.py', 'say "hi"'),
    "newline": Case("new\nline.py", "new\nline"),
    "carriage_return": Case("car\rriage.py", "car\rriage"),
    "crlf": Case("crlf\r\n.py", "x\r\ny"),
    "tab": Case("tab\tbed.py", "tab\tbed"),
    "non_ascii": Case("é漢.py", "é漢"),
    "lone_surrogate": Case("sur\udcffrogate.py", "sur\udcffrogate"),
    "everything": Case('all, "of"\n\r\té漢\udcff.py', 'all, "of"\n\r\té漢\udcff'),
    "long_name": Case("long.py", "f" * 10_000),
    "lambda": Case('lam,"bda"\n.py', None, is_lambda=True),
    "exec_string": Case("<string>", "from_exec", on_disk=False),
    "exec_hostile": Case('<exec, "no"\nsource\r漢\udcff>', 'x,\n"y"', on_disk=False),
    "exec_lambda": Case("<string>", None, on_disk=False, is_lambda=True),
}

MONITORS = {
    "FunctionMonitor": FunctionMonitor,
    "LineMonitor": LineMonitor,
    "FunctionMemoryMonitor": FunctionMemoryMonitor,
    "LineMemoryMonitor": LineMemoryMonitor,
}
FUNCTION_MONITORS = (FunctionMonitor, FunctionMemoryMonitor)
MEMORY_MONITORS = (FunctionMemoryMonitor, LineMemoryMonitor)


def written(text):
    """A str as pikos writes it to a file or stream: lone surrogates as
    backslash escapes, everything else as it is."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def one_line(text):
    """A written str as text output puts it: line breaks as \\n and \\r."""
    return written(text).replace("\n", "\\n").replace("\r", "\\r")


def build(case, tmp_path):
    """Compile the case's code; return the function and the code object."""
    source = LAMBDA_SOURCE if case.is_lambda else FUNCTION_SOURCE
    if case.on_disk:
        path = tmp_path / case.filename
        path.write_text(source, encoding="utf-8")
        filename = str(path)
    else:
        filename = case.filename
        # Source only in memory: nothing to show, unless another test left
        # lines under this name in linecache (an xdist worker's own "-c"
        # code is "<string>" too), which pikos would rightly show.
        linecache.cache.pop(filename, None)
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)
    function = namespace["target"]
    if case.name is not None:
        function.__code__ = function.__code__.replace(
            co_name=case.name, co_qualname=case.name
        )
    code = function.__code__
    assert code.co_filename == filename
    assert code.co_name == ("<lambda>" if case.is_lambda else case.name)
    return function, code


def expected_records(monitor_class, case, code):
    """The records' fields (without index, RSS, VMS) as Python reports
    them: what a sys.setprofile / sys.settrace hook sees for one call."""
    name, filename = code.co_name, code.co_filename
    if case.is_lambda:
        lines = {1: LAMBDA_SOURCE.rstrip("\n")}
        body, back = 1, 1
    else:
        lines = dict(enumerate(FUNCTION_LINES, start=1))
        body, back = 2, 3
    if not case.on_disk:
        lines = dict.fromkeys(lines, NO_SOURCE)
    if monitor_class in FUNCTION_MONITORS:
        return [
            {"type": "call", "function": name, "lineNo": 1, "filename": filename},
            {"type": "c_call", "function": "len", "lineNo": body, "filename": filename},
            {
                "type": "c_return",
                "function": "len",
                "lineNo": body,
                "filename": filename,
            },
            {"type": "return", "function": name, "lineNo": back, "filename": filename},
        ]
    if case.is_lambda:
        steps = [1]
    else:
        steps = [2, 3]
    return [
        {"function": name, "lineNo": n, "line": lines[n], "filename": filename}
        for n in steps
    ]


def run(monitor_class, recorder, function):
    attached = monitor_class(recorder).attach(function)
    return attached(5)


def fields_of(monitor_class):
    return MONITORS_FIELDS[monitor_class]


MONITORS_FIELDS = {
    FunctionMonitor: harness.FUNCTION_FIELDS,
    LineMonitor: harness.LINE_FIELDS,
    FunctionMemoryMonitor: harness.FUNCTION_MEMORY_FIELDS,
    LineMemoryMonitor: harness.LINE_MEMORY_FIELDS,
}

parametrize = pytest.mark.parametrize


def all_cases(test):
    test = parametrize("case_id", list(CASES))(test)
    return parametrize("monitor_id", list(MONITORS))(test)


@all_cases
def test_list_recorder_values_equal_pythons(tmp_path, monitor_id, case_id):
    monitor_class, case = MONITORS[monitor_id], CASES[case_id]
    function, code = build(case, tmp_path)
    recorder = ListRecorder()
    assert run(monitor_class, recorder, function) == RESULT
    assert function(5) == RESULT
    records = recorder.records
    fields = fields_of(monitor_class)
    assert [r._fields for r in records] == [fields] * len(records)
    expected = expected_records(monitor_class, case, code)
    got = [{k: getattr(r, k) for k in expected[0]} for r in records]
    assert got == expected
    assert [r.index for r in records] == list(range(len(expected)))
    if monitor_class in MEMORY_MONITORS:
        assert all(r.RSS > 0 and r.VMS > 0 for r in records)


def check_csv_rows(rows, monitor_class, case, code):
    fields = fields_of(monitor_class)
    assert rows[0] == list(fields)
    expected = expected_records(monitor_class, case, code)
    body = rows[1:]
    assert all(len(row) == len(fields) for row in body)
    got = [dict(zip(fields, row, strict=True)) for row in body]
    assert [row["index"] for row in got] == [str(i) for i in range(len(expected))]
    assert [{k: row[k] for k in expected[0]} for row in got] == [
        {k: written(str(v)) for k, v in record.items()} for record in expected
    ]
    if monitor_class in MEMORY_MONITORS:
        assert all(int(row["RSS"]) > 0 and int(row["VMS"]) > 0 for row in got)


@all_cases
def test_csv_stream_reads_back_as_python_reports(tmp_path, monitor_id, case_id):
    monitor_class, case = MONITORS[monitor_id], CASES[case_id]
    function, code = build(case, tmp_path)
    out = io.StringIO()
    assert run(monitor_class, CSVRecorder(out), function) == RESULT
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    check_csv_rows(rows, monitor_class, case, code)
    # What csv.writer writes for the same values, byte for byte.
    reference = io.StringIO()
    csv.writer(reference).writerows(rows)
    assert out.getvalue() == reference.getvalue()


@all_cases
def test_csv_file_reads_back_as_python_reports(tmp_path, monitor_id, case_id):
    monitor_class, case = MONITORS[monitor_id], CASES[case_id]
    function, code = build(case, tmp_path)
    path = tmp_path / "records.csv"
    assert run(monitor_class, CSVFileRecorder(str(path)), function) == RESULT
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    check_csv_rows(rows, monitor_class, case, code)


@all_cases
def test_text_stream_one_line_per_record(tmp_path, monitor_id, case_id):
    monitor_class, case = MONITORS[monitor_id], CASES[case_id]
    function, code = build(case, tmp_path)
    out = io.StringIO()
    assert run(monitor_class, TextStreamRecorder(out), function) == RESULT
    text = out.getvalue()
    assert "\r" not in text
    assert text.endswith("\n")
    lines = text[:-1].split("\n")
    fields = fields_of(monitor_class)
    header = " ".join(fields)
    expected = expected_records(monitor_class, case, code)
    assert lines[:2] == [header, "-" * len(header)]
    assert len(lines) == 2 + len(expected)
    for index, (line, record) in enumerate(zip(lines[2:], expected, strict=True)):
        values = {
            "index": str(index),
            **{k: one_line(str(v)) for k, v in record.items()},
        }
        pattern = " ".join(
            r"\d+" if field in ("RSS", "VMS") else re.escape(values[field])
            for field in fields
        )
        assert re.fullmatch(pattern, line), (line, pattern)


def test_lone_surrogate_is_written_as_its_backslash_escape(tmp_path):
    """The documented text, spelled out: the six characters \\udcff."""
    function, code = build(CASES["lone_surrogate"], tmp_path)
    path = tmp_path / "records.csv"
    run(FunctionMonitor, CSVFileRecorder(str(path)), function)
    data = path.read_bytes()
    assert b"sur\\udcffrogate" in data
    # call and return carry the name; all four records the file name.
    assert data.decode("utf-8").count("\\udcff") == 6
    with pytest.raises(UnicodeEncodeError):
        code.co_name.encode("utf-8")
