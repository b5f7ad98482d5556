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

from pikos import _native


def __getattr__(name):
    # The version is looked up on first use: importlib.metadata costs tens
    # of milliseconds, which every pikos-run would otherwise pay.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("pikos")
        except PackageNotFoundError:  # a source tree without an install
            value = "0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'pikos' has no attribute {name!r}")


#: Frames of code under this directory are pikos' own and never recorded
#: (nor shown in the profiles of pikos.external's wrapped profilers).
_OWN_PREFIX = _os.path.dirname(_os.path.abspath(__file__)) + _os.sep
_native.set_own_prefix(_OWN_PREFIX)


def load_ipython_extension(ipython):
    """``%load_ext pikos``: the magics of :mod:`pikos.integrations.ipython`
    (``%pikos_stats``, ``%pikos_memit``, ``%pikos_trace``, ...)."""
    from pikos.integrations.ipython import load

    load(ipython)
