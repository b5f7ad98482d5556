"""``TraceFunctionManager``: the original pikos' helper that puts a trace
function in ``sys.settrace`` (and ``threading.settrace``) and takes it away
again.  pikos' own monitors use a native hook instead; this is for code
written against the original."""

import sys
import threading

from pikos._internal.profile_function_manager import _HookManager

__all__ = ["TraceFunctionManager"]


class TraceFunctionManager(_HookManager):
    """Replace and recover the function of ``sys.settrace``."""

    _name = "trace"

    def _get(self):
        return sys.gettrace()

    def _set(self, function):
        threading.settrace(function)
        sys.settrace(function)
