"""`StatsMonitor`: cProfile's statistics gathered by pikos' core, read as
pstats reads them, published live over ZeroMQ, and `pikos-run stats`."""

import cProfile
import io
import marshal
import os
import pstats
import sys
import textwrap
import threading
import time

import pytest
import stats_targets as T
from commands import run
from pikos import _native
from pikos.live import decode, subscribe
from pikos.monitors.api import StatsMonitor
from pikos.recorders.api import ListRecorder, ZeroMQRecorder

TIMEOUT = 60
#: Seconds a subscriber waits for the next message before giving up.
RECV_TIMEOUT = 10.0
#: Slack for sums of times rounded to nanoseconds.
EPS = 2e-6

CPROFILE_DISABLE = ("~", 0, "<method 'disable' of '_lsprof.Profiler' objects>")
LEN = ("~", 0, "<built-in method builtins.len>")
APPEND = ("~", 0, "<method 'append' of 'list' objects>")
SORTED = ("~", 0, "<built-in method builtins.sorted>")
SLEEP = ("~", 0, "<built-in method time.sleep>")
STATS_FIELDS = [
    "filename",
    "line",
    "function",
    "calls",
    "primitive_calls",
    "own_time",
    "cumulative_time",
]


def key(function):
    """The pstats key of a Python function."""
    code = function.__code__
    return (code.co_filename, code.co_firstlineno, code.co_name)


#: (primitive calls, calls) of T.workload(), whole.
WORKLOAD_CALLS = {
    key(T.workload): (1, 1),
    key(T.fib): (1, 1973),
    key(T.loop): (1, 1),
    key(T.Box.__init__): (1, 1),
    key(T.Box.put): (10, 10),
    key(T.consume): (1, 1),
    # One call per generator, however often it is resumed (cProfile: 8).
    key(T.squares): (1, 1),
    LEN: (20, 20),
    APPEND: (20, 20),
    SLEEP: (10, 10),
    SORTED: (1, 1),
}


def location(function):
    """How a pstats table names a Python function (directories stripped)."""
    filename, line, name = key(function)
    return f"{os.path.basename(filename)}:{line}({name})"


def calls_of(stats):
    """key -> (primitive calls, calls)."""
    return {k: (cc, nc) for k, (cc, nc, _, _, _) in stats.items()}


def counts_of(stats):
    """key -> (cc, nc, {caller: (nc, cc)}): everything but the times."""
    return {
        k: (cc, nc, {caller: pair[:2] for caller, pair in callers.items()})
        for k, (cc, nc, _, _, callers) in stats.items()
    }


def cprofile_stats(function, *args):
    """cProfile's stats of ``function(*args)``, without its own disable."""
    profile = cProfile.Profile()
    profile.enable()
    function(*args)
    profile.disable()
    profile.create_stats()
    stats = dict(profile.stats)
    stats.pop(CPROFILE_DISABLE, None)
    return stats


def one_call_per_generator(stats, starts):
    """cProfile's ``stats`` with pikos' one rule of its own: a generator's
    (or coroutine's) call is counted once, where it starts, not once per
    resume.  ``starts`` maps a generator's key to the caller that started
    it; its times are left as they are (they are not compared)."""
    adjusted = dict(stats)
    for generator, caller in starts.items():
        cc, nc, tt, ct, callers = stats[generator]
        adjusted[generator] = (1, 1, tt, ct, {caller: (1, 1, *callers[caller][2:])})
    return adjusted


def monitored_stats(function, *args):
    monitor = StatsMonitor()
    with monitor:
        function(*args)
    return monitor.snapshot()


def callee_cumulative(stats, caller):
    """The cumulative time of the calls made directly by ``caller``."""
    return sum(
        callers[caller][3]
        for _, _, _, _, callers in stats.values()
        if caller in callers
    )


# --- the statistics, against cProfile ------------------------------------------


def test_counts_are_cprofiles_key_by_key():
    T.workload()  # warm up: nothing imported or cached on the first run only
    expected = one_call_per_generator(
        cprofile_stats(T.workload), {key(T.squares): key(T.consume)}
    )
    stats = monitored_stats(T.workload)
    assert calls_of(expected) == WORKLOAD_CALLS
    assert calls_of(stats) == WORKLOAD_CALLS
    assert sorted(stats) == sorted(expected)
    for k in expected:
        assert counts_of(stats)[k] == counts_of(expected)[k], k


def test_recursion_and_callers_are_counted_as_cprofile_does():
    stats = monitored_stats(T.workload)
    cc, nc, _, _, callers = stats[key(T.fib)]
    assert (cc, nc) == (1, 1973)
    assert {c: pair[:2] for c, pair in callers.items()} == {
        key(T.workload): (1, 1),
        key(T.fib): (1972, 2),
    }
    assert {c: pair[:2] for c, pair in stats[LEN][4].items()} == {
        key(T.loop): (10, 10),
        key(T.Box.put): (10, 10),
    }
    assert {c: pair[:2] for c, pair in stats[key(T.squares)][4].items()} == {
        key(T.consume): (1, 1)
    }
    assert stats[key(T.workload)][4] == {}


def test_times_are_consistent():
    stats = monitored_stats(T.workload)
    for k, (_, _, tt, ct, callers) in stats.items():
        assert tt >= 0 and ct >= 0, k
        for caller, (_, _, ctt, cct) in callers.items():
            assert ctt >= 0 and cct >= 0, (k, caller)
        if k != key(T.fib):
            assert tt <= ct + EPS, k
    for outer in (T.workload, T.loop, T.consume, T.Box.put):
        _, _, tt, ct, _ = stats[key(outer)]
        below = callee_cumulative(stats, key(outer))
        assert below > 0, outer
        assert ct + EPS >= below, outer
        # Own time is what the callees' cumulative time leaves.
        assert tt + below == pytest.approx(ct, abs=EPS), outer
    # One caller: its share is the whole.
    _, _, tt, ct, callers = stats[key(T.loop)]
    assert callers[key(T.workload)][2:] == (tt, ct)


def test_time_sleep_time_is_counted():
    def naps():
        time.sleep(0.02)
        time.sleep(0.03)

    stats = monitored_stats(naps)
    cc, nc, tt, ct, _ = stats[SLEEP]
    assert (cc, nc) == (2, 2)
    assert tt == ct
    assert 0.05 <= ct < 5
    assert stats[key(naps)][3] >= ct


def test_a_running_call_is_counted_up_to_the_snapshot():
    monitor = StatsMonitor()

    def look(m):
        return m.snapshot()

    with monitor:
        T.repeat(3)
        inside = look(monitor)
    assert calls_of(inside)[key(look)] == (1, 1)
    assert calls_of(inside)[key(T.helper)] == (3, 3)
    assert calls_of(monitor.snapshot())[key(look)] == (1, 1)


# --- pstats, dump_stats, print_stats ---------------------------------------------


def test_dump_stats_writes_a_file_pstats_reads(tmp_path):
    monitor = StatsMonitor()
    with monitor:
        T.workload()
    path = tmp_path / "out.pstats"
    monitor.dump_stats(path)
    loaded = pstats.Stats(str(path))
    assert calls_of(loaded.stats) == WORKLOAD_CALLS
    assert counts_of(loaded.stats) == counts_of(monitor.snapshot())
    assert loaded.total_calls == sum(nc for _, nc in WORKLOAD_CALLS.values())
    assert loaded.prim_calls == sum(cc for cc, _ in WORKLOAD_CALLS.values())
    # As cProfile writes it: a marshal'd dict.
    assert marshal.loads(path.read_bytes()) == monitor.snapshot()
    # A str path too.
    monitor.dump_stats(str(tmp_path / "again.pstats"))
    assert calls_of(pstats.Stats(str(tmp_path / "again.pstats")).stats) == (
        WORKLOAD_CALLS
    )


def test_pstats_reads_the_monitor_itself():
    monitor = StatsMonitor()
    with monitor:
        T.fib(15)
    stats = pstats.Stats(monitor)
    assert calls_of(stats.stats) == {key(T.fib): (1, 1973)}
    assert (stats.total_calls, stats.prim_calls) == (1973, 1)
    # pstats takes the stats and empties the attribute, as with cProfile.
    assert monitor.stats == {}
    monitor.create_stats()
    assert calls_of(monitor.stats) == {key(T.fib): (1, 1973)}


def test_print_stats_prints_cprofiles_table():
    monitor = StatsMonitor()
    with monitor:
        T.workload()
    out = io.StringIO()
    monitor.print_stats(stream=out)
    text = out.getvalue()
    total = sum(nc for _, nc in WORKLOAD_CALLS.values())
    primitive = sum(cc for cc, _ in WORKLOAD_CALLS.values())
    assert f"{total} function calls ({primitive} primitive calls) in " in text
    assert "Ordered by: cumulative time" in text
    rows = table_rows(text)
    assert rows[location(T.fib)] == "1973/1"
    assert rows[location(T.loop)] == "1"
    assert rows[location(T.Box.put)] == "10"
    assert rows[location(T.squares)] == "1"
    assert rows["{built-in method builtins.len}"] == "20"
    assert rows["{method 'append' of 'list' objects}"] == "20"
    assert rows["{built-in method time.sleep}"] == "10"
    assert len(rows) == len(WORKLOAD_CALLS)
    # Sorted by cumulative time: the outermost function first.
    assert next(iter(rows)) == location(T.workload)


def test_print_stats_sort_and_default_stream(capsys):
    monitor = StatsMonitor()
    with monitor:
        T.repeat(4)
    monitor.print_stats(sort="calls")
    text = capsys.readouterr().out
    assert "Ordered by: call count" in text
    rows = table_rows(text)
    assert list(rows.items()) == [
        (location(T.helper), "4"),
        (location(T.repeat), "1"),
    ]


def table_rows(text):
    """The rows of a pstats table: location -> ncalls, in order."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["ncalls"])
    rows = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        fields = line.split(None, 5)
        rows[fields[5]] = fields[0]
    return rows


# --- sessions, attach, exceptions ------------------------------------------------


def test_enable_and_disable_are_reentrant():
    monitor = StatsMonitor()
    monitor.enable()
    monitor.enable()
    T.helper(1)
    monitor.disable()  # the inner one: still enabled
    T.helper(2)
    monitor.disable()
    T.helper(3)  # not monitored
    monitor.disable()  # harmless
    T.helper(4)
    assert calls_of(monitor.snapshot()) == {key(T.helper): (2, 2)}


def test_totals_add_up_over_sessions_until_cleared():
    monitor = StatsMonitor()
    with monitor:
        T.repeat(5)
    first = calls_of(monitor.snapshot())
    assert first == {key(T.repeat): (1, 1), key(T.helper): (5, 5)}
    with monitor:
        T.repeat(5)
    assert calls_of(monitor.snapshot()) == {
        key(T.repeat): (2, 2),
        key(T.helper): (10, 10),
    }
    monitor.clear()
    assert monitor.snapshot() == {}
    with monitor:
        T.helper(0)
    assert calls_of(monitor.snapshot()) == {key(T.helper): (1, 1)}


def test_clear_while_enabled_keeps_counting_from_zero():
    monitor = StatsMonitor()
    with monitor:
        T.repeat(3)
        monitor.clear()
        T.repeat(2)
    assert calls_of(monitor.snapshot()) == {
        key(T.repeat): (1, 1),
        key(T.helper): (2, 2),
    }


def test_attach_monitors_a_function_while_it_runs():
    monitor = StatsMonitor()
    attached = monitor.attach(T.repeat)
    assert attached.__name__ == "repeat"
    T.helper(0)  # not monitored
    assert attached(3) == T.repeat(3) == 6
    assert attached(2) == 3
    assert calls_of(monitor.snapshot()) == {
        key(T.repeat): (2, 2),
        key(T.helper): (5, 5),
    }


def test_attach_monitors_a_generator_while_it_runs():
    monitor = StatsMonitor()
    attached = monitor.attach(T.helped)
    values = []
    for value in attached(3):
        values.append(value)
        T.repeat(1)  # the consumer's work: not monitored
    assert values == [1, 2, 3]
    # One call, however often it is resumed (cProfile counts 4: 3 values,
    # then the end).
    assert calls_of(monitor.snapshot()) == {
        key(T.helped): (1, 1),
        key(T.helper): (3, 3),
    }


def test_exceptions_pass_through_and_the_call_is_counted():
    monitor = StatsMonitor()
    error = T.Boom("boom")
    with pytest.raises(T.Boom) as raised:
        with monitor:
            T.explode(error)
    assert raised.value is error
    assert calls_of(monitor.snapshot()) == {
        key(T.explode): (1, 1),
        key(T.helper): (1, 1),
    }

    attached = monitor.attach(T.explode)
    other = KeyError("other")
    with pytest.raises(KeyError) as raised:
        attached(other)
    assert raised.value is other
    assert calls_of(monitor.snapshot()) == {
        key(T.explode): (2, 2),
        key(T.helper): (2, 2),
    }


def test_cprofiles_counts_for_a_failing_call():
    def failing():
        T.explode(T.Boom("x"))

    def swallowed():
        try:
            failing()
        except T.Boom:
            pass

    assert counts_of(monitored_stats(swallowed)) == counts_of(cprofile_stats(swallowed))


# --- threads -----------------------------------------------------------------------


def test_a_thread_started_while_enabled_is_counted():
    monitor = StatsMonitor()
    with monitor:
        thread = threading.Thread(target=T.new_thread_body, args=(7,))
        thread.start()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    calls = calls_of(monitor.snapshot())
    assert calls[key(T.only_in_new_thread)] == (7, 7)
    assert calls[key(T.new_thread_body)] == (1, 1)


def test_a_thread_already_running_is_not_counted():
    thread, go, done = T.start_old_thread(5)
    monitor = StatsMonitor()
    try:
        with monitor:
            go.set()
            assert done.wait(TIMEOUT)
            T.helper(0)
    finally:
        go.set()
        thread.join(TIMEOUT)
    calls = calls_of(monitor.snapshot())
    assert key(T.only_in_old_thread) not in calls
    assert key(T.old_thread_body) not in calls
    assert calls[key(T.helper)] == (1, 1)


def test_a_covered_thread_stops_counting_at_disable():
    go = threading.Event()

    def body():
        go.wait(TIMEOUT)
        T.repeat(4)

    monitor = StatsMonitor()
    with monitor:
        thread = threading.Thread(target=body)
        thread.start()
    go.set()
    thread.join(TIMEOUT)
    calls = calls_of(monitor.snapshot())
    assert calls[key(body)] == (1, 1)
    assert key(T.repeat) not in calls
    assert key(T.helper) not in calls
    # Nor is a thread started after disable.
    later = threading.Thread(target=T.new_thread_body, args=(2,))
    later.start()
    later.join(TIMEOUT)
    assert key(T.only_in_new_thread) not in calls_of(monitor.snapshot())


# --- live publishing ---------------------------------------------------------------


class Receiver(threading.Thread):
    """Decodes what a bound Subscriber receives, until a session ends or
    RECV_TIMEOUT seconds pass without a message."""

    def __init__(self, subscriber, sessions=1):
        super().__init__(daemon=True)
        self.subscriber = subscriber
        self.sessions = sessions
        self.messages = []
        self.timed_out = False

    def run(self):
        known = {}
        ends = 0
        while ends < self.sessions:
            frames = self.subscriber.recv(RECV_TIMEOUT)
            if frames is None:
                self.timed_out = True
                return
            message = decode(frames, known)
            if message is not None:
                self.messages.append(message)
                ends += message.kind == "end"

    def stats(self):
        return [m for m in self.messages if m.kind == "stats"]


def rows_of(message):
    """A stats message's rows: (filename, line, function) -> row."""
    return {tuple(row[:3]): row for row in message.data["functions"]}


def calls_in(message, function):
    row = rows_of(message).get(key(function))
    return 0 if row is None else row[3]


def connected_monitor(subscriber, publish_every):
    recorder = ZeroMQRecorder(
        address=subscriber.endpoint,
        connect=True,
        wait_for_ready=True,
        ready_timeout=RECV_TIMEOUT,
    )
    return StatsMonitor(recorder, publish_every=publish_every)


def test_live_totals_reach_a_viewer_while_the_program_runs():
    subscriber = _native.Subscriber("tcp://127.0.0.1:*", True, [])
    receiver = Receiver(subscriber)
    receiver.start()
    monitor = connected_monitor(subscriber, 0.1)
    assert monitor.publish_every == 0.1
    with monitor:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            T.tick()
    receiver.join(RECV_TIMEOUT + 5)
    assert not receiver.is_alive() and not receiver.timed_out

    messages = receiver.messages
    kinds = [m.kind for m in messages]
    assert kinds[0] == "header" and kinds[-1] == "end"
    assert set(kinds[1:-1]) == {"stats"}
    assert [m.seq for m in messages] == list(range(len(messages)))
    assert {m.dropped for m in messages} == {0}
    assert len({m.session for m in messages}) == 1
    assert {m.pid for m in messages} == {os.getpid()}
    header = messages[0].data
    assert header["monitor"] == "stats"
    assert header["fields"] == STATS_FIELDS
    assert header["pid"] == os.getpid()

    snapshot = monitor.snapshot()
    ticks = snapshot[key(T.tick)][1]
    assert ticks >= 10
    running = [calls_in(m, T.tick) for m in receiver.stats()]
    assert running == sorted(running)
    # Published while it ran (the last one comes from disable).
    assert len([c for c in running if c < ticks]) >= 2
    assert running[-1] == ticks

    # The last totals are the monitor's own.
    final = rows_of(receiver.stats()[-1])
    assert set(final) == set(snapshot)
    for k, (cc, nc, tt, ct, _) in snapshot.items():
        filename, line, function, calls, primitive, own, cumulative = final[k]
        assert (calls, primitive) == (nc, cc), k
        assert own == pytest.approx(tt, abs=1e-8), k
        assert cumulative == pytest.approx(ct, abs=1e-8), k
    for message in receiver.stats():
        row = rows_of(message)[key(T.tick)]
        assert row[3] == row[4]  # tick is never recursive
        assert 0 <= row[5] <= row[6]


def test_live_sessions_of_one_recorder_carry_the_growing_totals():
    subscriber = _native.Subscriber("tcp://127.0.0.1:*", True, [])
    receiver = Receiver(subscriber, sessions=2)
    receiver.start()
    monitor = connected_monitor(subscriber, 10)
    with monitor:
        T.repeat(2)
    with monitor:
        T.repeat(3)
    receiver.join(RECV_TIMEOUT + 5)
    assert not receiver.is_alive() and not receiver.timed_out
    summary = [
        (m.kind, calls_in(m, T.helper) if m.kind == "stats" else None)
        for m in receiver.messages
    ]
    # publish_every=10: only the totals of each disable.
    assert summary == [
        ("header", None),
        ("stats", 2),
        ("end", None),
        ("header", None),
        ("stats", 5),
        ("end", None),
    ]
    first, second = receiver.messages[0].session, receiver.messages[3].session
    assert first != second
    assert [m.session for m in receiver.messages] == [first] * 3 + [second] * 3


def test_live_totals_from_a_recorder_that_binds():
    recorder = ZeroMQRecorder(zmq_port=0)
    monitor = StatsMonitor(recorder, publish_every=0.05)
    received = []
    seen_stats = threading.Event()

    def watch(endpoint):
        for message in subscribe(endpoint, timeout=RECV_TIMEOUT):
            received.append(message)
            if len([m for m in received if m.kind == "stats"]) >= 2:
                seen_stats.set()
            if message.kind == "end":
                return

    with monitor:
        endpoint = recorder.endpoint
        assert endpoint.startswith("tcp://127.0.0.1:")
        assert not endpoint.endswith(":*")
        watcher = threading.Thread(target=watch, args=(endpoint,), daemon=True)
        watcher.start()
        deadline = time.monotonic() + RECV_TIMEOUT
        while not seen_stats.is_set() and time.monotonic() < deadline:
            T.tick()
    watcher.join(RECV_TIMEOUT + 5)
    assert not watcher.is_alive()
    assert seen_stats.is_set()
    assert received[-1].kind == "end"
    stats = [m for m in received if m.kind == "stats"]
    running = [calls_in(m, T.tick) for m in stats]
    assert running == sorted(running)
    assert running[-1] == monitor.snapshot()[key(T.tick)][1]


def test_pikos_run_stats_live_connect(tmp_path):
    script = write(tmp_path / "s.py", SCRIPT)
    subscriber = _native.Subscriber("tcp://127.0.0.1:*", True, [])
    receiver = Receiver(subscriber)
    receiver.start()
    result = run_pikos(
        "stats",
        "--live-connect",
        subscriber.endpoint,
        "--live-wait",
        script,
        cwd=tmp_path,
    )
    receiver.join(RECV_TIMEOUT + 5)
    assert result.returncode == 0, result.stderr
    assert not receiver.timed_out
    kinds = [m.kind for m in receiver.messages]
    assert kinds[0] == "header" and kinds[-1] == "end"
    header = receiver.messages[0].data
    assert header["monitor"] == "stats"
    assert header["pid"] != os.getpid()
    final = rows_of(receiver.stats()[-1])
    assert final[(script, 3, "work")][3:5] == [3, 3]
    assert final[(script, 6, "outer")][3:5] == [1, 1]


# --- pikos-run stats ------------------------------------------------------------


SCRIPT = """\
import sys

def work(n):
    return sum(range(n))

def outer():
    for i in range(3):
        work(i)

print("script says hi")
outer()
if len(sys.argv) > 1 and sys.argv[1] == "raise":
    raise RuntimeError("boom")
if len(sys.argv) > 1 and sys.argv[1] == "exit":
    sys.exit(3)
"""

#: The table's rows of SCRIPT run with no argument.
SCRIPT_ROWS = {
    "s.py:1(<module>)": "1",
    "{built-in method builtins.print}": "1",
    "s.py:3(work)": "3",
    "s.py:6(outer)": "1",
    "{built-in method builtins.sum}": "3",
    "{built-in method builtins.len}": "2",
}


def write(path, source):
    path.write_text(textwrap.dedent(source))
    return str(path.resolve())


def run_pikos(*args, cwd):
    return run(*args, cwd=cwd)


def test_pikos_run_stats_prints_the_table_after_the_scripts_output(tmp_path):
    write(tmp_path / "s.py", SCRIPT)
    result = run_pikos("stats", "s.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("script says hi\n")
    text = result.stdout
    assert text.index("11 function calls in ") > text.index("script says hi")
    assert "Ordered by: cumulative time" in text
    rows = table_rows(text)
    assert rows == SCRIPT_ROWS
    assert next(iter(rows)) == "s.py:1(<module>)"


def test_pikos_run_stats_output_file(tmp_path):
    script = write(tmp_path / "s.py", SCRIPT)
    result = run_pikos("stats", "s.py", "-o", "out.pstats", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("script says hi\n", "")
    stats = pstats.Stats(str(tmp_path / "out.pstats"))
    assert calls_of(stats.stats) == {
        (script, 1, "<module>"): (1, 1),
        (script, 3, "work"): (3, 3),
        (script, 6, "outer"): (1, 1),
        ("~", 0, "<built-in method builtins.print>"): (1, 1),
        ("~", 0, "<built-in method builtins.sum>"): (3, 3),
        LEN: (2, 2),
    }
    callers = stats.stats[(script, 3, "work")][4]
    assert {c: pair[:2] for c, pair in callers.items()} == {
        (script, 6, "outer"): (3, 3)
    }


def test_pikos_run_stats_txt_output_is_the_table(tmp_path):
    # A .txt name gets the table pstats prints, not binary pstats (issue 17).
    write(tmp_path / "s.py", SCRIPT)
    result = run_pikos("stats", "s.py", "-o", "prof.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("script says hi\n", "")
    text = (tmp_path / "prof.txt").read_text(encoding="utf-8")
    assert "11 function calls in " in text
    assert "Ordered by: cumulative time" in text
    assert table_rows(text) == SCRIPT_ROWS


@pytest.mark.parametrize(
    "options",
    [["--recording", "csv"], ["--focused-on", "work"]],
    ids=["recording", "focused-on"],
)
def test_pikos_run_stats_usage_errors(tmp_path, options):
    write(tmp_path / "s.py", SCRIPT)
    result = run_pikos("stats", *options, "s.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""  # the script did not run
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pikos-run: error: ")
    assert options[0] in lines[0]


def test_pikos_run_stats_after_an_exception_in_the_script(tmp_path):
    script = write(tmp_path / "s.py", SCRIPT)
    result = run_pikos("stats", "s.py", "raise", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert result.stderr.rstrip().endswith("RuntimeError: boom")
    # The script's frames only, none of pikos'.
    assert [line for line in result.stderr.splitlines() if "File" in line] == [
        f'  File "{script}", line 13, in <module>'
    ]
    assert result.stdout.startswith("script says hi\n")
    rows = table_rows(result.stdout)
    assert rows == {**SCRIPT_ROWS, "{built-in method builtins.len}": "1"}


def test_pikos_run_stats_after_sys_exit(tmp_path):
    script = write(tmp_path / "s.py", SCRIPT)
    result = run_pikos("stats", "-o", "out.pstats", "s.py", "exit", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert (result.stdout, result.stderr) == ("script says hi\n", "")
    calls = calls_of(pstats.Stats(str(tmp_path / "out.pstats")).stats)
    assert calls[(script, 3, "work")] == (3, 3)
    assert calls[LEN] == (2, 2)
    assert calls[("~", 0, "<built-in method sys.exit>")] == (1, 1)


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "recorder",
    [ListRecorder(), object(), "tcp://127.0.0.1:9001"],
    ids=["ListRecorder", "object", "address"],
)
def test_a_recorder_other_than_zeromq_is_a_type_error(recorder):
    with pytest.raises(TypeError, match="ZeroMQRecorder"):
        StatsMonitor(recorder)


@pytest.mark.parametrize(
    "every", [0, 0.0, -1, -0.5, "x", "1", True, False, None, float("nan")], ids=repr
)
def test_publish_every_must_be_a_positive_number(every):
    with pytest.raises(ValueError, match="publish_every"):
        StatsMonitor(publish_every=every)


def test_publish_every_default_and_ints():
    assert StatsMonitor().publish_every == 0.25
    assert StatsMonitor(publish_every=2).publish_every == 2.0


def test_a_period_the_core_cannot_use_fails_at_construction():
    recorder = ZeroMQRecorder(zmq_port=0)
    for every in (float("inf"), 1e300, 1e-12):
        with pytest.raises(ValueError, match="publish_every must be a number"):
            StatsMonitor(recorder, publish_every=every)
    # Nothing was prepared: the recorder still serves a monitor.
    monitor = StatsMonitor(recorder, publish_every=0.1)
    with monitor:
        T.helper(0)
    assert calls_of(monitor.snapshot()) == {key(T.helper): (1, 1)}


# --- the mechanism: sys.monitoring on 3.12+, the profile hook on request ------

BACKENDS = ["legacy"] + (["auto", "monitoring"] if sys.version_info >= (3, 12) else [])


def tricky():
    """Calls whose events differ most between the two mechanisms: a method
    descriptor called with its self, a builtin calling back into Python, a
    generator resumed by throw, a builtin that raises, an exception
    unwinding through frames."""
    items = []
    list.append(items, 1)
    sorted(["bb", "a"], key=len)
    sorted(["bb", "a"], key=lambda s: s[::-1])

    def gen():
        while True:
            try:
                yield
            except KeyError:
                pass

    g = gen()
    next(g)
    g.throw(KeyError())
    g.close()
    try:
        int("x")
    except ValueError:
        pass

    def deep(n):
        if n == 0:
            raise LookupError
        deep(n - 1)

    try:
        deep(3)
    except LookupError:
        pass
    return items


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_mechanism_counts_what_cprofile_counts(backend, monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", backend)
    (gen,) = [c for c in tricky.__code__.co_consts if getattr(c, "co_name", 0) == "gen"]
    starts = {
        T.workload: {key(T.squares): key(T.consume)},
        # next(g) starts the generator; throw() and close() resume it.
        tricky: {
            (gen.co_filename, gen.co_firstlineno, gen.co_name): (
                "~",
                0,
                "<built-in method builtins.next>",
            )
        },
    }
    for function in (T.workload, tricky):
        function()  # warm up
        expected = one_call_per_generator(cprofile_stats(function), starts[function])
        monitor = StatsMonitor()
        with monitor:
            function()
        stats = monitor.snapshot()
        mechanism = "legacy" if backend == "legacy" else "monitoring"
        assert monitor._hook.backend == mechanism
        # Calls, primitive calls and callers, key by key.
        assert counts_of(stats) == counts_of(expected), function.__name__
