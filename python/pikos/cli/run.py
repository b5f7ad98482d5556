"""``pikos-run``: run a Python script (or ``-m module``) under a monitor.

    pikos-run [-h] [-o OUTPUT] [--buffered]
              [--recording {screen,text,csv,speedscope,chrome,collapsed}]
              [--timed] [--focused-on FOCUSED_ON]
              [--live[=ADDR] | --live-connect ADDR] [--live-wait]
              [--subprocesses]
              {functions,lines,function_memory,line_memory,stats}
              (script | -m module) [script args...]

The script runs once, as ``__main__``, like ``python script.py``: the same
``sys.argv`` (the script path, then its arguments), its directory first on
``sys.path``, its exceptions printed as Python prints them and its exit
status kept.  The parts of the run, in order:

1. :func:`split_argv` separates pikos' options from the script's arguments
   (pikos' options may stand before or after the script; what pikos does
   not know, and everything after ``--``, belongs to the script);
2. :func:`load_target` finds and compiles the script, or finds the module,
   without running it;
3. :func:`resolve_focus` turns ``--focused-on`` names into code objects:
   names defined in the script are found among its compiled code objects
   (by qualified name), so the script is never run twice, and dotted paths
   are imported;
4. :func:`execute` runs the code under the monitor, waits for the
   script's non-daemon threads like the interpreter would, and finalizes
   the recorder before reporting the script's outcome.
"""

import argparse
import builtins
import importlib.machinery
import importlib.util
import inspect
import os
import sys
import threading
import types
from dataclasses import dataclass, field

from pikos import _native
from pikos.cli import subprocesses
from pikos.cli._common import (
    CommandError,
    Parser,
    UsageError,
    check_writable,
    run_command,
)
from pikos.errors import RecorderError
from pikos.live import DEFAULT_ADDRESS
from pikos.monitors import focus
from pikos.monitors.api import (
    StatsMonitor,
)
from pikos.recorders.zeromq_recorder import ZeroMQRecorder
from pikos.runner.recording import (
    LIVE_WAIT_SECONDS,
    MONITORS,
    RECORDINGS,
    TIMED_MONITORS,
    TRACE_RECORDINGS,
    make_recorder,
    recording_of,
)

#: Where `--live` publishes (and `pikos live` connects) by default: the
#: core's per-user Unix socket (pikos.live.DEFAULT_ADDRESS).
LIVE_ADDRESS = DEFAULT_ADDRESS
USAGE = """\
%(prog)s [-h] [-o OUTPUT] [--buffered]
          [--recording {screen,text,csv,speedscope,chrome,collapsed}]
          [--timed] [--focused-on FOCUSED_ON]
          [--live[=ADDR] | --live-connect ADDR] [--live-wait]
          [--subprocesses]
          {functions,lines,function_memory,line_memory,stats}
          (script | -m module) [script args...]"""

DESCRIPTION = """\
Execute the python script inside the pikos monitor context.

The script runs once as __main__, with its arguments in sys.argv and its
directory first on sys.path, like `python script.py`.  Options may stand
before or after the script; arguments pikos does not know, and everything
after `--`, are the script's (so are -h/--help after the script)."""

EPILOG = """\
examples:
  %(prog)s line_memory examples/mandelbrot_set_example.py --recording csv \
--focused-on=mandelbrot
  %(prog)s functions -m json.tool data.json --recording csv -o calls.csv
  %(prog)s functions script.py --recording speedscope -o profile.speedscope.json
  %(prog)s functions script.py --recording chrome   (Perfetto: trace.json)
  %(prog)s stats script.py                  (cProfile-style table on stdout)
  %(prog)s stats script.py -o profile.pstats  (binary pstats; -o NAME.txt: the table)
  %(prog)s line_memory script.py --live     (then, elsewhere: pikos live)"""

# Options that take a value, and flags, as pikos-run knows them.
_VALUE_OPTIONS = {"-o", "--output", "--recording", "--focused-on", "--live-connect"}
_FLAGS = {"--buffered", "--live-wait", "--timed", "--subprocesses"}


class _Once(argparse.Action):
    """Store an option's value; a second one is an error, not a silent
    override (it is usually the script's own option, taken by pikos)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is not None:
            raise UsageError(
                f"{option_string} given twice; an option of the script's own "
                "goes after `--`"
            )
        setattr(namespace, self.dest, values)


def _parser(prog):
    parser = Parser(
        prog=prog,
        usage=USAGE,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("monitor", choices=list(MONITORS), help="The monitor to use.")
    parser.add_argument("script", nargs="?", help="The script to run.")
    parser.add_argument(
        "-m",
        dest="module",
        action=_Once,
        metavar="module",
        help="Run a module as a script, like `python -m module`, instead of a file.",
    )
    parser.add_argument(
        "-o",
        "--output",
        action=_Once,
        help="Output results to a file ('-': standard output).  Without "
        "--recording, the name chooses: .csv csv, .speedscope.json speedscope, "
        ".trace.json chrome, .collapsed.txt or .folded collapsed, any other "
        "text.  stats: .txt the table, any other name a binary .pstats file.",
    )
    parser.add_argument(
        "--buffered",
        action="store_true",
        help="Use a buffered stream: write records in large batches (fastest) "
        "instead of as they come.",
    )
    parser.add_argument(
        "--recording",
        choices=list(RECORDINGS),
        action=_Once,
        help="Select the type of recording to use: screen (the default), "
        "text (monitor_records.log), csv (monitor_records.csv), or, for "
        "functions and function_memory, a timeline: speedscope "
        "(monitor_records.speedscope.json), chrome trace events for Perfetto "
        "(monitor_records.trace.json) or collapsed stacks for flame graphs "
        "(monitor_records.collapsed.txt).",
    )
    parser.add_argument(
        "--timed",
        action="store_true",
        help="functions and function_memory: add each event's time (ns) and "
        "thread to the records (for `pikos export`); implied by the timeline "
        "recordings.",
    )
    parser.add_argument(
        "--focused-on",
        metavar="FOCUSED_ON",
        action=_Once,
        help="Record only inside these functions: a comma-separated list of "
        "names defined in the script (func, Class.method) or importable "
        "dotted paths (pkg.mod.func, pkg.mod.Class.method).",
    )
    parser.add_argument(
        "--live",
        metavar="ADDR",
        action=_Once,
        help="Stream the records (stats: running totals) over ZeroMQ for "
        f"`pikos live` instead of writing them: --live binds {LIVE_ADDRESS}, "
        "--live=ADDR binds ADDR.",
    )
    parser.add_argument(
        "--live-connect",
        metavar="ADDR",
        action=_Once,
        help="Like --live, but connect to a viewer that binds ADDR "
        "(`pikos live --bind ADDR`, which collects many programs).",
    )
    parser.add_argument(
        "--subprocesses",
        action="store_true",
        help="Record the script's child processes too (fork, multiprocessing, "
        "Python subprocesses), each into its own file: the output's name with "
        "the child's pid before its ending (monitor_records.4242.csv); with "
        "--live-connect ADDR, to the same viewer.  Without it children record "
        "nothing.",
    )
    parser.add_argument(
        "--live-wait",
        action="store_true",
        help=f"With --live: wait (up to {LIVE_WAIT_SECONDS:g} s) until a viewer "
        "is there before the script starts, so it sees every record.",
    )
    return parser


def split_argv(argv):
    """Split ``argv`` into pikos' arguments and the script's arguments.

    Before the script, every token is pikos'.  The script is the second
    positional argument (after the monitor) or ``-m module``.  After it,
    pikos takes its own options (``-o``, ``--output``, ``--recording``,
    ``--focused-on``, ``--buffered``, with ``=value`` or a separate value)
    and leaves everything else, ``-h`` included, to the script; ``--`` gives
    all that follows to the script.
    """
    ours, theirs = [], []
    positionals = 0
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            # `pikos-run functions -- script.py args`: the script follows.
            script = next(tokens, None)
            if script is not None:
                ours.append(script)
            theirs.extend(tokens)
            return ours, theirs
        if _take_option(token, tokens, ours):
            continue
        ours.append(token)
        if token == "-m" or (token.startswith("-m") and len(token) > 2):
            if token == "-m" and (module := next(tokens, None)) is not None:
                ours.append(module)
            break
        if not token.startswith("-") or token == "-":
            positionals += 1
            if positionals == 2:
                break
        # else: help, or an unknown option, which argparse reports
    for token in tokens:
        if token == "--":
            theirs.extend(tokens)
        elif not _take_option(token, tokens, ours):
            theirs.append(token)
    return ours, theirs


def _take_option(token, tokens, ours):
    """Move one of pikos' options (and its value) to ``ours``."""
    name, has_value = token.split("=", 1)[0], "=" in token
    if name == "--live":
        # Its value only ever comes with `=`: `--live script.py` is the
        # flag and the script.
        ours.append(token if has_value else f"--live={LIVE_ADDRESS}")
        return True
    if token in _FLAGS or (name in _VALUE_OPTIONS and has_value):
        ours.append(token)
        return True
    if token in _VALUE_OPTIONS:
        ours.append(token)
        value = next(tokens, None)
        if value is not None:
            ours.append(value)
        return True
    return False


# --- the script ----------------------------------------------------------


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
        raise _ScriptError(error) from None
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
        raise _ScriptError(error) from None
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


# --- --focused-on ----------------------------------------------------------

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
    """Codes of ``pkg.mod.func`` or ``pkg.mod.Class.method``: the longest
    importable prefix is the module, the rest attributes."""
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
                f"--focused-on {name}: importing {module_name} failed: "
                f"{type(error).__name__}: {error}"
            ) from None
        if spec is None:
            reason = reason or f"no module named {module_name!r}"
            continue
        if spec.origin and _same_file(spec.origin, target.filename):
            # The script itself: never imported, so never run twice.
            local = ".".join(attributes)
            if local in functions:
                return functions[local]
            raise UsageError(
                f"--focused-on {name}: no function {local!r} is defined in "
                f"{target.display}"
            )
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # the module's own failure, named
            raise UsageError(
                f"--focused-on {name}: importing {module_name} failed: "
                f"{type(error).__name__}: {error}"
            ) from None
        return _codes_of(_lookup(module, attributes, name), name)
    raise UsageError(
        f"--focused-on {name}: not a function defined in {target.display}, "
        f"and not importable ({reason})"
    )


def _lookup(obj, attributes, name):
    for attribute in attributes:
        try:
            # Static lookup keeps staticmethod, classmethod and property
            # objects as they are, without running descriptors.
            obj = inspect.getattr_static(obj, attribute)
        except AttributeError:
            raise UsageError(
                f"--focused-on {name}: {_describe(obj)} has no attribute {attribute!r}"
            ) from None
    return obj


def _describe(obj):
    kind = "module" if inspect.ismodule(obj) else type(obj).__name__
    return f"{kind} {getattr(obj, '__name__', obj)!r}"


def _codes_of(obj, name):
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
        raise UsageError(f"--focused-on {name}: {name!r} {why}") from None


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# --- the run -------------------------------------------------------------------


@dataclass
class Plan:
    """Everything decided before the script runs."""

    target: Target
    monitor: object
    script_args: list
    #: what to do after the run (stats: print the table or write the file)
    report: object = None
    #: ``--subprocesses``: what the children record (subprocesses.plan_of)
    children: dict = None


def live_recorder(args):
    """The ZeroMQRecorder of ``--live``/``--live-connect``, or None."""
    if args.live is not None and args.live_connect is not None:
        raise UsageError("--live and --live-connect: choose one")
    address = args.live if args.live is not None else args.live_connect
    if address is None:
        if args.live_wait:
            raise UsageError("--live-wait needs --live or --live-connect")
        return None
    try:
        return ZeroMQRecorder(
            address=address,
            connect=args.live_connect is not None,
            wait_for_ready=args.live_wait,
            ready_timeout=LIVE_WAIT_SECONDS,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


def stats_report(monitor, output):
    """After a stats run: the table on stdout, the same table in a ``.txt``
    file (what ``pstats``' ``print_stats`` writes), or else the binary
    ``.pstats`` file (``pstats.Stats`` and snakeviz read it)."""

    def report():
        if output is None or output == "-":
            monitor.print_stats(sort="cumulative", stream=sys.stdout)
            sys.stdout.flush()
        elif output.lower().endswith(".txt"):
            with open(output, "w", encoding="utf-8") as stream:
                monitor.print_stats(sort="cumulative", stream=stream)
        else:
            monitor.dump_stats(output)

    return report


def _plan_stats(args, target, theirs, live):
    if args.subprocesses:
        raise UsageError(
            "stats does not take --subprocesses: its totals are one process's"
        )
    if args.focused_on is not None:
        raise UsageError("stats does not take --focused-on")
    if args.timed:
        raise UsageError("stats does not take --timed: its times are totals")
    if args.recording is not None:
        raise UsageError(
            "--recording does not apply to stats: it prints a table, or "
            "writes a .pstats file with -o"
        )
    if args.output is not None and args.output != "-":
        check_writable(args.output, create=True)
    monitor = StatsMonitor(live)
    return Plan(
        target=target,
        monitor=monitor,
        script_args=theirs,
        report=stats_report(monitor, args.output),
    )


def plan(argv, prog):
    """Parse ``argv`` and prepare the run; nothing of the script runs yet."""
    ours, theirs = split_argv(argv)
    # Intermixed: options may stand between the monitor and the script.
    args = _parser(prog).parse_intermixed_args(ours)
    if (args.script is None) == (args.module is None):
        raise UsageError(
            "name one script to run, or -m module"
            if args.script is None
            else f"both a script ({args.script!r}) and -m {args.module} given"
        )
    live = live_recorder(args)
    target = load_target(args.script, args.module)
    if args.monitor == "stats":
        return _plan_stats(args, target, theirs, live)
    if live is not None and (args.recording is not None or args.output is not None):
        raise UsageError(
            "--live streams the records instead of writing them: drop "
            "--recording and -o"
        )
    monitor_class, focused_class = MONITORS[args.monitor]
    recording = recording_of(args.recording, args.output)
    timeline = live is None and recording in TRACE_RECORDINGS
    if (args.timed or timeline) and args.monitor not in TIMED_MONITORS:
        if args.timed:
            what = "--timed"
        elif args.recording is not None:
            what = f"--recording {recording}"
        else:
            what = f"-o {args.output} (a {recording} file)"
        raise UsageError(
            f"{what} needs function events: use {' or '.join(TIMED_MONITORS)}, "
            f"not {args.monitor}"
        )
    options = {"timed": True} if args.timed else {}
    functions = None
    if args.focused_on is not None:
        # Imports for dotted names see the script's sys.path[0], as the
        # script's own imports will.
        sys.path.insert(0, target.path0)
        try:
            functions = resolve_focus(args.focused_on, target)
        finally:
            sys.path.remove(target.path0)
    recorder = live or make_recorder(args.recording, args.output, args.buffered)
    if functions is None:
        monitor = monitor_class(recorder, **options)
    else:
        monitor = focused_class(recorder, functions=functions, **options)
    children = _plan_children(args, recording, live) if args.subprocesses else None
    return Plan(target=target, monitor=monitor, script_args=theirs, children=children)


def _plan_children(args, recording, live):
    """``--subprocesses``: each child writes a file of its own, or streams
    to the collector that ``--live-connect`` names."""
    if args.focused_on is not None:
        raise UsageError(
            "--subprocesses records whole child processes: drop --focused-on"
        )
    if live is not None:
        if args.live_connect is None:
            raise UsageError(
                "--subprocesses with a live stream needs --live-connect ADDR "
                "(a viewer that binds ADDR, `pikos live --bind ADDR`, collects "
                "every process); children cannot bind the parent's --live address"
            )
        plan = subprocesses.plan_of(
            args.monitor, None, None, False, args.timed, live=args.live_connect
        )
        plan["live_wait"] = bool(args.live_wait)
        return plan
    output = args.output if args.output is not None else RECORDINGS[recording]
    if output is None or output == "-":
        raise UsageError(
            "--subprocesses writes one file per process: choose a file "
            "recording (--recording text, csv, speedscope, chrome, collapsed, "
            "or -o FILE), not the screen"
        )
    return subprocesses.plan_of(
        args.monitor, recording, output, args.buffered, args.timed
    )


def _enter(target, script_args):
    """Make this process look like ``python script.py args`` to the script;
    return the function that runs its code."""
    main = types.ModuleType("__main__")
    main.__dict__.update(target.namespace)
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    sys.argv = [target.argv0, *script_args]
    if not sys.flags.safe_path:
        sys.path[0:1] = [target.path0]
    # Called as a function, the module code runs with the module's dict as
    # its globals and locals, and its frame is the first one recorded.
    return types.FunctionType(target.code, main.__dict__)


def execute(plan, prog="pikos-run"):
    """Run the script under the monitor; return the exit status.

    The recorder is finalized after the script and its non-daemon threads
    end, whatever the outcome, so every record taken is written; then the
    outcome is the script's: its traceback and status 1 for an exception,
    its own status for ``sys.exit``, and ``KeyboardInterrupt`` re-raised so
    that the interpreter exits as it would have.  A recording that fails
    (midway or at the end) is reported in one line on stderr and does not
    change the exit status: the program's outcome is its own.
    """
    run_script = _enter(plan.target, plan.script_args)
    try:
        plan.monitor.enable()
    except (OSError, RecorderError) as error:
        raise CommandError(f"cannot start recording: {error}") from None
    if plan.children is not None:
        subprocesses.arm(plan.children)
    exit_now, report = os._exit, sys.unraisablehook
    subprocesses.write_out_at_os_exit()
    sys.unraisablehook = _RecordingStopped(report, prog)
    outcome = None
    try:
        run_script()
    except BaseException as exc:  # the script's outcome, reported below
        outcome = exc
    # What follows is pikos' work, not the script's: the hook leaves this
    # thread, and the script's other threads are recorded until they end.
    plan.monitor.leave_thread()
    status = 0
    if outcome is not None and not isinstance(outcome, SystemExit | KeyboardInterrupt):
        _print_exception(outcome, plan.target.code)
        status = 1
    _wait_for_threads()
    try:
        plan.monitor.disable()
        if plan.report is not None:
            plan.report()
    except Exception as error:
        sys.stderr.write(f"{prog}: error: recording failed: {error}\n")
    # Ours put back (the script's own replacements, if any, stay).
    if isinstance(sys.unraisablehook, _RecordingStopped):
        sys.unraisablehook = report
    if getattr(os._exit, "_pikos", False):
        os._exit = exit_now
    if isinstance(outcome, SystemExit):
        raise outcome
    if isinstance(outcome, KeyboardInterrupt):
        sys.excepthook = _ScriptExceptHook(sys.excepthook, plan.target.code)
        raise outcome
    return status


class _RecordingStopped:
    """``sys.unraisablehook`` while the script runs: a monitor that stopped
    recording midway (its recorder failed) is reported in one line; other
    reports go to the hook that was there."""

    def __init__(self, hook, prog):
        self._hook = hook
        self._prog = prog

    def __call__(self, args):
        if not isinstance(args.object, _native.Hook):
            return self._hook(args)
        sys.stderr.write(
            f"{self._prog}: error: recording stopped early: {args.exc_value}; "
            "the script goes on, and the records taken before are kept\n"
        )
        return None


def _wait_for_threads():
    """Shut threading down as the interpreter does before it exits: run the
    callbacks registered with ``threading._register_atexit`` (the ones that
    stop ``concurrent.futures`` workers), then join the non-daemon threads.
    The interpreter's own call later finds it done.  Ctrl-C while waiting
    stops the wait."""
    try:
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
            return
        current = threading.current_thread()
        while waiting := [
            t
            for t in threading.enumerate()
            if t is not current and not t.daemon and t.is_alive()
        ]:
            for thread in waiting:
                thread.join()
    except KeyboardInterrupt:
        return


def _script_traceback(tb, code):
    """``tb`` from the script's first frame on: pikos' own frames above it
    are not the script's, and Python would not show them."""
    start = tb
    while start is not None and start.tb_frame.f_code is not code:
        start = start.tb_next
    return tb if start is None else start


def _print_exception(exc, code):
    tb = _script_traceback(exc.__traceback__, code)
    sys.excepthook(type(exc), exc.with_traceback(tb), tb)


class _ScriptExceptHook:
    """The excepthook for an exception re-raised to the interpreter: the
    script's hook, shown the script's frames only."""

    def __init__(self, hook, code):
        self._hook = hook
        self._code = code

    def __call__(self, exc_type, exc, tb):
        tb = _script_traceback(tb, self._code)
        self._hook(exc_type, exc.with_traceback(tb), tb)


class _ScriptError(Exception):
    """The script does not compile: its error is shown as Python would."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


def _main(argv, prog):
    try:
        prepared = plan(argv, prog)
    except _ScriptError as failure:
        error = failure.error.with_traceback(None)
        sys.excepthook(type(error), error, None)
        return 1
    return execute(prepared, prog)


def main(argv=None, prog="pikos-run"):
    """``pikos-run``: returns the exit status (``sys.exit`` in the script and
    ``KeyboardInterrupt`` propagate, so the interpreter exits as it would
    have without pikos)."""
    return run_command(prog, _main, argv)


def console_main():
    """Entry point of the ``pikos-run`` console script."""
    sys.exit(main())
