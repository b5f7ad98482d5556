"""Statistics of generators and coroutines: a suspended frame (``yield``,
an ``await`` that waits) is not a return, and its resume is not a call.
One call per coroutine or generator, on both mechanisms (the legacy profile
hook, and ``sys.monitoring`` on 3.12+)."""

import asyncio
import sys

import pytest
from pikos.monitors.api import StatsMonitor

BACKENDS = ["legacy"] + (["monitoring"] if sys.version_info >= (3, 12) else [])


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    monkeypatch.setenv("PIKOS_HOOK", request.param)
    return request.param


def counts(monitor, *names):
    """name -> (primitive calls, calls) for the functions named."""
    return {
        name: (cc, nc)
        for (_, _, name), (cc, nc, _, _, _) in monitor.snapshot().items()
        if name in names
    }


async def leaf(i):
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return i


async def gather_leaves(n):
    return sum(await asyncio.gather(*(leaf(i) for i in range(n))))


def test_tasks_that_suspend_are_one_call_each(backend):
    monitor = StatsMonitor()
    with monitor:
        result = asyncio.run(gather_leaves(5))
    assert result == 10
    assert monitor._hook.backend == backend
    # cProfile counts 15 for leaf (start and two resumes each) and 2 for
    # gather_leaves.
    assert counts(monitor, "leaf", "gather_leaves") == {
        "leaf": (5, 5),
        "gather_leaves": (1, 1),
    }


def test_an_awaiting_coroutine_does_not_count_its_wait(backend):
    async def waits():
        await asyncio.sleep(0.2)

    monitor = StatsMonitor()
    with monitor:
        asyncio.run(waits())
    ((_, _, own, cumulative, _),) = [
        v for k, v in monitor.snapshot().items() if k[2] == "waits"
    ]
    # The 0.2 s it was suspended are not its time (its running time is
    # microseconds; the bound is loose on purpose).
    assert cumulative < 0.1
    assert own <= cumulative


def numbers(n):
    for i in range(n):  # noqa: UP028 - one frame resumed n times, on purpose
        yield i


def test_a_generator_resumed_many_times_is_one_call(backend):
    monitor = StatsMonitor()
    with monitor:
        total = sum(numbers(100))
    assert total == 4950
    assert counts(monitor, "numbers") == {"numbers": (1, 1)}


def test_a_generator_closed_or_thrown_into_is_one_call(backend):
    def endless():
        while True:
            try:
                yield 1
            except KeyError:
                pass

    monitor = StatsMonitor()
    with monitor:
        g = endless()
        next(g)
        next(g)
        g.throw(KeyError())
        g.close()
        h = endless()
        next(h)
        with pytest.raises(ValueError):
            h.throw(ValueError())
    assert counts(monitor, "endless") == {"endless": (2, 2)}


def test_a_generator_left_suspended_is_counted(backend):
    monitor = StatsMonitor()
    g = numbers(10)
    with monitor:
        assert next(g) == 0
        assert next(g) == 1
    assert counts(monitor, "numbers") == {"numbers": (1, 1)}
    g.close()


def test_recursion_through_coroutines(backend):
    async def depth(n):
        if n:
            await asyncio.sleep(0)
            return await depth(n - 1) + 1
        return 0

    monitor = StatsMonitor()
    with monitor:
        assert asyncio.run(depth(4)) == 4
    # depth(4) awaits depth(3) ...: 5 calls, 1 primitive, as for recursion.
    assert counts(monitor, "depth") == {"depth": (1, 5)}


def test_async_generators(backend):
    async def ticks(n):
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    async def main():
        return [i async for i in ticks(4)]

    monitor = StatsMonitor()
    with monitor:
        assert asyncio.run(main()) == [0, 1, 2, 3]
    assert counts(monitor, "ticks") == {"ticks": (1, 1)}


async def in_turn(n):
    total = 0
    for i in range(n):
        total += await leaf(i)
    return total


def test_attach_on_a_coroutine_function(backend):
    """The monitor is on while the coroutine's own body runs (and what it
    awaits directly), off while it waits: other tasks are not counted."""
    monitor = StatsMonitor()
    attached = monitor.attach(in_turn)

    async def main():
        other = asyncio.ensure_future(gather_leaves(2))  # runs while in_turn waits
        result = await attached(3)
        return result, await other

    assert asyncio.run(main()) == (3, 1)
    assert counts(monitor, "leaf", "in_turn", "gather_leaves") == {
        "leaf": (3, 3),
        "in_turn": (1, 1),
    }
