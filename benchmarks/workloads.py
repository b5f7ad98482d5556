"""Workloads for the pikos overhead benchmarks.

Each workload is a plain function taking an integer ``repeats``; the amount of
work (and so the number of interpreter events) is proportional to it, which
lets slow configurations run a scaled-down copy and be scaled back up.

A workload says which kind of events it stresses (``"function"``: profile
events, ``"line"``: trace line events), so that run.py only pairs it with
the configurations that make sense for it. Add new workloads to WORKLOADS.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    kind: str  # "function" or "line": which events it is meant to stress
    func: Callable[[int], object]
    repeats: int  # repeats for the full-size run; must divide by the scale-downs

    def runner(self, divisor: int = 1) -> Callable[[], object]:
        """The zero-argument callable that the configurations time."""
        if self.repeats % divisor:
            raise ValueError(f"{self.name}: {self.repeats} repeats not / {divisor}")
        repeats = self.repeats // divisor
        func = self.func

        def run() -> object:
            return func(repeats)

        return run


# --- call-heavy: recursion and method calls --------------------------------

FIB_N = 18  # fib(18) makes 8361 calls
VECTOR_STEPS = 4_000  # each step: 4 Python calls and 1 builtin call
CALL_HEAVY_REPEATS = 20  # so that 1/20 and 1/10 scale-downs stay exact


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


class Vector:
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    def add(self, other: Vector) -> Vector:
        return Vector(self.x + other.x, self.y + other.y)

    def dot(self, other: Vector) -> int:
        return self.x * other.x + self.y * other.y


class Walker:
    """A recursive method, so that recursion also goes through bound methods."""

    def __init__(self, fanout: int) -> None:
        self.fanout = fanout

    def walk(self, depth: int) -> int:
        if depth == 0:
            return 1
        # A plain loop, not a comprehension: comprehensions are frames of their
        # own before 3.12 and inlined after, which would change the counts.
        total = 1
        for _ in range(self.fanout):
            total += self.walk(depth - 1)
        return total


def call_heavy(repeats: int) -> int:
    total = 0
    walker = Walker(3)
    for _ in range(repeats):
        total += fib(FIB_N)
        total += walker.walk(6)
        acc = Vector(0, 0)
        for i in range(VECTOR_STEPS):
            v = Vector(i, 1)
            acc = acc.add(v)
            total += abs(acc.dot(v))
    return total


WORKLOADS: dict[str, Workload] = {
    "call-heavy": Workload(
        name="call-heavy",
        description="recursive functions, methods and a recursive method",
        kind="function",
        func=call_heavy,
        repeats=CALL_HEAVY_REPEATS,
    ),
}


# --- event counting ----------------------------------------------------------


def count_profile_events(run: Callable[[], object]) -> Counter[str]:
    """Count the sys.setprofile events that ``run()`` produces, by event type.

    Events of this function's own frame (the return from sys.setprofile and
    the call that removes the hook) are left out, so the count is what a
    monitor wrapped tightly around ``run()`` should record.
    """
    counts: Counter[str] = Counter()
    own_code = sys._getframe().f_code

    def hook(frame, event, arg):
        if frame.f_code is not own_code:
            counts[event] += 1

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        run()
    finally:
        sys.setprofile(previous)
    return counts
