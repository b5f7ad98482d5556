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

The CSV is streamed: only the needed columns are kept, as numpy arrays.
Beyond 100,000 records the line is drawn from each bucket's lowest and
highest values, so that peaks stay visible; the summary printed on success
(record count, RSS range) is computed from every record.

matplotlib and numpy are needed (``pip install 'pikos[plot]'``); they are
imported only when the command runs.
"""

import csv
import os
from array import array
from operator import itemgetter

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
from pikos.recorders.trace_recorders import as_text

#: Output formats, by extension.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}

#: Beyond this many records the drawn line is decimated (min/max per bucket).
MAX_POINTS = 100_000

#: Figure size in inches and resolution: an 800 x 450 PNG, a 576 x 324 pt SVG.
FIGSIZE = (8, 4.5)
DPI = 100

MiB = 2**20


def _parser(prog):
    parser = Parser(
        prog=prog,
        description="Plot RSS (and VMS) against record index from the CSV "
        "written by a pikos memory monitor.",
    )
    parser.add_argument("csv", metavar="CSV", help="a memory monitor's CSV file")
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


def _read_columns(numpy, path, stream, names):
    """The integer columns ``names`` (two or more) of the CSV ``stream``, as
    numpy int64 arrays, reading one row at a time."""
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
        if not header:
            raise CommandError(f"{path}: empty file, no header")
        missing = [name for name in names if name not in header]
        if missing:
            columns = " and ".join(missing) + (" columns" if missing[1:] else " column")
            raise CommandError(
                f"{path}: no {columns}: not a memory monitor's CSV "
                f"(header: {','.join(header)})"
            )
        positions = [header.index(name) for name in names]
        fields = itemgetter(*positions)
        columns = [array("q") for _ in names]
        appends = [column.append for column in columns]
        for row in reader:
            if not row:  # a blank line
                continue
            try:
                for append, value in zip(appends, fields(row), strict=True):
                    append(int(value))
            except (IndexError, ValueError, OverflowError):
                raise _bad_row(path, reader.line_num, row, names, positions) from None
    except csv.Error as error:
        raise CommandError(f"{path}, line {reader.line_num}: {error}") from None
    except UnicodeDecodeError:
        line = reader.line_num + 1
        raise CommandError(f"{path}, line {line}: not UTF-8 text") from None
    return [numpy.frombuffer(column, dtype=numpy.int64) for column in columns]


def _bad_row(path, line, row, names, positions):
    """The error for a row whose ``names`` fields are not all 64-bit
    integers."""
    where = f"{path}, line {line}"
    for name, position in zip(names, positions, strict=True):
        if position >= len(row):
            return CommandError(f"{where}: no {name} value")
        value = row[position]
        try:
            array("q", [int(value)])
        except ValueError:
            return CommandError(f"{where}: {name} is not an integer: {value!r}")
        except OverflowError:
            return CommandError(f"{where}: {name} is out of range: {value!r}")
    raise AssertionError("unreachable: the row's fields are integers")


def _extremes(numpy, values, buckets):
    """The positions of the lowest and highest of ``values`` in each of
    ``buckets`` consecutive slices of about equal length."""
    size = -(-len(values) // buckets)
    padded = numpy.pad(values, (0, size * buckets - len(values)), mode="edge")
    rows = padded.reshape(buckets, size)
    starts = numpy.arange(buckets) * size
    positions = numpy.concatenate(
        [starts + rows.argmin(axis=1), starts + rows.argmax(axis=1)]
    )
    return numpy.minimum(positions, len(values) - 1)


def _decimate(numpy, series, limit=MAX_POINTS):
    """The positions of the points to draw: all of them up to ``limit``;
    beyond, the first, the last and each bucket's extremes of every series,
    in order, about ``limit`` in all."""
    count = len(series[0])
    if count <= limit:
        return slice(None)
    buckets = max(1, (limit - 2) // (2 * len(series)))
    keep = [numpy.array([0, count - 1])]
    keep += [_extremes(numpy, values, buckets) for values in series]
    return numpy.unique(numpy.concatenate(keep))


def _draw(Figure, numpy, index, lines, title):
    """A figure with one step line of MiB against ``index`` per
    ``(label, values)`` of ``lines``."""
    figure = Figure(figsize=FIGSIZE, dpi=DPI)
    axes = figure.add_subplot()
    shown = _decimate(numpy, [values for _, values in lines])
    x = index[shown]
    marker = "o" if len(x) == 1 else None
    for label, values in lines:
        axes.plot(
            x, values[shown] / MiB, drawstyle="steps-post", marker=marker, label=label
        )
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
    try:
        stream = open(path, newline="", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    with stream:
        check_writable(output)
        try:
            index, *series = _read_columns(numpy, path, stream, ["index", *names])
        except OSError as error:
            raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    if not len(index):
        raise CommandError(f"{path}: no records to plot")

    # A name that is not UTF-8 is drawn as records write it (the byte
    # backslash-escaped): fonts have no glyph for a lone surrogate.
    title = as_text(
        args.title if args.title is not None else f"Memory of {os.path.basename(path)}"
    )
    rc = {"svg.fonttype": "none", "savefig.bbox": "standard"}
    with matplotlib.rc_context(rc):
        figure = _draw(
            Figure, numpy, index, list(zip(names, series, strict=True)), title
        )
        try:
            figure.savefig(output, format=fmt, dpi=DPI)
        except OSError as error:
            raise UsageError(
                f"cannot write {output}: {error.strerror or error}"
            ) from None

    rss = series[0]
    say(
        f"wrote {output} ({counted(len(index), 'record')}, "
        f"RSS {rss.min() / MiB:.1f}..{rss.max() / MiB:.1f} MiB)"
    )
    return 0


def main(argv=None, prog="pikos plot"):
    """Run ``pikos plot ...``; return the exit status."""
    return run_command(prog, _plot, argv)
