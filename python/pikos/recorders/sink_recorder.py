"""What the built-in recorders share: a native sink that the monitor's hook
feeds directly, and the rules for records passed in from Python.

A monitor asks ``_pikos_prepare(record_type, kind, native_ok)`` instead of
``prepare(record_type)`` (the protocol of ``builtin_recorder``); it returns
the sink when the hook may push events into it natively (built-in or no
filter, record type the monitor's default or ``tuple``), else None and the
monitor calls ``record()`` per event.
"""

import os

from pikos import _native
from pikos._specs import NativeFilter, native_filters
from pikos.errors import RecorderError
from pikos.filters.checks import check_filter
from pikos.monitors.records import RECORD_CLASSES
from pikos.recorders.builtin_recorder import BuiltinRecorder

# Values the core encodes itself; anything else is formatted by Python.
_NATIVE_ROW_TYPES = frozenset((int, str, type(None)))


def plain_tuples(record_type):
    """Whether ``record_type`` is a plain tuple type (``tuple`` or a subclass
    without ``_fields``): records with values and no field names."""
    return (
        isinstance(record_type, type)
        and issubclass(record_type, tuple)
        and getattr(record_type, "_fields", None) is None
    )


def fields_of(record_type, kind, plain_ok=False):
    """Field names of ``record_type`` (or of the kind's record for tuples).
    With ``plain_ok``, plain tuples of no known kind have none: None."""
    fields = getattr(record_type, "_fields", None)
    if fields is None and kind is not None:
        fields = RECORD_CLASSES[kind]._fields
    if fields is None and plain_ok and plain_tuples(record_type):
        return None
    if fields is None:
        raise TypeError(
            f"cannot record {record_type!r}: a record type needs _fields "
            "(use a namedtuple)"
        )
    return tuple(fields)


def native_row(data):
    """Whether the core can encode ``data`` exactly as Python would."""
    return all(type(value) in _NATIVE_ROW_TYPES for value in data)


def check_output_path(filename):
    """The output path as a ``str`` (``bytes`` and ``str`` paths that are
    not UTF-8 are taken as the OS gives them: surrogate escapes); fail
    early, naming the path, when ``filename`` cannot be a file."""
    path = os.fsdecode(filename)
    if os.path.isdir(path):
        raise IsADirectoryError(
            21, "a recorder's output must be a file, not a directory", path
        )
    return path


class SinkRecorder(BuiltinRecorder):
    """Base of the built-in recorders (not part of the public API)."""

    #: Whether plain tuples (``record_type=tuple``) are written without a
    #: header, as rows of values only (the text and CSV recorders).
    _headerless_tuples = False

    def __init__(self, filter_, sink):
        self._filter = check_filter(filter_)
        self._sink = sink
        self._ready = False
        self._kind = None
        self._record_type = None
        self._native_filters = []
        self._native_rows = False
        self._headerless = False

    @property
    def ready(self):
        """Is the recorder ready to accept data?"""
        return self._ready

    def prepare(self, record):
        """Prepare the recorder for records of class ``record``."""
        self._pikos_prepare(record, None, False)

    def _pikos_prepare(self, record_type, kind, native_ok):
        if not self._ready:
            kind = kind or getattr(record_type, "_pikos_kind", None)
            plain = self._headerless_tuples and plain_tuples(record_type)
            fields = fields_of(record_type, kind, plain_ok=plain)
            self._native_filters = self._compile_filter(fields)
            # Plain tuples: rows of values, no header (the original's rule).
            self._headerless = plain
            self._kind, self._record_type = kind, record_type
            self._native_rows = self._open(record_type, kind, fields)
            self._ready = True
        elif kind is not None and kind != self._kind:
            return None  # shared with a monitor of another kind: slow path
        native_events = self._native_rows and self._native_filters is not None
        if native_ok and native_events and kind is not None:
            return self._sink
        return None

    def _compile_filter(self, fields):
        """Native filter specs (``_specs.native_filters``); plain tuples
        without a monitor have no field names for a built-in filter."""
        if fields is None and isinstance(self._filter, NativeFilter):
            raise RecorderError(
                f"{type(self._filter).__name__} filters by field name, and "
                "plain tuples have no field names: record namedtuples, or "
                "prepare the recorder from a monitor (which knows its fields)"
            )
        return native_filters(self._filter, fields)

    def _open(self, record_type, kind, fields):
        """Open the output and write the header; return whether rows are
        encoded natively (else Python formats every row)."""
        raise NotImplementedError

    def _check_ready(self, method):
        if not self._ready:
            raise RecorderError(
                f"{type(self).__name__}.{method}() called before prepare(): "
                "the recorder is not ready to record"
            )

    def record(self, data):
        """Record ``data`` when the filter keeps it."""
        self._check_ready("record")
        python_filter = self._native_filters is None and self._filter is not None
        if python_filter and not self._filter(data):
            return
        if self._encodes_natively(data):
            # Built-in filters, if any, run in the core with the encoding.
            self._sink.write_row(tuple(data))
            return
        if self._native_filters and not self._filter(data):
            return
        self._sink.write_text(self._format(data))

    def _encodes_natively(self, data):
        return self._native_rows and native_row(data)

    def _format(self, data):
        """``data`` as text, formatted by Python."""
        raise NotImplementedError

    def finalize(self):
        """Write out everything recorded so far."""
        self._check_ready("finalize")
        self._sink.flush()

    def _pikos_finalize(self):
        """``finalize()`` for a monitor: a write error (``OSError``) is
        returned, for the monitor to report as a stopped recording, not
        raised."""
        try:
            self.finalize()
        except OSError as error:
            return error
        return None

    def _pikos_pause_for_fork(self):
        """Before ``fork``: no thread of this recorder runs (see
        ``HookMonitor``)."""
        if self._sink is not None:
            self._sink.pause_for_fork()

    def _pikos_resume_after_fork(self):
        """In the parent after ``fork``: the recorder's threads run again."""
        if self._sink is not None:
            self._sink.resume_after_fork()

    def _pikos_forget_after_fork(self):
        """In a forked child: let the parent write the output (see
        ``HookMonitor``); this copy records nothing more."""
        self._sink.forget_after_fork()
        self._ready = False


#: Seconds within which a file recorder with ``auto_flush`` writes records.
LIVE_FLUSH_SECONDS = 0.1


class OwnFileRecorder:
    """Mixin for the recorders that write a file of their own: a native file
    sink, UTF-8, opened at ``prepare``; a session after ``finalize`` appends
    without a second header.  Put it before the stream recorder class.

    With ``auto_flush`` the file stays current while the program runs:
    records reach it within about 0.1 s, without a write per record.
    """

    #: A private file (a spool) made beforehand by the recorder: the core
    #: opens it without following a link, and never creates it.
    _private = False

    def _init_file(self, filename, auto_flush):
        self._filename = check_output_path(filename)
        self._sessions = 0
        self._flush_every = LIVE_FLUSH_SECONDS if auto_flush else None

    @property
    def filename(self):
        """The output file."""
        return self._filename

    def _make_sink(self, *_stream_args):
        return _native.Sink.file(self._flush_every)

    def _prepare_sink(self, kind, encoder, filters, header):
        first = self._sessions == 0
        self._sink.prepare(
            kind,
            encoder,
            filters,
            header if first else None,
            path=self._filename,
            append=not first,
            private=self._private,
        )

    def _write_header_text(self, header):
        if self._sessions == 0:
            super()._write_header_text(header)

    def finalize(self):
        """Write everything out and close the file.  Again after that (no
        ``prepare`` between): nothing to do, as for the stream recorders."""
        if not self._ready and self._sessions > 0:
            return
        self._check_ready("finalize")
        self._ready = False
        self._sessions += 1
        self._sink.close()
