"""``cProfile`` as a pikos monitor."""

import cProfile

from pikos import _OWN_PREFIX
from pikos.monitors.monitor import Monitor

__all__ = ["PythonCProfiler"]


class PythonCProfiler(cProfile.Profile, Monitor):
    """A :class:`cProfile.Profile` that is also a re-entrant pikos monitor.

    The constructor takes what :class:`cProfile.Profile` takes (``timer``,
    ``timeunit``, ``subcalls``, ``builtins``).  Nested ``enable``/``disable``
    pairs (or ``with`` blocks, or calls of attached functions) are counted:
    only the outermost ``enable`` starts cProfile and only the matching
    outermost ``disable`` stops it; an extra ``disable`` does nothing.
    ``attach`` comes from :class:`~pikos.monitors.monitor.Monitor`, so a
    generator function is profiled only while its body runs.  The results
    are cProfile's: ``print_stats``, ``dump_stats``, ``getstats`` and
    ``pstats.Stats(profiler)``.

        >>> import pstats
        >>> profiler = PythonCProfiler()
        >>> with profiler:
        ...     _ = sorted([3, 1, 2])
        >>> stats = pstats.Stats(profiler)

    On Python 3.12+ cProfile takes its events from ``sys.monitoring`` (tool
    id 2, ``sys.monitoring.PROFILER_ID``): while another tool holds that id
    (another cProfile, or line_profiler 5 there) ``enable`` raises
    :class:`ValueError`; the profiler then stays disabled and usable.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._depth = 0

    def enable(self, *args, **kwargs):
        """Start profiling (outermost call only).

        Arguments (``subcalls``, ``builtins``) go to cProfile's ``enable``
        and matter only for the outermost call.
        """
        if self._depth == 0:
            # May raise (3.12+: another profiler holds the tool id): the
            # depth is left at 0 then.
            super().enable(*args, **kwargs)
        self._depth += 1

    def disable(self):
        """Stop profiling (outermost call only); an extra call is harmless."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            super().disable()

    # cProfile.Profile has its own (not re-entrant) context manager, and it
    # comes first in the bases: take the monitor's.
    __enter__ = Monitor.__enter__
    __exit__ = Monitor.__exit__

    def create_stats(self):
        """Snapshot the statistics into ``self.stats`` (what ``pstats``
        reads).

        Unlike :meth:`cProfile.Profile.create_stats` this does not stop the
        profiler: inside a ``with`` block the statistics of the calls that
        have returned so far are read and profiling goes on, so the nesting
        count stays consistent.
        """
        self.snapshot_stats()
        self.stats = _without_pikos(self.stats)


def _without_pikos(stats):
    """``stats`` (pstats' form) without pikos' own frames (the ``with``
    block's ``__exit__``, ``disable``, the ``attach`` wrappers), which
    cProfile sees while it starts and stops, nor the builtins only they
    called, nor them as anyone's caller."""
    own = {key for key in stats if key[0].startswith(_OWN_PREFIX)}
    own |= {
        key
        for key, (*_, callers) in stats.items()
        if key[0] == "~" and callers and own.issuperset(callers)
    }
    return {
        key: (*numbers, {c: v for c, v in callers.items() if c not in own})
        for key, (*numbers, callers) in stats.items()
        if key not in own
    }
