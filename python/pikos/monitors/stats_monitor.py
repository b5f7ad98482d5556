"""Live function statistics: what ``cProfile`` measures, aggregated in the
core as the program runs, and published over ZeroMQ while it runs."""

import marshal
import os

from pikos import _native
from pikos.monitors.hook_monitor import (
    _PROFILE_SLOT,
    HookMonitor,
    builtin,
    check_all_threads,
)

__all__ = ["StatsMonitor"]


#: The range of ``publish_every`` (seconds).
_MIN_PERIOD, _MAX_PERIOD = 0.001, 86400.0


def check_publish_every(value):
    """``publish_every`` checked (seconds, from 0.001 to a day), as a float."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not _MIN_PERIOD <= value <= _MAX_PERIOD
    ):
        raise ValueError(
            f"publish_every must be a number of seconds from {_MIN_PERIOD:g} "
            f"to {_MAX_PERIOD:g}, not {value!r}"
        )
    return float(value)


def _add(a, b):
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _merge_into(table, key, numbers):
    """Add ``numbers`` to ``table[key]`` (as cProfile merges callers)."""
    table[key] = _add(table[key], numbers) if key in table else numbers


class StatsMonitor(HookMonitor):
    """Per-function statistics, as ``cProfile`` gathers them: calls,
    primitive (non-recursive) calls, own time and cumulative time, and the
    same per caller.  The totals are kept in the core (no record per event),
    read at any time, written as a ``.pstats`` file that ``pstats``,
    snakeviz and tuna open, and, given a
    :class:`~pikos.recorders.zeromq_recorder.ZeroMQRecorder`, published as
    running totals every ``publish_every`` seconds (``pikos live`` shows
    them).

        >>> import pstats
        >>> monitor = StatsMonitor()
        >>> with monitor:
        ...     _ = sorted([3, 1, 2])
        >>> stats = pstats.Stats(monitor)
        >>> [name for _, _, name in stats.stats]
        ['<built-in method builtins.sorted>']

    It covers the thread that enables it and threads started while it is
    enabled.  On Python 3.12+ it takes its events from ``sys.monitoring``
    (as ``cProfile`` does there; ``PIKOS_HOOK=legacy``: the profile hook).
    Totals add up over enable/disable sessions; calls still running at
    ``disable`` are counted up to then (as ``cProfile`` does).
    Builtins are named as ``cProfile`` names them
    (``<built-in method builtins.len>``,
    ``<method 'append' of 'list' objects>``).

    Parameters
    ----------
    recorder : None, or a ZeroMQRecorder to publish the totals on.
    publish_every : seconds between published totals (default 0.25).
    all_threads : also cover the threads already running when the monitor is
        enabled (keyword only).  False (the default), as the original pikos:
        the enabling thread and the threads started while it is enabled.
    """

    _kind = "function"

    def __init__(self, recorder=None, *, publish_every=0.25, all_threads=False):
        publishes = builtin(recorder) is not None and recorder._pikos_prepare_stats
        if recorder is not None and not publishes:
            raise TypeError(
                f"StatsMonitor publishes its totals on a ZeroMQRecorder, not "
                f"{recorder!r} (recorder=None keeps them for dump_stats and "
                "print_stats only)"
            )
        self._publish_every = check_publish_every(publish_every)
        self._recorder = recorder
        self._builtin = builtin(recorder)
        self._record_type = None
        self._hook = _native.Hook(self._kind)
        self._hook.set_label(f"{type(self).__name__} -> statistics")
        self._all_threads = check_all_threads(all_threads)
        self._totals = _native.Stats()
        self._sink = None
        self._depth = 0
        self._error = None
        self._thread_names = {}
        self._start_thread = self._hook_new_thread
        self._threading_slot = _PROFILE_SLOT
        #: The totals as ``pstats`` reads them, set by :meth:`create_stats`.
        self.stats = {}

    @property
    def publish_every(self):
        """Seconds between the totals published on the recorder."""
        return self._publish_every

    def _install(self):
        # On 3.12+ the totals come from sys.monitoring unless PIKOS_HOOK
        # says "legacy" (the profile hook).
        self._hook.set_backend()
        sink = None
        if self._recorder is not None:
            sink = self._builtin._pikos_prepare_stats()
            try:
                self._totals.start_publishing(sink, self._publish_every)
            except BaseException:
                self._recorder.finalize()
                raise

        def undo():
            if sink is not None:
                self._totals.stop_publishing()
                self._recorder.finalize()

        self._install_hook(undo, stats=self._totals)
        self._sink = sink

    def _finish(self):
        self._error = self._hook.take_error()
        # Calls still running are counted up to now (cProfile does so at
        # disable), and the final totals are published.
        self._totals.close_all()
        sink, self._sink = self._sink, None
        if sink is not None:
            self._totals.stop_publishing(sink)
            self._finalize_recorder()

    def _stop_in_child(self):
        super()._stop_in_child()
        self._totals.forget_after_fork()
        self._sink = None

    def clear(self):
        """Forget the totals gathered so far."""
        self._totals.clear()

    def snapshot(self):
        """The totals so far, in ``pstats`` form:
        ``{(filename, line, name): (primitive calls, calls, own seconds,
        cumulative seconds, callers)}``, where ``callers`` maps each caller
        to its ``(calls, primitive calls, own, cumulative)``, the order
        ``cProfile`` uses there.  Calls still running count up to now."""
        stats = {}
        for key, cc, nc, tt, ct, callers in self._totals.rows():
            by_caller = {}
            for caller, ccc, cnc, ctt, cct in callers:
                _merge_into(by_caller, caller, (cnc, ccc, ctt, cct))
            if key in stats:  # two code objects at one location: one entry
                old = stats[key]
                for caller, pair in old[4].items():
                    _merge_into(by_caller, caller, pair)
                cc, nc, tt, ct = _add(old[:4], (cc, nc, tt, ct))
            stats[key] = (cc, nc, tt, ct, by_caller)
        return stats

    def create_stats(self):
        """Set :attr:`stats` to a snapshot (what ``pstats.Stats(monitor)``
        calls)."""
        self.stats = self.snapshot()

    def dump_stats(self, path):
        """Write the totals as a ``.pstats`` file (``pstats.Stats(path)``,
        ``snakeviz path``, ``tuna path``)."""
        data = marshal.dumps(self.snapshot())
        with open(os.fspath(path), "wb") as f:
            f.write(data)

    def print_stats(self, sort="cumulative", stream=None):
        """Print the table ``cProfile`` prints, sorted by ``sort`` (a
        ``pstats`` sort key; cumulative time by default)."""
        import pstats

        pstats.Stats(self, stream=stream).strip_dirs().sort_stats(sort).print_stats()
