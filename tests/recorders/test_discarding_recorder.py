"""DiscardingRecorder: counts what a monitor gives it and keeps nothing."""

import pytest
from pikos.monitors.api import FunctionMonitor, LineMemoryMonitor, LineMonitor
from pikos.monitors.records import FunctionRecord
from pikos.recorders.api import DiscardingRecorder, ListRecorder


def work(n):
    return sum(len(str(i)) for i in range(n))


@pytest.mark.parametrize("monitor", [FunctionMonitor, LineMonitor, LineMemoryMonitor])
def test_counts_what_a_list_recorder_keeps(monitor):
    discard, keep = DiscardingRecorder(), ListRecorder()
    with monitor(discard):
        work(50)
    with monitor(keep):
        work(50)
    assert discard.count == len(keep.records) > 50


def test_counts_records_given_from_python_and_sessions_add_up():
    recorder = DiscardingRecorder()
    recorder.prepare(FunctionRecord)
    recorder.record(FunctionRecord(0, "call", "f", 1, "a.py"))
    recorder.finalize()
    assert recorder.count == 1
    monitor = FunctionMonitor(recorder)
    with monitor:
        abs(-1)
    with monitor:
        abs(-1)
    assert recorder.count == 1 + 2 + 2


def test_a_custom_record_type_takes_the_python_path():
    class Mine(FunctionRecord):
        pass

    recorder = DiscardingRecorder()
    with FunctionMonitor(recorder, record_type=Mine):
        abs(-1)
    assert recorder.count == 2
