"""File recorders with ``auto_flush=True`` keep their file current while the
program runs, even while it is idle (records reach it within about 0.1 s),
and ``leave_thread`` stops a monitor on one thread only."""

import csv
import subprocess
import sys
import threading
import time

import pytest
from pikos.monitors.api import FunctionMonitor
from pikos.recorders.api import CSVFileRecorder, ListRecorder, TextFileRecorder


def work():
    return sum(range(10))


def rows_in(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def wait_for(predicate, seconds=5.0):
    """Wait, running no Python code of interest (so no new events), until
    ``predicate`` holds: the records must get to the file by themselves."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.mark.parametrize("make", [CSVFileRecorder, TextFileRecorder])
def test_auto_flush_keeps_the_file_current(tmp_path, make):
    path = tmp_path / "live.out"
    recorder = make(str(path), auto_flush=True)
    with FunctionMonitor(recorder):
        work()
        # Header plus the first records, while the monitor still runs.
        assert wait_for(lambda: len(path.read_text().splitlines()) >= 3)
    lines = path.read_text().splitlines()
    assert "index" in lines[0]
    # Nothing lost or repeated: indices are 0..n-1 in order.
    first = 2 if make is TextFileRecorder else 1  # text has a dash line
    indices = [int(line.split(",")[0].split()[0]) for line in lines[first:]]
    assert indices == list(range(len(indices)))


def test_without_auto_flush_the_csv_is_complete_at_the_end(tmp_path):
    path = tmp_path / "batch.csv"
    with FunctionMonitor(CSVFileRecorder(str(path))):
        for _ in range(3):
            work()
    rows = rows_in(path)
    assert rows[0] == ["index", "type", "function", "lineNo", "filename"]
    assert [r[2] for r in rows[1:] if r[1] == "call"] == ["work"] * 3


def test_csv_kwargs_still_reach_the_writer(tmp_path):
    path = tmp_path / "tabs.csv"
    with FunctionMonitor(CSVFileRecorder(str(path), auto_flush=True, delimiter="\t")):
        work()
    assert path.read_text().splitlines()[0] == "index\ttype\tfunction\tlineNo\tfilename"


def test_leave_thread_stops_this_thread_only():
    recorder = ListRecorder()
    started, finish = threading.Event(), threading.Event()

    def other():
        started.set()
        finish.wait()
        work()

    monitor = FunctionMonitor(recorder)
    with monitor:
        thread = threading.Thread(target=other)
        thread.start()
        started.wait()
        work()
        monitor.leave_thread()
        work()  # not recorded: this thread left
        finish.set()
        thread.join()
    calls = [r for r in recorder.records if r.type == "call" and r.function == "work"]
    assert len(calls) == 2  # one here before leaving, one in the other thread


@pytest.mark.parametrize("auto_flush", [True, False])
def test_a_recorder_never_finalized_is_written_at_exit(tmp_path, auto_flush):
    # The flusher thread holds its sink weakly, so a live sink still gets
    # dropped, and written out, when the interpreter exits.
    script = tmp_path / "s.py"
    script.write_text(
        "import sys\n"
        "from pikos.monitors.api import FunctionMonitor\n"
        "from pikos.recorders.api import CSVFileRecorder\n"
        f"recorder = CSVFileRecorder(sys.argv[1], auto_flush={auto_flush})\n"
        "monitor = FunctionMonitor(recorder)\n"
        "monitor.enable()\n"
        "def last_function_called():\n"
        "    pass\n"
        "for _ in range(10):\n"
        "    last_function_called()\n"
    )
    out = tmp_path / "out.csv"
    result = subprocess.run(
        [sys.executable, str(script), str(out)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    calls = [r for r in rows_in(out) if r[1:3] == ["call", "last_function_called"]]
    assert len(calls) == 10
