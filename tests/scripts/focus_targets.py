"""Target functions for the focused and memory monitor tests.

They live outside tests/*.py so that their events are never mistaken for
events of the test harness. Line numbers of some functions are asserted
exactly (relative to ``co_firstlineno``): keep their bodies as they are.
"""

import functools
import threading

BLOCK_SIZE = 200 << 20  # 200 MiB
WAIT = 30  # seconds; only a guard against a deadlock, never reached


def leaf(x):
    return x + 1


def callee(x):
    return leaf(x) * 2


def focused(x):
    n = len([x])
    return callee(x) + n


def outer():
    a = callee(1)
    b = focused(2)
    c = callee(3)
    return a + b + c


def twice():
    leaf(0)
    focused(1)
    leaf(2)
    focused(3)
    return leaf(4)


# --- recursion ----------------------------------------------------------------


def recursive(n):
    if n == 0:
        return leaf(0)
    return recursive(n - 1) + 1


def run_recursive():
    leaf(-1)
    value = recursive(3)
    leaf(-2)
    return value


# --- two focused functions, nested focused functions ---------------------------


def first():
    return leaf(1)


def second():
    return leaf(2)


def between():
    leaf(0)
    first()
    leaf(0)
    second()
    return leaf(0)


def inner(x):
    return leaf(x)


def nesting(x):
    a = inner(x)
    b = leaf(x)
    c = inner(x + 1)
    return a + b + c


def run_nesting():
    leaf(-1)
    value = nesting(1)
    inner(-2)
    return value


# --- generators ------------------------------------------------------------------


def counting(n):
    for i in range(n):
        yield leaf(i)
    callee(n)


def drive_generator():
    generator = counting(3)
    a = next(generator)
    leaf(10)
    b = next(generator)
    leaf(11)
    rest = list(generator)
    leaf(12)
    return a, b, rest


# --- exceptions ------------------------------------------------------------------


def raising(x):
    leaf(x)
    raise ValueError(x)


def catcher():
    leaf(-1)
    try:
        raising(1)
    except ValueError:
        leaf(-2)
    return leaf(-3)


# --- threads ---------------------------------------------------------------------


def shared(x):
    return leaf(x)


def focused_then_shared(inside, go):
    """Focused: signal that the window is open, wait, then call shared."""
    inside.set()
    go.wait(WAIT)
    return shared(1)


def shared_when_other_is_inside(inside, go):
    """Not focused: call shared while the other thread is inside its window."""
    inside.wait(WAIT)
    try:
        return shared(2)
    finally:
        go.set()


def run_two_threads():
    inside, go = threading.Event(), threading.Event()
    workers = [
        threading.Thread(target=focused_then_shared, args=(inside, go)),
        threading.Thread(target=shared_when_other_is_inside, args=(inside, go)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT)
    return [worker.is_alive() for worker in workers]


# --- enabling inside a focused function ----------------------------------------


def enable_here(monitor):
    leaf(0)
    monitor.enable()
    leaf(1)
    return leaf(2)


def enable_below(monitor):
    leaf(0)
    enable_here(monitor)
    return callee(3)


# --- the accepted kinds of `functions=` -----------------------------------------


class Kinds:
    def method(self, x):
        return leaf(x)

    @staticmethod
    def static(x):
        return leaf(x)

    @classmethod
    def klass(cls, x):
        return leaf(x)


def passing_through(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)

    return wrapper


@passing_through
@passing_through
def decorated(x):
    return leaf(x)


# --- memory ----------------------------------------------------------------------


def allocate_and_free(size=BLOCK_SIZE):
    block = b"x" * size
    kept = len(block)
    del block
    return kept


def focused_allocation():
    leaf(0)
    kept = allocate_and_free()
    return leaf(kept)


# --- disabling inside a focused function, focus across threads -----------------


def disable_here(monitor):
    leaf(0)
    monitor.disable()
    return leaf(1)


def spawner():
    worker = threading.Thread(target=leaf, args=(1,))
    worker.start()
    worker.join(WAIT)
    return leaf(2)
