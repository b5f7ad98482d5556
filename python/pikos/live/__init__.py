"""Read a live pikos stream: what a
:class:`~pikos.recorders.zeromq_recorder.ZeroMQRecorder` or a
:class:`~pikos.monitors.stats_monitor.StatsMonitor` publishes.

    >>> from pikos.live import subscribe
    >>> for message in subscribe(timeout=0.1):  # pikos-run ... --live
    ...     print(message.kind, message.pid, message.data)

Each message is a :class:`Message`: a session header (``kind ==
"header"``: pid, host, monitor, field names), a batch of records
(``"records"``: ``records`` decoded as tuples in the header's field order),
running statistics (``"stats"``), running line totals (``"lines"``: the
hottest lines), or a session's end marker (``"end"``).
``dropped`` counts the messages of that session lost before this one (the
publisher never waits for a slow viewer: it drops, and the sequence numbers
show it).  The format is ``docs/wire-format.md``; nothing here is needed to
read it (any ZeroMQ SUB socket and a JSON parser will do).

:func:`read` gives the same messages from a capture file (``.pikos``,
``docs/capture-format.md``), the stream's file form.
"""

import json
import math
from dataclasses import dataclass, field

from pikos import _native

__all__ = [
    "Message",
    "Session",
    "BadMessage",
    "subscribe",
    "read",
    "decode",
    "check_address",
    "WIRE_VERSION",
    "DEFAULT_ADDRESS",
    "MAX_SESSIONS",
]

#: The wire format version this pikos writes and reads.
WIRE_VERSION = _native.WIRE_VERSION

#: Where ``ZeroMQRecorder()`` publishes and ``pikos live`` connects by
#: default: a Unix socket in a directory only this user can enter
#: (``$XDG_RUNTIME_DIR/pikos/live``, else ``/tmp/pikos-UID/live``; TCP on
#: Windows).  The core owns this rule (docs/security.md).
DEFAULT_ADDRESS = _native.DEFAULT_LIVE_ADDRESS

#: ZeroMQ transports that can reach another process.
TRANSPORTS = ("tcp", "ipc", "pgm", "epgm", "tipc", "vmci", "ws", "wss")

# What a reader takes from the stream (docs/wire-format.md, "Limits"):
# anything larger, deeper or of another type is a BadMessage.
#: An envelope's bytes.
MAX_ENVELOPE_BYTES = 4096
#: A session id's characters.
MAX_SESSION_ID = 128
#: A header's or an end marker's bytes.
MAX_HEADER_BYTES = 256 * 1024
#: A statistics payload's bytes and rows.
MAX_STATS_BYTES = 8 * 2**20
MAX_STATS_ROWS = 100_000
#: One record's bytes (a line of a records payload).
MAX_RECORD_BYTES = 64 * 1024
#: How deep a header's values nest (``{"argv": [...]}`` is 2).
MAX_HEADER_DEPTH = 4
#: Sessions a reader keeps (the least recently heard from is forgotten).
MAX_SESSIONS = 64


def check_address(address, bind):
    """Raise ValueError unless ``address`` is a ZeroMQ endpoint another
    process can use (``tcp://HOST:PORT``, ``ipc://PATH``, ...).  A binding
    end may use ``tcp://HOST:*`` (any free port).

    libzmq itself would take ``tcp://HOST:99999`` as port 34463 (modulo
    65536) and ``inproc://`` as an endpoint no other process reaches, so
    both are refused here, for every pikos end of a stream."""
    example = "such as ipc:///run/user/1000/pikos/live or tcp://127.0.0.1:9001"
    if not isinstance(address, str):
        raise ValueError(f"{address!r} is not a ZeroMQ address: give one {example}")
    transport, separator, rest = address.partition("://")
    if not separator or not transport or not rest:
        raise ValueError(f"{address!r} is not a ZeroMQ address: give one {example}")
    if transport == "inproc":
        raise ValueError(
            f"{address}: inproc:// only reaches threads of one process; give an "
            f"address {example}"
        )
    if transport not in TRANSPORTS:
        raise ValueError(
            f"{address}: unknown transport {transport!r} (choose from "
            f"{', '.join(TRANSPORTS)})"
        )
    if transport == "tcp":
        host, colon, port = rest.rpartition(":")
        if not colon or not host:
            raise ValueError(f"{address}: a tcp address is tcp://HOST:PORT")
        if port == "*" and bind:
            return
        if not (port.isdigit() and 1 <= int(port) <= 65535):
            also = " or * (any free port)" if bind else ""
            raise ValueError(
                f"{address}: the port must be a number 1-65535{also}, not {port!r}"
            )


_KINDS = {
    b"pikos.header": "header",
    b"pikos.records": "records",
    b"pikos.stats": "stats",
    b"pikos.lines": "lines",
    b"pikos.end": "end",
}


class BadMessage(ValueError):
    """A message that does not follow the wire format (of this version):
    the text names what is wrong.  Readers drop such messages and count
    them."""


def _reject_constant(name):
    raise BadMessage(f"{name} is not JSON (the stream is strict JSON)")


def _load(data, limit, what):
    """``data`` (bytes) parsed as JSON, at most ``limit`` bytes long (None:
    any length)."""
    if limit is not None and len(data) > limit:
        raise BadMessage(f"{what} of {len(data):,} bytes (at most {limit:,})")
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise BadMessage(f"{what} nests too deep") from None
    except BadMessage:
        raise
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise BadMessage(f"{what} is not JSON: {error}") from None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    if isinstance(value, float):
        return math.isfinite(value)
    return _is_int(value)


def _check_depth(value, limit, what):
    """Raise unless ``value`` nests at most ``limit`` containers deep (no
    recursion: a deep value must not exhaust the stack of its checker)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                raise BadMessage(f"{what} nests deeper than {limit} levels")
            items = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in items)


def _want(condition, what):
    if not condition:
        raise BadMessage(what)


def _envelope(kind, data):
    envelope = _load(data, MAX_ENVELOPE_BYTES, "the envelope")
    _want(isinstance(envelope, dict), "the envelope is not a JSON object")
    version = envelope.get("version")
    if version != WIRE_VERSION or not _is_int(version):
        raise BadMessage(
            f"pikos wire format version {version!r} (this pikos reads "
            f"version {WIRE_VERSION}): upgrade the older side"
        )
    session = envelope.get("session")
    _want(
        isinstance(session, str) and 0 < len(session) <= MAX_SESSION_ID,
        f"the envelope's session is not a string of 1-{MAX_SESSION_ID} "
        f"characters: {str(session)[:40]!r}",
    )
    for key in ("pid", "seq"):
        value = envelope.get(key)
        _want(
            _is_int(value) and 0 <= value < 2**63,
            f"the envelope's {key} is not a number >= 0: {str(value)[:40]!r}",
        )
    _want(
        _is_number(envelope.get("time")),
        f"the envelope's time is not a number: {str(envelope.get('time'))[:40]!r}",
    )
    count = envelope.get("records")
    if kind == "records" or count is not None:
        _want(
            _is_int(count) and count >= 0,
            f"the envelope's records is not a number >= 0: {str(count)[:40]!r}",
        )
    return envelope


#: The types of a header's documented keys (others may be added: any JSON
#: of at most MAX_HEADER_DEPTH levels).
_HEADER_TYPES = {
    "monitor": (str,),
    "record": (str, type(None)),
    "host": (str,),
    "program": (str,),
    "python": (str,),
}


def _header(data, limit=MAX_HEADER_BYTES):
    header = _load(data, limit, "the header")
    _want(isinstance(header, dict), "the header is not a JSON object")
    _check_depth(header, MAX_HEADER_DEPTH, "the header")
    for key, types in _HEADER_TYPES.items():
        if key in header:
            _want(
                isinstance(header[key], types),
                f"the header's {key} is not a string: {str(header[key])[:40]!r}",
            )
    for key in ("fields", "argv"):
        if key in header:
            value = header[key]
            _want(
                isinstance(value, list) and all(isinstance(v, str) for v in value),
                f"the header's {key} is not a list of strings",
            )
    if "pid" in header:
        _want(_is_int(header["pid"]), "the header's pid is not a number")
    if "started" in header:
        _want(_is_number(header["started"]), "the header's started is not a number")
    return header


def _is_str(value):
    return isinstance(value, str)


#: The columns of a statistics row and of a line totals row: their checks,
#: and what the error calls them.
_STATS_ROW = (
    (_is_str, _is_int, _is_str, _is_int, _is_int, _is_number, _is_number),
    "a statistics row is not [file, line, name, calls, primitive calls, own s, "
    "cumulative s]",
)
_LINES_ROW = (
    (_is_str, _is_int, _is_str, _is_int, _is_number, _is_number, _is_str),
    "a line totals row is not [file, line, function, hits, seconds, percent, source]",
)


def _totals(data, what, key, row_shape):
    """A document of running totals (statistics, line totals): a JSON
    object whose ``key`` is a bounded list of rows of ``row_shape``."""
    document = _load(data, MAX_STATS_BYTES, what)
    _want(isinstance(document, dict), f"{what} are not a JSON object")
    rows = document.get(key)
    _want(isinstance(rows, list), f"{what} have no list of {key}")
    _want(
        len(rows) <= MAX_STATS_ROWS,
        f"{what} have {len(rows):,} rows (at most {MAX_STATS_ROWS:,})",
    )
    checks, shown = row_shape
    for row in rows:
        _want(
            isinstance(row, list)
            and len(row) == len(checks)
            and all(check(value) for check, value in zip(checks, row, strict=True)),
            f"{shown}: {str(row)[:60]!r}",
        )
    _check_depth(document, MAX_HEADER_DEPTH, what)
    return document


def _stats(data):
    return _totals(data, "the statistics", "functions", _STATS_ROW)


def _lines(data):
    return _totals(data, "the line totals", "lines", _LINES_ROW)


def _end(data, limit=MAX_HEADER_BYTES):
    end = _load(data, limit, "the end marker")
    _want(isinstance(end, dict), "the end marker is not a JSON object")
    _check_depth(end, MAX_HEADER_DEPTH, "the end marker")
    for key in ("records", "messages"):
        if key in end:
            _want(
                _is_int(end[key]) and end[key] >= 0,
                f"the end marker's {key} is not a number >= 0",
            )
    if "seconds" in end:
        _want(_is_number(end["seconds"]), "the end marker's seconds is not a number")
    return end


def record(line, limit=MAX_RECORD_BYTES):
    """One line of a records payload (bytes) as a tuple of its values;
    BadMessage unless it is a JSON array of numbers, strings and nulls of at
    most ``limit`` bytes (None: any length)."""
    values = _load(line, limit, "a record")
    _want(isinstance(values, list), f"a record is a JSON array, not {line[:40]!r}")
    for value in values:
        _want(
            value is None or isinstance(value, str) or _is_number(value),
            f"a record holds {type(value).__name__} values: {line[:40]!r}",
        )
    return tuple(values)


def _records(data, count, limit=MAX_RECORD_BYTES):
    """Checks a records payload without decoding every record: its size,
    its lines' sizes (at most ``limit`` bytes each; None: no size checked)
    and number, and its last record."""
    _want(
        limit is None or len(data) <= _native.LIVE_MAX_MESSAGE_BYTES,
        f"records of {len(data):,} bytes",
    )
    _want(
        not data or data.endswith(b"\n"),
        "a records payload does not end with a new line",
    )
    lines = data.split(b"\n")
    lines.pop()  # after the last new line
    _want(
        len(lines) == count,
        f"{len(lines):,} records where the envelope says {count:,}",
    )
    if limit is not None:
        longest = max(map(len, lines), default=0)
        _want(
            longest <= limit,
            f"a record of {longest:,} bytes (at most {limit:,})",
        )
    if lines:
        record(lines[-1], limit)
    return data


@dataclass
class Message:
    """One message of the stream."""

    #: "header", "records", "stats", "lines" or "end"
    kind: str
    #: the publishing session's id, and its process
    session: str
    pid: int
    #: the message's number in its session, over all kinds (a viewer that
    #: joins late starts wherever the session is)
    seq: int
    #: when it was sent (seconds since the epoch)
    time: float
    #: the payload: the header or end object, the statistics object, or for
    #: records the raw JSON Lines (see ``records``)
    data: object
    #: messages of this session lost before this one
    dropped: int = 0
    #: the session's header, when it has been seen
    header: dict | None = None
    #: a records message's number of records (its envelope's, checked
    #: against the payload), None for other kinds
    count: int | None = None
    #: unreadable messages (any session) this reader dropped so far
    rejected: int = 0
    #: the largest record this message's reader takes, in bytes: the
    #: wire's ``MAX_RECORD_BYTES``, None for a capture's (:func:`read`)
    record_limit: int | None = field(default=MAX_RECORD_BYTES, repr=False)

    @property
    def records(self):
        """A records message's records, as tuples in field order
        (BadMessage for a line that is not a record)."""
        if self.kind != "records":
            return []
        return [
            record(line, self.record_limit) for line in self.data.splitlines() if line
        ]

    @property
    def last_record(self):
        """The last record of a records message (one line decoded), or
        None: enough for a live memory figure without decoding the batch."""
        if self.kind != "records" or not self.data:
            return None
        last = self.data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        if not last:
            return None
        return record(last, self.record_limit)


@dataclass
class Session:
    """What a subscriber knows of one publishing session."""

    header: dict | None = None
    last_seq: int = -1
    dropped: int = 0
    records: int = 0
    ended: bool = False
    extra: dict = field(default_factory=dict)


def decode(
    frames, sessions, count_drops=True, max_sessions=MAX_SESSIONS, wire_limits=True
):
    """The :class:`Message` of ``frames`` (topic, envelope, payload),
    updating ``sessions`` (session id -> :class:`Session`, at most
    ``max_sessions``: the one heard from least recently is forgotten); None
    for a message that is not pikos'.

    Every message is checked against the wire format (docs/wire-format.md:
    types, sizes, depth) before anything is kept: :class:`BadMessage`
    names what is wrong, a message of another wire format version
    included.  Records are checked by size and count, and the last one
    decoded; :attr:`Message.records` decodes the others.  Sequence numbers
    run over all kinds of a session, so drops are only counted
    (``count_drops``) when all kinds are read.  Without ``wire_limits``
    (a capture's messages, :func:`read`) the sizes of headers, records and
    end markers are not limited: a capture's blocks bound them."""
    if len(frames) != 3 or frames[0] not in _KINDS:
        return None
    kind = _KINDS[frames[0]]
    envelope = _envelope(kind, frames[1])
    payload = frames[2]
    record_limit = MAX_RECORD_BYTES if wire_limits else None
    header_limit = MAX_HEADER_BYTES if wire_limits else None
    if kind == "records":
        data = _records(payload, envelope["records"], record_limit)
    elif kind == "header":
        data = _header(payload, header_limit)
    elif kind == "stats":
        data = _stats(payload)
    elif kind == "lines":
        data = _lines(payload)
    else:
        data = _end(payload, header_limit)
    key = envelope["session"]
    # Most recently heard from last: the first is the one to forget.
    session = sessions.pop(key, None)
    if session is None:
        session = Session()
        while sessions and len(sessions) >= max_sessions:
            del sessions[next(iter(sessions))]
    sessions[key] = session
    seq = envelope["seq"]
    # A viewer that joins mid-session starts counting at its first message.
    dropped = 0
    if count_drops and session.last_seq >= 0:
        dropped = max(0, seq - session.last_seq - 1)
    session.dropped += dropped
    session.last_seq = max(session.last_seq, seq)
    if kind == "header":
        session.header = data
    elif kind == "records":
        session.records += envelope["records"]
    elif kind == "end":
        session.ended = True
    return Message(
        kind=kind,
        session=key,
        pid=envelope["pid"],
        seq=seq,
        time=envelope["time"],
        data=data,
        dropped=dropped,
        header=session.header,
        count=envelope["records"] if kind == "records" else None,
        record_limit=record_limit,
    )


def subscribe(
    address=DEFAULT_ADDRESS, *, bind=False, timeout=None, topics=(), on_bad=None
):
    """Yield the :class:`Message` s published on ``address`` (by default
    the same user's ``pikos-run --live``: :data:`DEFAULT_ADDRESS`).

    Connects to a publisher (a ``ZeroMQRecorder`` that binds, the default),
    or with ``bind=True`` binds ``address`` for publishers to connect to
    (``ZeroMQRecorder(..., connect=True)``; many processes may).  Stops
    after ``timeout`` seconds without a message (None: never; stop by
    closing the generator or with Ctrl-C).  ``topics`` limits the kinds
    received, e.g. ``("stats",)`` (headers always come; drops are then
    not counted, see :func:`decode`).

    Messages that do not follow the wire format are dropped: each
    message's ``rejected`` counts them, and ``on_bad``, when given, is
    called with each one's :class:`BadMessage`.
    """
    wanted = [f"pikos.{t}" for t in topics]
    if wanted:
        wanted.append("pikos.header")
    subscriber = _native.Subscriber(address, bind, wanted)
    sessions = {}
    rejected = 0
    while True:
        frames = subscriber.recv(timeout)
        if frames is None:
            return
        try:
            message = decode(frames, sessions, count_drops=not wanted)
        except BadMessage as error:
            rejected += 1
            if on_bad is not None:
                on_bad(error)
            continue
        if message is not None:
            message.rejected = rejected
            yield message


def read(path, on_cut=None):
    """Yield the :class:`Message` s of the capture at ``path`` (a ``.pikos``
    file: ``CaptureRecorder``, ``pikos-run --recording capture``), the same
    ones :func:`subscribe` yields for a live stream of the same run: per
    session its header, its records in batches of up to 8192 (cut at 8 MiB
    as the stream cuts them), and its end marker (absent when the process
    stopped before finalizing).

    Each message is checked as a streamed one is (:func:`decode`), but for
    the stream's size limits: a record of any length the capture holds (a
    long source line) is read (``Message.record_limit`` None); the
    envelope's ``seq`` counts the session's messages and ``time`` is the
    session's start.  A capture cut short (a process killed, a full disk)
    is read up to its last whole block; ``on_cut``, when given, is then
    called with where it stops (``block``, ``records``, ``offset``,
    ``reason``).  A file that is not a capture raises ``ValueError``.
    """
    frames = _native.CaptureFrames(path)
    sessions, known = {}, {}
    try:
        for topic, number, payload, count in frames:
            if topic == "header":
                header = _load(payload, None, "session header")
                if not isinstance(header, dict):
                    raise BadMessage("the session header is not a JSON object")
                session = header.get("session")
                if not isinstance(session, str) or not 1 <= len(session) <= 128:
                    # A name of the capture's own, within the wire's limit.
                    session = f"capture-session-{number}"
                pid = header.get("pid")
                started = header.get("started")
                known[number] = {
                    "session": session,
                    "pid": pid if _is_int(pid) and pid >= 0 else 0,
                    "time": float(started) if _is_number(started) else 0.0,
                    "seq": 0,
                }
            envelope = known.get(number)
            if envelope is None:
                raise BadMessage(
                    f"{topic} of session {number} before its session header"
                )
            fields = {
                "version": WIRE_VERSION,
                "session": envelope["session"],
                "pid": envelope["pid"],
                "seq": envelope["seq"],
                "time": envelope["time"],
            }
            if topic == "records":
                fields["records"] = count
            envelope["seq"] += 1
            message = decode(
                [f"pikos.{topic}".encode(), json.dumps(fields).encode(), payload],
                sessions,
                max_sessions=max(MAX_SESSIONS, len(known)),
                wire_limits=False,
            )
            if message is not None:
                yield message
    finally:
        frames.close()
    summary = frames.summary
    if on_cut is not None and summary is not None and summary["cut"] is not None:
        on_cut(summary["cut"])
