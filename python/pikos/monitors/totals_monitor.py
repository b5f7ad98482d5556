"""What the two monitors that keep totals instead of records share:
:class:`~pikos.monitors.stats_monitor.StatsMonitor` (per function, as
``cProfile``) and :class:`~pikos.monitors.line_stats_monitor.LineStatsMonitor`
(per line, as ``line_profiler``).  The totals live in the core; a
ZeroMQRecorder, when given, gets them every ``publish_every`` seconds from a
native thread, and once more, final, at ``disable``."""

from pikos import _native
from pikos.monitors.hook_monitor import HookMonitor, builtin, check_all_threads

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


class TotalsMonitor(HookMonitor):
    """A monitor whose hook feeds native totals (no record per event).

    A subclass names its totals (``_totals_class``: a ``_native`` class;
    ``_totals_hook``: the keyword the hook is installed with), what it
    publishes (``_topic``: the argument of ``_pikos_prepare_stats``, None
    for the function statistics), what its label and errors call the
    totals (``_what``, ``_keeps``) and its ``_threading_slot``."""

    _totals_class = None
    _totals_hook = None
    _topic = None
    _what = "statistics"
    _keeps = "get the totals"

    def _setup_totals(self, recorder, publish_every, all_threads):
        publishes = builtin(recorder) is not None and recorder._pikos_prepare_stats
        if recorder is not None and not publishes:
            raise TypeError(
                f"{type(self).__name__} publishes its totals on a ZeroMQRecorder, "
                f"not {recorder!r} (recorder=None keeps them for {self._keeps})"
            )
        self._publish_every = check_publish_every(publish_every)
        self._recorder = recorder
        self._builtin = builtin(recorder)
        self._record_type = None
        self._hook = _native.Hook(self._kind)
        self._hook.set_label(f"{type(self).__name__} -> {self._what}")
        self._all_threads = check_all_threads(all_threads)
        self._totals = getattr(_native, self._totals_class)()
        self._sink = None
        self._depth = 0
        self._error = None
        self._thread_names = {}
        self._start_thread = self._hook_new_thread

    @property
    def publish_every(self):
        """Seconds between the totals published on the recorder."""
        return self._publish_every

    def _install(self):
        # On 3.12+ the totals come from sys.monitoring unless PIKOS_HOOK
        # says "legacy" (the interpreter's hook).
        self._hook.set_backend()
        sink = None
        if self._recorder is not None:
            topic = () if self._topic is None else (self._topic,)
            sink = self._builtin._pikos_prepare_stats(*topic)
            try:
                self._totals.start_publishing(sink, self._publish_every)
            except BaseException:
                self._recorder.finalize()
                raise

        def undo():
            if sink is not None:
                self._totals.stop_publishing()
                self._recorder.finalize()

        self._install_hook(undo, **{self._totals_hook: self._totals})
        self._sink = sink

    def _finish(self):
        self._error = self._hook.take_error()
        # What is still running is counted up to now (cProfile does so at
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
