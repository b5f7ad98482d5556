"""Functions whose line events are easy to get wrong: one-line loops and
functions, comprehensions, exceptions, generators, coroutines, match.  The
``sys.monitoring`` line hook must report exactly what the legacy trace hook
reports for each of them."""

import contextlib


def loops(n):
    t = 0
    for i in range(n): t += i
    while n: n -= 1
    for i in range(3):
        if i % 2:
            continue
        t += 1
    else:
        t -= 1
    return t


def comprehensions(n):
    a = [x * 2 for x in range(n) if x]
    b = {x: x for x in range(n)}
    c = sum(x for x in range(n))
    return sum(a) + len(b) + c


def exceptions(n):
    try:
        1 / 0
    except ZeroDivisionError:
        n += 1
    finally:
        n += 2
    try:
        raise ValueError(n)
    except ValueError:
        pass
    try:
        try:
            raise KeyError(n)
        finally:
            n += 1
    except KeyError:
        n += 1
    return n


def with_blocks(n):
    with contextlib.nullcontext():
        n += 1
    with contextlib.suppress(ValueError):
        raise ValueError
    return n


def generator(n):
    for i in range(n):
        yield i
    yield from range(2)


def consume_generators(n):
    total = list(generator(n))
    g = generator(n)
    next(g)
    try:
        g.throw(RuntimeError("into the generator"))
    except RuntimeError:
        pass
    return total


def one_liner(n): return [n for _ in range(3)]


def lambdas(n):
    f = lambda k: k + 1
    return sorted(range(n), key=lambda k: -k)[0] + f(n)


def breaks(n):
    while True:
        n += 1
        if n > 5: break
    x = (n if n
         else 0)
    return x


def nested(n):
    def inner(k):
        return k + 1
    return inner(n) + inner(n)


def matching(n):
    match n:
        case 1:
            return 1
        case [a, b]:
            return a + b
        case {"k": v}:
            return v
        case _:
            return 0


async def coroutine(n):
    for i in range(n):
        await _Suspend()
    return n


class _Suspend:
    def __await__(self):
        yield


def drive_coroutine(n):
    coro = coroutine(n)
    try:
        while True:
            coro.send(None)
    except StopIteration as stop:
        return stop.value


def recursive(n):
    if n <= 1:
        return 1
    return n * recursive(n - 1)


def class_body(n):
    class Local:
        x = n
        y = [n for _ in range(2)]
    return Local.x


def run_all(n=4):
    return [
        loops(n),
        comprehensions(n),
        exceptions(n),
        with_blocks(n),
        consume_generators(n),
        one_liner(n),
        lambdas(n),
        breaks(n),
        nested(n),
        [matching(v) for v in (1, [2, 3], {"k": 4}, n)],
        drive_coroutine(n),
        recursive(n),
        class_body(n),
    ]


FUNCTIONS = [
    loops, comprehensions, exceptions, with_blocks, generator,
    consume_generators, one_liner, lambdas, breaks, nested, matching,
    coroutine, drive_coroutine, recursive, class_body, run_all,
]


def all_codes():
    """Every code object in this module's functions, nested ones too."""
    codes = []

    def walk(code):
        codes.append(code)
        for const in code.co_consts:
            if hasattr(const, "co_lines"):
                walk(const)

    for function in FUNCTIONS:
        walk(function.__code__)
    walk(_Suspend.__await__.__code__)
    return codes
