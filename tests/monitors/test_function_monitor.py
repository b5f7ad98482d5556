"""FunctionMonitor reports what a sys.setprofile hook sees, record by record."""

import pickle
import sys
import threading

import harness
import pytest
import targets
import workload
from monitoring import CountingRecorder, pikos_frames, run_monitored
from pikos.monitors.api import FunctionMonitor
from pikos.monitors.records import FunctionRecord
from pikos.recorders.api import ListRecorder


@pytest.fixture(scope="module", autouse=True)
def _warm_up():
    workload.main()
    targets.work()


def test_workload_events_match_sys_setprofile_record_by_record():
    expected_outcome, expected = harness.profile_reference(workload.main)
    outcome, records = run_monitored(FunctionMonitor, workload.main)
    assert outcome == expected_outcome
    assert pikos_frames(records) == []
    harness.assert_same_events(
        harness.without_index(harness.without_harness(records)), expected
    )


def test_workload_indices_count_from_zero_without_gaps():
    _, records = run_monitored(FunctionMonitor, workload.main)
    assert len(records) > 400
    assert [record.index for record in records] == list(range(len(records)))


def test_workload_records_are_function_records_with_python_types():
    _, records = run_monitored(FunctionMonitor, workload.main)
    for record in records:
        assert type(record) is FunctionRecord
        assert type(record.index) is int
        assert type(record.lineNo) is int
        assert type(record.type) is str
        assert type(record.function) is str
        assert type(record.filename) is str
    for record in records[:5] + records[-5:]:
        copy = pickle.loads(pickle.dumps(record))
        assert copy == record
        assert type(copy) is FunctionRecord


def test_with_block_records_exactly_the_called_code():
    recorder = ListRecorder()
    with FunctionMonitor(recorder):
        targets.work()
    _, expected = harness.profile_reference(targets.work)
    assert expected[0][:2] == ("call", "work")
    harness.assert_same_events(harness.without_index(recorder.records), expected)


def test_enable_disable_record_exactly_the_code_in_between():
    recorder = ListRecorder()
    monitor = FunctionMonitor(recorder)
    monitor.enable()
    targets.work()
    monitor.disable()
    _, expected = harness.profile_reference(targets.work)
    harness.assert_same_events(harness.without_index(recorder.records), expected)


def test_builtin_called_from_the_enabling_frame_is_recorded_with_its_line():
    recorder = ListRecorder()
    monitor = FunctionMonitor(recorder)
    line = sys._getframe().f_lineno + 2
    with monitor:
        size = len("abc")
    assert size == 3
    assert harness.without_index(recorder.records) == [
        ("c_call", "len", line, __file__),
        ("c_return", "len", line, __file__),
    ]


def test_builtin_that_raises_gives_c_exception():
    recorder = ListRecorder()
    with FunctionMonitor(recorder):
        try:
            divmod(1, 0)
        except ZeroDivisionError:
            pass
    assert [(r.type, r.function) for r in recorder.records] == [
        ("c_call", "divmod"),
        ("c_exception", "divmod"),
    ]


def test_index_continues_across_enable_disable_sessions():
    recorder = ListRecorder()
    monitor = FunctionMonitor(recorder)
    with monitor:
        targets.leaf(1)
    assert [(r.index, r.type) for r in recorder.records] == [(0, "call"), (1, "return")]
    with monitor:
        targets.leaf(2)
    assert [(r.index, r.type) for r in recorder.records] == [
        (0, "call"),
        (1, "return"),
        (2, "call"),
        (3, "return"),
    ]


def test_each_monitor_instance_counts_from_zero():
    first, second = ListRecorder(), ListRecorder()
    with FunctionMonitor(first):
        targets.leaf(1)
    with FunctionMonitor(second):
        targets.leaf(1)
    assert [r.index for r in second.records] == [0, 1]
    assert first.records == second.records


def test_record_type_tuple_gives_plain_tuples_with_the_same_values():
    named, plain = ListRecorder(), ListRecorder()
    FunctionMonitor(named).attach(targets.work)()
    FunctionMonitor(plain, record_type=tuple).attach(targets.work)()
    assert len(plain.records) > 10
    assert all(type(record) is tuple for record in plain.records)
    assert plain.records == [tuple(record) for record in named.records]


def test_custom_recorder_receives_real_function_records():
    recorder = CountingRecorder()
    with FunctionMonitor(recorder):
        targets.work()
    assert recorder.prepared == [FunctionRecord]
    assert recorder.finalized == 1
    assert recorder.records
    assert all(type(record) is FunctionRecord for record in recorder.records)
    _, expected = harness.profile_reference(targets.work)
    harness.assert_same_events(harness.without_index(recorder.records), expected)


def in_targets(records):
    return [(r.type, r.function) for r in records if r.filename == targets.__file__]


def test_threads_started_while_enabled_are_recorded():
    recorder = ListRecorder()
    with FunctionMonitor(recorder):
        worker = threading.Thread(target=targets.thread_work)
        worker.start()
        worker.join()
        targets.leaf(0)
    functions = {record.function for record in recorder.records}
    assert "start" in functions  # the enabling thread's own calls
    assert "run" in functions  # the worker's Thread.run
    assert in_targets(recorder.records) == [
        ("call", "thread_work"),
        ("call", "leaf"),
        ("return", "leaf"),
        ("return", "thread_work"),
        ("call", "leaf"),
        ("return", "leaf"),
    ]
    assert pikos_frames(recorder.records) == []


def test_threads_started_before_enable_are_not_recorded():
    recorder = ListRecorder()
    go, done = threading.Event(), threading.Event()

    def body():
        go.wait(30)
        targets.thread_work()
        done.set()

    worker = threading.Thread(target=body)
    worker.start()
    with FunctionMonitor(recorder):
        go.set()
        assert done.wait(30)
        targets.leaf(0)
    worker.join(30)
    assert in_targets(recorder.records) == [("call", "leaf"), ("return", "leaf")]


def test_threads_are_not_recorded_after_disable():
    recorder = ListRecorder()
    ready, go = threading.Event(), threading.Event()

    def body():
        targets.leaf(1)
        ready.set()
        go.wait(30)
        targets.thread_work()

    with FunctionMonitor(recorder):
        worker = threading.Thread(target=body)
        worker.start()
        assert ready.wait(30)
    go.set()
    worker.join(30)
    assert not worker.is_alive()
    assert in_targets(recorder.records) == [("call", "leaf"), ("return", "leaf")]


def test_monitor_enabled_in_a_worker_thread_records_that_thread():
    recorder = ListRecorder()

    def body():
        with FunctionMonitor(recorder):
            targets.thread_work()

    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    assert [(r.type, r.function) for r in recorder.records] == [
        ("call", "thread_work"),
        ("call", "leaf"),
        ("return", "leaf"),
        ("return", "thread_work"),
    ]


@pytest.mark.parametrize(
    ("recorder", "missing"),
    [
        (object(), ["prepare", "record", "finalize"]),
        (type("NoFinalize", (), {"prepare": print, "record": print})(), ["finalize"]),
        (type("OnlyRecord", (), {"record": print})(), ["prepare", "finalize"]),
    ],
    ids=["object", "no-finalize", "only-record"],
)
def test_non_recorder_is_rejected_at_construction(recorder, missing):
    with pytest.raises(TypeError) as excinfo:
        FunctionMonitor(recorder)
    for name in missing:
        assert name in str(excinfo.value)
