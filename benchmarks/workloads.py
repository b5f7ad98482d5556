"""Workloads for the pikos overhead benchmarks.

Each workload is a plain function taking an integer ``repeats``; the amount of
work (and so the number of interpreter events) is proportional to it, which
lets slow configurations run a scaled-down copy and be scaled back up.

A workload says which kind of events it stresses (``"function"``: profile
events, ``"line"``: trace line events), so that run.py only pairs it with
the configurations that make sense for it. Add new workloads to WORKLOADS.

``PIKOS_BENCH_SMOKE=1`` in the environment shrinks the work of one repeat
(smaller loops and recursion), never the repeats, so every row and every
scale-down still runs, in seconds: a check that the benchmarks work and
write the same report, whose numbers mean nothing.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from types import CodeType

SMOKE = os.environ.get("PIKOS_BENCH_SMOKE") == "1"


def size(full: int, smoke: int) -> int:
    """``full``, or ``smoke`` under PIKOS_BENCH_SMOKE=1."""
    return smoke if SMOKE else full


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    kind: str  # "function" or "line": which events it is meant to stress
    func: Callable[[int], object]
    repeats: int  # repeats for the full-size run; must divide by the scale-downs
    # The Python functions whose lines the workload runs (for line_profiler).
    functions: tuple[Callable[..., object], ...] = ()

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

FIB_N = size(18, 8)  # fib(18) makes 8361 calls
VECTOR_STEPS = size(4_000, 40)  # each step: 4 Python calls and 1 builtin call
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


# --- mixed: builtins, small classes and methods -----------------------------------

MIXED_STEPS = size(2_700, 30)  # about 22 profile events per step
MIXED_REPEATS = 20
NAMES = ("bolt", "nut", "washer", "gear", "spring")


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


class Inventory:
    def __init__(self) -> None:
        self.items: dict[str, int] = {}
        self.log: list[str] = []

    def add(self, name: str, count: int) -> None:
        self.items[name] = self.items.get(name, 0) + count
        self.log.append(name)

    def size(self) -> int:
        return len(self.items)

    def smallest(self) -> int:
        return min(self.items.values())


def mixed(repeats: int) -> int:
    """What application code looks like to a profiler: many small methods
    and builtin calls (``min``, ``len``, ``dict.get``, ``list.append``)
    rather than deep recursion."""
    total = 0
    for _ in range(repeats):
        inventory = Inventory()
        for i in range(MIXED_STEPS):
            point = Point(i % 7 - 3, i % 5 - 2)
            inventory.add(NAMES[i % len(NAMES)], point.norm1())
            total += inventory.size() + max(point.x, point.y)
        total += inventory.smallest()
    return total


# --- line-heavy: plain loops, few calls ---------------------------------------

COLLATZ_LIMIT = size(300, 20)  # Collatz steps of 1..299: 299 calls and ~58,000 lines
SIEVE_LIMIT = size(7_500, 200)  # a sieve of Eratosthenes below 7,500: ~42,000 lines
LINE_HEAVY_REPEATS = 20  # ~100,000 line events each; 1/20 and 1/10 stay exact


def collatz_steps(n: int) -> int:
    steps = 0
    while n != 1:
        if n % 2:
            n = 3 * n + 1
        else:
            n //= 2
        steps += 1
    return steps


def sieve(limit: int) -> int:
    flags = [True] * limit
    count = 0
    for i in range(2, limit):
        if flags[i]:
            count += 1
            for j in range(i * i, limit, i):
                flags[j] = False
    return count


def line_heavy(repeats: int) -> int:
    total = 0
    for _ in range(repeats):
        for n in range(1, COLLATZ_LIMIT):
            total += collatz_steps(n)
        total += sieve(SIEVE_LIMIT)
    return total


# --- n-body: a numeric kernel of floats, few calls ----------------------------
#
# The classic five-body simulation (the Sun and the four gas giants), pure
# Python floats: about 180 line events per step, 37 steps per call.

SOLAR_MASS = 4 * 3.141592653589793**2
DAYS_PER_YEAR = 365.24
NBODY_STEPS = size(37, 1)
NBODY_REPEATS = 300  # ~2,000,000 line events in all; 1/20 and 1/10 stay exact


def nbody_system() -> list[list[float]]:
    """Positions, velocities and masses: [x, y, z, vx, vy, vz, mass] each."""
    d, m = DAYS_PER_YEAR, SOLAR_MASS
    return [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, m],
        [4.84, -1.16, -0.10, 0.00166 * d, 0.00770 * d, -0.0000690 * d, 0.000954 * m],
        [8.34, 4.12, -0.40, -0.00277 * d, 0.00500 * d, 0.0000230 * d, 0.000286 * m],
        [12.89, -15.11, -0.22, 0.00296 * d, 0.00238 * d, -0.0000296 * d, 0.0000437 * m],
        [15.38, -25.92, 0.18, 0.00268 * d, 0.00163 * d, -0.0000951 * d, 0.0000515 * m],
    ]


def advance(bodies: list[list[float]], dt: float) -> None:
    count = len(bodies)
    for i in range(count):
        a = bodies[i]
        for j in range(i + 1, count):
            b = bodies[j]
            dx = a[0] - b[0]
            dy = a[1] - b[1]
            dz = a[2] - b[2]
            distance2 = dx * dx + dy * dy + dz * dz
            mag = dt / (distance2 * distance2**0.5)
            a_mass, b_mass = a[6] * mag, b[6] * mag
            a[3] -= dx * b_mass
            a[4] -= dy * b_mass
            a[5] -= dz * b_mass
            b[3] += dx * a_mass
            b[4] += dy * a_mass
            b[5] += dz * a_mass
    for body in bodies:
        body[0] += dt * body[3]
        body[1] += dt * body[4]
        body[2] += dt * body[5]


def energy(bodies: list[list[float]]) -> float:
    total = 0.0
    for i, a in enumerate(bodies):
        total += 0.5 * a[6] * (a[3] * a[3] + a[4] * a[4] + a[5] * a[5])
        for b in bodies[i + 1 :]:
            dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
            total -= a[6] * b[6] / (dx * dx + dy * dy + dz * dz) ** 0.5
    return total


def nbody(repeats: int) -> float:
    total = 0.0
    for _ in range(repeats):
        bodies = nbody_system()
        for _ in range(NBODY_STEPS):
            advance(bodies, 0.01)
        total += energy(bodies)
    return total


def never_called() -> None:
    """The focus of the focused monitors' rows: no workload ever calls it."""
    raise AssertionError("never_called was called")


WORKLOADS: dict[str, Workload] = {
    "call-heavy": Workload(
        name="call-heavy",
        description="recursive functions, methods and a recursive method",
        kind="function",
        func=call_heavy,
        repeats=CALL_HEAVY_REPEATS,
    ),
    "mixed": Workload(
        name="mixed",
        description=(
            "small classes, method calls and builtins (min, len, dict.get, "
            "list.append), as application code has them"
        ),
        kind="function",
        func=mixed,
        repeats=MIXED_REPEATS,
    ),
    "line-heavy": Workload(
        name="line-heavy",
        description=(
            "plain loops (Collatz steps of 1..299 and a sieve of Eratosthenes), "
            "about 330 line events per call"
        ),
        kind="line",
        func=line_heavy,
        repeats=LINE_HEAVY_REPEATS,
        functions=(line_heavy, collatz_steps, sieve),
    ),
    "n-body": Workload(
        name="n-body",
        description=(
            "a numeric kernel: the five-body simulation in pure Python floats, "
            "about 180 line events per step"
        ),
        kind="line",
        func=nbody,
        repeats=NBODY_REPEATS,
        functions=(nbody, advance, energy),
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


def count_line_events(
    run: Callable[[], object], codes: Collection[CodeType] | None = None
) -> Counter[str]:
    """Count the sys.settrace events that ``run()`` produces, by event type.

    The trace function returns itself, so every frame is traced line by line
    (what a C-level trace hook sees). Events of this function's own frame are
    left out, as in count_profile_events; the ``"line"`` entry is what a line
    monitor wrapped tightly around ``run()`` should record. With ``codes``,
    only frames running one of them are traced: what a focused line monitor
    on those code objects records.
    """
    counts: Counter[str] = Counter()
    own_code = sys._getframe().f_code

    def tracer(frame, event, arg):
        if frame.f_code is not own_code:
            counts[event] += 1
        return tracer

    def dispatch(frame, event, arg):
        return tracer if frame.f_code in codes else None

    previous = sys.gettrace()
    sys.settrace(tracer if codes is None else dispatch)
    try:
        run()
    finally:
        sys.settrace(previous)
    return counts


def count_events(workload: Workload, run: Callable[[], object]) -> int:
    """The events of ``run()`` that ``workload``'s kind of monitor records:
    all profile events for ``"function"``, trace ``line`` events for ``"line"``.
    """
    if workload.kind == "line":
        return count_line_events(run)["line"]
    return sum(count_profile_events(run).values())
