"""Robustness with asyncio (issue 8): attached coroutines and async
generators, and monitors used inside a coroutine around concurrent tasks.
Values, exceptions and cancellation pass through unchanged, and the hook
that was there before comes back.

The statistics of a suspended coroutine (how StatsMonitor counts a resume)
are not checked here; only functions that never suspend are counted in
StatsMonitor's totals.
"""

import asyncio
import inspect
import sys
from collections import Counter

import pytest
from pikos.monitors.api import FunctionMonitor, StatsMonitor
from pikos.recorders.api import ListRecorder


def leaf(x):
    return x * 2


def between(x):
    """Called by a consumer outside the attached function's body."""
    return x + 1


async def fetch(x):
    await asyncio.sleep(0)
    return leaf(x)


async def failing(error):
    await asyncio.sleep(0)
    leaf(1)
    raise error


async def compute(x):
    """A coroutine that never suspends."""
    return leaf(x) + 1


async def compute_failing(error):
    leaf(2)
    raise error


async def ticker(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield leaf(i)


async def task_body(k):
    for _ in range(k):
        await asyncio.sleep(0)
    return leaf(k)


MINE = {"fetch", "failing", "compute", "leaf", "between", "ticker", "task_body"}


def own_events(records):
    """(type, function) of this file's functions' call and return records."""
    return [
        (r.type, r.function)
        for r in records
        if r.filename == __file__
        and r.type in ("call", "return")
        and r.function in MINE
    ]


def reference_events(run, *functions):
    """What a Python profile hook set around the whole of ``run()`` sees of
    ``functions``' frames: their call and return events, in order."""
    codes = {f.__code__ for f in functions}
    events = []

    def hook(frame, event, arg):
        if event in ("call", "return") and frame.f_code in codes:
            events.append((event, frame.f_code.co_name))

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        result = run()
    finally:
        sys.setprofile(previous)
    return result, events


def stats_calls(monitor):
    """{function name: calls} of this file's functions."""
    return {
        key[2]: value[1]
        for key, value in monitor.snapshot().items()
        if key[0] == __file__
    }


# --- attach(async function) ------------------------------------------------------


def test_attached_coroutine_is_recorded_while_awaited():
    recorder = ListRecorder()
    attached = FunctionMonitor(recorder).attach(fetch)
    assert inspect.iscoroutinefunction(attached)
    assert attached.__name__ == "fetch" and attached.__wrapped__ is fetch
    before = sys.getprofile()
    assert asyncio.run(attached(3)) == 6
    assert sys.getprofile() is before
    # Suspended at the sleep (a return), resumed (a call), then leaf.
    assert own_events(recorder.records) == [
        ("call", "fetch"),
        ("return", "fetch"),
        ("call", "fetch"),
        ("call", "leaf"),
        ("return", "leaf"),
        ("return", "fetch"),
    ]
    _, expected = reference_events(lambda: asyncio.run(fetch(3)), fetch, leaf)
    assert own_events(recorder.records) == expected
    # Only the coroutine's body: nothing of the event loop that drives it.
    assert {r.filename for r in recorder.records} == {
        __file__,
        asyncio.tasks.__file__,
    }
    assert [r.index for r in recorder.records] == list(range(len(recorder.records)))


def test_attached_coroutine_exception_passes_through():
    recorder = ListRecorder()
    attached = FunctionMonitor(recorder).attach(failing)
    error = LookupError("from the coroutine")
    before = sys.getprofile()
    with pytest.raises(LookupError) as excinfo:
        asyncio.run(attached(error))
    assert excinfo.value is error
    assert sys.getprofile() is before
    assert own_events(recorder.records) == [
        ("call", "failing"),
        ("return", "failing"),
        ("call", "failing"),
        ("call", "leaf"),
        ("return", "leaf"),
        ("return", "failing"),
    ]


def test_attached_coroutine_cancelled_passes_through():
    recorder = ListRecorder()

    async def waiter(started, never):
        started.set()
        await never.wait()

    attached = FunctionMonitor(recorder).attach(waiter)
    before = sys.getprofile()

    async def main():
        started, never = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(attached(started, never))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert asyncio.run(main()) is True
    assert sys.getprofile() is before
    events = [
        (r.type, r.function)
        for r in recorder.records
        if r.function == "waiter" and r.type in ("call", "return")
    ]
    # Started, suspended in never.wait(), resumed by the cancellation, left.
    assert events == [
        ("call", "waiter"),
        ("return", "waiter"),
        ("call", "waiter"),
        ("return", "waiter"),
    ]


def test_stats_monitor_attached_coroutine():
    monitor = StatsMonitor()
    attached = monitor.attach(compute)
    before = sys.getprofile()
    assert asyncio.run(attached(4)) == 9
    assert asyncio.run(attached(5)) == 11
    assert sys.getprofile() is before
    calls = stats_calls(monitor)
    assert calls == {"compute": 2, "leaf": 2}


def test_stats_monitor_attached_coroutine_exception_passes_through():
    monitor = StatsMonitor()
    attached = monitor.attach(compute_failing)
    error = ValueError("stats")
    with pytest.raises(ValueError) as excinfo:
        asyncio.run(attached(error))
    assert excinfo.value is error
    assert stats_calls(monitor) == {"compute_failing": 1, "leaf": 1}


def test_stats_monitor_attached_suspending_coroutine_counts_its_callees():
    monitor = StatsMonitor()
    attached = monitor.attach(fetch)
    assert asyncio.run(attached(7)) == 14
    assert stats_calls(monitor)["leaf"] == 1


# --- with monitor: inside a coroutine, around tasks ------------------------------


async def gather_under(monitor):
    with monitor:
        results = await asyncio.gather(task_body(1), task_body(2), task_body(3))
    between(0)  # after the block: not recorded
    return results


async def gather_plain():
    return await asyncio.gather(task_body(1), task_body(2), task_body(3))


def test_function_monitor_inside_coroutine_records_the_tasks():
    recorder = ListRecorder()
    before = sys.getprofile()
    assert asyncio.run(gather_under(FunctionMonitor(recorder))) == [2, 4, 6]
    assert sys.getprofile() is before
    counts = Counter(own_events(recorder.records))
    # Each task_body(k) starts once and is resumed after each of its k
    # sleeps: 1 + k calls, as many returns.
    assert counts == {
        ("call", "task_body"): 2 + 3 + 4,
        ("return", "task_body"): 2 + 3 + 4,
        ("call", "leaf"): 3,
        ("return", "leaf"): 3,
    }
    _, expected = reference_events(lambda: asyncio.run(gather_plain()), task_body, leaf)
    assert own_events(recorder.records) == expected
    assert [r.index for r in recorder.records] == list(range(len(recorder.records)))


def test_stats_monitor_inside_coroutine_counts_the_tasks_callees():
    monitor = StatsMonitor()
    assert asyncio.run(gather_under(monitor)) == [2, 4, 6]
    calls = stats_calls(monitor)
    assert calls["leaf"] == 3
    assert "between" not in calls


# --- attach(async generator function) ----------------------------------------------


async def consume(agen_function, n):
    values = []
    async for value in agen_function(n):
        values.append(value)
        between(value)  # the consumer's code: outside the generator's body
    return values


def test_attached_async_generator_is_recorded_while_its_body_runs():
    recorder = ListRecorder()
    attached = FunctionMonitor(recorder).attach(ticker)
    before = sys.getprofile()
    assert asyncio.run(consume(attached, 3)) == [0, 2, 4]
    assert sys.getprofile() is before
    _, expected = reference_events(
        lambda: asyncio.run(consume(ticker, 3)), ticker, leaf
    )
    events = own_events(recorder.records)
    assert Counter(events)[("call", "leaf")] == 3
    assert events == expected
    assert ("call", "between") not in events


def test_attached_async_generator_function_stays_one():
    attached = FunctionMonitor(ListRecorder()).attach(ticker)
    assert attached.__name__ == "ticker" and attached.__wrapped__ is ticker
    assert inspect.isasyncgenfunction(attached)


def test_attached_async_generator_aclose_and_athrow_pass_through():
    recorder = ListRecorder()
    attached = FunctionMonitor(recorder).attach(ticker)

    async def main():
        agen = attached(5)
        first = await agen.__anext__()
        error = KeyError("thrown in")
        with pytest.raises(KeyError) as excinfo:
            await agen.athrow(error)
        assert excinfo.value is error
        await agen.aclose()
        closed = attached(5)
        assert await closed.__anext__() == 0
        await closed.aclose()
        with pytest.raises(StopAsyncIteration):
            await closed.__anext__()
        return first

    before = sys.getprofile()
    assert asyncio.run(main()) == 0
    assert sys.getprofile() is before
    assert Counter(own_events(recorder.records))[("call", "leaf")] == 2
