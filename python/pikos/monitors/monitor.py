"""The base class of monitors: context manager, enable/disable, attach."""

import functools
import inspect


class Monitor:
    """Base class of pikos monitors.

    A monitor is a re-entrant context manager: only the outermost ``enable``
    starts monitoring and only the matching outermost ``disable`` stops it.
    ``attach`` turns it into a decorator::

        monitor = FunctionMonitor(ListRecorder())

        @monitor.attach
        def work():
            ...
    """

    def enable(self):
        """Start monitoring (outermost call only)."""
        raise NotImplementedError

    def disable(self):
        """Stop monitoring (outermost call only); an extra call is harmless."""
        raise NotImplementedError

    def __enter__(self):
        self.enable()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.disable()
        return False

    def attach(self, function):
        """Wrap ``function`` so that the monitor is active while it runs.

        Generator functions, coroutine functions and async generator
        functions are monitored exactly while their body runs; values,
        ``send``, ``throw`` and ``close`` (``asend``, ``athrow``, ``aclose``)
        pass through unchanged.
        """
        return attach(self, function)


def attach(monitor, function):
    """``monitor.attach(function)`` for any monitor with enable/disable."""
    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generator_wrapper(*args, **kwargs):
            return (yield from _drive(monitor, function(*args, **kwargs)))

        return generator_wrapper

    if inspect.isasyncgenfunction(function):

        @functools.wraps(function)
        async def async_generator_wrapper(*args, **kwargs):
            inner = function(*args, **kwargs)
            step = inner.asend(None)
            while True:
                try:
                    item = await _Monitored(monitor, step)
                except StopAsyncIteration:
                    return
                try:
                    value = yield item
                except GeneratorExit:
                    await _Monitored(monitor, inner.aclose())
                    raise
                except BaseException as exc:  # thrown in: pass it on
                    step = inner.athrow(exc)
                else:
                    step = inner.asend(value)

        return async_generator_wrapper

    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def coroutine_wrapper(*args, **kwargs):
            return await _Monitored(monitor, function(*args, **kwargs))

        return coroutine_wrapper

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with monitor:
            return function(*args, **kwargs)

    return wrapper


class _Monitored:
    """An awaitable that runs a coroutine (or an async generator's step)
    with the monitor active."""

    __slots__ = ("_monitor", "_coroutine")

    def __init__(self, monitor, coroutine):
        self._monitor = monitor
        self._coroutine = coroutine

    def __await__(self):
        return (yield from _drive(self._monitor, self._coroutine))


def _drive(monitor, inner):
    """Run generator or coroutine ``inner`` step by step, with the monitor
    enabled only while ``inner`` runs; what the caller sends or throws is
    passed in, what ``inner`` yields or returns is passed out."""
    resume, value = inner.send, None
    while True:
        with monitor:
            try:
                item = resume(value)
            except StopIteration as stop:
                return stop.value
        try:
            value = yield item
        except GeneratorExit:
            with monitor:
                inner.close()
            raise
        except BaseException as exc:  # thrown in by the caller: pass it on
            resume, value = inner.throw, exc
        else:
            resume = inner.send
