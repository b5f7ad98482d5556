"""Robustness with threads (issue 8): many threads hammering one function
while a monitor runs, threads that were already running, threads that
outlive the session, and a per-thread timeline.

Every count is exact; threads are lined up with Barriers and Events, never
with sleeps.
"""

import csv
import json
import sys
import threading
from collections import Counter, defaultdict

from pikos.monitors.api import FunctionMonitor, StatsMonitor
from pikos.monitors.records import TimedFunctionRecord
from pikos.recorders.api import CSVFileRecorder, ListRecorder, SpeedscopeRecorder

THREADS = 8
CALLS = 10_000
WAIT = 60  # seconds; only a guard against a deadlock, never a measurement


def unit(i):
    """The function every thread calls; its records are counted."""
    return i + 1


def after_disable(i):
    """Called by a thread only once the monitor is disabled."""
    return i * 2


def join_all(threads):
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), f"{thread.name} did not finish"


def start_hammering(count=THREADS, calls=CALLS):
    """Start ``count`` threads, lined up on a Barrier so that they all run
    at once, each calling ``unit`` ``calls`` times.  Returns the threads and
    the list their ``threading.get_ident()`` values are written to."""
    idents = [None] * count
    barrier = threading.Barrier(count)
    results = [None] * count

    def body(slot):
        idents[slot] = threading.get_ident()
        barrier.wait(WAIT)
        total = 0
        for i in range(calls):
            total += unit(i)
        results[slot] = total

    threads = [
        threading.Thread(target=body, args=(slot,), name=f"hammer-{slot}")
        for slot in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads, idents, results


def expected_total(calls=CALLS):
    return sum(i + 1 for i in range(calls))


def check_unit_events(rows, idents):
    """``rows``: (index, type, function, filename, thread) in the order the
    recorder gave them.  Checks the indices, the per-thread order and the
    exact per-thread counts of ``unit``'s calls and returns."""
    indices = [row[0] for row in rows]
    assert len(set(indices)) == len(indices), "an index used twice"
    assert sorted(indices) == list(range(len(indices)))
    per_thread = defaultdict(list)
    for row in rows:
        per_thread[row[4]].append(row[0])
    for thread, thread_indices in per_thread.items():
        assert thread_indices == sorted(thread_indices), (
            f"records of thread {thread} out of index order"
        )
    assert len(set(idents)) == THREADS
    unit_events = Counter(
        (row[4], row[1]) for row in rows if row[2] == "unit" and row[3] == __file__
    )
    expected = {}
    for ident in idents:
        expected[(ident, "call")] = CALLS
        expected[(ident, "return")] = CALLS
    assert dict(unit_events) == expected
    # Call and return of unit alternate within each thread: no event was
    # put on the wrong thread.
    for ident in idents:
        kinds = [
            row[1]
            for row in rows
            if row[4] == ident and row[2] == "unit" and row[3] == __file__
        ]
        assert kinds == ["call", "return"] * CALLS


def test_eight_threads_function_monitor_list_recorder():
    recorder = ListRecorder()
    with FunctionMonitor(recorder, timed=True):
        threads, idents, results = start_hammering()
        join_all(threads)
    assert results == [expected_total()] * THREADS
    records = recorder.records
    assert all(type(r) is TimedFunctionRecord for r in records)
    rows = [(r.index, r.type, r.function, r.filename, r.thread) for r in records]
    check_unit_events(rows, idents)
    # The monitored threads are the eight and the enabling thread, no other.
    assert {r.thread for r in records} == set(idents) | {threading.get_ident()}


def test_eight_threads_function_monitor_csv_file(tmp_path):
    path = tmp_path / "threads.csv"
    with FunctionMonitor(CSVFileRecorder(str(path)), timed=True):
        threads, idents, results = start_hammering()
        join_all(threads)
    assert results == [expected_total()] * THREADS
    with open(path, newline="", encoding="utf-8") as stream:
        table = list(csv.reader(stream))
    header, body = table[0], table[1:]
    assert header == list(TimedFunctionRecord._fields)
    assert all(len(row) == len(header) for row in body)
    position = {name: header.index(name) for name in header}
    rows = [
        (
            int(row[position["index"]]),
            row[position["type"]],
            row[position["function"]],
            row[position["filename"]],
            int(row[position["thread"]]),
        )
        for row in body
    ]
    check_unit_events(rows, idents)


def test_eight_threads_stats_monitor():
    monitor = StatsMonitor()
    with monitor:
        threads, idents, results = start_hammering()
        join_all(threads)
    assert results == [expected_total()] * THREADS
    stats = monitor.snapshot()
    code = unit.__code__
    key = (code.co_filename, code.co_firstlineno, code.co_name)
    primitive, calls = stats[key][:2]
    assert (primitive, calls) == (THREADS * CALLS, THREADS * CALLS)
    # unit is only ever called by the threads' body.
    callers = stats[key][4]
    assert len(callers) == 1
    ((caller, numbers),) = callers.items()
    assert caller[2] == "body"
    assert numbers[:2] == (THREADS * CALLS, THREADS * CALLS)


def test_thread_running_before_enable_is_not_recorded():
    go, done = threading.Event(), threading.Event()
    seen = {}

    def early():
        seen["ident"] = threading.get_ident()
        go.wait(WAIT)
        for i in range(100):
            unit(i)
        done.set()

    thread = threading.Thread(target=early, name="early")
    thread.start()
    recorder = ListRecorder()
    with FunctionMonitor(recorder, timed=True):
        go.set()
        assert done.wait(WAIT)
        for i in range(3):  # the enabling thread is recorded
            unit(i)
    join_all([thread])
    records = recorder.records
    assert seen["ident"] not in {r.thread for r in records}
    units = [
        (r.type, r.thread)
        for r in records
        if r.function == "unit" and r.filename == __file__
    ]
    assert (
        units
        == [("call", threading.get_ident()), ("return", threading.get_ident())] * 3
    )


def outliving_thread(make_monitor):
    """A thread started while ``monitor`` is enabled calls unit 5 times,
    waits until the monitor is disabled, then calls after_disable 7 times
    and reports its profile and trace hooks."""
    first_part_done, disabled = threading.Event(), threading.Event()
    report = {}

    def body():
        report["ident"] = threading.get_ident()
        for i in range(5):
            unit(i)
        first_part_done.set()
        disabled.wait(WAIT)
        report["result"] = [after_disable(i) for i in range(7)]
        report["profile"] = sys.getprofile()
        report["trace"] = sys.gettrace()

    monitor = make_monitor()
    monitor.enable()
    try:
        thread = threading.Thread(target=body, name="outliver")
        thread.start()
        assert first_part_done.wait(WAIT)
    finally:
        monitor.disable()
    disabled.set()
    join_all([thread])
    return monitor, report


def test_thread_outliving_disable_function_monitor():
    recorder = ListRecorder()
    profile_before = threading.getprofile()
    monitor, report = outliving_thread(lambda: FunctionMonitor(recorder, timed=True))
    assert report["result"] == [2 * i for i in range(7)]
    assert report["profile"] is profile_before  # the hook is gone
    assert report["trace"] is None
    records = recorder.records
    in_thread = [
        (r.type, r.function)
        for r in records
        if r.thread == report["ident"]
        and r.filename == __file__
        and r.function in ("body", "unit", "after_disable")
    ]
    # body's call, then unit 5 times; nothing of after_disable nor of the
    # rest of body (its return comes after disable).
    assert in_thread == [("call", "body")] + [("call", "unit"), ("return", "unit")] * 5
    assert [r.index for r in records] == list(range(len(records)))


def test_thread_outliving_disable_stats_monitor():
    monitor, report = outliving_thread(StatsMonitor)
    assert report["result"] == [2 * i for i in range(7)]
    assert report["profile"] is None
    assert report["trace"] is None
    counted = {key[2]: value[1] for key, value in monitor.snapshot().items()}
    assert counted["unit"] == 5
    assert "after_disable" not in counted


def test_speedscope_one_profile_per_named_thread(tmp_path):
    path = tmp_path / "threads.speedscope.json"
    names = {"alpha": 3, "beta": 5, "gamma": 7}
    barrier = threading.Barrier(len(names))
    idents = {}

    def body(name, calls):
        idents[name] = threading.get_ident()
        barrier.wait(WAIT)  # all three alive at once: three distinct ids
        for i in range(calls):
            unit(i)

    with FunctionMonitor(SpeedscopeRecorder(str(path), name="three")):
        threads = [
            threading.Thread(target=body, args=(name, calls), name=name)
            for name, calls in names.items()
        ]
        for thread in threads:
            thread.start()
        join_all(threads)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["name"] == "three"
    frames = doc["shared"]["frames"]
    opened = {}
    for profile in doc["profiles"]:
        assert profile["type"] == "evented"
        stack, counts = [], Counter()
        for event in profile["events"]:
            if event["type"] == "O":
                stack.append(event["frame"])
                counts[frames[event["frame"]]["name"]] += 1
            else:
                assert event["type"] == "C"
                assert stack and stack[-1] == event["frame"]
                stack.pop()
        assert not stack
        assert profile["name"] not in opened, "two profiles with one name"
        opened[profile["name"]] = counts
    main = threading.current_thread()
    assert set(opened) == {f"{name} ({idents[name]})" for name in names} | {
        f"{main.name} ({main.ident})"
    }
    for name, calls in names.items():
        counts = opened[f"{name} ({idents[name]})"]
        assert counts["unit"] == calls
        assert counts["body"] == 1
    assert opened[f"{main.name} ({main.ident})"]["unit"] == 0
