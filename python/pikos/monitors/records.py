"""The record types monitors emit (SPEC §3).

Each is a namedtuple subclass.  The class attributes ``header`` and ``line``
are ``str.format`` templates used by formatted text output; on an instance
every field reads as its value, so ``LineRecord(...).line`` is the source
text while ``LineRecord.line`` is the template.

    >>> rec = FunctionRecord(0, "call", "main", 3, "app.py")
    >>> FunctionRecord.line.format(*rec).split()
    ['0', 'call', 'main', '3', 'app.py']
"""

from collections import namedtuple

from pikos import _native
from pikos.kinds import KINDS, TIMED_KINDS  # noqa: F401 (TIMED_KINDS: documented here)

#: The ``line`` value of a line event whose source text is not available.
NO_SOURCE = _native.NO_SOURCE


class _FieldOrTemplate:
    """A field of the tuple on instances, a format template on the class."""

    def __init__(self, position, template):
        self._position = position
        self._template = template

    def __get__(self, instance, owner=None):
        if instance is None:
            return self._template
        return tuple.__getitem__(instance, self._position)


def _record(name, kind, line, header, doc):
    # The layout is the core's (pikos.kinds); the templates and the name are
    # Python's presentation of it.
    fields = KINDS[kind].fields
    base = namedtuple(name, fields)
    namespace = {"__slots__": (), "__doc__": doc, "_pikos_kind": kind}
    for attribute, template in (("line", line), ("header", header)):
        if attribute in fields:
            namespace[attribute] = _FieldOrTemplate(fields.index(attribute), template)
        else:
            namespace[attribute] = template
    cls = type(name, (base,), namespace)
    cls.__module__ = __name__
    return cls


FunctionRecord = _record(
    "FunctionRecord",
    "function",
    "{:<8} {:<11} {:<30} {:<5} {}",
    "{:<8} {:<11} {:<30} {:<5} {}",
    "A function event: call, return, c_call, c_return or c_exception.",
)
LineRecord = _record(
    "LineRecord",
    "line",
    "{:<12} {:<50} {:<7} {} -- {}",
    "{:<12} {:<50} {:<7} {} -- {}",
    "A line about to run, with its source text.",
)
FunctionMemoryRecord = _record(
    "FunctionMemoryRecord",
    "function_memory",
    "{:>8} | {:<11} | {:<12} | {:>15} | {:>15} | {:>6} | {}",
    "{:<8} | {:<11} | {:<12} | {:<15} | {:<15} | {:>6} | {}",
    "A function event with the process's RSS and VMS in bytes.",
)
LineMemoryRecord = _record(
    "LineMemoryRecord",
    "line_memory",
    "{:<12} | {:<30} | {:<7} | {:>15} | {:>15} | {} {}",
    "{:^12} | {:^30} | {:^7} | {:^15} | {:^15} | {} {}",
    "A line about to run with the process's RSS and VMS in bytes.",
)

TimedFunctionRecord = _record(
    "TimedFunctionRecord",
    "timed_function",
    "{:<8} {:<11} {:<30} {:<5} {} {:>16} {}",
    "{:<8} {:<11} {:<30} {:<5} {} {:>16} {}",
    "A function event with when it happened (``time``: nanoseconds on a "
    "monotonic clock since pikos first read it in this process) and on which "
    "thread (``thread``: its ``threading.get_ident()``).",
)
TimedFunctionMemoryRecord = _record(
    "TimedFunctionMemoryRecord",
    "timed_function_memory",
    "{:>8} | {:<11} | {:<12} | {:>15} | {:>15} | {:>6} | {} | {:>16} | {}",
    "{:<8} | {:<11} | {:<12} | {:<15} | {:<15} | {:>6} | {} | {:<16} | {}",
    "A function event with the process's RSS and VMS in bytes, its time in "
    "nanoseconds and its thread, as in :class:`TimedFunctionRecord`.",
)

TimedLineRecord = _record(
    "TimedLineRecord",
    "timed_line",
    "{:<12} {:<50} {:<7} {} -- {} {:>16} {}",
    "{:<12} {:<50} {:<7} {} -- {} {:>16} {}",
    "A line about to run, with when it started (``time``: nanoseconds, as in "
    ":class:`TimedFunctionRecord`) and on which thread (``thread``).",
)
TimedLineMemoryRecord = _record(
    "TimedLineMemoryRecord",
    "timed_line_memory",
    "{:<12} | {:<30} | {:<7} | {:>15} | {:>15} | {} {} | {:>16} | {}",
    "{:^12} | {:^30} | {:^7} | {:^15} | {:^15} | {} {} | {:<16} | {}",
    "A line about to run with the process's RSS and VMS in bytes, its time in "
    "nanoseconds and its thread, as in :class:`TimedLineRecord`.",
)

# The original pikos' module constants: each record's fields and templates.
FUNCTION_RECORD = FunctionRecord._fields
FUNCTION_RECORD_TEMPLATE = FunctionRecord.line
LINE_RECORD = LineRecord._fields
LINE_RECORD_TEMPLATE = LineRecord.line
FUNCTION_MEMORY_RECORD = FunctionMemoryRecord._fields
FUNCTION_MEMORY_RECORD_TEMPLATE = FunctionMemoryRecord.line
FUNCTION_MEMORY_HEADER_TEMPLATE = FunctionMemoryRecord.header
LINE_MEMORY_RECORD = LineMemoryRecord._fields
LINE_MEMORY_RECORD_TEMPLATE = LineMemoryRecord.line
LINE_MEMORY_HEADER_TEMPLATE = LineMemoryRecord.header

#: Default record class per record kind.
RECORD_CLASSES = {
    cls._pikos_kind: cls
    for cls in (
        FunctionRecord,
        LineRecord,
        FunctionMemoryRecord,
        LineMemoryRecord,
        TimedFunctionRecord,
        TimedFunctionMemoryRecord,
        TimedLineRecord,
        TimedLineMemoryRecord,
    )
}
