"""Publish records over ZeroMQ, for live viewing (``pikos live``,
:func:`pikos.live.subscribe`, or any ZeroMQ SUB socket).

The stream is the versioned wire format of ``docs/wire-format.md``: JSON
envelopes and payloads, no pickles.  Records are encoded and sent by a
thread of the core, never by the profiled program's threads.
"""

import json
import math
import uuid

from pikos import _native
from pikos._specs import PublisherSpec
from pikos.live import DEFAULT_ADDRESS, check_address
from pikos.recorders.session_header import monitor_name, session_header
from pikos.recorders.sink_recorder import SinkRecorder

#: The TCP host and port of ``ZeroMQRecorder(zmq_host=...)`` or
#: ``ZeroMQRecorder(zmq_port=...)`` when the other is not given (the core's).
TCP_HOST = _native.LIVE_TCP_HOST
TCP_PORT = _native.LIVE_TCP_PORT

#: Seconds within which records reach the socket while the program runs.
PUBLISH_EVERY_SECONDS = 0.1

#: The fields of a statistics stream's rows (``pikos.stats`` payload).
STATS_FIELDS = (
    "filename",
    "line",
    "function",
    "calls",
    "primitive_calls",
    "own_time",
    "cumulative_time",
)

#: The fields of a line totals stream's rows (``pikos.lines`` payload).
LINES_FIELDS = (
    "filename",
    "line",
    "function",
    "hits",
    "time",
    "percent",
    "source",
)

_TOTALS_FIELDS = {"stats": STATS_FIELDS, "line_stats": LINES_FIELDS}


class RecordingStopped:
    """The end of a recording session, the original pikos' marker.

    The original pickled an instance of this class onto the socket at
    ``finalize``.  pikos sends no pickles (a pickle runs code where it is
    read): a session ends with the wire format's end marker, which
    :func:`pikos.live.subscribe` gives as a ``Message`` whose ``kind`` is
    ``"end"`` (docs/wire-format.md).  The class stays importable for code
    written against the original."""


def _check_port(port):
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(
            f"zmq_port must be a TCP port number 0-65535 (0: any free port), "
            f"not {port!r}"
        )
    return port


def _check_seconds(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")
    return float(value)


class ZeroMQRecorder(SinkRecorder):
    """Publish each record on a ZeroMQ socket, from a thread of its own.

    By default the recorder binds a PUB socket on
    :data:`pikos.live.DEFAULT_ADDRESS`, a Unix socket in a directory only
    this user can enter, where ``pikos live`` connects by default.  Given
    ``zmq_host`` or ``zmq_port`` (default ``127.0.0.1`` and ``9001``), it
    binds ``tcp://{zmq_host}:{zmq_port}`` instead, which every local user
    (and with another host, the network) can read: docs/security.md.  With
    ``connect=True`` it connects instead, to a viewer that binds (collector
    mode: ``pikos live --bind ADDR`` and many programs streaming into it).
    ``address`` gives any ZeroMQ endpoint directly (``ipc:///tmp/pikos``).

    The program never waits for a viewer: with none connected, or one too
    slow, messages are dropped (ZeroMQ's high-water mark, ``hwm`` messages
    of up to 8192 records per viewer), and the viewer sees the gap in the
    messages' sequence numbers.  With ``wait_for_ready=True``, ``prepare``
    first waits (at most ``ready_timeout`` seconds, then raises
    :class:`~pikos.recorders.abstract_recorder.RecorderError`) until a
    viewer has subscribed, so none of the first records is missed.
    ``linger`` is how long ``finalize`` may wait for queued messages to go
    out.

        >>> from pikos.monitors.api import FunctionMonitor
        >>> recorder = ZeroMQRecorder(zmq_port=0)  # any free port
        >>> with FunctionMonitor(recorder):
        ...     _ = sorted([2, 1])
        >>> recorder.endpoint.startswith("tcp://127.0.0.1:")
        True

    Each ``prepare`` starts a session (a new session id and header); each
    ``finalize`` ends it with an end marker.
    """

    def __init__(
        self,
        zmq_host=None,
        zmq_port=None,
        filter_=None,
        wait_for_ready=False,
        *,
        address=None,
        connect=False,
        hwm=16,
        linger=1.0,
        ready_timeout=30.0,
    ):
        if address is None and zmq_host is None and zmq_port is None:
            address = DEFAULT_ADDRESS
        elif address is None:
            zmq_host = TCP_HOST if zmq_host is None else zmq_host
            zmq_port = _check_port(TCP_PORT if zmq_port is None else zmq_port)
            if not isinstance(zmq_host, str) or not zmq_host:
                raise ValueError(f"zmq_host must be a host name, not {zmq_host!r}")
            port = "*" if zmq_port == 0 else zmq_port
            address = f"tcp://{zmq_host}:{port}"
        else:
            try:
                check_address(address, bind=not connect)
            except ValueError as error:
                raise ValueError(
                    f"address must be a ZeroMQ endpoint: {error}"
                ) from None
        if isinstance(hwm, bool) or not isinstance(hwm, int) or hwm < 1:
            raise ValueError(f"hwm must be a number of messages >= 1, not {hwm!r}")
        self._address = address
        self._connect = bool(connect)
        self._hwm = hwm
        self._linger = _check_seconds("linger", linger)
        self._wait = (
            _check_seconds("ready_timeout", ready_timeout) if wait_for_ready else None
        )
        self._endpoint = None
        self._session = None
        super().__init__(filter_, _native.Sink.publisher(PUBLISH_EVERY_SECONDS))

    @property
    def address(self):
        """The endpoint asked for."""
        return self._address

    @property
    def endpoint(self):
        """The endpoint bound or connected by the last ``prepare`` (with the
        port chosen when ``zmq_port=0``), None before."""
        return self._endpoint

    @property
    def session(self):
        """The id of the current (or last) session, None before."""
        return self._session

    def _open(self, record_type, kind, fields):
        monitor = monitor_name(kind)
        self._publish(kind, self._native_filters or [], monitor, record_type, fields)
        return True

    def _publish(self, kind, filters, monitor, record_type, fields):
        self._session = uuid.uuid4().hex
        header = session_header(monitor, record_type, fields)
        publisher = PublisherSpec(
            address=self._address,
            connect=self._connect,
            hwm=self._hwm,
            linger=self._linger,
            wait=self._wait,
            session=self._session,
            header=json.dumps(header),
        )
        self._endpoint = self._sink.prepare_publisher(kind, filters, publisher)

    def _pikos_prepare_stats(self, monitor="stats"):
        """Open a session for a statistics monitor's totals (``monitor``:
        ``"stats"`` or ``"line_stats"``); returns the sink the totals are
        published on."""
        if self._ready:
            name = "StatsMonitor" if monitor == "stats" else "LineStatsMonitor"
            raise ValueError(
                "this ZeroMQRecorder is already recording another monitor's "
                f"records; give the {name} a recorder of its own"
            )
        self._publish(None, [], monitor, None, _TOTALS_FIELDS[monitor])
        self._kind, self._record_type = monitor, None
        self._ready = True
        return self._sink

    def _format(self, data):
        # Records only Python can encode (floats, objects): JSON of their
        # values, anything JSON has no type for (inf and nan included) as
        # its str(), as the core does.
        values = [
            str(v) if isinstance(v, float) and not math.isfinite(v) else v for v in data
        ]
        return json.dumps(values, default=str, ensure_ascii=False) + "\n"

    def finalize(self):
        """Send what is queued and the end marker; close the socket."""
        self._check_ready("finalize")
        self._ready = False
        self._sink.close()
