"""Keep records in a list."""

from pikos import _native
from pikos.filters.checks import check_filter
from pikos.recorders.abstract_recorder import AbstractRecorder
from pikos.recorders.sink_recorder import fields_of


class ListRecorder(AbstractRecorder):
    """Keep the records in memory, in ``records``.

        >>> from pikos.monitors.api import FunctionMonitor
        >>> recorder = ListRecorder()
        >>> with FunctionMonitor(recorder):
        ...     _ = abs(-1)
        >>> [(r.type, r.function) for r in recorder.records]
        [('c_call', 'abs'), ('c_return', 'abs')]

    When a monitor feeds it, events are kept compactly in pikos' core and
    become record objects (and pass ``filter_``) when ``records`` is read.
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
        records = map(self._make, rows)
        if self._filter is not None:
            records = filter(self._filter, records)
        self._records.extend(records)

    def prepare(self, record):
        """Check the filter against the record's fields."""
        self._check_filter(record, None)

    def _check_filter(self, record_type, kind):
        spec = getattr(self._filter, "_pikos_spec", None)
        if spec is not None:
            spec(fields_of(record_type, kind))  # ValueError for an unknown field

    def _pikos_prepare(self, record_type, kind, native_ok):
        self._check_filter(record_type, kind)
        if not native_ok:
            return None
        self._collect()
        self._make = tuple if record_type is tuple else record_type._make
        self._sink.prepare(kind, None, [], None)
        return self._sink

    def finalize(self):
        """Nothing to finalize."""

    def record(self, data):
        """Append ``data`` when the filter keeps it."""
        self._collect()
        if self._filter is None or self._filter(data):
            self._records.append(data)
