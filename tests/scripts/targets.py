"""Small target functions for the monitor, attach, filter and recorder tests.

They live outside tests/*.py so that their events are never mistaken for
events of the test harness.
"""

import asyncio


def leaf(x):
    return x + 1


def middle(x):
    values = [leaf(i) for i in range(x)]
    return sum(values) + len(values)


def work(n=3):
    total = 0
    for i in range(n):
        total += middle(i)
    try:
        divmod(total, 0)
    except ZeroDivisionError:
        total += 1
    return sorted([total, n, 1], key=abs)


def after_pikos():
    return leaf(1) * 2


def thread_work():
    return leaf(10)


def raising(exc):
    leaf(0)
    raise exc


def quoted():
    x = "a, \"b\""
    y = 'it''s'
    z = "multi\nline"
    return x + y + z


def unicode_source():
    word = "café ✓"
    return word


def countdown_recursive(n):
    if n == 0:
        return 0
    return countdown_recursive(n - 1) + 1


# --- generator targets -------------------------------------------------------

def helper(x):
    return x * 2


def outside():
    return helper(100)


def accumulator(start):
    """Yield running totals; understands send, throw(ValueError), close."""
    total = start
    try:
        while True:
            try:
                received = yield helper(total)
            except ValueError as exc:
                received = len(str(exc))
            if received is None:
                received = 1
            total += received
            if total > 100:
                return total
    finally:
        helper(-1)


# --- coroutine targets ---------------------------------------------------------

class Suspend:
    def __await__(self):
        value = yield "suspended"
        return value


async def async_add(a):
    b = await Suspend()
    return helper(a) + b


async def async_sleeps(a):
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return helper(a)


# --- a class with a method ---------------------------------------------------------

class Scaler:
    def __init__(self, factor):
        self.factor = factor

    def scale(self, x):
        return leaf(x) * self.factor
