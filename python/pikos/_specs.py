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
    """A built-in filter in the form the core runs it (``_pikos_spec`` of
    ``OnValue``, ``NotOnValue`` and ``OnChange``)."""

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
