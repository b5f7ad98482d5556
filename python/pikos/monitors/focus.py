"""What focused monitors focus on: functions resolved to their code objects.

The native hook decides focus by code object (one hash probe per event), so
everything a user may name in ``functions=`` is resolved here, once, to the
code that actually runs: methods to their function, decorated functions
(``functools.wraps``) to the innermost ``__wrapped__``, ``staticmethod`` and
``classmethod`` objects and ``functools.partial`` to what they wrap.
"""

import collections.abc
import functools
import inspect
import types

__all__ = ["FunctionSet", "FocusedMixin", "code_of"]


def code_of(function):
    """The code object that runs when ``function`` is called.

    Raises TypeError, naming the object, for anything without Python code.
    """
    target = function
    for _ in range(100):  # wrappers of wrappers, with a bound on cycles
        if isinstance(target, types.CodeType):
            return target
        if isinstance(target, types.FunctionType):
            unwrapped = getattr(target, "__wrapped__", None)
            if unwrapped is None:
                return target.__code__
            target = unwrapped
        elif isinstance(target, (types.MethodType, staticmethod, classmethod)):
            target = target.__func__
        elif isinstance(target, functools.partial):
            target = target.func
        elif hasattr(target, "__wrapped__"):
            target = target.__wrapped__
        else:
            break
    if isinstance(target, types.BuiltinFunctionType | types.MethodDescriptorType):
        why = "it is a builtin, which has no Python code"
    elif inspect.isclass(target):
        why = "it is a class; name its methods instead"
    else:
        why = f"it is a {type(target).__name__}"
    raise TypeError(
        f"cannot focus on {function!r}: {why}; functions= takes Python "
        "functions, methods or code objects"
    )


def is_single(functions):
    return callable(functions) or isinstance(
        functions, types.CodeType | staticmethod | classmethod
    )


class FunctionSet(collections.abc.MutableSet):
    """The functions a focused monitor records in (a mutable set).

    Each member is kept as given (the first of several naming the same
    code) with the code object that runs when it is called: iterating
    yields the functions, as the original pikos did, while ``in``,
    ``add`` and ``discard`` accept anything ``functions=`` does (a
    method, its function, a decorated function or the code object all
    name one member).  Changes apply at once, also while the monitor is
    enabled.
    """

    def __init__(self, functions=(), on_change=None):
        self._codes = {}  # code object -> the function it was named by
        self._on_change = on_change
        if isinstance(functions, str | bytes) or not (
            is_single(functions) or hasattr(functions, "__iter__")
        ):
            raise TypeError(
                f"functions= takes a list of functions, methods or code "
                f"objects, not {functions!r}"
            )
        items = [functions] if is_single(functions) else list(functions)
        for item, code in [(item, code_of(item)) for item in items]:
            self._codes.setdefault(code, item)
        self._changed()

    def _changed(self):
        if self._on_change is not None:
            self._on_change(list(self._codes))

    @property
    def codes(self):
        """The code objects focused on, in the order they were added."""
        return list(self._codes)

    def add(self, function):
        """Focus on ``function`` too."""
        code = code_of(function)
        if code not in self._codes:
            self._codes[code] = function
            self._changed()

    def discard(self, function):
        """Stop focusing on ``function`` (no error if it was not there)."""
        code = code_of(function)
        if code in self._codes:
            del self._codes[code]
            self._changed()

    def __contains__(self, function):
        try:
            return code_of(function) in self._codes
        except TypeError:
            return False

    def __iter__(self):
        return iter(list(self._codes.values()))

    def __len__(self):
        return len(self._codes)

    def __repr__(self):
        names = ", ".join(code.co_qualname for code in self._codes)
        return f"FunctionSet([{names}])"


class FocusedMixin:
    """Makes a hook monitor record only inside ``functions``.

    Function monitors record from the call of a focused function to its
    return, everything in between (callees, builtins, recursion), on each
    thread separately; line monitors record only the lines of the focused
    functions' own frames.
    """

    def __init__(self, recorder, record_type=None, *, functions=(), **options):
        super().__init__(recorder, record_type, **options)
        self._functions = FunctionSet(functions, on_change=self._hook.set_focus)

    @property
    def functions(self):
        """The :class:`FunctionSet` this monitor focuses on."""
        return self._functions

    @functions.setter
    def functions(self, functions):
        self._functions = FunctionSet(functions, on_change=self._hook.set_focus)

    def attach(self, function=None, *, include_decorated=False):
        """Wrap ``function`` so that the monitor is active while it runs.

        With ``include_decorated=True`` the function also joins
        ``functions``; used bare (``@monitor.attach``) or with arguments
        (``@monitor.attach(include_decorated=True)``, which returns a
        :class:`~pikos.monitors.focused_monitor_attach.FocusedMonitorAttach`)::

            monitor = FocusedFunctionMonitor(ListRecorder())

            @monitor.attach(include_decorated=True)
            def work():
                ...
        """
        if function is None:  # used with arguments: a FocusedMonitorAttach
            from pikos.monitors.focused_monitor_attach import FocusedMonitorAttach

            return FocusedMonitorAttach(self, include_decorated)
        if include_decorated:
            self._functions.add(function)
        return super().attach(function)
