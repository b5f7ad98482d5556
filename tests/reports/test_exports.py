"""Timed function records and their exports: speedscope, Chrome trace
events and collapsed stacks, from recorders, `pikos-run --recording` and
`pikos export`, each parsed back and checked against its format's rules."""

import csv
import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import timeline_target
from commands import SCRIPTS
from pikos.errors import RecorderError
from pikos.monitors.api import (
    FocusedFunctionMonitor,
    FunctionMemoryMonitor,
    FunctionMonitor,
    LineMonitor,
)
from pikos.monitors.records import TimedFunctionMemoryRecord, TimedFunctionRecord
from pikos.recorders.api import (
    ChromeTraceRecorder,
    CollapsedStackRecorder,
    CSVFileRecorder,
    ListRecorder,
    SpeedscopeRecorder,
)

BIN = Path(sys.executable).parent
PIKOS_RUN = str(BIN / "pikos-run")
PIKOS = str(BIN / "pikos")
TARGET = str(SCRIPTS / "timeline_target.py")
TIMEOUT = 120
FIB10_CALLS = 177
FIB8_CALLS = 67


# --- the formats' rules ---------------------------------------------------------


def check_speedscope(doc):
    """speedscope's file format rules; returns {profile name: Counter of
    opened frame names}."""
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]
    assert frames, "no frames"
    for frame in frames:
        assert isinstance(frame["name"], str)
        assert set(frame) <= {"name", "file", "line", "col"}
    assert 0 <= doc["activeProfileIndex"] < len(doc["profiles"])
    opened = {}
    for profile in doc["profiles"]:
        assert profile["type"] == "evented"
        assert profile["unit"] == "nanoseconds"
        stack, last, counts = [], profile["startValue"], Counter()
        for event in profile["events"]:
            assert event["type"] in ("O", "C")
            assert 0 <= event["frame"] < len(frames), "frame index out of range"
            assert event["at"] >= last, "time went back"
            last = event["at"]
            if event["type"] == "O":
                stack.append(event["frame"])
                counts[frames[event["frame"]]["name"]] += 1
            else:
                assert stack and stack[-1] == event["frame"], "C does not close the top"
                stack.pop()
        assert not stack, "unbalanced: frames left open"
        assert last <= profile["endValue"]
        opened[profile["name"]] = counts
    return opened


def check_chrome(doc, pid=None):
    """Trace Event Format rules (JSON object form); returns {thread name:
    Counter of begun names}."""
    events = doc["traceEvents"]
    names, stacks, last, counts = {}, {}, {}, {}
    for event in events:
        assert event["ph"] in ("B", "E", "M"), event
        if pid is not None:
            assert event["pid"] == pid
        tid = event["tid"]
        if event["ph"] == "M":
            if event["name"] == "thread_name":
                names[tid] = event["args"]["name"]
            continue
        assert isinstance(event["ts"], (int, float))
        assert event["ts"] >= last.get(tid, 0), "time went back on a thread"
        last[tid] = event["ts"]
        stack = stacks.setdefault(tid, [])
        if event["ph"] == "B":
            stack.append(event["name"])
            counts.setdefault(tid, Counter())[event["name"]] += 1
        else:
            assert stack and stack[-1] == event["name"], "E does not end the top"
            stack.pop()
    assert all(not stack for stack in stacks.values()), "unbalanced B/E"
    assert set(counts) <= set(names), "a thread without a thread_name"
    return {names[tid]: counter for tid, counter in counts.items()}


def read_collapsed(path):
    stacks = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        stack, _, value = line.rpartition(" ")
        assert stack and value.isdigit(), line
        assert stack not in stacks, "a stack written twice"
        stacks[stack] = int(value)
    return stacks


def by_suffix(counts, suffix):
    """The counter of the thread whose name ends with ``suffix``."""
    (counter,) = [c for name, c in counts.items() if name.endswith(suffix)]
    return counter


# --- timed records ---------------------------------------------------------------


def pause():
    time.sleep(0.05)


def test_timed_records_carry_time_and_thread():
    recorder = ListRecorder()
    monitor = FunctionMonitor(recorder, timed=True)
    assert monitor.timed and monitor.record_type is TimedFunctionRecord
    with monitor:
        pause()
    records = recorder.records
    assert all(type(r) is TimedFunctionRecord for r in records)
    assert {r.thread for r in records} == {threading.get_ident()}
    times = [r.time for r in records]
    assert times == sorted(times)
    call = next(r for r in records if r.function == "pause" and r.type == "call")
    back = next(r for r in records if r.function == "pause" and r.type == "return")
    # The clock is nanoseconds: a 50 ms sleep is at least 45 ms apart.
    assert back.time - call.time >= 45_000_000


def test_untimed_records_stay_as_they_were():
    recorder = ListRecorder()
    with FunctionMonitor(recorder) as monitor:
        len("x")
    assert not monitor.timed
    assert recorder.records[0]._fields == (
        "index",
        "type",
        "function",
        "lineNo",
        "filename",
    )


def test_threads_are_told_apart():
    recorder = ListRecorder()
    with FunctionMonitor(recorder, timed=True):
        timeline_target.main()
    threads = Counter(r.thread for r in recorder.records if r.function == "fib")
    assert sorted(threads.values()) == [2 * FIB8_CALLS, 2 * FIB10_CALLS]
    assert threads[threading.get_ident()] == 2 * FIB10_CALLS


def test_timed_csv_matches_the_python_path(tmp_path):
    path = tmp_path / "timed.csv"
    native, python = CSVFileRecorder(str(path)), ListRecorder()
    with FunctionMonitor(native, timed=True):
        timeline_target.fib(5)
    with FunctionMonitor(python, timed=True):
        timeline_target.fib(5)
    with open(path, newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == list(TimedFunctionRecord._fields)
    assert len(rows) - 1 == len(python.records)
    for row, record in zip(rows[1:], python.records, strict=True):
        assert row[1:5] == [str(v) for v in record[1:5]]
        assert int(row[6]) == record.thread == threading.get_ident()
    times = [int(row[5]) for row in rows[1:]]
    assert times == sorted(times)


def test_timed_function_memory_records():
    recorder = ListRecorder()
    with FunctionMemoryMonitor(recorder, timed=True):
        len("x")
    assert recorder.records
    for record in recorder.records:
        assert type(record) is TimedFunctionMemoryRecord
        assert record.RSS > 0 and record.time > 0
        assert record.thread == threading.get_ident()


def test_timed_must_be_a_bool():
    with pytest.raises(TypeError, match="timed must be True, False or None"):
        FunctionMonitor(ListRecorder(), timed="yes")


# --- recorders ---------------------------------------------------------------------


def run_timeline(recorder, monitor_class=FunctionMonitor, **options):
    with monitor_class(recorder, **options):
        timeline_target.main()
    return recorder


def test_speedscope_recorder(tmp_path):
    path = tmp_path / "profile.speedscope.json"
    recorder = run_timeline(SpeedscopeRecorder(str(path), name="timeline"))
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["name"] == "timeline"
    opened = check_speedscope(doc)
    assert by_suffix(opened, f"({threading.get_ident()})")["fib"] == FIB10_CALLS
    # The worker ended before the session did: its name is still known.
    worker = [name for name in opened if name.startswith("worker (")]
    assert len(worker) == 1 and opened[worker[0]]["fib"] == FIB8_CALLS
    frame = next(f for f in doc["shared"]["frames"] if f["name"] == "fib")
    assert frame["file"] == timeline_target.__file__
    assert frame["line"] == timeline_target.fib.__code__.co_firstlineno
    assert {f["name"] for f in doc["shared"]["frames"] if "file" not in f} >= {"len"}
    assert recorder.summary["threads"] == 2
    # The spool stays for a next session, and goes with the recorder.
    spool = recorder.spool
    assert os.path.exists(spool)
    del recorder
    gc.collect()
    assert not os.path.exists(spool)


def test_chrome_trace_recorder(tmp_path):
    path = tmp_path / "trace.json"
    run_timeline(ChromeTraceRecorder(str(path)))
    doc = json.loads(path.read_text(encoding="utf-8"))
    begun = check_chrome(doc, pid=os.getpid())
    assert by_suffix(begun, f"({threading.get_ident()})")["fib"] == FIB10_CALLS
    assert all(name.endswith(")") for name in begun)  # named, with their id
    worker = [name for name in begun if name.startswith("worker (")]
    assert begun[worker[0]]["fib"] == FIB8_CALLS
    builtin = next(e for e in doc["traceEvents"] if e.get("name") == "len")
    assert builtin["cat"] == "builtin"


def test_collapsed_stack_recorder(tmp_path):
    path = tmp_path / "stacks.collapsed.txt"
    start = time.perf_counter_ns()
    run_timeline(CollapsedStackRecorder(str(path)))
    elapsed = time.perf_counter_ns() - start
    stacks = read_collapsed(path)
    first = timeline_target.fib.__code__.co_firstlineno
    fib = f"fib ({timeline_target.__file__}:{first})"
    # fib(10) recurses 9 deep below the first call: stacks of 1 to 10 fibs.
    depths = {stack.split(";").count(fib) for stack in stacks if fib in stack}
    assert depths == set(range(1, 11))
    assert all(";" not in part for stack in stacks for part in [stack.split(";")[-1]])
    # Own times add up to no more than the session's time.
    assert 0 < sum(stacks.values()) <= elapsed


def test_a_focused_monitor_exports_only_its_window(tmp_path):
    path = tmp_path / "focused.speedscope.json"
    recorder = SpeedscopeRecorder(str(path))
    with FocusedFunctionMonitor(recorder, functions=[timeline_target.worker]):
        timeline_target.main()
    opened = check_speedscope(json.loads(path.read_text(encoding="utf-8")))
    assert list(opened) == [name for name in opened if name.startswith("worker (")]
    assert opened[next(iter(opened))]["fib"] == FIB8_CALLS


def test_two_sessions_make_one_file(tmp_path):
    path = tmp_path / "twice.trace.json"
    recorder = ChromeTraceRecorder(str(path))
    monitor = FunctionMonitor(recorder)

    @monitor.attach
    def work():
        return timeline_target.fib(5)

    assert work() == work() == 5
    begun = check_chrome(json.loads(path.read_text(encoding="utf-8")))
    assert sum(c["fib"] for c in begun.values()) == 2 * 15


def test_trace_recorders_need_function_events(tmp_path):
    with pytest.raises(ValueError, match="use it with a function monitor"):
        LineMonitor(SpeedscopeRecorder(str(tmp_path / "x.json")))
    with pytest.raises(ValueError, match="needs timed records"):
        FunctionMonitor(ChromeTraceRecorder(str(tmp_path / "x.json")), timed=False)
    with pytest.raises(IsADirectoryError):
        SpeedscopeRecorder(str(tmp_path))


def test_a_failed_conversion_keeps_the_records(tmp_path):
    path = tmp_path / "out.speedscope.json"
    recorder = SpeedscopeRecorder(str(path))
    monitor = FunctionMonitor(recorder)
    monitor.enable()
    timeline_target.fib(3)
    os.mkdir(path)  # the output cannot be written now
    with pytest.raises(RecorderError, match="the records are kept in") as error:
        monitor.disable()
    assert recorder.spool in str(error.value)
    assert os.path.getsize(recorder.spool) > 0
    # ... and `pikos export` converts them later.
    again = tmp_path / "again.speedscope.json"
    proc = run([PIKOS, "export", recorder.spool, "-o", str(again)])
    assert proc.returncode == 0, proc.stderr
    opened = check_speedscope(json.loads(again.read_text(encoding="utf-8")))
    assert sum(c["fib"] for c in opened.values()) == 5
    os.remove(recorder.spool)


# --- pikos-run and pikos export ---------------------------------------------------


def run(argv, cwd=None):
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd
    )


@pytest.mark.parametrize(
    "args, default",
    [
        (["--recording", "speedscope"], "monitor_records.speedscope.json"),
        (["--recording", "chrome"], "monitor_records.trace.json"),
        (["--recording", "collapsed"], "monitor_records.collapsed.txt"),
    ],
)
def test_pikos_run_default_files(tmp_path, args, default):
    proc = run([PIKOS_RUN, "functions", TARGET, *args], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == proc.stderr == ""
    path = tmp_path / default
    if default.endswith(".txt"):
        assert any("fib (" in stack for stack in read_collapsed(path))
        return
    doc = json.loads(path.read_text(encoding="utf-8"))
    counts = check_speedscope(doc) if "speedscope" in default else check_chrome(doc)
    assert sorted(c["fib"] for c in counts.values() if c["fib"]) == [
        FIB8_CALLS,
        FIB10_CALLS,
    ]
    assert any(name.startswith("worker (") for name in counts)
    assert not [p for p in os.listdir(tmp_path) if "spool" in p or "partial" in p]


def test_pikos_run_output_name_chooses_the_format(tmp_path):
    out = tmp_path / "p.speedscope.json"
    proc = run([PIKOS_RUN, "function_memory", TARGET, "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    check_speedscope(json.loads(out.read_text(encoding="utf-8")))
    out = tmp_path / "t.trace.json"
    proc = run([PIKOS_RUN, "functions", TARGET, "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    check_chrome(json.loads(out.read_text(encoding="utf-8")))


def test_timed_csv_then_pikos_export_gives_each_format(tmp_path):
    records = tmp_path / "run.csv"
    proc = run([PIKOS_RUN, "functions", TARGET, "--timed", "-o", str(records)])
    assert proc.returncode == 0, proc.stderr
    with open(records, newline="") as stream:
        header = next(csv.reader(stream))
    assert header[-2:] == ["time", "thread"]
    for fmt, ending in [
        ("speedscope", ".speedscope.json"),
        ("chrome", ".trace.json"),
        ("collapsed", ".collapsed.txt"),
    ]:
        proc = run([PIKOS, "export", str(records), "--format", fmt])
        assert proc.returncode == 0, proc.stderr
        out = tmp_path / f"run{ending}"
        assert proc.stdout.startswith(f"{out}: ")
        assert "2 threads" in proc.stdout
        if fmt == "speedscope":
            counts = check_speedscope(json.loads(out.read_text(encoding="utf-8")))
        elif fmt == "chrome":
            counts = check_chrome(json.loads(out.read_text(encoding="utf-8")))
        else:
            assert read_collapsed(out)
            continue
        assert sorted(c["fib"] for c in counts.values() if c["fib"]) == [
            FIB8_CALLS,
            FIB10_CALLS,
        ]


def test_export_of_a_hostile_file_name(tmp_path):
    script = tmp_path / 'we"ird; é\tname.py'
    script.write_text("def f():\n    return 1\n\nf()\n", encoding="utf-8")
    for fmt, out in [("speedscope", "a.json"), ("chrome", "b.json")]:
        proc = run(
            [PIKOS_RUN, "functions", str(script), "--recording", fmt, "-o", out],
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        doc = json.loads((tmp_path / out).read_text(encoding="utf-8"))
        if fmt == "speedscope":
            files = {f.get("file") for f in doc["shared"]["frames"]}
            assert doc["name"] == script.name  # the script's, by default
        else:
            files = {e.get("args", {}).get("file") for e in doc["traceEvents"]}
        assert str(script) in files
    proc = run([PIKOS_RUN, "functions", str(script), "-o", "c.folded"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    stacks = read_collapsed(tmp_path / "c.folded")
    # `;` is the format's separator: it became `,` in the frame's name.
    assert any('we"ird, é\tname.py' in stack for stack in stacks)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["lines", TARGET, "--recording", "speedscope"],
            "--recording speedscope needs function events",
        ),
        (
            ["line_memory", TARGET, "-o", "x.trace.json"],
            "-o x.trace.json (a chrome file) needs function",
        ),
        (["stats", TARGET, "--timed"], "stats does not take --timed"),
        (
            ["functions", TARGET, "--recording", "chrome", "-o", "-"],
            "give -o FILE, not -o -",
        ),
    ],
)
def test_pikos_run_timeline_usage_errors(tmp_path, args, message):
    proc = run([PIKOS_RUN, *args], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("pikos-run: error: ")
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert os.listdir(tmp_path) == []


def test_export_errors_are_one_line(tmp_path):
    untimed = tmp_path / "plain.csv"
    proc = run([PIKOS_RUN, "functions", TARGET, "-o", str(untimed)])
    assert proc.returncode == 0, proc.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "index,type,function,lineNo,filename,time,thread\r\n"
        "0,call,f,1,a.py,10,1\r\n"
        "1,jump,f,1,a.py,11,1\r\n",
        encoding="utf-8",
    )
    lines = tmp_path / "lines.csv"
    lines.write_text("index,function,lineNo,line,filename\r\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    header_only = tmp_path / "header.csv"
    header_only.write_text("index,type,function,lineNo,filename,time,thread\r\n")
    cases = [
        ([str(untimed)], 1, "no time and thread columns"),
        ([str(bad)], 1, 'bad.csv, line 3: unknown event type "jump"'),
        ([str(lines)], 1, "no time and thread columns"),
        ([str(empty)], 1, "is empty"),
        ([str(header_only)], 1, "has no records"),
        ([str(tmp_path / "missing.csv")], 2, "no such file"),
        ([str(tmp_path)], 2, "it is a directory"),
        ([str(bad), "--format", "svg"], 2, "invalid choice: 'svg'"),
        ([str(bad), "-o", str(tmp_path / "no" / "x.json")], 2, "no such directory"),
        ([str(bad), "-o", str(bad)], 2, "is the input"),
    ]
    for argv, status, message in cases:
        proc = run([PIKOS, "export", *argv])
        assert proc.returncode == status, (argv, proc.stderr)
        assert proc.stderr.startswith("pikos export: error: "), proc.stderr
        assert message in proc.stderr, (message, proc.stderr)
        assert proc.stderr.count("\n") == 1
    # Nothing half written.
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["plain.csv", "bad.csv", "lines.csv", "empty.csv", "header.csv"]
    )


def test_export_counts_in_the_singular(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text(
        "index,type,function,lineNo,filename,time,thread\r\n"
        "0,call,f,1,a.py,10,1\r\n"
        "1,return,f,1,a.py,11,1\r\n",
        encoding="utf-8",
    )
    proc = run([PIKOS, "export", str(one), "-o", str(tmp_path / "one.json")])
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout
        == f"{tmp_path / 'one.json'}: 1 call from 2 records, 1 thread, 1 frame\n"
    )
