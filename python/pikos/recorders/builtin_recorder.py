"""What a built-in recorder offers the monitors, in one place.

A monitor drives any recorder through ``prepare``/``record``/``finalize``
(:class:`~pikos.recorders.abstract_recorder.AbstractRecorder`), and custom
recorders need nothing more.  A built-in recorder is also a
:class:`BuiltinRecorder`: the monitors check that once (in the type's MRO,
``hook_monitor.builtin``) and then use the methods below, which let the hook feed
the recorder's native sink directly, tell it about forks and threads, and
get a write error back rather than raised.  Not part of the public API.
"""

from pikos.recorders.abstract_recorder import AbstractRecorder


class BuiltinRecorder(AbstractRecorder):
    """Base of the recorders pikos ships (not part of the public API)."""

    #: Whether the recorder writes timed function records only (the trace
    #: formats): a function monitor then records time and thread.
    _pikos_needs_timed = False

    #: ``ZeroMQRecorder`` alone publishes a ``StatsMonitor``'s or a
    #: ``LineStatsMonitor``'s totals: it sets this to a method that opens a
    #: session of that monitor (``"stats"`` or ``"line_stats"``) and returns
    #: the sink the totals go to.
    _pikos_prepare_stats = None

    def _pikos_prepare(self, record_type, kind, native_ok):
        """``prepare(record_type)`` for a monitor of record kind ``kind``;
        return the native sink when the hook may push events into it
        (``native_ok``: the record type is the kind's default or ``tuple``),
        else None and the monitor calls ``record()`` per event."""
        raise NotImplementedError

    def _pikos_finalize(self):
        """``finalize()`` for a monitor: a write error is returned (for the
        monitor to report as a stopped recording), not raised."""
        self.finalize()
        return None

    def _pikos_thread_names(self, names):
        """At the end of a session: the monitor's threads, ident -> name
        (those that ended included)."""

    def _pikos_pause_for_fork(self):
        """Before ``fork``: no thread of this recorder runs."""

    def _pikos_resume_after_fork(self):
        """In the parent after ``fork``: the recorder's threads run again."""

    def _pikos_forget_after_fork(self):
        """In a forked child: the output stays the parent's; this copy
        records nothing more."""
