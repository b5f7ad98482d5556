"""Live function statistics: what ``cProfile`` measures, aggregated in the
core as the program runs, and published over ZeroMQ while it runs."""

import marshal
import os

from pikos.monitors.hook_monitor import _PROFILE_SLOT
from pikos.monitors.totals_monitor import TotalsMonitor

__all__ = ["StatsMonitor"]


def _add(a, b):
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _merge_into(table, key, numbers):
    """Add ``numbers`` to ``table[key]`` (as cProfile merges callers)."""
    table[key] = _add(table[key], numbers) if key in table else numbers


def pstats_of(rows):
    """The ``pstats`` dict of the core's totals ``rows`` (``Stats.rows()``,
    ``_native.capture_stats``): ``{(filename, line, name): (primitive
    calls, calls, own seconds, cumulative seconds, callers)}``."""
    stats = {}
    for key, cc, nc, tt, ct, callers in rows:
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


class StatsMonitor(TotalsMonitor):
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

    _totals_class = "Stats"
    _totals_hook = "stats"
    _keeps = "dump_stats and print_stats only"
    _threading_slot = _PROFILE_SLOT

    def __init__(self, recorder=None, *, publish_every=0.25, all_threads=False):
        self._setup_totals(recorder, publish_every, all_threads)
        #: The totals as ``pstats`` reads them, set by :meth:`create_stats`.
        self.stats = {}

    def snapshot(self):
        """The totals so far, in ``pstats`` form:
        ``{(filename, line, name): (primitive calls, calls, own seconds,
        cumulative seconds, callers)}``, where ``callers`` maps each caller
        to its ``(calls, primitive calls, own, cumulative)``, the order
        ``cProfile`` uses there.  Calls still running count up to now."""
        return pstats_of(self._totals.rows())

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
