"""A recorder that keeps nothing."""

from pikos import _native
from pikos.recorders.builtin_recorder import BuiltinRecorder


class DiscardingRecorder(BuiltinRecorder):
    """Count the records and keep none: what a monitor costs without any
    output (the benchmarks' "discarding recorder"), or a monitor kept for
    its side effects.

        >>> from pikos.monitors.api import FunctionMonitor
        >>> recorder = DiscardingRecorder()
        >>> with FunctionMonitor(recorder):
        ...     _ = abs(-1)
        >>> recorder.count
        2

    A monitor feeds it natively: its hook runs, no record object is made.
    """

    def __init__(self):
        self._sink = _native.Sink.discard()
        self._recorded = 0

    @property
    def ready(self):
        """Is the recorder ready to accept data?  (Always.)"""
        return True

    @property
    def count(self):
        """How many records it was given."""
        return self._recorded + self._sink.discarded

    def prepare(self, record):
        """Nothing to prepare."""

    def _pikos_prepare(self, record_type, kind, native_ok):
        if not native_ok:
            return None
        self._sink.prepare(kind, None, [], None)
        return self._sink

    def record(self, data):
        """Count ``data``."""
        self._recorded += 1

    def finalize(self):
        """Nothing to finalize."""
