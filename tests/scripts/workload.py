"""A varied, deterministic workload.

The tests run `main()` under pikos and under a pure-Python reference
(`sys.setprofile` / `sys.settrace`) and compare the records event by event.
Keep it deterministic: no caches, no imports or I/O at call time, no
`__del__`, no threads, no clocks.
"""

import contextlib
import functools
import io


# --- recursion ----------------------------------------------------------------

def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


# --- generators: next, send, throw, close, yield from, StopIteration.value -----

def countdown(n):
    received = []
    try:
        while n > 0:
            try:
                value = yield n
            except KeyError as exc:
                received.append(("thrown", str(exc)))
                value = None
            if value is not None:
                received.append(value)
            n -= 1
        return received
    finally:
        received.append("closed")


def delegate(n):
    result = yield from countdown(n)
    return len(result)


def drive_generators():
    gen = countdown(5)
    first = next(gen)
    second = gen.send("hello")
    third = gen.throw(KeyError("boom"))
    gen.close()
    values = [first, second, third]
    values.extend(delegate(2))
    finished = countdown(1)
    next(finished)
    try:
        finished.send("last")
    except StopIteration as stop:
        values.append(stop.value)
    values.append(sum(x * x for x in range(6)))
    return values


# --- exceptions, builtins that raise (c_exception) ------------------------------

class WorkloadError(Exception):
    pass


def fail(depth):
    if depth == 0:
        raise WorkloadError("bottom")
    return fail(depth - 1)


def bad_key(value):
    if value == 2:
        raise ValueError("no key for 2")
    return value


def exceptions():
    caught = []
    try:
        fail(3)
    except WorkloadError as exc:
        caught.append(exc.args[0])
    try:
        divmod(1, 0)
    except ZeroDivisionError:
        caught.append("divmod")
    try:
        {}.pop("missing")
    except KeyError:
        caught.append("pop")
    try:
        next(iter(()))
    except StopIteration:
        caught.append("next")
    try:
        sorted([3, 1, 2], key=bad_key)
    except ValueError:
        caught.append("sorted")
    try:
        try:
            int("not a number")
        except ValueError as exc:
            raise WorkloadError("wrapped") from exc
    except WorkloadError as exc:
        caught.append(type(exc.__cause__).__name__)
    finally:
        caught.append("finally")
    caught.append(getattr(caught, "missing", "default"))
    caught.append(hasattr(caught, "append"))
    return caught


# --- classes: __init__, super, methods, properties, static/class methods --------

class Shape:
    def __init__(self, name):
        self.name = name

    @property
    def label(self):
        return f"<{self.name}>"

    def area(self):
        return 0.0

    def describe(self):
        return f"{self.label} with area {self.area():.2f}"


class Rect(Shape):
    def __init__(self, width, height):
        super().__init__("rect")
        self.width = width
        self.height = height

    def area(self):
        return self.width * self.height

    @property
    def size(self):
        return self.width, self.height

    @size.setter
    def size(self, value):
        self.width, self.height = value

    @staticmethod
    def unit():
        return Rect(1, 1)

    @classmethod
    def square(cls, side):
        return cls(side, side)

    def __repr__(self):
        return f"Rect({self.width}, {self.height})"

    def __lt__(self, other):
        return self.area() < other.area()


def shapes():
    rects = [Rect(3, 2), Rect.square(2), Rect.unit()]
    rects[0].size = (4, 5)
    ordered = sorted(rects, key=lambda r: r.area())
    also = sorted(rects)
    text = [r.describe() for r in ordered]
    text.append(repr(max(rects, key=Rect.area)))
    text.append(str(also[0].size))
    return text


# --- comprehensions and lambdas --------------------------------------------------

def comprehensions():
    data = list(range(10))
    evens = [x for x in data if x % 2 == 0]
    squares = {x: x * x for x in evens}
    odds = {x for x in data if x % 2}
    doubled = list(map(lambda v: v * 2, evens))
    kept = list(filter(lambda v: v > 2, doubled))
    nested = [[i * j for j in range(3)] for i in range(3)]
    total = functools.reduce(lambda a, b: a + b, kept, 0)
    words = sorted(["pear", "Apple", "fig"], key=str.lower)
    return evens, squares, sorted(odds), kept, nested, total, words


# --- with statements ---------------------------------------------------------------

class Resource:
    def __init__(self, log):
        self.log = log

    def __enter__(self):
        self.log.append("enter")
        return self

    def __exit__(self, exc_type, exc, tb):
        self.log.append(("exit", exc_type.__name__ if exc_type else None))
        return exc_type is KeyError


@contextlib.contextmanager
def managed(log):
    log.append("setup")
    try:
        yield len(log)
    finally:
        log.append("teardown")


def with_statements():
    log = []
    with Resource(log) as res:
        res.log.append("body")
    with Resource(log):
        raise KeyError("suppressed")
    with managed(log) as count:
        log.append(count)
    return log


# --- closures, decorators, *args/**kwargs ----------------------------------------

def make_counter():
    count = 0

    def increment(step=1):
        nonlocal count
        count += step
        return count

    return increment


def passthrough(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


@passthrough
def add(a, b=0, *rest, **options):
    return a + b + sum(rest) + len(options)


def closures():
    increment = make_counter()
    increment()
    increment(5)
    return add(1, 2, 3, 4, flag=True), increment(step=2)


# --- loops, match, multi-line statements --------------------------------------------

def loops(n):
    total = 0
    i = 0
    while True:
        i += 1
        if i % 3 == 0:
            continue
        if i > n:
            break
        total += i
    for k in range(3):
        pass
    else:
        total += k
    match total:
        case 0:
            kind = "zero"
        case int(x) if x > 10:
            kind = "big"
        case _:
            kind = "small"
    return total, kind


def multiline():
    values = dict(
        a=1,
        b=len(
            "abc"
        ),
    )
    text = (
        "x"
        + str(values["b"])
    )
    return text


# --- code without source, text, printing ---------------------------------------------

EXEC_SOURCE = (
    "def generated(x):\n"
    "    y = x + 1\n"
    "    return y * 2\n"
    "result = generated(3)\n"
)


def dynamic():
    namespace = {}
    exec(compile(EXEC_SOURCE, "<workload-exec>", "exec"), namespace)
    return namespace["result"]


def unicode_text():
    word = "héllo wörld ✓"
    buffer = io.StringIO()
    print(word.upper(), f"{len(word):>4}", sep="|", file=buffer)
    return buffer.getvalue()


# --- coroutines driven by hand -----------------------------------------------------

class Suspend:
    def __await__(self):
        value = yield "suspended"
        return value


async def async_add(a):
    b = await Suspend()
    return a + b


def coroutines():
    coro = async_add(1)
    first = coro.send(None)
    try:
        coro.send(41)
    except StopIteration as stop:
        return first, stop.value
    return first, None


def main():
    return [
        fib(7),
        drive_generators(),
        exceptions(),
        shapes(),
        comprehensions(),
        with_statements(),
        closures(),
        loops(10),
        multiline(),
        dynamic(),
        unicode_text(),
        coroutines(),
    ]


if __name__ == "__main__":
    print(main())
