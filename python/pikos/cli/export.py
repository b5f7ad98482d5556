"""``pikos export``: timed function records (a CSV written with
``pikos-run functions --timed --recording csv``, or by a timed function
monitor) to the files viewers open.

    pikos export monitor_records.csv                   (speedscope)
    pikos export monitor_records.csv --format chrome   (Perfetto)
    pikos export monitor_records.csv -o stacks.folded  (flame graphs)
    pikos export monitor_records.csv --format pprof    (go tool pprof)
    pikos export monitor_records.csv --format callgrind  (KCachegrind)

Without ``--format``, the output's name chooses (``.speedscope.json``,
``.trace.json``, ``.collapsed.txt``, ``.folded``, ``.pb.gz``, ``.pprof``,
``callgrind.out.*``), else speedscope.
Without ``-o``, the output is the input's name with the format's ending
(callgrind: ``callgrind.out.`` before it);
``-o -`` writes to stdout (the summary line then goes to stderr).
"""

import argparse
import os
import sys

from pikos import _native
from pikos.cli._common import (
    CommandError,
    Parser,
    UsageError,
    check_writable,
    counted,
    run_command,
    say,
)
from pikos.recorders.trace_recorders import (
    FORMATS,
    as_text,
    default_name,
    implied_format,
)

EPILOG = """\
formats:
  speedscope  https://www.speedscope.app (File > Open): a profile per thread
  chrome      Trace Event Format: https://ui.perfetto.dev, chrome://tracing
  collapsed   `stack;of;frames nanoseconds` lines: flamegraph.pl, inferno,
              Pyroscope's ingest
  pprof       gzipped profile.proto: go tool pprof, Pyroscope, Parca, Grafana
  callgrind   callgrind.out.*: KCachegrind, QCachegrind, callgrind_annotate"""


def _parser(prog):
    parser = Parser(
        prog=prog,
        description="Convert timed function records (CSV) to speedscope, "
        "Chrome trace events, collapsed stacks, pprof or callgrind.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input",
        help="A CSV of timed function records (pikos-run functions --timed "
        "--recording csv).",
    )
    parser.add_argument(
        "-f", "--format", choices=list(FORMATS), help="The output format."
    )
    parser.add_argument("-o", "--output", help="The output file ('-': stdout).")
    parser.add_argument(
        "--name",
        help="The profile's name (speedscope, pprof) or process's (chrome, "
        "callgrind); default: "
        "the input's file name.",
    )
    return parser


def format_of(chosen, output):
    """The format ``--format`` names, or the one ``-o``'s name implies."""
    if chosen is not None:
        return chosen
    return implied_format(output) or "speedscope"


def default_output(path, fmt):
    """``run.csv`` -> ``run.speedscope.json`` (and so on;
    ``callgrind.out.run``)."""
    stem, extension = os.path.splitext(path)
    if extension.lower() != ".csv":
        stem = path
    return default_name(fmt, stem)


def _export(argv, prog):
    args = _parser(prog).parse_args(argv)
    fmt = format_of(args.format, args.output)
    if not os.path.isfile(args.input):
        why = "it is a directory" if os.path.isdir(args.input) else "no such file"
        raise UsageError(f"cannot read {args.input}: {why}")
    output = args.output or default_output(args.input, fmt)
    to_stdout = output == "-"
    if not to_stdout:
        if os.path.exists(output) and os.path.samefile(output, args.input):
            raise UsageError(f"{output} is the input: give another -o")
        check_writable(output)
    name = as_text(args.name if args.name is not None else os.path.basename(args.input))
    if to_stdout:
        sys.stdout.flush()  # what Python wrote goes first
    try:
        summary = _native.export_trace(
            args.input, None if to_stdout else output, fmt, name=name
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot export: {error}") from None
    notes = []
    if summary["unmatched"]:
        notes.append(
            f"{counted(summary['unmatched'], 'return')} without their call skipped"
        )
    if summary["unfinished"]:
        notes.append(
            f"{counted(summary['unfinished'], 'call')} still open closed at the end"
        )
    say(
        f"{'stdout' if to_stdout else output}: "
        f"{counted(summary['calls'], 'call')} from "
        f"{counted(summary['records'], 'record')}, "
        f"{counted(summary['threads'], 'thread')}, "
        f"{counted(summary['frames'], 'frame')}"
        + (f" ({'; '.join(notes)})" if notes else ""),
        sys.stderr if to_stdout else sys.stdout,
    )
    return 0


def main(argv=None, prog="pikos export"):
    """Run ``pikos export``; return the exit status."""
    return run_command(prog, _export, argv)
