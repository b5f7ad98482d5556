"""Decorator factories for the external profilers.

    >>> from pikos.external.api import cprofile
    >>> @cprofile(output="work.pstats")  # doctest: +SKIP
    ... def work():
    ...     return sorted([3, 1, 2])

The decorated function runs under the profiler (``profiler.attach``); the
profiler is the wrapper's ``profiler`` attribute (``work.profiler.print_stats()``).
With ``output=path`` the statistics are written to ``path`` each time an
outermost call returns (for a generator function: when the generator
finishes).  A profiler given as first argument can be shared by several
decorated functions.
"""

import functools
import inspect
import os

from pikos.external.line_profiler import LineProfiler
from pikos.external.python_cprofiler import PythonCProfiler
from pikos.external.yappi_profiler import YappiProfiler

__all__ = ["cprofile", "line_profile", "yappi_profile"]


def cprofile(profiler=None, *, output=None, **options):
    """Profile the decorated function with cProfile.

    ``profiler``: a :class:`PythonCProfiler` to use (default: a new one made
    with ``options``: ``timer``, ``timeunit``, ``subcalls``, ``builtins``).
    ``output``: a path where a ``.pstats`` file (``dump_stats``) is written
    after each outermost call.
    """
    if profiler is None:
        profiler = PythonCProfiler(**options)
    else:
        _check(profiler, PythonCProfiler, "cprofile")
        if options:
            names = ", ".join(sorted(options))
            raise TypeError(
                f"cprofile() takes options ({names}) only to make a new profiler, "
                "not with a given one"
            )
    return _decorator(profiler, output, lambda path: profiler.dump_stats(path))


def line_profile(profiler=None, *, output=None):
    """Profile the lines of the decorated function with line_profiler.

    ``profiler``: a :class:`LineProfiler` to use (default: a new one); the
    decorated function is added to its functions.  ``output``: a path where
    the timings (``dump_stats``; ``line_profiler.load_stats`` reads them)
    are written after each outermost call.  Raises :class:`ImportError`
    without the line_profiler package.
    """
    if profiler is None:
        profiler = LineProfiler()
    else:
        _check(profiler, LineProfiler, "line_profile")
    return _decorator(profiler, output, lambda path: profiler.dump_stats(path))


def yappi_profile(profiler=None, *, output=None, clock_type="cpu", builtins=False):
    """Profile the decorated function with yappi.

    ``profiler``: a :class:`YappiProfiler` to use (default: a new one with
    ``clock_type`` and ``builtins``, which are not used with a given one).
    ``output``: a path where yappi's function statistics are saved as a
    ``.pstats`` file after each outermost call.  Raises :class:`ImportError`
    without the yappi package.  yappi is process-global: see
    :class:`YappiProfiler`.
    """
    if profiler is None:
        profiler = YappiProfiler(builtins=builtins, clock_type=clock_type)
    else:
        _check(profiler, YappiProfiler, "yappi_profile")

    def write(path):
        profiler.get_func_stats().save(path, type="pstat")

    return _decorator(profiler, output, write)


def _check(profiler, expected, factory):
    if not isinstance(profiler, expected):
        hint = ""
        if callable(profiler):  # @cprofile without the parentheses
            hint = f" (use it with parentheses: @{factory}())"
        raise TypeError(
            f"{factory}() takes a {expected.__name__} or None, not {profiler!r}{hint}"
        )


def _decorator(profiler, output, write):
    if output is not None:
        output = os.fspath(output)

    def decorator(function):
        wrapper = profiler.attach(function)
        if output is not None:
            wrapper = _writing(profiler, function, wrapper, lambda: write(output))
        wrapper.profiler = profiler
        return wrapper

    return decorator


def _writing(profiler, function, monitored, write):
    """``monitored`` that calls ``write()`` after each call that leaves the
    profiler disabled (the outermost calls), whether it returns or raises."""

    def write_if_outermost():
        if profiler._depth == 0:
            write()

    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generator_wrapper(*args, **kwargs):
            try:
                return (yield from monitored(*args, **kwargs))
            finally:
                write_if_outermost()

        return generator_wrapper

    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def coroutine_wrapper(*args, **kwargs):
            try:
                return await monitored(*args, **kwargs)
            finally:
                write_if_outermost()

        return coroutine_wrapper

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return monitored(*args, **kwargs)
        finally:
            write_if_outermost()

    return wrapper
