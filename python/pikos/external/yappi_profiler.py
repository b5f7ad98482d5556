"""``yappi`` as a pikos monitor (the optional ``yappi`` package:
``pip install 'pikos[yappi]'``)."""

import sys

from pikos import _OWN_PREFIX
from pikos.monitors.monitor import Monitor

__all__ = ["YappiProfiler"]

#: The clocks yappi measures with.
CLOCK_TYPES = ("cpu", "wall")


def _import_yappi():
    try:
        import yappi
    except ImportError as exc:
        raise ImportError(
            "YappiProfiler needs the yappi package: pip install yappi "
            "(or pikos[yappi])",
            name="yappi",
        ) from exc
    return yappi


class YappiProfiler(Monitor):
    """yappi (per-function statistics, all threads, CPU or wall clock) as a
    re-entrant pikos monitor.

    yappi is process-global: one profiler, one set of statistics and one
    clock per process.  Only one YappiProfiler should run at a time, and
    nothing else should start yappi meanwhile: if yappi is already running
    when this profiler starts (outermost :meth:`start`), :class:`RuntimeError`
    is raised rather than sharing it.  The statistics are yappi's too:
    :meth:`clear_stats` clears them for everyone.

        >>> profiler = YappiProfiler(clock_type="wall")
        >>> with profiler:
        ...     _ = sorted([3, 1, 2])
        >>> profiler.print_stats()  # doctest: +SKIP

    Parameters
    ----------
    recorder : must be None (accepted for compatibility with the original
        pikos): yappi's results are read with :meth:`get_func_stats`, not
        recorded.
    builtins : also profile builtin functions (default False).
    clock_type : ``"cpu"`` (default) or ``"wall"``; set before the outermost
        start (yappi only changes its clock while it holds no statistics).
    """

    def __init__(self, recorder=None, builtins=False, clock_type="cpu"):
        self._yappi = _import_yappi()
        if recorder is not None:
            raise ValueError(
                f"YappiProfiler takes no recorder (got {recorder!r}): yappi "
                "keeps its results itself; they are read with get_func_stats() "
                "(or print_stats()), not recorded"
            )
        if not isinstance(clock_type, str) or clock_type.lower() not in CLOCK_TYPES:
            raise ValueError(f"clock_type must be 'cpu' or 'wall', not {clock_type!r}")
        self._builtins = bool(builtins)
        self._clock_type = clock_type.lower()
        self._depth = 0

    @property
    def builtins(self):
        """Whether builtin functions are profiled (by default)."""
        return self._builtins

    def start(self, builtins=None):
        """Start yappi (outermost call only).

        ``builtins`` overrides the constructor's choice for this session; it
        matters only for the outermost call.  Raises :class:`RuntimeError` if
        yappi is already running (started outside this profiler), or if it
        holds statistics measured with the other clock (call
        :meth:`clear_stats` first).
        """
        if self._depth == 0:
            yappi = self._yappi
            if yappi.is_running():
                raise RuntimeError(
                    "yappi is already running (started outside this "
                    "YappiProfiler); yappi is process-global, so only one "
                    "profiler can use it at a time: stop the other one first"
                )
            current = yappi.get_clock_type()
            if current != self._clock_type:
                try:
                    yappi.set_clock_type(self._clock_type)
                except Exception as exc:  # _yappi.error: stats are there
                    raise RuntimeError(
                        f"yappi holds statistics measured with the {current} "
                        f"clock and cannot switch to the {self._clock_type} "
                        "clock: call clear_stats() first"
                    ) from exc
            yappi.start(builtins=self._builtins if builtins is None else builtins)
        self._depth += 1

    def stop(self):
        """Stop yappi (outermost call only); an extra call is harmless."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            self._yappi.stop()

    def enable(self):
        """Same as :meth:`start`."""
        self.start()

    def disable(self):
        """Same as :meth:`stop`."""
        self.stop()

    def is_running(self):
        """True while this profiler has yappi running."""
        return self._depth > 0 and self._yappi.is_running()

    def clock_type(self):
        """The clock yappi measures with now (``yappi.get_clock_type()``):
        ``"cpu"`` or ``"wall"``."""
        return self._yappi.get_clock_type()

    def get_func_stats(self, tag=None, ctx_id=None, filter=None, filter_callback=None):
        """yappi's per-function statistics (``yappi.get_func_stats``, same
        arguments: a ``YFuncStats``, with ``name``, ``module``, ``ncall``,
        ``ttot``...; ``.save(path, type="pstat")`` writes a file ``pstats``
        reads), without pikos' own functions (the ``with`` block's
        ``__exit__``, ``stop``, the ``attach`` wrappers), which yappi sees
        while it starts and stops."""

        def keep(stat):
            if str(stat.module).startswith(_OWN_PREFIX):
                return False
            return filter_callback is None or filter_callback(stat)

        return self._yappi.get_func_stats(
            tag=tag, ctx_id=ctx_id, filter=filter, filter_callback=keep
        )

    def get_thread_stats(self):
        """yappi's per-thread statistics (``yappi.get_thread_stats``)."""
        return self._yappi.get_thread_stats()

    def get_stats(self, *args, **kwargs):
        """The original pikos' name (after the yappi of its day) of
        :meth:`get_func_stats`, which takes the same arguments."""
        return self.get_func_stats(*args, **kwargs)

    def enum_stats(self, fenum):
        """Call ``fenum(stat)`` for each function's statistics (the original
        pikos' name, after the yappi of its day)."""
        for stat in self.get_func_stats():
            fenum(stat)

    def enum_thread_stats(self, fenum=None):
        """Each thread's statistics: ``fenum(stat)`` called for each, or,
        without ``fenum``, returned (``yappi.get_thread_stats``)."""
        stats = self.get_thread_stats()
        if fenum is None:
            return stats
        for stat in stats:
            fenum(stat)
        return None

    def clear(self):
        """Same as :meth:`clear_stats` (the original pikos' name)."""
        self.clear_stats()

    def close(self):
        """Stop yappi whatever the nesting of :meth:`start` calls (the
        original pikos' name); the statistics stay readable."""
        if self._depth:
            self._depth = 1
            self.stop()

    def print_stats(
        self, stream=None, sort_type="ttot", sort_order="desc", limit=None, **options
    ):
        """Print the function statistics (to ``stream``, default stdout),
        sorted by ``sort_type`` (``"ttot"``, ``"tsub"``, ``"ncall"``,
        ``"name"``...); other keyword arguments (``columns``) go to yappi's
        ``print_all``."""
        stats = self.get_func_stats()
        stats.sort(sort_type, sort_order)
        out = sys.stdout if stream is None else stream
        stats.print_all(out=out, limit=limit, **options)

    def clear_stats(self):
        """Clear yappi's statistics (process-wide)."""
        self._yappi.clear_stats()
