"""What ``pikos-run`` runs: a script or a ``-m`` module, found and
compiled (or its code found) without running it, with the ``sys.argv[0]``
and ``sys.path[0]`` ``python`` would give it."""

import importlib.machinery
import importlib.util
import os
import sys
import types
from dataclasses import dataclass, field

from pikos.messages import UsageError


class ScriptError(Exception):
    """The script does not compile: its error is shown as Python would."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


@dataclass
class Target:
    """What runs as ``__main__``: its code and the module it runs in."""

    code: types.CodeType
    #: sys.argv[0] and sys.path[0] as Python sets them for this target
    argv0: str
    path0: str
    #: the file the code comes from, and the names it is importable under
    filename: str
    display: str
    module_names: tuple = ()
    namespace: dict = field(default_factory=dict)


def load_target(script, module):
    """Find and compile the script, or find the module, without running it.

    Raises UsageError when there is nothing to run, and SyntaxError (the
    script's own error) when it does not compile.
    """
    if module is not None:
        return _module_target(module)
    try:
        is_dir = os.path.isdir(script)
        if not is_dir:
            with open(script, "rb") as file:
                source = file.read()
    except OSError as error:
        raise UsageError(
            f"can't open script {script!r}: {error.strerror or error}"
        ) from None
    if is_dir or _is_zip(script):
        return _package_target(script)
    filename = os.path.abspath(script)
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        raise ScriptError(error) from None
    namespace = {
        "__file__": filename,
        "__cached__": None,
        "__loader__": importlib.machinery.SourceFileLoader("__main__", filename),
        "__spec__": None,
        "__package__": None,
    }
    stem = os.path.splitext(os.path.basename(filename))[0]
    return Target(
        code=code,
        argv0=script,
        path0=os.path.dirname(os.path.realpath(filename)),
        filename=filename,
        display=script,
        module_names=("__main__", stem),
        namespace=namespace,
    )


def _is_zip(path):
    import zipfile

    return zipfile.is_zipfile(path)


def _package_target(path):
    """A directory or zip file with a ``__main__.py``, as Python runs it."""
    location = os.path.abspath(path)  # as Python puts it on sys.path
    spec = importlib.machinery.PathFinder.find_spec("__main__", [location])
    if spec is None:
        raise UsageError(f"can't find '__main__' module in {path!r}")
    return _spec_target(spec, argv0=path, path0=location, display=path)


def _module_target(name):
    """``-m name``: the module's code, found as ``python -m`` finds it."""
    path0 = os.getcwd()
    sys.path.insert(0, path0)  # the current directory, as for python -m
    try:
        spec = _find_spec(name, "-m: ")
        if spec is not None and spec.submodule_search_locations is not None:
            main_name = f"{name}.__main__"
            spec = _find_spec(main_name, "-m: ")
            if spec is None:
                raise UsageError(
                    f"no module named {main_name!r}: {name!r} is a package and "
                    "cannot be directly executed"
                )
    finally:
        sys.path.remove(path0)
    if spec is None:
        raise UsageError(f"no module named {name!r}")
    return _spec_target(spec, argv0=spec.origin, path0=path0, display=name)


def _find_spec(name, context):
    """``importlib.util.find_spec(name)``, which imports the parent
    packages: their failures are a UsageError naming ``name``."""
    try:
        return importlib.util.find_spec(name)
    except Exception as error:  # ImportError, or a parent package's own
        if isinstance(error, ImportError | ValueError):
            reason = str(error)
        else:
            reason = f"importing its package failed: {type(error).__name__}: {error}"
        raise UsageError(f"{context}cannot find module {name!r}: {reason}") from None


def _spec_target(spec, argv0, path0, display):
    try:
        code = spec.loader.get_code(spec.name)
    except SyntaxError as error:
        raise ScriptError(error) from None
    except (AttributeError, ImportError) as error:
        raise UsageError(f"cannot run {display!r}: {error}") from None
    if code is None:
        raise UsageError(f"cannot run {display!r}: it has no Python code")
    namespace = {
        "__file__": spec.origin,
        "__cached__": spec.cached,
        "__loader__": spec.loader,
        "__spec__": spec,
        "__package__": spec.parent,
    }
    return Target(
        code=code,
        argv0=argv0,
        path0=path0,
        filename=spec.origin,
        display=display,
        module_names=("__main__", spec.name.removesuffix(".__main__")),
        namespace=namespace,
    )
