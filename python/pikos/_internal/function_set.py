"""``FunctionSet``, where the original pikos documented it.

The class is :class:`pikos.monitors.focus.FunctionSet` (what a focused
monitor's ``functions`` is), with the original's treatment of what has no
Python code when one is made or changed directly: a warning naming the
object ("Built-in functions are not supported: ...", "Could not extract a
code object for the object ..."), and the object left out.  A focused
monitor's ``functions=`` is stricter: a ``TypeError`` at construction that
names the object.
"""

import types
import warnings

from pikos.monitors import focus

__all__ = ["FunctionSet"]


def _warn(function):
    if isinstance(function, types.BuiltinFunctionType | types.MethodDescriptorType):
        message = f"Built-in functions are not supported: {function!r}"
    else:
        message = f"Could not extract a code object for the object {function!r}"
    warnings.warn(message, stacklevel=3)


class FunctionSet(focus.FunctionSet):
    """A mutable set of functions (iterating yields them as given), which
    warns about and leaves out objects without Python code, as the
    original pikos did."""

    def __init__(self, functions=(), on_change=None):
        items = [functions] if focus.is_single(functions) else functions
        if not isinstance(items, str | bytes) and hasattr(items, "__iter__"):
            kept = []
            for item in items:
                try:
                    focus.code_of(item)
                except TypeError:
                    _warn(item)
                else:
                    kept.append(item)
            functions = kept
        super().__init__(functions, on_change)

    def add(self, function):
        """Add ``function`` (a warning, and nothing added, if it has no
        Python code)."""
        try:
            super().add(function)
        except TypeError:
            _warn(function)

    def discard(self, function):
        """Remove ``function`` (a warning if it has no Python code)."""
        try:
            super().discard(function)
        except TypeError:
            _warn(function)
