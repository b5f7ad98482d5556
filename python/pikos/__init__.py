"""pikos: profiling and investigation toolkit for Python applications.

Monitors watch code run and emit records (function events, line events,
process memory at each event); recorders store or stream them; filters choose
which to keep.  The per-event work runs in a Rust core (``pikos._native``).

    >>> from pikos.api import function_monitor, csvfile
    >>> @function_monitor(recorder=csvfile("calls.csv"))
    ... def work():
    ...     return sorted([3, 1, 2])
"""

import os as _os
from importlib.metadata import PackageNotFoundError as _NotFound
from importlib.metadata import version as _version

from pikos import _native

try:
    __version__ = _version("pikos")
except _NotFound:  # running from a source tree without an install
    __version__ = "0+unknown"

# Frames of code under this directory are pikos' own and never recorded.
_native.set_own_prefix(_os.path.dirname(_os.path.abspath(__file__)) + _os.sep)
