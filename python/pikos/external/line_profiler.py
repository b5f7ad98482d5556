"""``line_profiler`` as a pikos monitor (the optional ``line_profiler``
package: ``pip install 'pikos[line_profiler]'``)."""

from pikos.monitors.monitor import Monitor

__all__ = ["LineProfiler"]


def _import_line_profiler():
    try:
        import line_profiler
    except ImportError as exc:
        raise ImportError(
            "LineProfiler needs the line_profiler package: pip install "
            "line_profiler (or pikos[line_profiler])",
            name="line_profiler",
        ) from exc
    return line_profiler


class LineProfiler(Monitor):
    """Line-by-line timings of chosen functions, by ``line_profiler``, as a
    re-entrant pikos monitor.

    Only the functions given to the constructor, to :meth:`add_function` or
    to :meth:`attach` are profiled, and only while the monitor is enabled.
    Nested ``enable``/``disable`` pairs are counted: only the outermost
    ``enable`` starts the line profiler and only the matching outermost
    ``disable`` stops it; an extra ``disable`` does nothing.  Enable and
    disable on the same thread (line_profiler counts per thread).

        >>> profiler = LineProfiler()
        >>> @profiler.attach
        ... def work(n):
        ...     return sum(range(n))
        >>> work(10)
        45
        >>> profiler.print_stats()  # doctest: +SKIP

    The ``line_profiler.LineProfiler`` doing the work is :attr:`profiler`;
    :meth:`get_stats`, :meth:`print_stats` and :meth:`dump_stats` are its
    own (``line_profiler.load_stats`` reads what ``dump_stats`` writes).
    Note that line_profiler gives each profiled function a new code object
    (its bytecode padded with no-ops).
    """

    def __init__(self, *functions):
        line_profiler = _import_line_profiler()
        #: The ``line_profiler.LineProfiler`` instance.
        self.profiler = line_profiler.LineProfiler()
        # The counting methods (line_profiler >= 4) compose with other users
        # of the same inner profiler (its own decorator, kernprof).
        self._start = getattr(self.profiler, "enable_by_count", None)
        self._stop = getattr(self.profiler, "disable_by_count", None)
        if self._start is None or self._stop is None:
            self._start, self._stop = self.profiler.enable, self.profiler.disable
        self._depth = 0
        for function in functions:
            self.add_function(function)

    @property
    def functions(self):
        """The functions profiled (line_profiler's list)."""
        return self.profiler.functions

    def add_function(self, function):
        """Profile the lines of ``function`` (a function, method, property,
        ``functools.partial``...) whenever it runs while the monitor is
        enabled."""
        add = getattr(self.profiler, "add_callable", None)
        if add is None:  # before line_profiler 5: functions only
            add = self.profiler.add_function
        add(function)

    def enable(self):
        """Start line profiling (outermost call only)."""
        if self._depth == 0:
            self._start()
        self._depth += 1

    def disable(self):
        """Stop line profiling (outermost call only); an extra call is
        harmless."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            self._stop()

    def attach(self, function):
        """Add ``function`` to the profiled functions and return it wrapped
        so that the monitor is enabled while it runs (a generator function:
        while its body runs)."""
        self.add_function(function)
        return super().attach(function)

    def get_stats(self):
        """The timings so far: a ``line_profiler.LineStats`` (``timings``
        maps ``(filename, first line, name)`` to ``(line, hits, time)``
        entries; ``unit`` is the time unit in seconds)."""
        return self.profiler.get_stats()

    def print_stats(self, stream=None, output_unit=None, stripzeros=False, **options):
        """Print the per-line report (to ``stream``, default stdout); other
        keyword arguments go to line_profiler's ``print_stats``."""
        self.profiler.print_stats(
            stream=stream, output_unit=output_unit, stripzeros=stripzeros, **options
        )

    def dump_stats(self, filename):
        """Write the timings to ``filename`` (a pickle that
        ``line_profiler.load_stats`` and ``python -m line_profiler`` read)."""
        self.profiler.dump_stats(filename)
