"""``pikos export``: a capture (``pikos-run ... --recording capture``,
``CaptureRecorder``) to any output, or timed function records (a CSV written
with ``pikos-run functions --timed --recording csv``, or by a timed function
monitor) to the files viewers open.

    pikos export monitor_records.pikos --format csv    (the CSV, byte for byte)
    pikos export timed.pikos --format pstats           (cProfile's statistics)
    pikos export monitor_records.csv                   (speedscope)
    pikos export monitor_records.csv --format chrome   (Perfetto)
    pikos export monitor_records.csv -o stacks.folded  (flame graphs)
    pikos export monitor_records.csv --format pprof    (go tool pprof)
    pikos export monitor_records.csv --format callgrind  (KCachegrind)

Without ``--format``, the output's name chooses (``.speedscope.json``,
``.trace.json``, ``.collapsed.txt``, ``.folded``, ``.pb.gz``, ``.pprof``,
``callgrind.out.*``; for a capture also ``.csv``, ``.log``, ``.pstats``),
else csv for a capture and speedscope for a CSV.  Without ``-o``, the
output is the input's name with the format's ending (callgrind:
``callgrind.out.`` before it); ``-o -`` writes to stdout (the summary line
then goes to stderr).  A capture cut short (a process killed, a full disk)
is exported up to its last whole block, and one line on stderr says where
it stops.
"""

import argparse
import json
import marshal
import os
import sys

from pikos import _native
from pikos._specs import TextEncoding
from pikos.cli._common import (
    CommandError,
    Parser,
    UsageError,
    check_writable,
    counted,
    run_command,
    say,
)
from pikos.monitors.records import RECORD_CLASSES
from pikos.monitors.stats_monitor import pstats_of
from pikos.recorders.csv_recorder import csv_encoder
from pikos.recorders.trace_recorders import (
    FORMATS,
    as_text,
    default_name,
    implied_format,
)

#: formats only a capture can be exported to -> their default ending
ROW_FORMATS = {"csv": ".csv", "text": ".log"}
#: cProfile's statistics of a capture's timed function records
STATS_ENDING = ".pstats"

EPILOG = """\
formats:
  csv         the CSV --recording csv writes (captures only)
  text        the text --recording text writes (captures only)
  pstats      cProfile's statistics file of timed function records: pstats,
              snakeviz, tuna (captures only; builtins named by their name)
  speedscope  https://www.speedscope.app (File > Open): a profile per thread
  chrome      Trace Event Format: https://ui.perfetto.dev, chrome://tracing
  collapsed   `stack;of;frames nanoseconds` lines: flamegraph.pl, inferno,
              Pyroscope's ingest
  pprof       gzipped profile.proto: go tool pprof, Pyroscope, Parca, Grafana
  callgrind   callgrind.out.*: KCachegrind, QCachegrind, callgrind_annotate"""


def _parser(prog):
    parser = Parser(
        prog=prog,
        description="Convert a capture (.pikos) to CSV, text, pstats or a "
        "timeline, or timed function records (CSV or capture) to speedscope, "
        "Chrome trace events, collapsed stacks, pprof or callgrind.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input",
        help="A capture (pikos-run --recording capture), or a CSV of timed "
        "function records (pikos-run functions --timed --recording csv).",
    )
    parser.add_argument(
        "-f",
        "--format",
        choices=[*ROW_FORMATS, *FORMATS, "pstats"],
        help="The output format.",
    )
    parser.add_argument("-o", "--output", help="The output file ('-': stdout).")
    parser.add_argument(
        "--name",
        help="The profile's name (speedscope, pprof) or process's (chrome, "
        "callgrind); default: "
        "the input's file name.",
    )
    return parser


def format_of(chosen, output, capture=False):
    """The format ``--format`` names, or the one ``-o``'s name implies."""
    if chosen is not None:
        return chosen
    implied = implied_format(output)
    if implied is None and capture and output:
        lower = output.lower()
        endings = {**ROW_FORMATS, "pstats": STATS_ENDING}
        implied = next((f for f, e in endings.items() if lower.endswith(e)), None)
    return implied or ("csv" if capture else "speedscope")


def default_output(path, fmt):
    """``run.csv`` -> ``run.speedscope.json``, ``run.pikos`` -> ``run.csv``
    (and so on; ``callgrind.out.run``)."""
    stem, extension = os.path.splitext(path)
    if extension.lower() not in (".csv", ".pikos"):
        stem = path
    endings = {**ROW_FORMATS, "pstats": STATS_ENDING}
    return stem + endings[fmt] if fmt in endings else default_name(fmt, stem)


def row_encoder(path, fmt):
    """The encoding ``--recording csv`` or ``--recording text`` records the
    capture's kind with (text: the record class's templates)."""
    if fmt == "csv":
        return csv_encoder({})
    first = _native.capture_session(path)
    kind = json.loads(first[0]).get("kind") if first else None
    record = RECORD_CLASSES.get(kind) if isinstance(kind, str) else None
    if record is None:
        return TextEncoding()
    return TextEncoding(record.header, record.line)


def say_cut(path, read):
    """The one line on stderr for a capture cut short, or not finalized."""
    cut = read.get("cut")
    if cut is not None:
        say(
            f"pikos export: {path} is cut at byte {cut['offset']} (block "
            f"{cut['block']}: {cut['reason']}); exported the "
            f"{counted(cut['records'], 'record')} before it",
            sys.stderr,
        )
    elif read["ended"] < read["sessions"]:
        say(
            f"pikos export: {path} ends without its end marker (the recording "
            f"stopped before it was finalized: a kill, os._exit or a full "
            f"disk); exported its {counted(read['records'], 'record')}, all "
            f"in whole blocks",
            sys.stderr,
        )


def _export(argv, prog):
    args = _parser(prog).parse_args(argv)
    if not os.path.isfile(args.input):
        why = "it is a directory" if os.path.isdir(args.input) else "no such file"
        raise UsageError(f"cannot read {args.input}: {why}")
    capture = _native.is_capture(args.input)
    fmt = format_of(args.format, args.output, capture)
    if (fmt in ROW_FORMATS or fmt == "pstats") and not capture:
        raise UsageError(
            f"--format {fmt} exports a capture (.pikos); {args.input} is not one"
        )
    output = args.output or default_output(args.input, fmt)
    to_stdout = output == "-"
    if not to_stdout:
        if os.path.exists(output) and os.path.samefile(output, args.input):
            raise UsageError(f"{output} is the input: give another -o")
        check_writable(output)
    name = as_text(args.name if args.name is not None else os.path.basename(args.input))
    if to_stdout:
        sys.stdout.flush()  # what Python wrote goes first
    if fmt in ROW_FORMATS:
        return _export_rows(args.input, output, fmt, to_stdout)
    if fmt == "pstats":
        return _export_stats(args.input, output, to_stdout)
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
    if capture:
        say_cut(args.input, summary)
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


def _export_rows(path, output, fmt, to_stdout):
    try:
        read = _native.export_capture(
            path, None if to_stdout else output, row_encoder(path, fmt)
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot export: {error}") from None
    say_cut(path, read)
    say(
        f"{'stdout' if to_stdout else output}: "
        f"{counted(read['records'], 'record')} from "
        f"{counted(read['sessions'], 'session')}",
        sys.stderr if to_stdout else sys.stdout,
    )
    return 0


def _export_stats(path, output, to_stdout):
    try:
        rows, read = _native.capture_stats(path)
    except ValueError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot export: {error}") from None
    if not rows:
        raise CommandError(
            f"{path} holds no timed function records: its statistics would be "
            "empty (record with pikos-run functions --timed)"
        )
    data = marshal.dumps(pstats_of(rows))
    try:
        if to_stdout:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            with open(output, "wb") as out:
                out.write(data)
    except OSError as error:
        raise CommandError(
            f"cannot write {output}: {error.strerror or error}"
        ) from None
    say_cut(path, read)
    say(
        f"{'stdout' if to_stdout else output}: "
        f"{counted(len(rows), 'function')} from "
        f"{counted(read['records'], 'record')}",
        sys.stderr if to_stdout else sys.stdout,
    )
    return 0


def main(argv=None, prog="pikos export"):
    """Run ``pikos export``; return the exit status."""
    return run_command(prog, _export, argv)
