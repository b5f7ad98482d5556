"""LineMonitor reports what a sys.settrace line hook sees, with source text."""

import importlib.util
import threading

import harness
import pytest
import targets
import workload
from monitoring import CountingRecorder, pikos_frames, run_monitored
from pikos.monitors.api import LineMonitor
from pikos.monitors.records import NO_SOURCE, LineRecord
from pikos.recorders.api import ListRecorder


@pytest.fixture(scope="module", autouse=True)
def _warm_up():
    workload.main()
    targets.work()


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lines_of(records, filename):
    return [(r.lineNo, r.line) for r in records if r.filename == filename]


def test_workload_line_events_match_sys_settrace_record_by_record():
    expected_outcome, expected = harness.trace_reference(workload.main)
    outcome, records = run_monitored(LineMonitor, workload.main)
    assert outcome == expected_outcome
    assert pikos_frames(records) == []
    harness.assert_same_events(
        harness.without_index(harness.without_harness(records)), expected
    )


def test_workload_indices_count_from_zero_without_gaps():
    _, records = run_monitored(LineMonitor, workload.main)
    assert len(records) > 400
    assert [record.index for record in records] == list(range(len(records)))


def test_workload_records_are_line_records_with_python_types():
    _, records = run_monitored(LineMonitor, workload.main)
    for record in records:
        assert type(record) is LineRecord
        assert type(record.index) is int
        assert type(record.lineNo) is int
        assert type(record.function) is str
        assert type(record.line) is str
        assert type(record.filename) is str


def test_attached_function_records_exactly_its_lines():
    recorder = ListRecorder()
    LineMonitor(recorder).attach(targets.work)()
    _, expected = harness.trace_reference(targets.work)
    assert expected[0][:2] == ("work", targets.work.__code__.co_firstlineno + 1)
    harness.assert_same_events(harness.without_index(recorder.records), expected)


def test_line_text_keeps_indentation_and_strips_trailing_whitespace(tmp_path):
    path = tmp_path / "whitespace_target.py"
    path.write_bytes(
        b"def target():\n"
        b"\tvalue = 1   \t\n"
        b"\tif value:  # a comment   \n"
        b"\t\tvalue += 1\r\n"
        b"\treturn (value +\n"
        b"\t        1)    \n"
    )
    module = load_module(path, "whitespace_target")
    recorder = ListRecorder()
    LineMonitor(recorder).attach(module.target)()
    assert lines_of(recorder.records, str(path)) == [
        (2, "\tvalue = 1"),
        (3, "\tif value:  # a comment"),
        (4, "\t\tvalue += 1"),
        (5, "\treturn (value +"),
        (6, "\t        1)"),
        (5, "\treturn (value +"),
    ]
    _, expected = harness.trace_reference(module.target)
    harness.assert_same_events(harness.without_index(recorder.records), expected)


def test_string_literal_with_comma_and_quotes_is_reported_verbatim():
    recorder = ListRecorder()
    LineMonitor(recorder).attach(targets.quoted)()
    texts = [r.line for r in recorder.records]
    assert texts[:3] == [
        '    x = "a, \\"b\\""',
        "    y = 'it''s'",
        '    z = "multi\\nline"',
    ]


def test_non_ascii_source_text_is_decoded():
    recorder = ListRecorder()
    LineMonitor(recorder).attach(targets.unicode_source)()
    assert [r.line for r in recorder.records] == [
        '    word = "café ✓"',
        "    return word",
    ]


def test_source_with_a_coding_declaration_is_decoded_like_linecache(tmp_path):
    path = tmp_path / "latin1_target.py"
    path.write_bytes(
        b"# -*- coding: latin-1 -*-\n"
        b"def target():\n"
        b"    word = 'caf\xe9'\n"
        b"    return word\n"
    )
    module = load_module(path, "latin1_target")
    recorder = ListRecorder()
    LineMonitor(recorder).attach(module.target)()
    assert lines_of(recorder.records, str(path)) == [
        (3, "    word = 'café'"),
        (4, "    return word"),
    ]


def test_code_without_source_gives_the_placeholder():
    code = compile("a = 1\nb = a + 1\n", "<generated>", "exec")
    namespace = {}
    recorder = ListRecorder()
    with LineMonitor(recorder):
        exec(code, namespace)
    assert namespace["b"] == 2
    generated = [tuple(r)[1:] for r in recorder.records if r.filename == "<generated>"]
    assert generated == [
        ("<module>", 1, NO_SOURCE, "<generated>"),
        ("<module>", 2, NO_SOURCE, "<generated>"),
    ]


def test_deleted_source_file_gives_the_placeholder_not_an_error(tmp_path):
    path = tmp_path / "vanishing_target.py"
    path.write_text("def target():\n    return 42\n")
    module = load_module(path, "vanishing_target")
    path.unlink()
    recorder = ListRecorder()
    assert LineMonitor(recorder).attach(module.target)() == 42
    assert [tuple(r)[1:] for r in recorder.records] == [
        ("target", 2, NO_SOURCE, str(path))
    ]


def test_index_continues_across_enable_disable_sessions():
    recorder = ListRecorder()
    monitor = LineMonitor(recorder)
    attached = monitor.attach(targets.leaf)
    attached(1)
    attached(2)
    assert [(r.index, r.function, r.line) for r in recorder.records] == [
        (0, "leaf", "    return x + 1"),
        (1, "leaf", "    return x + 1"),
    ]


def test_record_type_tuple_gives_plain_tuples_with_the_same_values():
    named, plain = ListRecorder(), ListRecorder()
    LineMonitor(named).attach(targets.work)()
    LineMonitor(plain, record_type=tuple).attach(targets.work)()
    assert len(plain.records) > 10
    assert all(type(record) is tuple for record in plain.records)
    assert plain.records == [tuple(record) for record in named.records]


def test_custom_recorder_receives_real_line_records():
    recorder = CountingRecorder()
    LineMonitor(recorder).attach(targets.work)()
    assert recorder.prepared == [LineRecord]
    assert recorder.finalized == 1
    assert recorder.records
    assert all(type(record) is LineRecord for record in recorder.records)
    _, expected = harness.trace_reference(targets.work)
    harness.assert_same_events(harness.without_index(recorder.records), expected)


def test_lines_of_threads_started_while_enabled_are_recorded():
    recorder = ListRecorder()
    with LineMonitor(recorder):
        worker = threading.Thread(target=targets.thread_work)
        worker.start()
        worker.join()
        targets.leaf(0)
    assert [
        (r.function, r.line) for r in recorder.records if r.filename == targets.__file__
    ] == [
        ("thread_work", "    return leaf(10)"),
        ("leaf", "    return x + 1"),
        ("leaf", "    return x + 1"),
    ]


def test_lines_of_threads_started_before_enable_are_not_recorded():
    recorder = ListRecorder()
    go, done = threading.Event(), threading.Event()

    def body():
        go.wait(30)
        targets.thread_work()
        done.set()

    worker = threading.Thread(target=body)
    worker.start()
    with LineMonitor(recorder):
        go.set()
        assert done.wait(30)
        targets.leaf(0)
    worker.join(30)
    functions = [r.function for r in recorder.records if r.filename == targets.__file__]
    assert functions == ["leaf"]


@pytest.mark.parametrize(
    ("recorder", "missing"),
    [
        (object(), ["prepare", "record", "finalize"]),
        (type("NoRecord", (), {"prepare": print, "finalize": print})(), ["record"]),
    ],
    ids=["object", "no-record"],
)
def test_non_recorder_is_rejected_at_construction(recorder, missing):
    with pytest.raises(TypeError) as excinfo:
        LineMonitor(recorder)
    for name in missing:
        assert name in str(excinfo.value)
