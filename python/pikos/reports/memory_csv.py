"""The one reader of a memory monitor's CSV, for ``pikos plot`` and
``pikos report``: a header row, then one row per record, written by
``line_memory`` or ``function_memory`` (focused or not, timed or not)
through a CSV recorder.

Columns are found by header name: ``RSS`` (bytes) always, ``VMS`` (bytes)
when present, ``index`` as the x of a record (without it, the record's
position), ``function``, ``filename``, ``lineNo`` and ``line`` for the
locations; any other column is ignored.  Each caller says which columns it
needs.  Every row has the header's width and integer ``RSS``, ``VMS`` and
``index``; an error names the file and line.

The file is read once, as a stream, and what is kept is bounded whatever
its length: per location its totals, and per bucket of consecutive records
the lowest and highest RSS and VMS, at most :data:`MAX_BUCKETS` buckets.
That is the one decimation rule: the points drawn are the first and last
records and each bucket's extremes, so a peak of one record stays visible
at any size, and the lowest and highest values of the series are those of
every record.
"""

import csv
from dataclasses import dataclass, field
from operator import itemgetter

from pikos.kinds import KINDS
from pikos.messages import CommandError, UsageError

#: The chart is drawn from at most this many buckets of consecutive records
#: (one record each for small files), each by its lowest and highest RSS and
#: VMS, so that a peak of one record stays visible at any size.
MAX_BUCKETS = 2000

#: The columns ``pikos report`` needs.
REPORT_COLUMNS = ("RSS", "VMS")

LOCATION_COLUMNS = ("function", "filename", "lineNo")

# The two memory kinds a CSV can come from (pikos.kinds: the untimed kinds
# that record memory), by whether their records are of function events.
_MEMORY_KIND = {
    kind.function: kind for kind in KINDS.values() if kind.memory and kind.monitor
}
#: The layout of line memory records (``pikos-run line_memory``) and of
#: function memory records: the monitors' names.
LINE_MEMORY = _MEMORY_KIND[False].monitor
FUNCTION_MEMORY = _MEMORY_KIND[True].monitor
#: The layout of a CSV with RSS whose other columns match neither.
OTHER_MEMORY = "memory"
# A column only records of that kind have: it tells the layout apart.
_LINE_ONLY = next(
    f for f in _MEMORY_KIND[False].fields if f not in _MEMORY_KIND[True].fields
)
_FUNCTION_ONLY = next(
    f for f in _MEMORY_KIND[True].fields if f not in _MEMORY_KIND[False].fields
)


@dataclass
class Series:
    """A decimated series: the points drawn, in record order."""

    x: list = field(default_factory=list)
    y: list = field(default_factory=list)


@dataclass
class Location:
    """Where RSS was charged: the totals of one (function, filename, lineNo)."""

    function: str
    filename: str
    lineNo: str
    line: str  # the source text (line records), else ""
    hits: int  # records at this location
    growth: int  # bytes: the sum of the positive RSS changes charged here
    net: int  # bytes: the sum of the RSS changes charged here
    # bytes: the highest RSS read after a record here (the next record's;
    # the record's own for the last one of a session)
    peak: int


@dataclass
class Memory:
    """What the report shows of a memory CSV."""

    layout: str  # LINE_MEMORY, FUNCTION_MEMORY or OTHER_MEMORY
    records: int
    first_rss: int
    last_rss: int
    first_vms: int
    last_vms: int
    peak_rss: int
    peak_rss_at: int  # the record index of the first peak
    peak_vms: int  # None without a VMS column (allowed if not needed)
    peak_vms_at: int
    rss: Series
    vms: Series  # None without a VMS column
    bucket: int  # records per bucket (1: every record is drawn)
    buckets: int
    locations: list  # of Location, in order of first appearance


def open_csv(path):
    """``path`` opened for :func:`read_memory` (UTF-8, a byte order mark
    skipped); a CSV that cannot be opened is a UsageError."""
    try:
        return open(path, newline="", encoding="utf-8-sig")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None


def read_memory(path, stream, limit=MAX_BUCKETS, needed=REPORT_COLUMNS, verb="report"):
    """The :class:`Memory` of the CSV ``stream`` (named ``path`` in errors);
    ``needed`` and ``verb`` as for :func:`scan`."""
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
        if not header:
            raise CommandError(f"{path}: empty file, no header")
        return scan(header, reader, path, lambda: reader.line_num, limit, needed, verb)
    except csv.Error as error:
        raise CommandError(f"{path}, line {reader.line_num}: {error}") from None
    except UnicodeDecodeError:
        line = reader.line_num + 1
        raise CommandError(f"{path}, line {line}: not UTF-8 text") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None


def _location_getter(header):
    """A function of a row giving its (function, filename, lineNo); a
    missing column reads as ""."""
    positions = [
        header.index(name) if name in header else None for name in LOCATION_COLUMNS
    ]
    if None not in positions:
        return itemgetter(*positions)
    return lambda row: tuple("" if p is None else row[p] for p in positions)


def scan(
    header,
    rows,
    path="<rows>",
    line_number=None,
    limit=MAX_BUCKETS,
    needed=REPORT_COLUMNS,
    verb="report",
):
    """The :class:`Memory` of ``rows`` (lists of strings) under ``header``.

    ``line_number()`` gives the file line of the row just read, for errors
    (by default: the row's position, the header being line 1).  Keeps, per
    location, its totals and, per bucket of consecutive records, the lowest
    and highest RSS and VMS (the value, the record's position and its x: its
    ``index``, or its position without an ``index`` column).  Buckets start
    one record long; when ``limit`` are full, pairs are merged and the
    length doubles.

    ``needed`` are the columns the caller cannot do without (an error names
    the missing ones, in that order); ``RSS`` is always read, ``VMS`` when
    present.  No records is an error: "no records to ``verb``".
    """
    missing = [name for name in needed if name not in header]
    if missing:
        columns = " and ".join(missing) + (" columns" if missing[1:] else " column")
        raise CommandError(
            f"{path}: no {columns}: not a memory monitor's CSV "
            f"(header: {','.join(header)})"
        )
    if _LINE_ONLY in header:
        layout = LINE_MEMORY
    elif _FUNCTION_ONLY in header:
        layout = FUNCTION_MEMORY
    else:
        layout = OTHER_MEMORY
    width = len(header)
    has_vms = "VMS" in header
    rss_at = header.index("RSS")
    # Without VMS (only when not needed) RSS is read in its place, so that
    # the loop stays the same, and dropped at the end.
    vms_at = header.index("VMS") if has_vms else rss_at
    x_at = header.index("index") if "index" in header else -1
    text_at = header.index(_LINE_ONLY) if layout == LINE_MEMORY else -1
    location = _location_getter(header)

    totals = {}  # location -> [hits, growth, net, source text, peak after]
    buckets = []  # (rss low, rss high, vms low, vms high): (value, n, x) each
    size = 1  # records per bucket
    left = 0  # records still to go into the current bucket
    n = 0  # records read
    previous = None  # the totals of the previous record's location
    rss = vms = x = previous_rss = previous_x = 0
    first_rss = first_vms = first_x = 0
    rlo = rhi = vlo = vhi = None

    for row in rows:
        if not row:  # a blank line
            continue
        if len(row) != width:
            raise _bad_row(path, line_number, n, row, header, needed)
        try:
            rss = int(row[rss_at])
            vms = int(row[vms_at])
            x = int(row[x_at]) if x_at >= 0 else n
        except ValueError:
            raise _bad_row(path, line_number, n, row, header, needed) from None
        key = location(row)
        here = totals.get(key)
        if here is None:
            here = totals[key] = [0, 0, 0, row[text_at] if text_at >= 0 else "", 0]
        here[0] += 1
        if n:
            if x > previous_x:
                delta = rss - previous_rss
                previous[2] += delta
                if delta > 0:
                    previous[1] += delta
                after = rss
            else:  # a new session: nothing read after the previous record
                after = previous_rss
            if after > previous[4]:
                previous[4] = after
        else:
            first_rss, first_vms, first_x = rss, vms, x
        previous, previous_rss, previous_x = here, rss, x

        if left:
            left -= 1
            if rss < rlo[0]:
                rlo = (rss, n, x)
            elif rss > rhi[0]:
                rhi = (rss, n, x)
            if vms < vlo[0]:
                vlo = (vms, n, x)
            elif vms > vhi[0]:
                vhi = (vms, n, x)
        else:
            if n:
                buckets.append((rlo, rhi, vlo, vhi))
                if len(buckets) == limit:
                    buckets = _merge_pairs(buckets)
                    size *= 2
            rlo = rhi = (rss, n, x)
            vlo = vhi = (vms, n, x)
            left = size - 1
        n += 1

    if not n:
        raise CommandError(f"{path}: no records to {verb}")
    if rss > previous[4]:  # the last record: nothing read after it
        previous[4] = rss
    buckets.append((rlo, rhi, vlo, vhi))
    first, last = (first_rss, 0, first_x), (rss, n - 1, x)
    rss_series = _series(first, last, [(b[0], b[1]) for b in buckets])
    first, last = (first_vms, 0, first_x), (vms, n - 1, x)
    vms_series = _series(first, last, [(b[2], b[3]) for b in buckets])
    peak_rss = max((b[1] for b in buckets), key=itemgetter(0))
    peak_vms = max((b[3] for b in buckets), key=itemgetter(0))
    if not has_vms:
        vms_series, peak_vms = None, (None, None, None)
    return Memory(
        layout=layout,
        records=n,
        first_rss=first_rss,
        last_rss=rss,
        first_vms=first_vms,
        last_vms=vms,
        peak_rss=peak_rss[0],
        peak_rss_at=peak_rss[2],
        peak_vms=peak_vms[0],
        peak_vms_at=peak_vms[2],
        rss=rss_series,
        vms=vms_series,
        bucket=size,
        buckets=len(buckets),
        locations=[
            Location(function, filename, line_no, text, hits, growth, net, peak)
            for (function, filename, line_no), (hits, growth, net, text, peak) in (
                totals.items()
            )
        ],
    )


def _merge_pairs(buckets):
    """Buckets twice as long: each pair's lowest and highest values (the
    earlier one on a tie)."""
    merged = []
    for a, b in zip(buckets[::2], buckets[1::2], strict=True):
        merged.append(
            (
                a[0] if a[0][0] <= b[0][0] else b[0],
                a[1] if a[1][0] >= b[1][0] else b[1],
                a[2] if a[2][0] <= b[2][0] else b[2],
                a[3] if a[3][0] >= b[3][0] else b[3],
            )
        )
    return merged


def _series(first, last, extremes):
    """The points to draw: the first and last records and each bucket's
    low and high, once each, in record order."""
    points = {first[1]: first, last[1]: last}
    for low, high in extremes:
        points[low[1]] = low
        points[high[1]] = high
    series = Series()
    for _, (value, _, x) in sorted(points.items()):
        series.x.append(x)
        series.y.append(value)
    return series


def _bad_row(path, line_number, n, row, header, needed):
    """The error for a row of the wrong width or with a non-integer RSS,
    VMS or index."""
    line = line_number() if line_number is not None else n + 2
    where = f"{path}, line {line}"
    if len(row) != len(header):
        lacking = [name for name in needed if header.index(name) >= len(row)]
        return CommandError(
            f"{where}: {len(row)} fields where the header has {len(header)}"
            + (f": no {lacking[0]} value" if lacking else "")
        )
    for name in ("RSS", "VMS", "index"):
        if name in header:
            value = row[header.index(name)]
            try:
                int(value)
            except ValueError:
                return CommandError(f"{where}: {name} is not an integer: {value!r}")
    raise AssertionError("unreachable: the row is well formed")
