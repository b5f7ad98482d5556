"""The receiving side of ``pikos live``: the subscriber, read on a daemon
thread that decodes what arrives (:func:`pikos.live.decode`) and queues it,
bounded, for the display; :func:`drain` feeds the queue to the model."""

import queue
import threading
import time

from pikos import _native, live
from pikos.live import BadMessage, decode
from pikos.messages import CommandError, UsageError

__all__ = ["Receiver", "drain", "check_address", "open_subscriber"]

#: Decoded messages waiting for the display; more are dropped (and counted)
#: rather than kept, so a flood cannot grow the viewer.
MAX_QUEUED = 1000

#: Seconds a receive waits before the receiving thread checks for a stop.
POLL_SECONDS = 0.2

#: The longest the UI spends feeding queued messages to the model per frame,
#: so that a burst never freezes the keys.
DRAIN_SECONDS = 0.1


def check_address(address, bind):
    """Raise UsageError unless ``address`` is a ZeroMQ endpoint another
    process can use (see :func:`pikos.live.check_address`)."""
    try:
        live.check_address(address, bind)
    except ValueError as error:
        raise UsageError(str(error)) from None


def open_subscriber(address, bind):
    """The native subscriber on ``address``: UsageError when ZeroMQ
    refuses the address itself, CommandError when it cannot be used now
    (e.g. already in use)."""
    try:
        return _native.Subscriber(address, bind, [])
    except OSError as error:
        # The native error carries no errno, only ZeroMQ's text.
        if str(error).endswith("Invalid argument"):
            raise UsageError(f"{address}: not a usable ZeroMQ address") from None
        hint = ""
        if "in use" in str(error):
            hint = " (another `pikos live --bind` or a program run with --live?)"
        raise CommandError(f"{error}{hint}") from None


def _describe(error):
    if isinstance(error, BadMessage):
        return f"unreadable message: {error}"  # decode names the problem
    return f"unreadable message ({type(error).__name__}: {error})"


class Receiver:
    """The subscriber, read on a daemon thread: the messages, and the text
    of the problems (unreadable messages), go on :attr:`queue`, at most
    ``max_queued`` of them; what finds it full is counted in :attr:`lost`.
    Nothing a peer sends stops the thread: a message that does not follow
    the wire format is a problem on the queue, and the next one is read."""

    def __init__(self, address, bind, max_queued=MAX_QUEUED):
        self.queue = queue.Queue(maxsize=max_queued)
        #: messages and problems dropped because the queue was full
        self.lost = 0
        #: messages that did not follow the wire format
        self.rejected = 0
        #: sessions the decoder knows (bounded by pikos.live.MAX_SESSIONS)
        self.sessions = {}
        self._subscriber = open_subscriber(address, bind)
        #: the endpoint bound or connected (with the port ``*`` chose)
        self.endpoint = self._subscriber.endpoint or address
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._receive, name="pikos-live-receiver", daemon=True
        )

    def start(self):
        """Start receiving."""
        self._thread.start()

    def stop(self, timeout=1.0):
        """Stop receiving (within ``POLL_SECONDS``; waits up to
        ``timeout``)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _put(self, item):
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self.lost += 1

    def _receive(self):
        while not self._stopping.is_set():
            try:
                frames = self._subscriber.recv(POLL_SECONDS)
            except OSError as error:
                # The socket itself failed: nothing more will come.
                self._put(f"receiving stopped: {error}")
                return
            if frames is None:
                continue
            try:
                message = decode(frames, self.sessions)
            except Exception as error:  # noqa: BLE001 - a peer's bytes must never stop us
                self.rejected += 1
                self._put(_describe(error))
                continue
            if message is None:
                continue
            if message.kind == "records":
                # The view needs the count and the last record only: the
                # rest of the batch is not kept while it waits.
                last = message.data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
                message.data = last + b"\n" if last else b""
            self._put(message)


def drain(messages, model, limit=DRAIN_SECONDS):
    """Feed ``model`` what is on the queue ``messages`` (for up to
    ``limit`` seconds); strings are problems to show."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            item = messages.get_nowait()
        except queue.Empty:
            return
        if isinstance(item, str):
            model.note_error(item)
            continue
        try:
            model.feed(item)
        except Exception as error:  # noqa: BLE001 - the viewer outlives any message
            model.note_error(f"unshowable message ({type(error).__name__}: {error})")
