"""Target functions of tests/test_stats_monitor.py.

Deterministic call counts: no list comprehensions (inlined on 3.12+), no
caches, no imports at call time.  The tests rely on the counts written next
to each function.
"""

import threading
import time


def fib(n):
    """fib(15): 1973 calls, 1 of them primitive."""
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


class Box:
    def __init__(self):
        self.items = []

    def put(self, item):
        """One list.append, one len per call."""
        self.items.append(item)
        return len(self.items)


def squares(n):
    """A generator of n values: n + 1 calls when consumed to the end."""
    for i in range(n):
        yield i * i


def loop(n):
    """1 Box(), n Box.put, 2n len, 2n list.append, n time.sleep, 1 sorted."""
    box = Box()
    out = []
    for i in range(n):
        out.append(len(out))
        box.put(i)
        time.sleep(0)
    return sorted(out, reverse=True)


def consume(n):
    """squares(n) consumed by a for loop."""
    total = 0
    for value in squares(n):
        total += value
    return total


def workload():
    """fib(15), loop(10), consume(7)."""
    fib(15)
    loop(10)
    consume(7)


def helper(x):
    return x + 1


def repeat(n):
    """helper called n times."""
    total = 0
    for i in range(n):
        total += helper(i)
    return total


def helped(n):
    """A generator: n values from helper, n + 1 calls when exhausted."""
    for i in range(n):
        yield helper(i)


class Boom(Exception):
    pass


def explode(error):
    """Calls helper once, then raises error."""
    helper(0)
    raise error


def tick():
    """A steady function for the live tests."""
    time.sleep(0.002)


def only_in_new_thread():
    return 1


def only_in_old_thread():
    return 2


def new_thread_body(n):
    for _ in range(n):
        only_in_new_thread()


def old_thread_body(go, done, n):
    go.wait(10)
    for _ in range(n):
        only_in_old_thread()
    done.set()


def start_old_thread(n):
    """A thread running before the monitor is enabled: it calls
    only_in_old_thread n times once `go` is set, then sets `done`."""
    go, done = threading.Event(), threading.Event()
    thread = threading.Thread(target=old_thread_body, args=(go, done, n))
    thread.start()
    return thread, go, done
