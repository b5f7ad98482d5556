"""``--focused-on`` names to code objects: names defined in the script
are found among its compiled code objects (by qualified name), so the
script is never run twice; dotted paths are imported."""

import importlib
import importlib.util
import inspect
import os
import types

from pikos.messages import UsageError
from pikos.monitors import focus

_CO_NEWLOCALS = inspect.CO_NEWLOCALS


def defined_functions(code):
    """Qualified name -> code objects of every function compiled in ``code``
    (nested ones too, under their qualified name and with ``<locals>.``
    left out), and the set of qualified names of class bodies."""
    functions, classes = {}, set()
    pending = [code]
    while pending:
        for const in pending.pop().co_consts:
            if not isinstance(const, types.CodeType):
                continue
            pending.append(const)
            name = const.co_qualname
            if not const.co_flags & _CO_NEWLOCALS:
                classes.add(name)
                continue
            for key in {name, name.replace("<locals>.", "")}:
                functions.setdefault(key, []).append(const)
    return functions, classes


def resolve_focus(spec, target):
    """The code objects named by ``--focused-on`` (comma-separated)."""
    names = [name.strip() for name in spec.split(",")]
    if not any(names):
        raise UsageError("--focused-on names no function")
    functions, classes = defined_functions(target.code)
    codes = []
    for name in filter(None, names):
        local = _script_name(name, target)
        if local in functions:
            codes.extend(functions[local])
        elif local in classes:
            raise UsageError(
                f"--focused-on {name}: {local!r} is a class in {target.display}; "
                f"name one of its methods, as {local}.method"
            )
        elif "." in name:
            codes.extend(_import_focus(name, target, functions))
        else:
            raise UsageError(
                f"--focused-on {name}: no function {name!r} is defined in "
                f"{target.display}, and it is not a dotted importable path"
            )
    return codes


def _script_name(name, target):
    """``name`` relative to the script when it starts with its module name."""
    for prefix in target.module_names:
        if name.startswith(prefix + "."):
            return name[len(prefix) + 1 :]
    return name


def _import_focus(name, target, functions):
    """Codes of ``pkg.mod.func`` or ``pkg.mod.Class.method`` (the script's
    own functions found without importing it)."""
    prefix = f"--focused-on {name}"
    found = import_object(name, prefix, script=(target, functions))
    if isinstance(found, list):  # the script's own, by qualified name
        return found
    return codes_of(found, name, prefix)


def import_object(name, prefix, script=None):
    """The object ``pkg.mod.func`` or ``pkg.mod.Class.method`` names: the
    longest importable prefix is the module, the rest attributes (looked up
    statically).  Errors are UsageErrors starting with ``prefix``.

    ``script`` is ``(target, functions)`` when a script runs: a path into
    it gives its code objects (a list) without importing it twice."""
    parts = name.split(".")
    reason = None
    for split in range(len(parts) - 1, 0, -1):
        module_name, attributes = ".".join(parts[:split]), parts[split:]
        try:
            spec = importlib.util.find_spec(module_name)
        except (ImportError, ValueError) as error:
            reason = reason or str(error)
            continue
        except Exception as error:  # a parent package failed to import
            raise UsageError(
                f"{prefix}: importing {module_name} failed: "
                f"{type(error).__name__}: {error}"
            ) from None
        if spec is None:
            reason = reason or f"no module named {module_name!r}"
            continue
        if (
            script is not None
            and spec.origin
            and _same_file(spec.origin, script[0].filename)
        ):
            # The script itself: never imported, so never run twice.
            target, functions = script
            local = ".".join(attributes)
            if local in functions:
                return functions[local]
            raise UsageError(
                f"{prefix}: no function {local!r} is defined in {target.display}"
            )
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # the module's own failure, named
            raise UsageError(
                f"{prefix}: importing {module_name} failed: "
                f"{type(error).__name__}: {error}"
            ) from None
        return _lookup(module, attributes, prefix)
    where = f"not a function defined in {script[0].display}, and " if script else ""
    raise UsageError(f"{prefix}: {where}not importable ({reason})")


def _lookup(obj, attributes, prefix):
    for attribute in attributes:
        try:
            # Static lookup keeps staticmethod, classmethod and property
            # objects as they are, without running descriptors.
            obj = inspect.getattr_static(obj, attribute)
        except AttributeError:
            raise UsageError(
                f"{prefix}: {_describe(obj)} has no attribute {attribute!r}"
            ) from None
    return obj


def _describe(obj):
    kind = "module" if inspect.ismodule(obj) else type(obj).__name__
    return f"{kind} {getattr(obj, '__name__', obj)!r}"


def codes_of(obj, name, prefix):
    """The code objects ``obj`` (named ``name``) runs: a function's, a
    method's, a property's accessors'; a UsageError for anything else."""
    if isinstance(obj, property):
        parts = [obj.fget, obj.fset, obj.fdel]
        return [focus.code_of(part) for part in parts if part is not None]
    try:
        return [focus.code_of(obj)]
    except TypeError:
        why = (
            "is a class; name one of its methods"
            if inspect.isclass(obj)
            else f"is a {type(obj).__name__}, not a Python function"
        )
        raise UsageError(f"{prefix}: {name!r} {why}") from None


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
