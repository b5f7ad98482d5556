"""The work behind ``pikos-run``; the command itself is ``pikos.cli.run``.

The package also keeps the original ``pikos.runner`` names, built on the
modules below it: :func:`main`, :data:`MONITORS`,
:func:`run_code_under_monitor`, :func:`get_function` and
:func:`get_focused_on`.
"""

import builtins
import importlib
import os
import sys
import types

from pikos import api
from pikos.kinds import KINDS
from pikos.messages import UsageError
from pikos.monitors.monitor_attach import MonitorAttach

__all__ = [
    "main",
    "MONITORS",
    "run_code_under_monitor",
    "get_function",
    "get_focused_on",
]

#: monitor name -> decorator factory of :mod:`pikos.api` (called with
#: ``recorder=`` and ``focus_on=``, it returns a ``MonitorAttach``).
#: ``pikos-run``'s own table, with ``stats``, is ``pikos.runner.recording``'s.
MONITORS = {
    KINDS[factory_kind].monitor: factory
    for factory_kind, factory in (
        ("function", api.monitor_functions),
        ("line", api.monitor_lines),
        ("function_memory", api.memory_on_functions),
        ("line_memory", api.memory_on_lines),
    )
}


def main(argv=None):
    """Run ``pikos-run`` with ``argv`` (default ``sys.argv[1:]``).  Returns
    None when the script ran; a usage error or a failed script exits with
    its status (``SystemExit``), as the command does."""
    from pikos.cli.run import main as run_main

    status = run_main(argv)
    if status:
        raise SystemExit(status)


def run_code_under_monitor(script, monitor):
    """Compile the file ``script`` and run it as ``__main__`` inside the
    monitor's context; return the namespace it ran in.

    ``monitor`` is what :data:`MONITORS` factories return (a decorator: a
    :class:`~pikos.monitors.monitor_attach.MonitorAttach`), or any context
    manager (a monitor, a ``cProfile.Profile``).  The script's directory is
    put first on ``sys.path``, as ``python script.py`` does; unlike the
    ``pikos-run`` command, ``sys.argv`` and ``sys.modules["__main__"]`` are
    left as they are.  A script that does not compile raises its
    ``SyntaxError``; one that cannot be read, ``OSError``.
    """
    if not callable(monitor) or hasattr(type(monitor), "__enter__"):
        decorate = MonitorAttach(monitor)
    else:
        decorate = monitor
    target = _load(script)
    if target.path0 not in sys.path:
        sys.path.insert(0, target.path0)
    namespace = {**target.namespace, "__name__": "__main__", "__builtins__": builtins}
    # Called as a function, the code runs with ``namespace`` as its globals
    # and locals, as a module's does.
    decorate(types.FunctionType(target.code, namespace))()
    return namespace


def get_function(function_path):
    """Import and return the function named by ``function_path``:
    ``package.module.function`` or ``package.module.Class.method`` (or a
    module, when the whole path is one).  Raises ``ImportError`` when no
    prefix of the path imports, ``AttributeError`` when the rest is not
    found in the module."""
    parts = function_path.split(".")
    for split in range(len(parts), 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj = importlib.import_module(module_name)
        except ImportError as error:
            missing = error.name
            if missing is None or not (
                module_name == missing or module_name.startswith(missing + ".")
            ):
                raise  # the module itself failed: its own error
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(f"no module found for {function_path!r}")


def get_focused_on(script, focused_on):
    """The functions ``--focused-on`` names, for the factories' ``focus_on=``:
    ``focused_on`` is a comma-separated list of names defined in ``script``
    (``func``, ``Class.method``) or importable dotted paths; None gives None.

    Names defined in the script come back as their code objects, found in
    the compiled script: the script is never imported, so it never runs
    twice, and :func:`run_code_under_monitor` runs those very code objects
    (the script is compiled once while the file is unchanged).  A name that
    cannot be found raises ``ValueError``.
    """
    if focused_on is None:
        return None
    from pikos.runner.focus_names import resolve_focus

    target = _load(script)
    try:
        return resolve_focus(focused_on, target)
    except UsageError as error:
        raise ValueError(str(error)) from None


#: path -> (file version, Target): the script compiled once per version
_LOADED = {}


def _load(script):
    """The compiled script (``pikos.runner.target``), one per file version:
    :func:`get_focused_on` and :func:`run_code_under_monitor` share its code
    objects, so that the functions focused on are the ones that run."""
    from pikos.runner.target import ScriptError, load_target

    path = os.path.abspath(os.fspath(script))
    try:
        info = os.stat(path)
        version = (info.st_ino, info.st_size, info.st_mtime_ns)
    except OSError:
        version = None
    cached = _LOADED.get(path)
    if version is not None and cached is not None and cached[0] == version:
        return cached[1]
    try:
        target = load_target(os.fspath(script), None)
    except ScriptError as failure:
        raise failure.error from None
    except UsageError as error:
        raise OSError(str(error)) from None
    if version is not None:
        _LOADED[path] = (version, target)
    return target
