"""``pikos``: the umbrella command.  ``pikos run ...`` is ``pikos-run ...``;
``python -m pikos`` is ``pikos``.

Each subcommand is a module of this package with
``main(argv=None, prog=...) -> int`` (the exit status); it is imported only
when used, so ``pikos plot`` does not load the monitors and ``pikos run``
does not load matplotlib.
"""

import importlib
import sys

from pikos.cli._common import UsageError
from pikos.cli._common import report as report_error

#: name -> (module, one-line summary)
COMMANDS = {
    "run": ("pikos.cli.run", "run a Python script or module under a monitor"),
    "plot": ("pikos.cli.plot", "plot RSS against record index from a memory CSV"),
    "report": (
        "pikos.cli.report",
        "write an HTML report of a memory CSV: timeline and top growth",
    ),
    "export": (
        "pikos.cli.export",
        "timed function records to speedscope, Chrome trace, flame graph "
        "stacks, pprof or callgrind",
    ),
    "diff": (
        "pikos.cli.diff",
        "compare two profiles (pstats or pprof): calls and times per function",
    ),
    "live": (
        "pikos.cli.live",
        "watch programs run with --live: memory and function statistics",
    ),
}


def _help(prog):
    width = max(len(name) for name in COMMANDS)
    lines = [
        f"usage: {prog} <command> [arguments]",
        "",
        "pikos: function, line and memory monitors for Python programs.",
        "",
        "commands:",
    ]
    lines += [
        f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()
    ]
    lines += ["", f"'{prog} <command> -h' describes a command."]
    return "\n".join(lines) + "\n"


def main(argv=None, prog="pikos"):
    """Run ``pikos <command> ...``; return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        sys.stderr.write(_help(prog))
        return 2
    name, rest = argv[0], argv[1:]
    if name in ("-h", "--help"):
        sys.stdout.write(_help(prog))
        return 0
    if name == "--version":
        from pikos import __version__

        sys.stdout.write(f"pikos {__version__}\n")
        return 0
    if name not in COMMANDS:
        choices = ", ".join(COMMANDS)
        return report_error(
            prog, UsageError(f"unknown command {name!r} (choose from {choices})")
        )
    module = importlib.import_module(COMMANDS[name][0])
    return module.main(rest, prog=f"{prog} {name}")


def console_main():
    """Entry point of the ``pikos`` console script."""
    sys.exit(main())
