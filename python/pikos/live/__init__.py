"""Read a live pikos stream: what a
:class:`~pikos.recorders.zeromq_recorder.ZeroMQRecorder` or a
:class:`~pikos.monitors.stats_monitor.StatsMonitor` publishes.

    >>> from pikos.live import subscribe
    >>> for message in subscribe(timeout=0.1):  # pikos-run ... --live
    ...     print(message.kind, message.pid, message.data)

Each message is a :class:`Message`: a session header (``kind ==
"header"``: pid, host, monitor, field names), a batch of records
(``"records"``: ``records`` decoded as tuples in the header's field order),
running statistics (``"stats"``), or a session's end marker (``"end"``).
``dropped`` counts the messages of that session lost before this one (the
publisher never waits for a slow viewer: it drops, and the sequence numbers
show it).  The format is ``docs/wire-format.md``; nothing here is needed to
read it (any ZeroMQ SUB socket and a JSON parser will do).
"""

import json
from dataclasses import dataclass, field

from pikos import _native

__all__ = [
    "Message",
    "Session",
    "subscribe",
    "check_address",
    "WIRE_VERSION",
    "DEFAULT_ADDRESS",
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
    b"pikos.end": "end",
}


@dataclass
class Message:
    """One message of the stream."""

    #: "header", "records", "stats" or "end"
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

    @property
    def records(self):
        """A records message's records, as tuples in field order."""
        if self.kind != "records":
            return []
        return [tuple(json.loads(line)) for line in self.data.splitlines() if line]

    @property
    def last_record(self):
        """The last record of a records message (one line decoded), or
        None: enough for a live memory figure without decoding the batch."""
        if self.kind != "records" or not self.data:
            return None
        last = self.data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        if not last:
            return None
        values = json.loads(last)
        if not isinstance(values, list):
            raise ValueError(f"a record is a JSON array, not {last[:40]!r}")
        return tuple(values)


@dataclass
class Session:
    """What a subscriber knows of one publishing session."""

    header: dict | None = None
    last_seq: int = -1
    dropped: int = 0
    records: int = 0
    ended: bool = False
    extra: dict = field(default_factory=dict)


def decode(frames, sessions, count_drops=True):
    """The :class:`Message` of ``frames`` (topic, envelope, payload),
    updating ``sessions`` (session id -> :class:`Session`); None for a
    message that is not pikos'.  Raises ValueError for a message of another
    wire format version.  Sequence numbers run over all kinds of a session,
    so drops are only counted (``count_drops``) when all kinds are read."""
    if len(frames) != 3 or frames[0] not in _KINDS:
        return None
    kind = _KINDS[frames[0]]
    envelope = json.loads(frames[1])
    version = envelope.get("version")
    if version != WIRE_VERSION:
        raise ValueError(
            f"pikos wire format version {version!r} (this pikos reads "
            f"version {WIRE_VERSION}): upgrade the older side"
        )
    data = frames[2] if kind == "records" else json.loads(frames[2])
    session = sessions.setdefault(envelope["session"], Session())
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
        session.records += envelope.get("records", 0)
    elif kind == "end":
        session.ended = True
    return Message(
        kind=kind,
        session=envelope["session"],
        pid=envelope["pid"],
        seq=seq,
        time=envelope["time"],
        data=data,
        dropped=dropped,
        header=session.header,
    )


def subscribe(address=DEFAULT_ADDRESS, *, bind=False, timeout=None, topics=()):
    """Yield the :class:`Message` s published on ``address``.

    Connects to a publisher (a ``ZeroMQRecorder`` that binds, the default),
    or with ``bind=True`` binds ``address`` for publishers to connect to
    (``ZeroMQRecorder(..., connect=True)``; many processes may).  Stops
    after ``timeout`` seconds without a message (None: never; stop by
    closing the generator or with Ctrl-C).  ``topics`` limits the kinds
    received, e.g. ``("stats",)`` (headers always come; drops are then
    not counted, see :func:`decode`).
    """
    wanted = [f"pikos.{t}" for t in topics]
    if wanted:
        wanted.append("pikos.header")
    subscriber = _native.Subscriber(address, bind, wanted)
    sessions = {}
    while True:
        frames = subscriber.recv(timeout)
        if frames is None:
            return
        message = decode(frames, sessions, count_drops=not wanted)
        if message is not None:
            yield message
