"""The one table of monitor kinds, built from what the core exports
(``pikos._native.RECORD_KINDS``, from ``pikos_core::RecordKind``): each
kind's record layout (field names in order), its timed kind, whether it
records function or line events and memory.  Python adds only its own
names for them: the monitor name ``pikos-run`` takes and the live stream's
header carries.

    >>> KINDS["function"].fields
    ('index', 'type', 'function', 'lineNo', 'filename')
    >>> KINDS["function"].timed
    'timed_function'
"""

from dataclasses import dataclass

from pikos import _native


@dataclass(frozen=True, slots=True)
class Kind:
    """One record kind of the core."""

    #: ``function``, ``line``, ``function_memory``, ``line_memory``, or a
    #: timed kind: ``timed_function``, ``timed_line``, ``timed_function_memory``
    #: or ``timed_line_memory``.
    name: str
    #: The record's field names, in order (SPEC §3).
    fields: tuple[str, ...]
    #: The timed kind of an untimed kind (time and thread at the end), else None.
    timed: str | None
    #: Function events (the profile hook), else line events (the trace hook).
    function: bool
    #: Whether records carry the process's RSS and VMS.
    memory: bool
    #: The monitor's name in ``pikos-run MONITOR`` and in a live stream's
    #: header; None for timed kinds (a live stream names them ``custom``).
    monitor: str | None


# Python's names for the untimed kinds: the only column not from the core.
_MONITOR_NAMES = {
    "function": "functions",
    "line": "lines",
    "function_memory": "function_memory",
    "line_memory": "line_memory",
}

#: Every record kind, by name, in the core's order.
KINDS = {
    row["name"]: Kind(
        name=row["name"],
        fields=tuple(row["fields"]),
        timed=row["timed"],
        function=row["function"],
        memory=row["memory"],
        monitor=_MONITOR_NAMES.get(row["name"]),
    )
    for row in _native.RECORD_KINDS
}

#: The timed kind of each untimed kind.
TIMED_KINDS = {kind.name: kind.timed for kind in KINDS.values() if kind.timed}

#: Monitor names (``pikos-run``, live headers) -> kind.
BY_MONITOR = {kind.monitor: kind for kind in KINDS.values() if kind.monitor}


def is_timed(name):
    """Whether the kind ``name`` records time and thread."""
    return name in TIMED_KINDS.values()
