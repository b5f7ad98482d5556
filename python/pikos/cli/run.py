"""``pikos-run``: run a Python script (or ``-m module``) under a monitor.

    pikos-run [-h] [-o OUTPUT] [--buffered]
              [--recording {screen,text,csv,speedscope,chrome,collapsed,
                            pprof,callgrind}]
              [--timed] [--focused-on FOCUSED_ON]
              [--live[=ADDR] | --live-connect ADDR] [--live-wait]
              [--subprocesses]
              {functions,lines,function_memory,line_memory,stats,line_stats}
              (script | -m module) [script args...]

The script runs once, as ``__main__``, like ``python script.py``: the same
``sys.argv`` (the script path, then its arguments), its directory first on
``sys.path``, its exceptions printed as Python prints them and its exit
status kept.  The parts of the run, in order:

1. :func:`split_argv` separates pikos' options from the script's arguments
   (pikos' options may stand before or after the script; what pikos does
   not know, and everything after ``--``, belongs to the script), and
   :func:`plan` checks them and prepares the run;
2. :func:`pikos.runner.target.load_target` finds and compiles the script,
   or finds the module, without running it;
3. :func:`pikos.runner.focus_names.resolve_focus` turns ``--focused-on``
   names into code objects: names defined in the script are found among its
   compiled code objects (by qualified name), so the script is never run
   twice, and dotted paths are imported;
4. :func:`pikos.runner.recording.make_recorder` makes the recorder of
   ``--recording``/``-o``, and :mod:`pikos.runner.children` what
   ``--subprocesses`` children record;
5. :func:`pikos.runner.execute.execute` runs the code under the monitor,
   waits for the script's non-daemon threads like the interpreter would,
   and finalizes the recorder before reporting the script's outcome.

This module is the command only: argv in, a plan, the run.
"""

import argparse
import sys

from pikos.cli._common import (
    Parser,
    UsageError,
    check_writable,
    run_command,
)
from pikos.kinds import KINDS
from pikos.live import DEFAULT_ADDRESS
from pikos.monitors.api import (
    LineStatsMonitor,
    StatsMonitor,
)
from pikos.recorders.zeromq_recorder import ZeroMQRecorder
from pikos.runner import children
from pikos.runner.execute import Plan, execute
from pikos.runner.focus_names import resolve_focus
from pikos.runner.recording import (
    LIVE_WAIT_SECONDS,
    MONITORS,
    RECORDINGS,
    TIMED_MONITORS,
    TRACE_RECORDINGS,
    line_stats_output,
    line_stats_report,
    make_recorder,
    recording_of,
    stats_report,
)
from pikos.runner.target import ScriptError, load_target

#: Where `--live` publishes (and `pikos live` connects) by default: the
#: core's per-user Unix socket (pikos.live.DEFAULT_ADDRESS).
LIVE_ADDRESS = DEFAULT_ADDRESS
USAGE = """\
%(prog)s [-h] [-o OUTPUT] [--buffered]
          [--recording {screen,text,csv,speedscope,chrome,collapsed,
                        pprof,callgrind}]
          [--timed] [--focused-on FOCUSED_ON]
          [--live[=ADDR] | --live-connect ADDR] [--live-wait]
          [--subprocesses]
          {functions,lines,function_memory,line_memory,stats,line_stats}
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
  %(prog)s functions script.py --recording pprof    (go tool pprof: .pb.gz)
  %(prog)s stats script.py                  (cProfile-style table on stdout)
  %(prog)s stats script.py -o profile.pstats  (binary pstats; -o NAME.txt: the table)
  %(prog)s line_stats script.py             (kernprof -lv's table per line, on stderr)
  %(prog)s line_stats script.py --focused-on=main -o run.lprof (line_profiler reads it)
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
        ".trace.json chrome, .collapsed.txt or .folded collapsed, .pb.gz or "
        ".pprof pprof, callgrind.out.* callgrind, any other "
        "text.  stats: .txt the table, any other name a binary .pstats file.  "
        "line_stats: .lprof (line_profiler's), .json or .txt (the table).",
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
        "(monitor_records.trace.json), collapsed stacks for flame graphs "
        "(monitor_records.collapsed.txt), pprof for go tool pprof and "
        "continuous profilers (monitor_records.pb.gz) or callgrind for "
        "KCachegrind (callgrind.out.monitor_records).",
    )
    parser.add_argument(
        "--timed",
        action="store_true",
        help="Add each event's time (ns) and thread to the records (functions "
        "and function_memory: for `pikos export`, and implied by the timeline "
        "recordings; lines and line_memory: when each line started).",
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
        help="Stream the records (stats, line_stats: running totals) over "
        "ZeroMQ for `pikos live` instead of writing them: --live binds "
        f"{LIVE_ADDRESS}, --live=ADDR binds ADDR.",
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


def _plan_line_stats(args, target, theirs, live):
    for given, what in (
        (args.subprocesses, "--subprocesses: its totals are one process's"),
        (args.timed, "--timed: its times are totals"),
        (
            args.recording is not None,
            "--recording: it prints a table, or writes "
            "-o NAME.lprof, NAME.json or NAME.txt",
        ),
    ):
        if given:
            raise UsageError(f"line_stats does not take {what}")
    output = line_stats_output(args.output)
    functions = _focus(args, target)
    monitor = LineStatsMonitor(functions=functions, recorder=live)
    return Plan(
        target=target,
        monitor=monitor,
        script_args=theirs,
        report=line_stats_report(monitor, output),
    )


def _focus(args, target):
    """The code objects ``--focused-on`` names, or None."""
    if args.focused_on is None:
        return None
    # Imports for dotted names see the script's sys.path[0], as the
    # script's own imports will.
    sys.path.insert(0, target.path0)
    try:
        return resolve_focus(args.focused_on, target)
    finally:
        sys.path.remove(target.path0)


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
    if args.monitor == "line_stats":
        return _plan_line_stats(args, target, theirs, live)
    if live is not None and (args.recording is not None or args.output is not None):
        raise UsageError(
            "--live streams the records instead of writing them: drop "
            "--recording and -o"
        )
    monitor_class, focused_class = MONITORS[args.monitor]
    recording = recording_of(args.recording, args.output)
    timeline = live is None and recording in TRACE_RECORDINGS
    if args.timed and args.monitor not in TIMED_MONITORS:
        raise UsageError(
            f"--timed applies to {', '.join(TIMED_MONITORS)}, not {args.monitor}"
        )
    if timeline and not KINDS[MONITORS[args.monitor][0]._kind].function:
        what = (
            f"--recording {recording}"
            if args.recording is not None
            else f"-o {args.output} (a {recording} file)"
        )
        raise UsageError(
            f"{what} needs function events: use functions or function_memory, "
            f"not {args.monitor}"
        )
    options = {"timed": True} if args.timed else {}
    functions = _focus(args, target)
    recorder = live or make_recorder(args.recording, args.output, args.buffered)
    if functions is None:
        monitor = monitor_class(recorder, **options)
    else:
        monitor = focused_class(recorder, functions=functions, **options)
    child_plan = _plan_children(args, recording, live) if args.subprocesses else None
    return Plan(target=target, monitor=monitor, script_args=theirs, children=child_plan)


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
        plan = children.plan_of(
            args.monitor, None, None, False, args.timed, live=args.live_connect
        )
        plan["live_wait"] = bool(args.live_wait)
        return plan
    output = args.output if args.output is not None else RECORDINGS[recording]
    if output is None or output == "-":
        raise UsageError(
            "--subprocesses writes one file per process: choose a file "
            "recording (--recording text, csv, speedscope, chrome, collapsed, "
            "pprof, callgrind, "
            "or -o FILE), not the screen"
        )
    return children.plan_of(args.monitor, recording, output, args.buffered, args.timed)


def _main(argv, prog):
    try:
        prepared = plan(argv, prog)
    except ScriptError as failure:
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
