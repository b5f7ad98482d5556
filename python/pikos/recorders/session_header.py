"""The session header a live stream and a capture start each session with
(``docs/wire-format.md``, ``docs/capture-format.md``): what was recorded
(monitor, record, fields) and where (host, pid, program, argv, Python)."""

import os
import socket
import sys
import time

from pikos.kinds import KINDS


def monitor_name(kind):
    """The header's ``monitor`` of records of ``kind``: the ``pikos-run``
    name, or ``custom`` (timed kinds, records from other code)."""
    known = KINDS.get(kind)
    return known.monitor if known and known.monitor else "custom"


def session_header(monitor, record_type, fields):
    """The header of a session of ``monitor``'s records of ``record_type``
    with ``fields``, as a JSON-ready dict."""
    return {
        "monitor": monitor,
        "record": getattr(record_type, "__name__", None),
        "fields": list(fields),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "program": sys.argv[0] if sys.argv and sys.argv[0] else "<python>",
        "argv": list(sys.argv),
        "python": sys.version.split()[0],
        "started": time.time(),
    }
