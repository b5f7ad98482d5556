"""``pikos diff BASE NEW``: two profiles compared function by function.

    pikos diff before.pstats after.pstats
    pikos diff base.pb.gz new.pb.gz --fail-on-calls       (CI: any growth fails)
    pikos diff base.pb.gz new.pb.gz --fail-on-calls=5%

Each profile is a pstats file (``pikos-run stats -o FILE``,
``StatsMonitor.dump_stats``, ``cProfile``), a pprof profile (``pikos-run
functions --recording pprof``, ``pikos export --format pprof``) or a capture
of timed function records (``pikos-run functions --timed -o run.pikos``).
The table
shows per function the calls and the own and cumulative seconds before,
after and the change, the largest change in own time first.  With
``--fail-on-calls[=THRESHOLD]`` the command exits 1 and names the functions
whose calls grew past the threshold: pikos' call counts are exact, so the
check never flakes.
"""

import argparse
import os
import sys

from pikos.cli._common import (
    CommandError,
    Parser,
    UsageError,
    counted,
    run_command,
    say,
)
from pikos.reports.profiles import Threshold, compare, label, load

EPILOG = """\
--fail-on-calls:
  --fail-on-calls        any function called more often than in BASE fails
  --fail-on-calls=10     ... more than 10 more times
  --fail-on-calls=5%     ... more than 5% more often (a function new in NEW:
                         always)"""

#: the option that takes its value only after `=` (a separate word is BASE)
FAIL_ON_CALLS = "--fail-on-calls"


def _parser(prog):
    parser = Parser(
        prog=prog,
        usage=f"{prog} [-h] [-n N] [{FAIL_ON_CALLS}[=THRESHOLD]] BASE NEW",
        description="Compare two profiles (pstats, pprof or capture files) "
        "function by "
        "function: calls, own and cumulative time before, after and the change.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("base", metavar="BASE", help="The profile before.")
    parser.add_argument("new", metavar="NEW", help="The profile after.")
    parser.add_argument(
        "-n",
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="Show the first N functions only (default: all that changed).",
    )
    parser.add_argument(
        FAIL_ON_CALLS,
        dest="fail_on_calls",
        metavar="THRESHOLD",
        default=None,
        help="Exit 1 when a function's calls grew past THRESHOLD: a count (10) "
        "or a percentage (5%%); without =THRESHOLD, any growth.",
    )
    return parser


def _split_bare_flag(argv):
    """``--fail-on-calls`` alone means any growth: its value only ever
    follows ``=``, so ``--fail-on-calls a.pstats b.pstats`` keeps both
    files."""
    return [f"{FAIL_ON_CALLS}=" if arg == FAIL_ON_CALLS else arg for arg in argv]


def _seconds(value):
    return f"{value:.6f}"


def _signed(value, seconds=True):
    text = f"{value:+.6f}" if seconds else f"{value:+d}"
    return text


def _calls(value):
    return "-" if value is None else str(value)


def table(changes):
    """The rows as aligned text."""
    header = (
        "calls before",
        "after",
        "change",
        "own s before",
        "after",
        "change",
        "cum s before",
        "after",
        "change",
        "function",
    )
    rows = [header]
    for change in changes:
        calls = change.calls_change
        before, after = change.before, change.after
        rows.append(
            (
                _calls(None if before is None else before.calls),
                _calls(None if after is None else after.calls),
                "-" if calls is None else f"{calls:+d}",
                _seconds(0 if before is None else before.own),
                _seconds(0 if after is None else after.own),
                _signed(change.own_change),
                _seconds(0 if before is None else before.cumulative),
                _seconds(0 if after is None else after.cumulative),
                _signed(change.cumulative_change),
                label(change.function),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in rows
    )


def _diff(argv, prog):
    args = _parser(prog).parse_args(_split_bare_flag(argv))
    threshold = None
    if args.fail_on_calls is not None:
        try:
            threshold = Threshold(args.fail_on_calls)
        except ValueError as error:
            raise UsageError(str(error)) from None
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"-n takes a positive count, not {args.limit}")
    for path in (args.base, args.new):
        if not os.path.isfile(path):
            why = "it is a directory" if os.path.isdir(path) else "no such file"
            raise UsageError(f"cannot read {path}: {why}")
    base, new = load(args.base), load(args.new)
    changes = compare(base, new)
    shown = [
        c
        for c in changes
        if c.own_change
        or c.cumulative_change
        or c.calls_change
        or not c.before
        or not c.after
    ]
    if args.limit is not None:
        shown = shown[: args.limit]
    say(f"BASE {args.base} ({base.kind}), NEW {args.new} ({new.kind})")
    if shown:
        say(table(shown))
    else:
        say("no function changed")
    if threshold is None:
        return 0
    if any(c.calls_change is None for c in changes if c.before and c.after):
        sys.stdout.flush()
        raise CommandError(
            f"{FAIL_ON_CALLS}: a profile counts no calls (a sampled pprof?): "
            "compare pikos profiles (pstats, or pprof from timed function records)"
        )
    grown = [c for c in changes if threshold.exceeded(c)]
    if not grown:
        return 0
    grown.sort(key=lambda c: (-(c.calls_change or 0), label(c.function)))
    named = "; ".join(
        f"{label(c.function)} {c.calls_before or 0} -> {c.calls_after} "
        f"({c.calls_change:+d})"
        for c in grown
    )
    sys.stdout.flush()
    raise CommandError(
        f"calls grew past {threshold} in {counted(len(grown), 'function')}: {named}"
    )


def main(argv=None, prog="pikos diff"):
    """Run ``pikos diff``; return the exit status."""
    return run_command(prog, _diff, argv)
