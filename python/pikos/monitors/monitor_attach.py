"""``MonitorAttach``: a decorator that runs functions inside a context
manager (a monitor, or any other: a ``cProfile.Profile`` too)."""

from pikos.monitors.monitor import attach

__all__ = ["MonitorAttach"]


def _is_context_manager(obj):
    kind = type(obj)
    return callable(getattr(kind, "__enter__", None)) and callable(
        getattr(kind, "__exit__", None)
    )


class MonitorAttach:
    """Decorate functions so that they run inside ``obj``'s context.

        >>> import cProfile
        >>> profile = cProfile.Profile()
        >>> @MonitorAttach(profile)
        ... def work(n):
        ...     return sum(range(n))
        >>> work(10)
        45

    ``obj`` is kept as ``_monitor_object``.  Functions, generator functions,
    coroutine functions and async generator functions are all wrapped as
    :meth:`pikos.monitors.monitor.Monitor.attach` wraps them (the context is
    entered only while their body runs).  The decorator factories of
    :mod:`pikos.api` return instances of this class.
    """

    def __init__(self, obj):
        if not _is_context_manager(obj):
            raise TypeError(
                f"MonitorAttach needs a context manager (with __enter__ and "
                f"__exit__), not {obj!r}"
            )
        self._monitor_object = obj

    def __call__(self, function):
        """``function`` wrapped: same name, signature and result, run with
        the monitor object's context entered."""
        if not callable(function):
            raise TypeError(f"cannot decorate {function!r}: it is not callable")
        return self._wrap(function)

    def _wrap(self, function):
        return attach(self._monitor_object, function)

    def __repr__(self):
        return f"{type(self).__name__}({self._monitor_object!r})"
