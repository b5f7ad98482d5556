"""Write records as text lines to a stream."""

from pikos import _native
from pikos._specs import TextEncoding
from pikos.errors import RecorderError
from pikos.monitors.records import RECORD_CLASSES
from pikos.recorders.sink_recorder import SinkRecorder


def one_line(value):
    """A string value with its line breaks written as ``\\n`` and ``\\r``
    (each record is one line, as the native encoder writes it); any other
    value as it is."""
    if isinstance(value, str) and ("\n" in value or "\r" in value):
        return value.replace("\n", "\\n").replace("\r", "\\r")
    return value


class TextStreamRecorder(SinkRecorder):
    """Write records to a text stream, one line each.

    The first ``prepare`` writes a header (the field names, or the record's
    ``header`` template when ``formatted``) and a line of dashes as wide.
    Each record is a line: its values joined by spaces, or the record's
    ``line`` template when ``formatted``.

        >>> import io
        >>> from pikos.monitors.records import FunctionRecord
        >>> out = io.StringIO()
        >>> r = TextStreamRecorder(out)
        >>> r.prepare(FunctionRecord)
        >>> r.record(FunctionRecord(0, "call", "f", 1, "a.py"))
        >>> r.finalize()
        >>> print(out.getvalue(), end="")
        index type function lineNo filename
        -----------------------------------
        0 call f 1 a.py

    Records are formatted in pikos' core and written in batches; with
    ``auto_flush`` every record is written and the stream flushed at once.

    Plain tuples (``prepare(tuple)``, or a monitor's ``record_type=tuple``)
    are written as rows only, with no header; formatted, they use the line
    template of the monitor's record kind.
    """

    _headerless_tuples = True

    def __init__(self, text_stream, filter_=None, formatted=False, auto_flush=False):
        super().__init__(filter_, self._make_sink(text_stream, auto_flush))
        self._stream = text_stream
        self._formatted = formatted
        self._auto_flush = auto_flush
        self._templates = None

    def _make_sink(self, text_stream, auto_flush):
        return _native.Sink.stream(text_stream, auto_flush)

    def _open(self, record_type, kind, fields):
        header, self._templates = self._header(record_type, kind, fields)
        native = self._templates is None or all(
            _native.template_supported(t) for t in self._templates
        )
        if native:
            encoder = TextEncoding(*(self._templates or ()))
            names = None if header is None else list(fields)
            self._prepare_sink(kind, encoder, self._native_filters or [], names)
        else:
            self._prepare_sink(kind, TextEncoding(), [], None)
            if header is not None:
                self._write_header_text(header)
        return native

    def _prepare_sink(self, kind, encoder, filters, header):
        self._sink.prepare(kind, encoder, filters, header)

    def _write_header_text(self, header):
        self._sink.write_text(f"{header}\n{'-' * len(header)}\n")

    def _header(self, record_type, kind, fields):
        """The header text (None for plain tuples: no header) and the
        (header, line) templates when formatted."""
        if not self._formatted:
            if self._headerless:
                return None, None
            return " ".join(map(one_line, fields)), None
        source = record_type
        if not isinstance(getattr(record_type, "line", None), str) and kind:
            source = RECORD_CLASSES[kind]  # plain tuples: the kind's templates
        header, line = getattr(source, "header", None), getattr(source, "line", None)
        if not (isinstance(header, str) and isinstance(line, str)):
            raise RecorderError(
                f"formatted text needs 'header' and 'line' templates on the "
                f"record type; {record_type!r} has none"
                + (
                    " (plain tuples take the templates of the monitor's record "
                    "kind: prepare the recorder from a monitor)"
                    if self._headerless
                    else ""
                )
            )
        if self._headerless:
            return None, (header, line)
        return header.format(*map(one_line, fields)), (header, line)

    def _encodes_natively(self, data):
        if not super()._encodes_natively(data):
            return False
        # Formatted rows use the prepared record type's templates.
        return not self._formatted or type(data) is self._record_type

    def _format(self, data):
        values = [one_line(value) for value in data]
        if self._formatted:
            template = getattr(type(data), "line", None)
            if not isinstance(template, str):
                template = self._templates[1]
            return template.format(*values) + "\n"
        return " ".join(str(value) for value in values) + "\n"

    def record(self, data):
        """Record ``data`` when the filter keeps it."""
        super().record(data)
        if self._auto_flush and self._stream is not None:
            self._sink.flush()
