"""``pikos.monitors.cProfile_rt``: the original's real-time cProfile, a
``cProfile.Profile`` whose running totals also stream live, read back by
the standard library's ``pstats``."""

import cProfile
import pstats
import socket
import subprocess
import sys
import threading
import time

import pytest
import stats_targets as T
from commands import command_env, write
from pikos.live import DEFAULT_ADDRESS, subscribe
from pikos.monitors import cProfile_rt
from pikos.monitors.cProfile_rt import Profile
from pikos.monitors.stats_monitor import StatsMonitor
from pikos.recorders.api import ZeroMQRecorder

RECV_TIMEOUT = 10.0


def key(function):
    code = function.__code__
    return (code.co_filename, code.co_firstlineno, code.co_name)


CPROFILE_DISABLE = ("~", 0, "<method 'disable' of '_lsprof.Profiler' objects>")


def cprofile_calls(function, *args):
    """(primitive calls, calls) per key, as cProfile counts ``function``
    (less its own ``disable``, which pikos never records)."""
    profile = cProfile.Profile()
    profile.runcall(function, *args)
    stats = pstats.Stats(profile).stats
    return {k: v[:2] for k, v in stats.items() if k != CPROFILE_DISABLE}


def test_profile_is_a_stats_monitor_streaming_by_default():
    profile = Profile()
    assert isinstance(profile, StatsMonitor)
    assert isinstance(profile.recorder, ZeroMQRecorder)
    assert profile.recorder.address == DEFAULT_ADDRESS
    assert Profile(recorder=False).recorder is None


def test_runcall_counts_as_cprofile_and_dump_stats_is_read_by_pstats(tmp_path):
    profile = Profile(recorder=False)
    assert profile.runcall(T.fib, 10) == T.fib(10)
    path = tmp_path / "fib.pstats"
    profile.dump_stats(str(path))
    stats = pstats.Stats(str(path)).stats
    assert {k: v[:2] for k, v in stats.items()} == cprofile_calls(T.fib, 10)
    assert stats[key(T.fib)][:2] == (1, 177)


def test_context_manager_and_pstats_of_the_profile_itself():
    with Profile(recorder=False) as profile:
        T.fib(5)
    stats = pstats.Stats(profile).stats
    assert stats[key(T.fib)][:2] == (1, 15)


def test_enable_twice_then_one_disable_stops_as_cprofile():
    profile = Profile(recorder=False)
    profile.enable()
    profile.enable()
    T.fib(3)
    profile.disable()
    T.fib(3)  # not counted
    profile.create_stats()
    assert profile.stats[key(T.fib)][:2] == (1, 5)


def test_create_stats_stops_profiling_as_cprofile():
    profile = Profile(recorder=False)
    profile.enable()
    T.fib(2)
    profile.create_stats()
    T.fib(2)
    profile.snapshot_stats()
    assert profile.stats[key(T.fib)][:2] == (1, 3)


def test_run_and_runctx_methods_return_the_profile():
    profile = Profile(recorder=False)
    namespace = {"fib": T.fib}
    assert profile.runctx("fib(4)", namespace, namespace) is profile
    assert profile.run("len([])") is profile
    stats = pstats.Stats(profile).stats
    assert stats[key(T.fib)][:2] == (1, 9)
    assert ("~", 0, "<built-in method builtins.len>") in stats


def test_print_stats_prints_cprofiles_table(capsys):
    profile = Profile(recorder=False)
    profile.runcall(T.fib, 4)
    profile.print_stats("calls")
    out = capsys.readouterr().out
    assert "9 function calls (1 primitive calls)" in out
    assert "stats_targets.py" in out and "(fib)" in out


@pytest.mark.parametrize(
    "options",
    [{"timer": time.perf_counter}, {"timeunit": 1e-6}, {"subcalls": False}],
)
def test_options_pikos_cannot_honour_are_refused(options):
    with pytest.raises(ValueError, match="not supported"):
        Profile(**options)
    with pytest.raises(ValueError, match="not supported"):
        Profile(recorder=False).enable(builtins=False)


def test_module_runctx_writes_a_pstats_file(tmp_path):
    path = tmp_path / "out.pstats"
    cProfile_rt.runctx("fib(6)", {"fib": T.fib}, None, filename=str(path))
    assert pstats.Stats(str(path)).stats[key(T.fib)][:2] == (1, 25)


def test_module_run_prints_the_table(capsys, monkeypatch):
    import __main__

    monkeypatch.setattr(__main__, "pikos_rt_fib", T.fib, raising=False)
    monkeypatch.setattr(cProfile_rt, "Profile", lambda: Profile(recorder=False))
    cProfile_rt.run("pikos_rt_fib(3)", sort="calls")
    assert "(fib)" in capsys.readouterr().out


def test_running_totals_stream_while_the_program_runs():
    recorder = ZeroMQRecorder(zmq_port=0)
    profile = Profile(recorder=recorder, publish_every=0.05)
    received = []
    seen = threading.Event()

    def watch(endpoint):
        for message in subscribe(endpoint, timeout=RECV_TIMEOUT):
            received.append(message)
            if len([m for m in received if m.kind == "stats"]) >= 2:
                seen.set()
            if message.kind == "end":
                return

    with profile:
        watcher = threading.Thread(target=watch, args=(recorder.endpoint,))
        watcher.start()
        deadline = time.monotonic() + RECV_TIMEOUT
        while not seen.is_set() and time.monotonic() < deadline:
            T.tick()
    watcher.join(RECV_TIMEOUT + 5)
    assert seen.is_set() and received[-1].kind == "end"
    last = [m for m in received if m.kind == "stats"][-1]
    rows = {tuple(row[:3]): row for row in last.data["functions"]}
    assert rows[key(T.tick)][3] == pstats.Stats(profile).stats[key(T.tick)][1]


def test_a_live_address_in_use_warns_and_profiles_anyway():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        profile = Profile(recorder=ZeroMQRecorder(zmq_port=port))
        with pytest.warns(RuntimeWarning, match="not streaming live"):
            profile.enable()
        T.fib(3)
        profile.disable()
    assert pstats.Stats(profile).stats[key(T.fib)][:2] == (1, 5)


SCRIPT = """\
import sys

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

print("args", sys.argv[1:], __name__)
fib(7)
"""


def test_python_m_cprofile_rt_writes_what_pstats_reads(tmp_path):
    script = write(tmp_path / "rt_script.py", SCRIPT)
    env = command_env()
    env["XDG_RUNTIME_DIR"] = str(tmp_path)  # a live address of its own
    command = [sys.executable, "-m", "pikos.monitors.cProfile_rt"]
    result = subprocess.run(
        [*command, "-o", "out.pstats", str(script), "a", "b"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "args ['a', 'b'] __main__\n"
    stats = pstats.Stats(str(tmp_path / "out.pstats")).stats
    assert stats[(str(script), 3, "fib")][:2] == (1, 41)

    printed = subprocess.run(
        [*command, "-s", "cumulative", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert printed.returncode == 0, printed.stderr
    assert "rt_script.py:3(fib)" in printed.stdout
    assert "Ordered by: cumulative time" in printed.stdout
