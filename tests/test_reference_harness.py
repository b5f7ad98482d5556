"""Validate the pure-Python references before trusting them as oracles.

These tests do not import pikos: they check that the workload is
deterministic under sys.setprofile / sys.settrace, that it exercises what
the comparison tests claim to cover, and that the harness rule removes
exactly the harness' own events.
"""

import os
import sys

import harness
import pytest
import workload

WORKLOAD_FILE = workload.__file__


@pytest.fixture(scope="module", autouse=True)
def _warm_up():
    # First calls may import or initialise lazily; the comparisons never
    # look at a first run.
    workload.main()


def test_profile_reference_is_deterministic():
    first = harness.profile_reference(workload.main)
    second = harness.profile_reference(workload.main)
    assert first[0][0] == "returned"
    assert first[0] == second[0]
    harness.assert_same_events(first[1], second[1])


def test_trace_reference_is_deterministic():
    first = harness.trace_reference(workload.main)
    second = harness.trace_reference(workload.main)
    assert first[0][0] == "returned"
    assert first[0] == second[0]
    harness.assert_same_events(first[1], second[1])


def test_profile_reference_starts_and_ends_with_the_workload_entry_point():
    _, events = harness.profile_reference(workload.main)
    assert events[0][:2] == ("call", "main")
    assert events[-1][:2] == ("return", "main")
    assert events[0][3] == WORKLOAD_FILE
    assert not [e for e in events if harness.is_harness(e[3])]


def test_workload_covers_every_function_event_type_and_feature():
    _, events = harness.profile_reference(workload.main)
    kinds = {event[0] for event in events}
    assert kinds == {"call", "return", "c_call", "c_return", "c_exception"}
    pairs = {(event[0], event[1]) for event in events}
    expected = {
        ("call", "fib"),
        ("call", "countdown"),
        ("call", "delegate"),
        ("call", "<genexpr>"),
        ("c_call", "send"),
        ("c_call", "throw"),
        ("c_call", "close"),
        ("c_exception", "divmod"),
        ("c_exception", "pop"),
        ("c_exception", "next"),
        ("c_exception", "sorted"),
        ("c_return", "getattr"),
        ("call", "label"),
        ("call", "size"),
        ("call", "__init__"),
        ("call", "__enter__"),
        ("call", "__exit__"),
        ("call", "__repr__"),
        ("call", "<lambda>"),
        ("c_call", "reduce"),
        ("call", "generated"),
        ("c_call", "print"),
        ("call", "async_add"),
        ("call", "__await__"),
        ("call", "managed"),
        ("call", "wrapper"),
        ("call", "bad_key"),
    }
    assert expected <= pairs, sorted(expected - pairs)
    filenames = {event[3] for event in events}
    assert "<workload-exec>" in filenames
    # stdlib code (contextlib) is part of the comparison too
    assert any(name.endswith(os.sep + "contextlib.py") for name in filenames)


def test_trace_reference_reports_source_text_and_placeholder():
    _, events = harness.trace_reference(workload.main)
    by_place = {(e[3], e[1]): e[2] for e in events}
    fib_line = workload.fib.__code__.co_firstlineno + 1
    assert by_place[(WORKLOAD_FILE, fib_line)] == "    if n < 2:"
    exec_lines = {e[2] for e in events if e[3] == "<workload-exec>"}
    assert exec_lines == {harness.NO_SOURCE}
    assert not [e for e in events if harness.is_harness(e[3])]
    assert all(text == text.rstrip() and text for _, _, text, _ in events)


class _PythonMonitor:
    """A pure-Python stand-in for FunctionMonitor, used inside `with`."""

    def __init__(self):
        self.events = []

    def _hook(self, frame, event, arg):
        code = frame.f_code
        name = arg.__name__ if event.startswith("c_") else code.co_name
        self.events.append((event, name, frame.f_lineno, code.co_filename))

    def __enter__(self):
        self._previous = sys.getprofile()
        sys.setprofile(self._hook)

    def __exit__(self, *exc_info):
        sys.setprofile(self._previous)


def test_harness_rule_makes_a_with_statement_monitor_match_the_reference():
    # The comparison tests drive pikos with `with monitor: workload.main()`;
    # dropping harness events must leave exactly the reference's events.
    monitor = _PythonMonitor()
    with monitor:
        workload.main()
    _, expected = harness.profile_reference(workload.main)
    kept = [e for e in monitor.events if not harness.is_harness(e[3])]
    assert len(kept) < len(monitor.events)  # the rule did drop something
    harness.assert_same_events(kept, expected)


def test_assert_same_events_reports_the_first_difference():
    with pytest.raises(AssertionError, match="first at position 1"):
        harness.assert_same_events([(1,), (2,), (3,)], [(1,), (5,), (3,)])
    with pytest.raises(AssertionError, match="first at position 2"):
        harness.assert_same_events([(1,), (2,)], [(1,), (2,), (3,)])
    harness.assert_same_events([(1,), (2,)], [(1,), (2,)])
