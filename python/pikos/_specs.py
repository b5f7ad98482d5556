"""The typed boundary to Rust: what Python hands the native sinks, one
frozen dataclass per spec, read by Rust by attribute name
(``crates/pikos-python/src/convert.rs``).  Not part of the public API."""

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class CsvEncoding:
    """CSV rows in a ``csv.writer`` dialect the core writes byte for byte
    (``pikos.recorders.csv_recorder.csv_encoder`` makes it)."""

    format: ClassVar[str] = "csv"
    delimiter: str
    quotechar: str | None
    escapechar: str | None
    doublequote: bool
    lineterminator: str
    #: ``csv.QUOTE_MINIMAL``, ``QUOTE_ALL`` or ``QUOTE_NONNUMERIC``.
    quoting: int
    #: Whether ``\\r``/``\\n`` in a value are quoted even when the line
    #: terminator has neither (as this Python's csv does).
    quote_line_breaks: bool


@dataclass(frozen=True, slots=True)
class TextEncoding:
    """Text lines: the values joined by spaces, or, given both, the record's
    ``header`` and ``line`` ``str.format`` templates."""

    format: ClassVar[str] = "text"
    header: str | None = None
    line: str | None = None


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A built-in filter in the form the core runs it (what
    :meth:`NativeFilter._pikos_spec` gives)."""

    #: ``on_value``, ``not_on_value`` or ``on_change``.
    kind: str
    #: The position of the filtered field in the record.
    position: int
    #: The values compared with (none for ``on_change``).
    values: tuple[object, ...] = ()


@dataclass(frozen=True, slots=True)
class PublisherSpec:
    """Where and how a ZeroMQ publisher sink publishes one session
    (``Sink.prepare_publisher``)."""

    #: The ZeroMQ endpoint to bind, or to connect to when ``connect``.
    address: str
    connect: bool
    #: High-water mark, in messages per subscriber.
    hwm: int
    #: Seconds ``close`` may wait for queued messages to go out.
    linger: float
    #: Seconds to wait for a subscriber before the first record (None: none).
    wait: float | None
    #: The session id.
    session: str
    #: The session header, a JSON object.
    header: str


class NativeFilter:
    """The base of the built-in filters (``OnValue``, ``NotOnValue``,
    ``OnChange``): a filter the core can run.  The recorders tell it from any
    other callable by ``isinstance`` (:func:`native_filters`), the one route
    by which a filter reaches the core."""

    __slots__ = ()

    def _pikos_spec(self, fields):
        """The :class:`FilterSpec` of this filter for records with
        ``fields``, or None when its values can only be compared in Python;
        ValueError for a field the records do not have."""
        raise NotImplementedError


def native_filters(filter_, fields):
    """A recorder's ``filter_`` as the specs the core runs: ``[]`` for no
    filter, None when it is a Python callable (or a built-in filter whose
    values only Python can compare), so the recorder filters each record."""
    if filter_ is None:
        return []
    if not isinstance(filter_, NativeFilter):
        return None
    spec = filter_._pikos_spec(fields)  # ValueError: unknown field
    return None if spec is None else [spec]
