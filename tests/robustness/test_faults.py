"""Faults: a recorder that fails, a full disk, an internal error in the hook.

Whatever fails while recording, the program goes on as if pikos were not
there: the monitor stops on every thread, the previous hook comes back
exactly, the error is reported once (``sys.unraisablehook``) and kept on
``monitor.error``, and the records taken before the failure are kept.
"""

import csv
import io
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from pikos.errors import HookTakenWarning
from pikos.monitors.api import FunctionMonitor, LineMonitor, StatsMonitor
from pikos.recorders.api import CSVFileRecorder, CSVRecorder

try:
    import resource
except ImportError:  # not on this platform
    resource = None

WAIT = 30  # seconds; only a guard against a deadlock


def leaf(i):
    return i + 1


def work(n):
    total = 0
    for i in range(n):
        total += leaf(i)
    return total


def previous_hook(frame, event, arg):
    """A Python-level profile hook that was there before pikos."""
    previous_hook.events += 1


previous_hook.events = 0


class Report:
    """A report to sys.unraisablehook, as the default hook would print it
    then (the object's repr says what stopped)."""

    def __init__(self, args):
        self.exc_value = args.exc_value
        self.object = repr(args.object)


@pytest.fixture
def reports(monkeypatch):
    """What reaches sys.unraisablehook."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda args: seen.append(Report(args)))
    return seen


class FailingRecorder:
    """A Python recorder whose ``record`` raises at the ``fail_at``-th call."""

    def __init__(self, fail_at, error=None):
        self.fail_at = fail_at
        self.error = error or OSError(28, "No space left on device")
        self.records = []
        self.finalized = 0

    def prepare(self, record_type):
        pass

    def record(self, data):
        if len(self.records) == self.fail_at:
            raise self.error
        self.records.append(data)

    def finalize(self):
        self.finalized += 1


# --- /dev/full -------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_file_on_a_full_disk_fails_at_enable_before_anything_runs():
    sys.setprofile(previous_hook)
    try:
        monitor = FunctionMonitor(CSVFileRecorder("/dev/full"))
        with pytest.raises(OSError, match="/dev/full") as error:
            monitor.enable()
        assert error.value.errno == 28  # ENOSPC, as open().write() gives it
        assert sys.getprofile() is previous_hook
    finally:
        sys.setprofile(None)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("monitor_class", [FunctionMonitor, LineMonitor])
def test_a_stream_that_fills_up_midway_stops_the_monitor_once(monitor_class, reports):
    stream = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115
    monitor = monitor_class(CSVRecorder(stream))
    hook = (sys.getprofile, sys.setprofile)
    if monitor_class is LineMonitor:
        hook = (sys.gettrace, sys.settrace)
    hook[1](None)
    with monitor:
        result = work(50_000)
        inside = hook[0]()
    assert result == work(50_000)  # the program went on, unchanged
    assert inside is None  # the hook came off at the failure, not at the end
    assert len(reports) == 1
    assert isinstance(reports[0].exc_value, OSError)
    assert reports[0].exc_value.errno == 28
    assert "stopped recording" in reports[0].object
    assert monitor_class.__name__ in reports[0].object
    assert monitor.error is reports[0].exc_value
    # Reported once: closing the stream raises its own error, not pikos'.
    with pytest.raises(OSError):
        stream.close()


def test_a_recorder_that_raises_keeps_what_it_took(reports):
    sys.setprofile(previous_hook)
    previous_hook.events = 0
    recorder = FailingRecorder(fail_at=10)
    try:
        monitor = FunctionMonitor(recorder)
        with pytest.warns(HookTakenWarning, match="previous_hook"), monitor:
            result = work(1000)
            during = sys.getprofile()
        after = sys.getprofile()
        work(3)
    finally:
        sys.setprofile(None)
    assert result == work(1000)
    assert during is previous_hook  # put back at the failure, exactly
    assert after is previous_hook
    assert previous_hook.events > 0  # ... and working again
    assert [r.index for r in recorder.records] == list(range(10))
    assert recorder.finalized == 1
    assert len(reports) == 1 and reports[0].exc_value is recorder.error
    assert monitor.error is recorder.error
    assert "pikos stopped recording" in " ".join(recorder.error.__notes__)


def test_a_failure_on_one_thread_stops_every_thread(reports):
    recorder = FailingRecorder(fail_at=50)
    failed = threading.Event()
    resume = threading.Event()
    seen_after = []

    def worker():
        work(10)
        resume.wait(WAIT)
        work(10)  # the session ended meanwhile: not recorded
        seen_after.append(sys.getprofile())

    monitor = FunctionMonitor(recorder)
    with monitor:
        thread = threading.Thread(target=worker)
        thread.start()
        work(100)  # fails here, on the main thread
        failed.set()
        resume.set()
        thread.join(WAIT)
    assert len(reports) == 1
    assert len(recorder.records) == 50
    assert seen_after == [None]  # the hook took itself off that thread too
    assert monitor.error is recorder.error


def test_the_next_session_records_again_after_a_failure(reports):
    recorder = FailingRecorder(fail_at=5)
    monitor = FunctionMonitor(recorder)
    with monitor:
        work(10)
    assert monitor.error is recorder.error
    recorder.fail_at = None
    with monitor:
        leaf(1)
    assert monitor.error is None
    assert [r.function for r in recorder.records[5:]] == ["leaf", "leaf"]
    assert len(reports) == 1


@pytest.mark.skipif(resource is None, reason="needs setrlimit")
@pytest.mark.parametrize("recorder", ["CSVFileRecorder", "TextFileRecorder"])
def test_a_disk_that_fills_up_midway_leaves_whole_rows(tmp_path, recorder):
    """RLIMIT_FSIZE makes writes beyond 200 kB fail as a full disk would
    (EFBIG): the writer thread meets the error, the hook stops at its next
    batch, and the file ends with the last whole row."""
    out = tmp_path / "out.txt"
    script = tmp_path / "s.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import resource, signal, sys
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
            from pikos.monitors.api import FunctionMonitor
            from pikos.recorders.api import {recorder}

            def leaf(i):
                return i + 1

            monitor = FunctionMonitor({recorder}({str(out)!r}))
            with monitor:
                total = sum(leaf(i) for i in range(200_000))
                still = sys.getprofile()
            print(total, still, type(monitor.error).__name__)
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{sum(i + 1 for i in range(200_000))} None OSError\n"
    assert proc.stderr.count("File too large") == 1, proc.stderr  # once
    data = out.read_bytes()
    assert 0 < len(data) <= 200_000
    text = data.decode("utf-8")
    if recorder == "CSVFileRecorder":
        assert text.endswith("\r\n")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0] == ["index", "type", "function", "lineNo", "filename"]
        assert all(len(row) == 5 for row in rows)
        assert [int(row[0]) for row in rows[1:]] == list(range(len(rows) - 1))
    else:
        lines = text.split("\n")
        assert lines.pop() == ""  # ends with a whole line
        body = lines[2:]  # the header and its rule
        assert [int(line.split()[0]) for line in body] == list(range(len(body)))


# --- a write that fails at the end of the session (issue 17) ---------------------


class FullAfter(io.StringIO):
    """A text stream on a disk that is full after ``room`` characters."""

    def __init__(self, room):
        super().__init__()
        self.room = room

    def write(self, text):
        if self.tell() + len(text) > self.room:
            raise OSError(28, "No space left on device")
        return super().write(text)


@pytest.mark.parametrize("end", ["with", "disable"])
def test_a_stream_that_fills_up_at_finalize_is_reported_not_raised(end, reports):
    # Room for the header only, and fewer events than a stream batch: the
    # first write of records is at finalize.
    monitor = FunctionMonitor(CSVRecorder(FullAfter(room=100)))
    if end == "with":
        with monitor:
            result = work(10)
    else:
        monitor.enable()
        result = work(10)
        monitor.disable()
    assert result == work(10)
    assert len(reports) == 1
    assert isinstance(reports[0].exc_value, OSError)
    assert reports[0].exc_value.errno == 28
    assert "FunctionMonitor" in reports[0].object
    assert monitor.error is reports[0].exc_value
    assert "could not write the last records" in str(monitor.error.__notes__)


@pytest.mark.skipif(resource is None, reason="needs setrlimit")
@pytest.mark.parametrize("calls", [300, 5_000, 30_000])
def test_a_disk_that_fills_up_is_reported_the_same_way_whenever(tmp_path, calls):
    """The writer meets a full disk (EFBIG past 2 kB) in the final partial
    batch (300 calls), in the first full batch with the session ending
    before the hook hands over another (5,000), or midway (30,000): one
    report, the monitor's error, never an exception from ``with``."""
    out = tmp_path / "out.csv"
    script = tmp_path / "s.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import resource, signal, sys
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (2_000, 2_000))
            from pikos.monitors.api import FunctionMonitor
            from pikos.recorders.api import CSVFileRecorder

            def leaf(i):
                return i + 1

            monitor = FunctionMonitor(CSVFileRecorder({str(out)!r}))
            with monitor:
                total = sum(leaf(i) for i in range({calls}))
            print(total, sys.getprofile(), type(monitor.error).__name__)
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{sum(i + 1 for i in range(calls))} None OSError\n"
    assert proc.stderr.count("File too large") == 1, proc.stderr
    assert "Exception ignored in: <pikos hook of FunctionMonitor" in proc.stderr
    text = out.read_bytes().decode("utf-8")
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [int(row[0]) for row in rows[1:]] == list(range(len(rows) - 1))


# --- a panic inside the hook ------------------------------------------------------


@pytest.mark.parametrize("monitor_class", [FunctionMonitor, LineMonitor])
def test_a_panic_in_the_hook_is_a_python_error_and_a_stopped_monitor(
    monitor_class, reports
):
    recorder = FailingRecorder(fail_at=None)
    monitor = monitor_class(recorder)
    monitor._hook._inject_panic(7)
    with monitor:
        result = work(100)
    assert result == work(100)  # the interpreter and the program go on
    assert len(recorder.records) == 7
    assert len(reports) == 1
    error = reports[0].exc_value
    assert isinstance(error, RuntimeError)
    assert "internal error (panic)" in str(error)
    assert monitor.error is error
    assert sys.getprofile() is None and sys.gettrace() is None


def test_a_failing_statistics_session_keeps_its_totals(reports):
    monitor = StatsMonitor()
    with monitor:
        work(10)
    stats = monitor.snapshot()
    assert monitor.error is None
    assert [v[1] for k, v in stats.items() if k[2] == "leaf"] == [10]
