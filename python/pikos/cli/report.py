"""``pikos report``: a memory monitor's CSV as one self-contained HTML page,
or, for line memory records, memory_profiler's table per function as text.

    pikos report CSV [-o OUTPUT] [--title TITLE] [--top N]
    pikos report --format text CSV

``CSV`` is a file written by a memory monitor (the kinds of
:mod:`pikos.kinds` that record memory, focused or not) through a CSV
recorder.  Columns are
found by header name: ``RSS`` and ``VMS`` (bytes) are needed; ``index``,
``function``, ``filename``, ``lineNo`` and ``line`` are used when present;
any other column (``type``, ``time``, ``thread``, ...) is ignored.

The page (``OUTPUT``, by default the CSV's path with the suffix ``.html``)
holds everything it shows: no network, no external file.  It has

* a summary: records, peak RSS and VMS, first and last RSS, net change;
* RSS (MiB) against the record index, drawn on a ``<canvas>`` by an
  inline script from JSON embedded in the page; VMS is off by default (it
  is usually far above RSS, which would shrink to a sliver at the bottom of
  a shared axis) and a tick of its box draws it too;
* the ``--top`` lines (line records) or functions (function records) under
  which RSS grew most.

Growth attribution: the RSS change from record ``i`` to record ``i + 1`` is
charged to record ``i``'s location (function, filename, lineNo): for a line
record, the line that ran between the two readings; for a function record,
the code that ran between the two events.  Per location the table gives the
records (hits), the growth (the sum of the positive changes) and the net
change (the sum of all changes).  When the ``index`` column goes back (a
second monitoring session appended to the file) the change across the gap is
charged to nobody.

``--format text`` prints on stdout, for a line memory CSV, a table per
function in memory_profiler's shape (:mod:`pikos.reports.line_table`); any
other CSV is an error naming the monitor it needs.

The file is read once, as a stream, by :mod:`pikos.reports.memory_csv`
(also ``pikos plot``'s reader): only per-location totals and the lowest and
highest RSS and VMS of at most
:data:`~pikos.reports.memory_csv.MAX_BUCKETS` buckets of consecutive records
are kept, so millions of records need little memory.  The page is
:mod:`pikos.reports.html`'s.  Only the standard library is used.
"""

import os
import sys

from pikos.cli._common import (
    Parser,
    UsageError,
    check_writable,
    output_beside,
    run_command,
    say,
)
from pikos.reports import line_table
from pikos.reports.html import DEFAULT_TOP, render
from pikos.reports.memory_csv import (
    FUNCTION_MEMORY,
    LINE_MEMORY,
    open_csv,
    read_memory,
)

FORMATS = ("html", "text")


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(text)
    return value


_positive.__name__ = "positive integer"  # argparse's "invalid ... value"


def _parser(prog):
    parser = Parser(
        prog=prog,
        description="Write an HTML page of the memory a program used, from the "
        f"CSV written by a pikos memory monitor ({LINE_MEMORY}, "
        f"{FUNCTION_MEMORY}): RSS and VMS against record index, and the lines "
        "or functions under which RSS grew most; or, with --format text, print "
        f"memory_profiler's table per function of a {LINE_MEMORY} CSV.",
    )
    parser.add_argument("csv", metavar="CSV", help="a memory monitor's CSV file")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="html",
        help="html: the page (default); text: per function, memory_profiler's "
        "table (Line #, Mem usage, Increment, Occurrences, Line Contents; MiB) on "
        f"stdout, for a {LINE_MEMORY} CSV",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        help="the HTML file to write (default: the CSV's path with the suffix .html)",
    )
    parser.add_argument(
        "--title",
        help="the page's title (default: 'pikos memory report: <CSV file name>')",
    )
    parser.add_argument(
        "--top",
        metavar="N",
        type=_positive,
        help=f"rows in the table of largest growth (default: {DEFAULT_TOP})",
    )
    return parser


def _report(argv, prog):
    parser = _parser(prog)
    args = parser.parse_args(argv)
    path = args.csv
    if args.format == "text":
        given = [
            option
            for option, value in (
                ("--output", args.output),
                ("--title", args.title),
                ("--top", args.top),
            )
            if value is not None
        ]
        if given:
            parser.error(f"{', '.join(given)}: only with --format html")
        with open_csv(path) as stream:
            memory = read_memory(path, stream)
        sys.stdout.write(line_table.render(memory, path))
        return 0
    top = DEFAULT_TOP if args.top is None else args.top
    output = output_beside(path, args.output, ".html")
    with open_csv(path) as stream:
        check_writable(output)
        memory = read_memory(path, stream)

    name = os.path.basename(path)
    title = args.title if args.title is not None else f"pikos memory report: {name}"
    from pikos import __version__

    page = render(memory, title, name, top, __version__)
    try:
        # A name that is not UTF-8 reads as records write it: the byte
        # backslash-escaped.
        with open(
            output, "w", encoding="utf-8", errors="backslashreplace", newline="\n"
        ) as out:
            out.write(page)
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
    say(output)
    return 0


def main(argv=None, prog="pikos report"):
    """Run ``pikos report ...``; return the exit status."""
    return run_command(prog, _report, argv)
