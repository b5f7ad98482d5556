"""``pikos plot``: draw the memory a program used, from a memory monitor's CSV.

    pikos plot CSV [-o OUTPUT] [--vms] [--title TITLE]

``CSV`` is a file written by a memory monitor (``LineMemoryMonitor``,
``FunctionMemoryMonitor`` or their focused variants) through a
``CSVFileRecorder``: a header row, then one row per record.  The columns are
found by name (``index``, ``RSS`` and, for ``--vms``, ``VMS``; sizes in
bytes), so the order of the columns and the other columns do not matter.

The figure is a step plot of RSS in MiB (bytes / 2**20) against the
record index, 8 x 4.5 inches at 100 dpi (an 800 x 450 PNG); ``--vms`` adds
VMS as a second line.  ``OUTPUT`` defaults to the CSV's path with the suffix
``.png``; its extension (``.png``, ``.svg`` or ``.pdf``) chooses the format.

The CSV is streamed by :mod:`pikos.reports.memory_csv`, ``pikos report``'s
reader, with its decimation: beyond
:data:`~pikos.reports.memory_csv.MAX_BUCKETS` records each line is drawn from
the first and last records and each bucket's lowest and highest values, so
that peaks stay visible; the summary printed on success (record count, RSS
range) is that of every record.

matplotlib and numpy are needed (``pip install 'pikos[plot]'``); they are
imported only when the command runs.
"""

import os

from pikos.cli._common import (
    CommandError,
    Parser,
    UsageError,
    check_writable,
    counted,
    output_beside,
    run_command,
    say,
)
from pikos.messages import MIB
from pikos.recorders.trace_recorders import as_text
from pikos.reports.memory_csv import is_capture, open_csv, read_capture, read_memory

#: Output formats, by extension.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}

#: Figure size in inches and resolution: an 800 x 450 PNG, a 576 x 324 pt SVG.
FIGSIZE = (8, 4.5)
DPI = 100


def _parser(prog):
    parser = Parser(
        prog=prog,
        description="Plot RSS (and VMS) against record index from the CSV "
        "written by a pikos memory monitor.",
    )
    parser.add_argument(
        "csv",
        metavar="CSV",
        help="a memory monitor's CSV file, or a capture (.pikos) of one",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        help="the image to write: .png, .svg or .pdf "
        "(default: the CSV's path with the suffix .png)",
    )
    parser.add_argument(
        "--vms", action="store_true", help="also plot VMS, as a second line"
    )
    parser.add_argument(
        "--title", help="the figure's title (default: 'Memory of <CSV file name>')"
    )
    return parser


def _output_format(output):
    """The matplotlib format for ``output``, from its extension."""
    extension = os.path.splitext(output)[1]
    try:
        return FORMATS[extension.lower()]
    except KeyError:
        choices = ", ".join(FORMATS)
        raise UsageError(
            f"{output}: unsupported output extension {extension!r} "
            f"(choose from {choices})"
        ) from None


def _import_plotting():
    """numpy and matplotlib's ``Figure`` (no pyplot: no global state, no
    display), or a CommandError telling how to install them."""
    try:
        import matplotlib
        import numpy
        from matplotlib.figure import Figure
    except ImportError as error:
        message = "matplotlib is needed to plot: pip install 'pikos[plot]'"
        if error.name not in ("matplotlib", "numpy"):
            message += f" ({error})"
        raise CommandError(message) from None
    return numpy, matplotlib, Figure


def _draw(Figure, numpy, lines, title):
    """A figure with one step line of MiB against the record index per
    ``(label, series)`` of ``lines``."""
    figure = Figure(figsize=FIGSIZE, dpi=DPI)
    axes = figure.add_subplot()
    for label, series in lines:
        marker = "o" if len(series.x) == 1 else None
        y = numpy.asarray(series.y, dtype=numpy.float64) / MIB
        axes.plot(series.x, y, drawstyle="steps-post", marker=marker, label=label)
    axes.set_xlabel("record index")
    axes.set_ylabel(" and ".join(label for label, _ in lines) + " (MiB)")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    if len(lines) > 1:
        axes.legend()
    figure.tight_layout()
    return figure


def _plot(argv, prog):
    args = _parser(prog).parse_args(argv)
    path = args.csv
    output = output_beside(path, args.output, ".png")
    fmt = _output_format(output)
    numpy, matplotlib, Figure = _import_plotting()

    names = ["RSS", "VMS"] if args.vms else ["RSS"]
    if is_capture(path):
        check_writable(output)
        memory = read_capture(path, needed=("index", *names), verb="plot")
    else:
        with open_csv(path) as stream:
            check_writable(output)
            memory = read_memory(path, stream, needed=("index", *names), verb="plot")

    # A name that is not UTF-8 is drawn as records write it (the byte
    # backslash-escaped): fonts have no glyph for a lone surrogate.
    title = as_text(
        args.title if args.title is not None else f"Memory of {os.path.basename(path)}"
    )
    rc = {"svg.fonttype": "none", "savefig.bbox": "standard"}
    with matplotlib.rc_context(rc):
        lines = [("RSS", memory.rss)]
        if args.vms:
            lines.append(("VMS", memory.vms))
        figure = _draw(Figure, numpy, lines, title)
        try:
            figure.savefig(output, format=fmt, dpi=DPI)
        except OSError as error:
            raise UsageError(
                f"cannot write {output}: {error.strerror or error}"
            ) from None

    # The drawn points hold every bucket's extremes: their range is every
    # record's.
    rss = memory.rss.y
    say(
        f"wrote {output} ({counted(memory.records, 'record')}, "
        f"RSS {min(rss) / MIB:.1f}..{max(rss) / MIB:.1f} MiB)"
    )
    return 0


def main(argv=None, prog="pikos plot"):
    """Run ``pikos plot ...``; return the exit status."""
    return run_command(prog, _plot, argv)
