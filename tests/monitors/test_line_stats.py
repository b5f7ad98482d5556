"""LineStatsMonitor: line_profiler's answers (hits and time per line) from
the core's totals, on both hook backends; its table, .lprof (read back by
line_profiler's own loader) and .json."""

import io
import json
import os
import pickle
import sys
import threading
from collections import Counter

import harness
import line_corpus
import pikos
import pytest
import slow_line
from pikos.monitors.api import LineStatsMonitor
from pikos.monitors.line_stats_monitor import LineStats

BACKENDS = [
    "legacy",
    pytest.param(
        "monitoring",
        marks=pytest.mark.skipif(
            sys.version_info < (3, 12), reason="sys.monitoring is new in 3.12"
        ),
    ),
]
PIKOS_TOOL_IDS = (2, 3, 4, 5)


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", request.param)
    yield request.param
    if sys.version_info >= (3, 12):
        leaked = [i for i in PIKOS_TOOL_IDS if sys.monitoring.get_tool(i) == "pikos"]
        assert leaked == []


@pytest.fixture(scope="module", autouse=True)
def _warm_up():
    line_corpus.run_all()
    slow_line.slow(1)


def _hits(stats, filename):
    """Counter of (function, line) -> hits for ``filename``."""
    hits = Counter()
    for (file, _, name), lines in stats.timings.items():
        if file == filename:
            for lineno, count, _ in lines:
                hits[name, lineno] += count
    return hits


def _lines(monitor, function):
    code = function.__code__
    key = (code.co_filename, code.co_firstlineno, code.co_name)
    return {line: (hits, time) for line, hits, time in monitor.get_stats().timings[key]}


def _line_of(function, text):
    import inspect

    source, first = inspect.getsourcelines(function)
    at = next(i for i, line in enumerate(source) if line.strip() == text)
    return first + at


# --- hits: what sys.settrace sees -------------------------------------------


@pytest.mark.parametrize("focused", [False, True])
def test_hits_are_the_line_events_of_a_settrace_reference(backend, focused):
    _, expected = harness.trace_reference(line_corpus.run_all)
    expected_hits = Counter(
        (name, lineno)
        for name, lineno, _, file in expected
        if file == line_corpus.__file__
    )
    functions = line_corpus.all_codes() if focused else None
    monitor = LineStatsMonitor(functions=functions)
    with monitor:
        result = harness.outcome(line_corpus.run_all)
    assert monitor._hook.backend == backend
    assert result == harness.outcome(line_corpus.run_all)
    hits = _hits(monitor.get_stats(), line_corpus.__file__)
    assert sum(expected_hits.values()) > 150
    assert hits == expected_hits


def test_focus_counts_only_the_focused_functions_own_lines(backend):
    monitor = LineStatsMonitor(functions=[line_corpus.nested])
    with monitor:
        line_corpus.nested(3)
    assert {key[2] for key in monitor.get_stats().timings} == {"nested"}
    assert len(monitor.functions) == 1


def test_recursion_counts_every_frame(backend):
    def fib(n):
        if n < 2:
            return n
        return fib(n - 1) + fib(n - 2)

    monitor = LineStatsMonitor(functions=[fib])
    with monitor:
        fib(6)
    first = fib.__code__.co_firstlineno
    hits = {line - first: h for line, (h, _) in _lines(monitor, fib).items()}
    # fib(6) makes 25 calls, 13 of them with n < 2
    assert hits == {1: 25, 2: 13, 3: 12}


# --- times: line_profiler's rules -------------------------------------------


def test_a_known_slow_line_takes_the_functions_time(backend):
    monitor = LineStatsMonitor(functions=[slow_line.slow])
    with monitor:
        slow_line.slow(3)
    lines = _lines(monitor, slow_line.slow)
    sleep = _line_of(slow_line.slow, "time.sleep(0.02)")
    total = sum(time for _, time in lines.values())
    assert lines[sleep][0] == 3
    assert lines[sleep][1] > 0.9 * total
    assert lines[sleep][1] >= 3 * 0.02e9 * 0.9  # nanoseconds
    assert monitor.get_stats().unit == 1e-9


def test_a_line_includes_what_it_calls(backend):
    monitor = LineStatsMonitor(functions=[slow_line.main])
    with monitor:
        slow_line.main()
    lines = _lines(monitor, slow_line.main)
    assert lines[_line_of(slow_line.main, "slow(3)")][1] >= 0.05e9


def test_a_suspended_generator_is_not_charged(backend):
    monitor = LineStatsMonitor(functions=[slow_line.numbers, slow_line.consumer])
    with monitor:
        slow_line.consumer(3)
    generator = _lines(monitor, slow_line.numbers)
    consumer = _lines(monitor, slow_line.consumer)
    assert generator[_line_of(slow_line.numbers, "yield i")][0] == 3
    # The consumer slept 3 x 20 ms while the generator was suspended.
    assert sum(time for _, time in generator.values()) < 0.02e9
    assert consumer[_line_of(slow_line.consumer, "time.sleep(0.02)")][1] >= 0.054e9


def test_threads_are_kept_apart(backend):
    monitor = LineStatsMonitor(functions=[slow_line.waiter, slow_line.two_threads])
    with monitor:
        worker = slow_line.two_threads()
    assert not worker.is_alive()
    waited = _lines(monitor, slow_line.waiter)[
        _line_of(slow_line.waiter, "event.wait()")
    ]
    # The main thread's lines ran meanwhile: they did not end this one.
    assert waited[0] == 1 and waited[1] >= 0.045e9


def test_totals_add_up_over_sessions_and_clear_forgets(backend):
    monitor = LineStatsMonitor(functions=[line_corpus.loops])
    with monitor:
        line_corpus.loops(2)
    once = _hits(monitor.get_stats(), line_corpus.__file__)
    with monitor:
        line_corpus.loops(2)
    twice = _hits(monitor.get_stats(), line_corpus.__file__)
    assert twice == Counter({key: 2 * n for key, n in once.items()})
    monitor.clear()
    assert monitor.get_stats().timings == {}


def test_all_lines_of_the_program_by_default(backend):
    monitor = LineStatsMonitor()
    with monitor:
        slow_line.slow(1)
        threading.current_thread()
    names = {key[2] for key in monitor.get_stats().timings}
    assert {"slow", "current_thread"} <= names
    # pikos' own frames are never counted
    own = os.path.dirname(pikos.__file__)
    assert not [key for key in monitor.get_stats().timings if key[0].startswith(own)]


# --- outputs -----------------------------------------------------------------


def _stats_of_slow():
    monitor = LineStatsMonitor(functions=[slow_line.slow])
    with monitor:
        slow_line.slow(2)
    return monitor


def test_the_table_has_line_profilers_columns():
    monitor = _stats_of_slow()
    out = io.StringIO()
    monitor.print_stats(out)
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == "Timer unit: 1e-06 s"
    code = slow_line.slow.__code__
    assert f"File: {code.co_filename}" in lines
    assert f"Function: slow at line {code.co_firstlineno}" in lines
    assert any(
        line.startswith("Total time: ") and line.endswith(" s") for line in lines
    )
    header = next(line for line in lines if line.startswith("Line #"))
    assert header.split() == [
        "Line",
        "#",
        "Hits",
        "Time",
        "Per",
        "Hit",
        "%",
        "Time",
        "Line",
        "Contents",
    ]
    assert lines[lines.index(header) + 1] == "=" * len(header)
    row = next(line for line in lines if line.endswith("time.sleep(0.02)"))
    line_no, hits, time, per_hit, percent = row.split()[:5]
    assert int(line_no) == _line_of(slow_line.slow, "time.sleep(0.02)")
    assert int(hits) == 2
    assert float(time) >= 2 * 0.02e6 * 0.9  # microseconds
    assert abs(float(per_hit) - float(time) / 2) < 0.1
    assert float(percent) > 90
    # The def line is shown without numbers, as kernprof shows it.
    def_row = next(line for line in lines if line.endswith("def slow(n):"))
    assert def_row.split() == [str(code.co_firstlineno), "def", "slow(n):"]


def test_lprof_is_read_back_by_line_profilers_own_loader(tmp_path):
    line_profiler = pytest.importorskip("line_profiler")
    monitor = _stats_of_slow()
    path = tmp_path / "run.lprof"
    monitor.dump_stats(path)
    loaded = line_profiler.load_stats(str(path))
    ours = monitor.get_stats()
    assert loaded.unit == ours.unit == 1e-9
    assert {k: list(v) for k, v in loaded.timings.items()} == ours.timings
    out = io.StringIO()
    line_profiler.show_text(loaded.timings, loaded.unit, stream=out)
    assert "time.sleep(0.02)" in out.getvalue()


def test_lprof_without_line_profiler_is_a_clear_error(tmp_path, monkeypatch):
    monitor = _stats_of_slow()
    # As if it were not installed: its import fails.
    monkeypatch.setitem(sys.modules, "line_profiler", None)
    monkeypatch.setitem(sys.modules, "line_profiler.line_profiler", None)
    path = tmp_path / "run.lprof"
    with pytest.raises(ImportError, match="needs the line_profiler package"):
        monitor.dump_stats(path)
    assert not path.exists()


def test_json_follows_the_documented_schema(tmp_path):
    monitor = _stats_of_slow()
    path = tmp_path / "run.json"
    monitor.dump_stats(path)
    data = json.loads(path.read_text())
    assert data["format"] == "pikos-line-stats" and data["version"] == 1
    assert data["unit"] == 1e-9
    (function,) = data["functions"]
    code = slow_line.slow.__code__
    assert (function["filename"], function["first_lineno"], function["function"]) == (
        code.co_filename,
        code.co_firstlineno,
        "slow",
    )
    assert function["total_time"] == sum(t for _, _, t in function["lines"])
    key = (code.co_filename, code.co_firstlineno, "slow")
    assert [tuple(line) for line in function["lines"]] == monitor.get_stats().timings[
        key
    ]


def test_txt_is_the_table_and_other_names_are_refused(tmp_path):
    monitor = _stats_of_slow()
    monitor.dump_stats(tmp_path / "run.txt")
    assert "Line Contents" in (tmp_path / "run.txt").read_text()
    with pytest.raises(ValueError, match=r"\.lprof, \.json or \.txt"):
        monitor.dump_stats(tmp_path / "run.csv")


def test_get_stats_is_line_profilers_shape():
    stats = _stats_of_slow().get_stats()
    assert isinstance(stats, LineStats)
    assert pickle.loads(pickle.dumps(stats)) == stats
    for (filename, first_lineno, name), lines in stats.timings.items():
        assert isinstance(filename, str) and isinstance(first_lineno, int)
        assert isinstance(name, str)
        for lineno, hits, time in lines:
            assert all(isinstance(v, int) for v in (lineno, hits, time))


def test_bad_functions_fail_at_construction():
    with pytest.raises(TypeError, match="cannot focus on"):
        LineStatsMonitor(functions=[len])
    with pytest.raises(TypeError, match="all_threads must be True or False"):
        LineStatsMonitor(all_threads="yes")
