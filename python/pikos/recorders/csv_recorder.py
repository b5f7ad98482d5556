"""Write records as CSV rows to a stream."""

import csv
import io

from pikos import _native
from pikos._specs import CsvEncoding, TextEncoding
from pikos.recorders.sink_recorder import SinkRecorder


def _quotes_line_breaks():
    """Whether this Python's csv quotes \\r/\\n even when the line terminator
    does not contain them (3.13 does)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="!").writerow(["a\rb"])
    return out.getvalue().startswith('"')


_QUOTES_LINE_BREAKS = _quotes_line_breaks()
_NATIVE_QUOTING = (csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC)


def csv_encoder(csv_kwargs):
    """The native encoder spec for ``csv.writer(..., **csv_kwargs)``, or
    None when only Python's csv module can write that dialect.  Bad kwargs
    raise here, as ``csv.writer`` would."""
    dialect = csv.writer(io.StringIO(), **csv_kwargs).dialect
    if dialect.quoting not in _NATIVE_QUOTING or (
        dialect.delimiter == " " and dialect.skipinitialspace
    ):
        return None
    return CsvEncoding(
        delimiter=dialect.delimiter,
        quotechar=dialect.quotechar,
        escapechar=dialect.escapechar,
        doublequote=dialect.doublequote,
        lineterminator=dialect.lineterminator,
        quoting=dialect.quoting,
        quote_line_breaks=_QUOTES_LINE_BREAKS,
    )


class CSVRecorder(SinkRecorder):
    """Write records to ``stream`` as CSV: the header row is the record's
    field names, then one row per record.  The dialect is Python's ``excel``
    (``,``, minimal ``"`` quoting, ``\\r\\n``) changed by ``**csv_kwargs`` as
    for ``csv.writer``; the bytes are what ``csv.writer`` would write.

        >>> import io
        >>> from pikos.monitors.records import FunctionRecord
        >>> out = io.StringIO()
        >>> r = CSVRecorder(out, lineterminator="\\n")
        >>> r.prepare(FunctionRecord)
        >>> r.record(FunctionRecord(0, "call", "f", 1, "a, b.py"))
        >>> r.finalize()
        >>> print(out.getvalue(), end="")
        index,type,function,lineNo,filename
        0,call,f,1,"a, b.py"

    With ``auto_flush`` each record is written to the stream, and the stream
    flushed, as it comes; otherwise records are written in batches.  Other
    keyword arguments are ``csv.writer``'s.

    Plain tuples (``prepare(tuple)``, or a monitor's ``record_type=tuple``)
    are written as rows only, with no header row.
    """

    _headerless_tuples = True

    def __init__(self, stream, filter_=None, auto_flush=False, **csv_kwargs):
        self._csv_kwargs = csv_kwargs
        self._encoder = csv_encoder(csv_kwargs)
        super().__init__(filter_, self._make_sink(stream, auto_flush))

    def _make_sink(self, stream, auto_flush):
        return _native.Sink.stream(stream, auto_flush)

    def _open(self, record_type, kind, fields):
        if self._encoder is None:
            self._prepare_sink(kind, TextEncoding(), [], None)
            if not self._headerless:
                self._write_header_text(self._format(fields))
            return False
        names = None if self._headerless else list(fields)
        self._prepare_sink(kind, self._encoder, self._native_filters or [], names)
        return True

    def _prepare_sink(self, kind, encoder, filters, header):
        self._sink.prepare(kind, encoder, filters, header)

    def _write_header_text(self, header):
        self._sink.write_text(header)

    def _format(self, data):
        out = io.StringIO()
        csv.writer(out, **self._csv_kwargs).writerow(data)
        return out.getvalue()
