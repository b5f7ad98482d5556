"""``timed=True`` on the line monitors: every record gains ``time`` (ns,
one clock origin per process) and ``thread``, after the usual fields, on
both hook backends; the CSV and text recorders write those columns, and
``pikos-run lines --timed`` / ``line_memory --timed`` ask for them."""

import csv
import sys
import threading
import time

import harness
import line_corpus
import pytest
from commands import parse_csv, run, write
from pikos.monitors.api import (
    FocusedLineMemoryMonitor,
    FocusedLineMonitor,
    LineMemoryMonitor,
    LineMonitor,
)
from pikos.monitors.records import (
    LineMemoryRecord,
    LineRecord,
    TimedLineMemoryRecord,
    TimedLineRecord,
)
from pikos.recorders.api import (
    CSVFileRecorder,
    ListRecorder,
    SpeedscopeRecorder,
    TextStreamRecorder,
)

BACKENDS = [
    "legacy",
    pytest.param(
        "monitoring",
        marks=pytest.mark.skipif(
            sys.version_info < (3, 12), reason="sys.monitoring is new in 3.12"
        ),
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", request.param)
    return request.param


def _pause():
    x = 1
    time.sleep(0.05)
    return x


def _untimed(records):
    return [(r.function, r.lineNo, r.line, r.filename) for r in records]


def _corpus_records(monitor_class, **options):
    recorder = ListRecorder()
    if monitor_class in (FocusedLineMonitor, FocusedLineMemoryMonitor):
        options["functions"] = line_corpus.all_codes()
    monitor = monitor_class(recorder, **options)
    with monitor:
        line_corpus.run_all()
    return monitor, [r for r in recorder.records if not harness.is_harness(r.filename)]


@pytest.mark.parametrize(
    ("monitor_class", "plain", "timed"),
    [
        (LineMonitor, LineRecord, TimedLineRecord),
        (LineMemoryMonitor, LineMemoryRecord, TimedLineMemoryRecord),
        (FocusedLineMonitor, LineRecord, TimedLineRecord),
        (FocusedLineMemoryMonitor, LineMemoryRecord, TimedLineMemoryRecord),
    ],
)
def test_timed_records_are_the_same_lines_with_time_and_thread(
    backend, monitor_class, plain, timed
):
    line_corpus.run_all()  # warm: both runs see the same first-run events
    monitor, untimed_records = _corpus_records(monitor_class)
    assert not monitor.timed and monitor.record_type is plain
    timed_monitor, records = _corpus_records(monitor_class, timed=True)
    assert timed_monitor.timed and timed_monitor.record_type is timed
    assert timed._fields == plain._fields + ("time", "thread")
    assert timed_monitor._hook.backend == backend
    assert all(type(r) is timed for r in records)
    assert _untimed(records) == _untimed(untimed_records)
    assert {r.thread for r in records} == {threading.get_ident()}
    times = [r.time for r in records]
    assert times == sorted(times) and times[0] > 0


def test_a_lines_time_is_when_it_started(backend):
    recorder = ListRecorder()
    with LineMonitor(recorder, timed=True):
        _pause()
    mine = [r for r in recorder.records if r.function == "_pause"]
    assert [r.line.strip() for r in mine] == ["x = 1", "time.sleep(0.05)", "return x"]
    # nanoseconds: the sleep lies between the start of its line and the next
    assert mine[2].time - mine[1].time >= 45_000_000
    assert mine[1].time - mine[0].time < 45_000_000


def test_threads_are_told_apart(backend):
    recorder = ListRecorder()
    with LineMonitor(recorder, timed=True):
        worker = threading.Thread(target=_pause)
        worker.start()
        worker.join()
        _pause()
    threads = {r.thread for r in recorder.records if r.function == "_pause"}
    assert threads == {threading.get_ident(), worker.ident}


def test_timed_csv_has_time_and_thread_columns(tmp_path, backend):
    path = tmp_path / "lines.csv"
    with LineMemoryMonitor(CSVFileRecorder(str(path)), timed=True):
        _pause()
    with open(path, newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == list(TimedLineMemoryRecord._fields)
    mine = [row for row in rows[1:] if row[1] == "_pause"]
    assert len(mine) == 3
    for row in mine:
        assert int(row[3]) > 0 and int(row[-1]) == threading.get_ident()
    assert int(mine[2][-2]) - int(mine[1][-2]) >= 45_000_000


def test_timed_text_has_time_and_thread_columns(backend):
    import io

    out = io.StringIO()
    with LineMonitor(TextStreamRecorder(out, formatted=True), timed=True):
        _pause()
    lines = out.getvalue().splitlines()
    assert lines[0].split() == [
        "index",
        "function",
        "lineNo",
        "line",
        "--",
        "filename",
        "time",
        "thread",
    ]
    sleep = next(line for line in lines if "time.sleep(0.05)" in line)
    assert sleep.split()[-1] == str(threading.get_ident())
    assert int(sleep.split()[-2]) > 0


def test_timed_must_be_a_bool():
    with pytest.raises(TypeError, match="timed must be True, False or None"):
        LineMonitor(ListRecorder(), timed="yes")


def test_timelines_still_need_function_events(tmp_path):
    with pytest.raises(ValueError, match="use it with a function monitor"):
        LineMonitor(SpeedscopeRecorder(str(tmp_path / "x.speedscope.json")))


@pytest.mark.parametrize("monitor", ["lines", "line_memory"])
def test_pikos_run_timed_line_monitors(tmp_path, monitor):
    script = write(
        tmp_path / "script.py",
        """
        import time

        def main():
            time.sleep(0.02)
            return 1

        main()
        """,
    )
    out = tmp_path / "out.csv"
    proc = run(monitor, script, "--timed", "-o", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    header, rows = parse_csv(out.read_text())
    assert header[-2:] == ["time", "thread"]
    mine = [row for row in rows if row["function"] == "main"]
    assert [int(row["lineNo"]) for row in mine] == [5, 6]
    assert int(mine[1]["time"]) - int(mine[0]["time"]) >= 15_000_000
    assert len({row["thread"] for row in rows}) == 1


def test_pikos_run_timed_is_refused_for_stats(tmp_path):
    script = write(tmp_path / "s.py", "x = 1\n")
    proc = run("stats", script, "--timed", cwd=tmp_path)
    assert proc.returncode == 2 and "stats does not take --timed" in proc.stderr
