"""``pikos live --replay FILE``: a capture (``.pikos``) played into the
viewer as if its program were streaming it, by :func:`pikos.live.read` on a
daemon thread; the viewer then keeps showing the final state, as for a
program that ended."""

import os
import queue
import threading

from pikos import _native, live
from pikos.viewer.receiver import MAX_QUEUED, POLL_SECONDS

__all__ = ["Replay"]


class Replay:
    """The messages of the capture at ``path`` on :attr:`queue`, as a
    :class:`~pikos.viewer.receiver.Receiver` puts a stream's: nothing is
    lost (the reading waits for the display), records batches cut to
    their last record.  A capture cut short plays up to its last whole
    block, and a note says where it stops."""

    def __init__(self, path, max_queued=MAX_QUEUED):
        # A file that is not a capture fails here, before the display.
        if not os.path.isfile(path):
            raise OSError(2, "no such file", str(path))
        if not _native.is_capture(path):
            raise ValueError("not a pikos capture (pikos-run ... --recording capture)")
        self._frames = live.read(path, on_cut=self._cut)
        self.queue = queue.Queue(maxsize=max_queued)
        self.lost = 0
        self.rejected = 0
        self.endpoint = str(path)
        self.done = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._play, name="pikos-live-replay", daemon=True
        )

    def start(self):
        """Start playing."""
        self._thread.start()

    def stop(self, timeout=1.0):
        """Stop playing (waits up to ``timeout``)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _cut(self, cut):
        self._put(
            f"the capture is cut at byte {cut['offset']} (block {cut['block']}: "
            f"{cut['reason']}); shown up to there"
        )

    def _put(self, item):
        while not self._stopping.is_set():
            try:
                self.queue.put(item, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _play(self):
        try:
            for message in self._frames:
                if self._stopping.is_set():
                    return
                if message.kind == "records":
                    last = message.data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
                    message.data = last + b"\n" if last else b""
                self._put(message)
        except Exception as error:  # noqa: BLE001 - shown, not raised in a thread
            self.rejected += 1
            self._put(f"replay stopped: {type(error).__name__}: {error}")
        finally:
            self.done.set()
