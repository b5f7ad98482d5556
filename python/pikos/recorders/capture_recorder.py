"""Write records to a capture: a compact binary file (``.pikos``) that
``pikos export`` turns into any output afterwards (``docs/capture-format.md``).
"""

import json
import uuid

from pikos import _native
from pikos.recorders.session_header import monitor_name, session_header
from pikos.recorders.sink_recorder import SinkRecorder, check_output_path

#: Seconds between the flusher's hand-overs of the hook's partial batch to
#: the writer, which closes a block as often (the core's BLOCK_PERIOD): a
#: process killed loses at most about two of these.
CAPTURE_FLUSH_SECONDS = 0.05


class CaptureRecorder(SinkRecorder):
    """Write records to ``filename``, a capture: every record of any
    monitor, timed or not, with memory or not, in zstd-compressed blocks
    of a few bytes per event, from a writer thread of its own.

    ``pikos export FILE.pikos --format csv`` (or ``text``, ``speedscope``,
    ``chrome``, ``collapsed``) writes from it the same bytes the other
    recorders would have written::

        with FunctionMonitor(CaptureRecorder("run.pikos")):
            work()

    Blocks are closed every 50 ms while records come, so a process that is
    killed loses at most about 0.1 s of records, and the file reads back up
    to its last whole block.  The file is created by the first ``prepare``;
    a later session (a decorated function called twice) is added to it.
    """

    def __init__(self, filename="monitor_records.pikos", filter_=None):
        self._filename = check_output_path(filename)
        self._sessions = 0
        self._session = None
        super().__init__(filter_, _native.Sink.file(CAPTURE_FLUSH_SECONDS))

    @property
    def filename(self):
        """The capture file."""
        return self._filename

    @property
    def session(self):
        """The id of the current (or last) session, None before."""
        return self._session

    def _open(self, record_type, kind, fields):
        self._session = uuid.uuid4().hex
        header = session_header(monitor_name(kind), record_type, fields)
        header["session"] = self._session
        header["kind"] = kind
        self._sink.prepare_capture(
            kind,
            self._native_filters or [],
            list(fields),
            self._filename,
            json.dumps(header),
            append=self._sessions > 0,
        )
        return True

    def _encodes_natively(self, data):
        # Every value is kept: ints, strings and None as they are, other
        # numbers as their text (as csv.writer writes them), anything else
        # as its str().
        return True

    def finalize(self):
        """Write everything out, with the session's end marker; close the
        file."""
        self._check_ready("finalize")
        self._ready = False
        self._sessions += 1
        self._sink.close()
