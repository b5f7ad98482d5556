"""`monitor.attach`: functions, methods, recursion, generators, coroutines."""

import asyncio
import inspect
import os

import harness
import pytest
import targets
from monitoring import CountingRecorder, pikos_frames
from pikos.monitors.api import FunctionMonitor, LineMonitor
from pikos.monitors.records import FunctionRecord, LineRecord
from pikos.recorders.api import ListRecorder

MONITORS = [
    pytest.param(
        FunctionMonitor, harness.profile_reference, FunctionRecord, id="FunctionMonitor"
    ),
    pytest.param(LineMonitor, harness.trace_reference, LineRecord, id="LineMonitor"),
]


@pytest.fixture(scope="module", autouse=True)
def _warm_up():
    targets.work()
    asyncio.run(targets.async_sleeps(1))


def events_of(records):
    return harness.without_index(records)


@pytest.mark.parametrize(("monitor_class", "reference", "record_type"), MONITORS)
def test_attached_function_records_exactly_the_reference(
    monitor_class, reference, record_type
):
    recorder = ListRecorder()
    attached = monitor_class(recorder).attach(targets.work)
    assert attached(4) == targets.work(4)
    expected_outcome, expected = reference(targets.work, 4)
    assert expected_outcome == ("returned", targets.work(4))
    harness.assert_same_events(events_of(recorder.records), expected)


def test_attached_function_first_record_is_its_call_and_last_its_return():
    recorder = ListRecorder()
    FunctionMonitor(recorder).attach(targets.work)(2)
    first, last = recorder.records[0], recorder.records[-1]
    assert (first.type, first.function) == ("call", "work")
    assert (last.type, last.function) == ("return", "work")
    assert first.lineNo == targets.work.__code__.co_firstlineno
    assert first.filename == targets.__file__
    assert pikos_frames(recorder.records) == []


@pytest.mark.parametrize(("monitor_class", "reference", "record_type"), MONITORS)
def test_attach_keeps_functools_wraps_metadata(monitor_class, reference, record_type):
    def documented(a, b=2, *, c=3):
        """Docstring of documented."""
        return a + b + c

    documented.custom = "kept"
    attached = monitor_class(ListRecorder()).attach(documented)
    assert attached.__name__ == "documented"
    assert attached.__qualname__ == documented.__qualname__
    assert attached.__doc__ == "Docstring of documented."
    assert attached.__module__ == documented.__module__
    assert attached.__wrapped__ is documented
    assert attached.custom == "kept"
    assert inspect.signature(attached) == inspect.signature(documented)
    assert attached(1, c=10) == 13


@pytest.mark.parametrize(("monitor_class", "reference", "record_type"), MONITORS)
def test_attached_method_binds_self(monitor_class, reference, record_type):
    recorder = ListRecorder()
    monitor = monitor_class(recorder)

    class Scaler(targets.Scaler):
        scale = monitor.attach(targets.Scaler.scale)

    scaler = Scaler(3)
    assert scaler.scale(4) == 15
    _, expected = reference(targets.Scaler(3).scale, 4)
    harness.assert_same_events(events_of(recorder.records), expected)


@pytest.mark.parametrize(("monitor_class", "reference", "record_type"), MONITORS)
def test_attached_recursive_function_is_reentrant(
    monitor_class, reference, record_type, monkeypatch
):
    original = targets.countdown_recursive
    _, expected = reference(original, 3)
    recorder = CountingRecorder()
    attached = monitor_class(recorder).attach(original)
    # the recursive calls look the name up in the module: they go through
    # the wrapper too, nesting enable/disable four deep
    monkeypatch.setattr(targets, "countdown_recursive", attached)
    assert targets.countdown_recursive(3) == 3
    assert recorder.prepared == [record_type]
    assert recorder.finalized == 1
    harness.assert_same_events(events_of(recorder.records), expected)


@pytest.mark.parametrize(("monitor_class", "reference", "record_type"), MONITORS)
def test_attached_function_called_twice_runs_two_sessions(
    monitor_class, reference, record_type
):
    recorder = CountingRecorder()
    attached = monitor_class(recorder).attach(targets.leaf)
    assert attached(1) == 2
    assert attached(2) == 3
    assert recorder.prepared == [record_type, record_type]
    assert recorder.finalized == 2
    assert [r.index for r in recorder.records] == list(range(len(recorder.records)))


# --- generators ---------------------------------------------------------------


def accumulator_steps(gen):
    """Steps driving targets.accumulator(1): next, send, throw, close."""
    return [
        lambda: next(gen),
        lambda: gen.send(5),
        lambda: gen.throw(ValueError("abcd")),
        lambda: gen.send(None),
        lambda: gen.close(),
    ]


def returning_steps(gen):
    """Steps driving targets.accumulator(99) until it returns 104."""
    return [lambda: next(gen), lambda: gen.send(5)]


def run_reference_steps(reference, steps):
    outcomes, events = [], []
    for step in steps:
        step_outcome, step_events = reference(step)
        outcomes.append(step_outcome)
        events.extend(step_events)
    return outcomes, events


def run_pikos_steps(steps):
    outcomes = []
    for step in steps:
        outcomes.append(harness.outcome(step))
        targets.outside()  # runs between resumptions: must not be recorded
    return outcomes


@pytest.mark.parametrize(("monitor_class", "reference", "record_type"), MONITORS)
@pytest.mark.parametrize(
    ("start", "make_steps"),
    [(1, accumulator_steps), (99, returning_steps)],
    ids=["next-send-throw-close", "return-value"],
)
def test_attached_generator_is_monitored_only_while_its_body_runs(
    monitor_class, reference, record_type, start, make_steps
):
    expected_outcomes, expected = run_reference_steps(
        reference, make_steps(targets.accumulator(start))
    )
    recorder = ListRecorder()
    attached = monitor_class(recorder).attach(targets.accumulator)
    outcomes = run_pikos_steps(make_steps(attached(start)))
    assert outcomes == expected_outcomes
    assert "outside" not in {record.function for record in recorder.records}
    harness.assert_same_events(events_of(recorder.records), expected)
    assert [r.index for r in recorder.records] == list(range(len(recorder.records)))


def test_attached_generator_passes_values_through():
    attached = FunctionMonitor(ListRecorder()).attach(targets.accumulator)
    gen = attached(1)
    assert next(gen) == 2
    assert gen.send(5) == 12
    assert gen.throw(ValueError("abcd")) == 20
    assert gen.close() is None
    with pytest.raises(StopIteration):
        next(gen)


def test_attached_generator_return_value_reaches_stop_iteration_and_yield_from():
    attached = FunctionMonitor(ListRecorder()).attach(targets.accumulator)
    gen = attached(99)
    assert next(gen) == 198
    with pytest.raises(StopIteration) as excinfo:
        gen.send(5)
    assert excinfo.value.value == 104

    def delegator():
        result = yield from attached(99)
        return result

    outer = delegator()
    assert next(outer) == 198
    with pytest.raises(StopIteration) as excinfo:
        outer.send(5)
    assert excinfo.value.value == 104


def test_exception_thrown_into_attached_generator_propagates_unchanged():
    recorder = CountingRecorder()
    attached = FunctionMonitor(recorder).attach(targets.accumulator)
    gen = attached(1)
    next(gen)
    error = KeyError("not handled")
    with pytest.raises(KeyError) as excinfo:
        gen.throw(error)
    assert excinfo.value is error
    assert recorder.prepared
    assert recorder.finalized == len(recorder.prepared)
    assert recorder.records[-1].function == "accumulator"


def test_attached_generator_works_in_a_for_loop():
    def limited(n):
        yield from range(n)

    attached = LineMonitor(ListRecorder()).attach(limited)
    assert list(attached(4)) == [0, 1, 2, 3]
    assert [x for x in attached(2)] == [0, 1]


def test_attached_generator_function_is_still_a_generator_function():
    attached = FunctionMonitor(ListRecorder()).attach(targets.accumulator)
    assert inspect.isgeneratorfunction(attached)
    assert attached.__name__ == "accumulator"
    assert attached.__wrapped__ is targets.accumulator


# --- coroutines ---------------------------------------------------------------


def coroutine_steps(coro):
    return [lambda: coro.send(None), lambda: coro.send(10)]


@pytest.mark.parametrize(("monitor_class", "reference", "record_type"), MONITORS)
def test_attached_coroutine_driven_by_send_matches_the_reference(
    monitor_class, reference, record_type
):
    expected_outcomes, expected = run_reference_steps(
        reference, coroutine_steps(targets.async_add(3))
    )
    assert expected_outcomes == [
        ("returned", "suspended"),
        ("raised", StopIteration, (16,)),
    ]
    recorder = ListRecorder()
    attached = monitor_class(recorder).attach(targets.async_add)
    outcomes = run_pikos_steps(coroutine_steps(attached(3)))
    assert outcomes == expected_outcomes
    harness.assert_same_events(events_of(recorder.records), expected)


def test_attached_coroutine_runs_under_asyncio_without_recording_the_loop():
    recorder = ListRecorder()
    attached = FunctionMonitor(recorder).attach(targets.async_sleeps)
    assert asyncio.run(attached(5)) == 10
    records = recorder.records
    assert (records[0].type, records[0].function) == ("call", "async_sleeps")
    assert (records[-1].type, records[-1].function) == ("return", "async_sleeps")
    assert pikos_frames(records) == []
    loop_files = {"base_events.py", "events.py", "runners.py", "selector_events.py"}
    assert not [r for r in records if os.path.basename(r.filename) in loop_files]
    assert {"helper", "sleep"} <= {record.function for record in records}

    async def outer():
        return await attached(5) + 1

    assert asyncio.run(outer()) == 11


def test_attached_coroutine_function_is_still_a_coroutine_function():
    attached = FunctionMonitor(ListRecorder()).attach(targets.async_add)
    assert inspect.iscoroutinefunction(attached)
    assert attached.__wrapped__ is targets.async_add
