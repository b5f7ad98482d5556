"""Keep records in a list."""

from pikos import _native
from pikos._specs import native_filters
from pikos.filters.checks import check_filter
from pikos.recorders.builtin_recorder import BuiltinRecorder
from pikos.recorders.sink_recorder import fields_of


class ListRecorder(BuiltinRecorder):
    """Keep the records in memory, in ``records``.

        >>> from pikos.monitors.api import FunctionMonitor
        >>> recorder = ListRecorder()
        >>> with FunctionMonitor(recorder):
        ...     _ = abs(-1)
        >>> [(r.type, r.function) for r in recorder.records]
        [('c_call', 'abs'), ('c_return', 'abs')]

    A filter runs at each event, as on every recorder.  Without a filter,
    or with a built-in one (``OnValue``, ``NotOnValue``, ``OnChange``), a
    monitor keeps its events compactly in pikos' core, filtered there, and
    they become record objects when ``records`` is read.  A Python callable
    is called with each record as it happens; if it raises, the monitor
    stops and keeps the error in ``monitor.error``.
    """

    def __init__(self, filter_=None):
        self._filter = check_filter(filter_)
        self._records = []
        self._sink = _native.Sink.memory()
        self._make = None

    @property
    def ready(self):
        """Is the recorder ready to accept data?  (Always.)"""
        return True

    @property
    def records(self):
        """The list of records so far."""
        self._collect()
        return self._records

    @records.setter
    def records(self, value):
        self._collect()
        self._records = value

    def _collect(self):
        if self._make is None:
            return
        rows = self._sink.take_rows()
        if not rows:
            return
        # Built-in filters ran in the core.
        self._records.extend(map(self._make, rows))

    def prepare(self, record):
        """Check the filter against the record's fields."""
        self._native_filters(record, None)

    def _native_filters(self, record_type, kind):
        """The filter as native specs (``[]`` for none), or None when it is
        a Python callable (or has values only Python can compare)."""
        return native_filters(self._filter, fields_of(record_type, kind))

    def _pikos_prepare(self, record_type, kind, native_ok):
        filters = self._native_filters(record_type, kind)
        self._collect()
        if not native_ok or filters is None:
            # The monitor calls record() per event, which filters it then.
            self._make = None
            return None
        self._make = tuple if record_type is tuple else record_type._make
        self._sink.prepare(kind, None, filters, None)
        return self._sink

    def finalize(self):
        """Nothing to finalize."""

    def record(self, data):
        """Append ``data`` when the filter keeps it."""
        self._collect()
        if self._filter is None or self._filter(data):
            self._records.append(data)
