"""``pikos report``: a memory monitor's CSV as one self-contained HTML page.

    pikos report CSV [-o OUTPUT] [--title TITLE] [--top N]

``CSV`` is a file written by a memory monitor (``line_memory`` or
``function_memory``, focused or not) through a CSV recorder.  Columns are
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

The file is read once, as a stream: only per-location totals and the lowest
and highest RSS and VMS of at most :data:`MAX_BUCKETS` buckets of
consecutive records are kept, so millions of records need little memory.
Only the standard library is used.
"""

import csv
import html
import json
import os
from dataclasses import dataclass, field
from operator import itemgetter

from pikos.cli._common import (
    CommandError,
    Parser,
    UsageError,
    check_writable,
    output_beside,
    run_command,
    say,
)

MB = 2**20

#: The chart is drawn from at most this many buckets of consecutive records
#: (one record each for small files), each by its lowest and highest RSS and
#: VMS, so that a peak of one record stays visible at any size.
MAX_BUCKETS = 2000

#: Table rows by default.
DEFAULT_TOP = 20

#: Line colours: the screenshot test looks for them, the legend shows them.
RSS_COLOUR = "#1565c0"
VMS_COLOUR = "#e65100"

#: layout -> (what a location is, plural)
NOUNS = {
    "line_memory": ("line", "lines"),
    "function_memory": ("function", "functions"),
    "memory": ("location", "locations"),
}

#: layout -> what ran between two records, for the table's note
ATTRIBUTION = {
    "line_memory": " (the line that ran between the two readings)",
    "function_memory": " (the code that ran between the two events)",
    "memory": "",
}

LOCATION_COLUMNS = ("function", "filename", "lineNo")


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


@dataclass
class Memory:
    """What the report shows of a memory CSV."""

    layout: str  # "line_memory", "function_memory" or "memory"
    records: int
    first_rss: int
    last_rss: int
    first_vms: int
    last_vms: int
    peak_rss: int
    peak_rss_at: int  # the record index of the first peak
    peak_vms: int
    peak_vms_at: int
    rss: Series
    vms: Series
    bucket: int  # records per bucket (1: every record is drawn)
    buckets: int
    locations: list  # of Location, in order of first appearance


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
        "CSV written by a pikos memory monitor: RSS and VMS against record "
        "index, and the lines or functions under which RSS grew most.",
    )
    parser.add_argument("csv", metavar="CSV", help="a memory monitor's CSV file")
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
        default=DEFAULT_TOP,
        help=f"rows in the table of largest growth (default: {DEFAULT_TOP})",
    )
    return parser


# Reading


def read_memory(path, stream, limit=MAX_BUCKETS):
    """The :class:`Memory` of the CSV ``stream`` (named ``path`` in errors)."""
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
        if not header:
            raise CommandError(f"{path}: empty file, no header")
        return scan(header, reader, path, lambda: reader.line_num, limit)
    except csv.Error as error:
        raise CommandError(f"{path}, line {reader.line_num}: {error}") from None
    except UnicodeDecodeError:
        line = reader.line_num + 1
        raise CommandError(f"{path}, line {line}: not UTF-8 text") from None


def _location_getter(header):
    """A function of a row giving its (function, filename, lineNo); a
    missing column reads as ""."""
    positions = [
        header.index(name) if name in header else None for name in LOCATION_COLUMNS
    ]
    if None not in positions:
        return itemgetter(*positions)
    return lambda row: tuple("" if p is None else row[p] for p in positions)


def scan(header, rows, path="<rows>", line_number=None, limit=MAX_BUCKETS):
    """The :class:`Memory` of ``rows`` (lists of strings) under ``header``.

    ``line_number()`` gives the file line of the row just read, for errors
    (by default: the row's position, the header being line 1).  Keeps, per
    location, its totals and, per bucket of consecutive records, the lowest
    and highest RSS and VMS (the value, the record's position and its x: its
    ``index``, or its position without an ``index`` column).  Buckets start
    one record long; when ``limit`` are full, pairs are merged and the
    length doubles.
    """
    missing = [name for name in ("RSS", "VMS") if name not in header]
    if missing:
        columns = " and ".join(missing) + (" columns" if missing[1:] else " column")
        raise CommandError(
            f"{path}: no {columns}: not a memory monitor's CSV "
            f"(header: {','.join(header)})"
        )
    if "line" in header:
        layout = "line_memory"
    elif "type" in header:
        layout = "function_memory"
    else:
        layout = "memory"
    width = len(header)
    rss_at, vms_at = header.index("RSS"), header.index("VMS")
    x_at = header.index("index") if "index" in header else -1
    text_at = header.index("line") if layout == "line_memory" else -1
    location = _location_getter(header)

    totals = {}  # location -> [hits, growth, net, source text]
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
            raise _bad_row(path, line_number, n, row, header)
        try:
            rss = int(row[rss_at])
            vms = int(row[vms_at])
            x = int(row[x_at]) if x_at >= 0 else n
        except ValueError:
            raise _bad_row(path, line_number, n, row, header) from None
        key = location(row)
        here = totals.get(key)
        if here is None:
            here = totals[key] = [0, 0, 0, row[text_at] if text_at >= 0 else ""]
        here[0] += 1
        if n:
            if x > previous_x:
                delta = rss - previous_rss
                previous[2] += delta
                if delta > 0:
                    previous[1] += delta
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
        raise CommandError(f"{path}: no records to report")
    buckets.append((rlo, rhi, vlo, vhi))
    first, last = (first_rss, 0, first_x), (rss, n - 1, x)
    rss_series = _series(first, last, [(b[0], b[1]) for b in buckets])
    first, last = (first_vms, 0, first_x), (vms, n - 1, x)
    vms_series = _series(first, last, [(b[2], b[3]) for b in buckets])
    peak_rss = max((b[1] for b in buckets), key=itemgetter(0))
    peak_vms = max((b[3] for b in buckets), key=itemgetter(0))
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
            Location(function, filename, line_no, text, hits, growth, net)
            for (function, filename, line_no), (hits, growth, net, text) in (
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


def _bad_row(path, line_number, n, row, header):
    """The error for a row of the wrong width or with a non-integer RSS,
    VMS or index."""
    line = line_number() if line_number is not None else n + 2
    where = f"{path}, line {line}"
    if len(row) != len(header):
        return CommandError(
            f"{where}: {len(row)} fields where the header has {len(header)}"
        )
    for name in ("RSS", "VMS", "index"):
        if name in header:
            value = row[header.index(name)]
            try:
                int(value)
            except ValueError:
                return CommandError(f"{where}: {name} is not an integer: {value!r}")
    raise AssertionError("unreachable: the row is well formed")


def top_locations(memory, count):
    """The ``count`` locations with the largest growth (more than 0), the
    largest first; on a tie the one seen first."""
    grown = [location for location in memory.locations if location.growth > 0]
    grown.sort(key=lambda location: location.growth, reverse=True)
    return grown[:count]


# The page


def script_json(value):
    """``value`` as JSON that can stand inside a ``<script>`` element: no
    ``<``, ``>`` or ``&`` (so no ``</script>`` and no ``<!--``), ASCII only."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _e(text):
    return html.escape(str(text), quote=True)


def _mib(value, signed=False):
    return f"{value / MB:{'+' if signed else ''},.2f}"


def _mib_cell(value, name, signed=False):
    """A table cell of class ``name`` showing ``value`` bytes in MiB (3
    decimals: one 4 KiB page is 0.004), exact in its tooltip."""
    number = f"{value / MB:{'+' if signed else ''},.3f}"
    return f'<td class="num {name}" title="{value:,} bytes">{number}</td>'


def _where(location):
    if location.lineNo:
        return f"{location.filename}:{location.lineNo}"
    return location.filename


def _summary(memory):
    change = memory.last_rss - memory.first_rss
    parts = [
        f"<b>{memory.records:,}</b> record{'' if memory.records == 1 else 's'}",
        f"peak RSS <b>{_mib(memory.peak_rss)} MiB</b> (record {memory.peak_rss_at:,})",
        f"peak VMS <b>{_mib(memory.peak_vms)} MiB</b> (record {memory.peak_vms_at:,})",
        f"RSS first {_mib(memory.first_rss)} MiB, last {_mib(memory.last_rss)} MiB",
        f"net change <b>{_mib(change, signed=True)} MiB</b>",
    ]
    return " &middot; ".join(parts)


def _table(memory, top):
    noun, nouns = NOUNS[memory.layout]
    rows = top_locations(memory, top)
    grown = sum(1 for location in memory.locations if location.growth > 0)
    out = [f"<h2>{nouns.capitalize()} with the largest memory growth</h2>\n"]
    out.append(
        '<p class="note">The RSS change from each record to the next is '
        f"charged to the first record's {noun}{ATTRIBUTION[memory.layout]}"
        ". <i>Growth</i> sums the increases, <i>net</i> every change; "
        f"<i>hits</i> counts the records. {grown:,} of "
        f"{len(memory.locations):,} {nouns} grew RSS"
        + (f"; the table shows the {len(rows):,} largest" if len(rows) < grown else "")
        + ".</p>\n"
    )
    if not rows:
        out.append(f'<p id="no-growth">No {noun} grew RSS.</p>\n')
        return out
    source = memory.layout == "line_memory"
    out.append('<table id="growth">\n<thead><tr><th class="num">#</th>')
    out.append("<th>function</th><th>file:line</th>")
    if source:
        out.append("<th>source</th>")
    out.append(
        '<th class="num">hits</th><th class="num">growth (MiB)</th>'
        '<th class="num">net (MiB)</th></tr></thead>\n<tbody>\n'
    )
    for rank, location in enumerate(rows, 1):
        out.append(
            f'<tr class="loc"><td class="num rank">{rank}</td>'
            f'<td class="fn">{_e(location.function)}</td>'
            f'<td class="where">{_e(_where(location))}</td>'
        )
        if source:
            out.append(f'<td class="src"><code>{_e(location.line.strip())}</code></td>')
        out.append(
            f'<td class="num hits">{location.hits:,}</td>'
            + _mib_cell(location.growth, "growth")
            + _mib_cell(location.net, "net", signed=True)
            + "</tr>\n"
        )
    out.append("</tbody>\n</table>\n")
    return out


def render(memory, title, source_name, top=DEFAULT_TOP, version=""):
    """The HTML page of ``memory``."""
    data = {
        "source": source_name,
        "records": memory.records,
        "bucket": memory.bucket,
        "xmin": min(memory.rss.x),
        "xmax": max(memory.rss.x),
        "rss": {"x": memory.rss.x, "y": memory.rss.y},
        "vms": {"x": memory.vms.x, "y": memory.vms.y},
    }
    if memory.bucket > 1:
        drawn = (
            f"Drawn from {memory.buckets:,} buckets of {memory.bucket:,} "
            "consecutive records, each by its lowest and highest RSS and VMS."
        )
    else:
        drawn = "Every record is drawn."
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{_e(title)}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        f"<h1>{_e(title)}</h1>\n",
        f'<p class="summary" id="summary">{_summary(memory)}</p>\n',
        '<div class="legend">'
        f'<span class="key"><span class="swatch" style="background:{RSS_COLOUR}">'
        "</span>RSS</span>"
        '<label class="key"><input type="checkbox" id="show-vms">'
        f'<span class="swatch" style="background:{VMS_COLOUR}"></span>VMS</label>'
        '<span id="readout"></span></div>\n',
        '<canvas id="chart" role="img" '
        'aria-label="RSS and VMS in MiB against record index">'
        "This chart is drawn by JavaScript.</canvas>\n",
        f'<p class="note">{_e(drawn)} RSS and VMS are the whole process\'s, '
        "read as each record was made.</p>\n",
    ]
    out += _table(memory, top)
    made = f"pikos {version}" if version else "pikos"
    out.append(
        f'<p class="foot">Made by {_e(made)} <code>report</code> from '
        f"<code>{_e(source_name)}</code>.</p>\n"
    )
    out.append(
        '<script type="application/json" id="pikos-data">'
        f"{script_json(data)}</script>\n"
        f"<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    )
    return "".join(out)


CSS = """\
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: #222; background: #fff; margin: 20px 28px; }
h1 { font-size: 20px; margin: 0 0 6px; overflow-wrap: anywhere; }
h2 { font-size: 16px; margin: 22px 0 4px; }
.summary { margin: 0 0 10px; }
.note, .foot { color: #555; font-size: 12.5px; margin: 4px 0 8px; }
.legend { display: flex; gap: 18px; align-items: center; font-size: 13px; }
.key { display: inline-flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 14px; height: 4px; }
#show-vms { accent-color: VMS_COLOUR; margin: 0; }
#readout { margin-left: auto; color: #444; font-variant-numeric: tabular-nums; }
#chart { display: block; width: 100%; height: 400px; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e4e4e4; text-align: left;
  vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.where { font-family: ui-monospace, monospace; font-size: 12px;
  overflow-wrap: anywhere; }
.src code { white-space: pre-wrap; overflow-wrap: anywhere; }
""".replace("VMS_COLOUR", VMS_COLOUR)

SCRIPT = """\
(function () {
  "use strict";
  var MB = 1048576;
  var COLOURS = { rss: "RSS_COLOUR", vms: "VMS_COLOUR" };
  var PAD = { left: 64, right: 18, top: 10, bottom: 42 };
  var data = JSON.parse(document.getElementById("pikos-data").textContent);
  var canvas = document.getElementById("chart");
  var vmsBox = document.getElementById("show-vms");
  var readout = document.getElementById("readout");
  var frame = null;

  function niceStep(span, count) {
    var raw = span / count;
    var magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    var norm = raw / magnitude;
    var nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
    return nice * magnitude;
  }

  function ticks(low, high, count, whole) {
    var step = niceStep(high - low, count);
    if (whole) { step = Math.max(1, Math.round(step)); }
    var values = [];
    for (var k = Math.ceil(low / step); k * step <= high + step * 1e-9; k++) {
      values.push(k * step);
    }
    return { step: step, values: values };
  }

  function grouped(value) {
    return String(value).replace(/\\B(?=(\\d{3})+(?!\\d))/g, ",");
  }

  function mib(bytes) { return (bytes / MB).toFixed(2); }

  function shown() {
    var list = [["rss", data.rss]];
    if (vmsBox && vmsBox.checked) { list.unshift(["vms", data.vms]); }
    return list;
  }

  function draw() {
    var series = shown();
    var width = canvas.clientWidth, height = canvas.clientHeight;
    var ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    var x0 = data.xmin, x1 = data.xmax;
    if (x1 <= x0) { x0 -= 0.5; x1 += 0.5; }
    var low = Infinity, high = -Infinity;
    series.forEach(function (s) {
      s[1].y.forEach(function (v) {
        if (v < low) { low = v; }
        if (v > high) { high = v; }
      });
    });
    low /= MB; high /= MB;
    if (high - low < 1e-3) { low -= 0.5; high += 0.5; }
    var margin = (high - low) * 0.06;
    low = low >= 0 ? Math.max(0, low - margin) : low - margin;
    high += margin;

    var left = PAD.left, right = width - PAD.right;
    var top = PAD.top, bottom = height - PAD.bottom;
    function X(v) {
      return Math.round(left + (v - x0) / (x1 - x0) * (right - left));
    }
    function Y(m) {
      return Math.round(bottom - (m - low) / (high - low) * (bottom - top));
    }

    ctx.font = "12px system-ui, sans-serif";
    ctx.lineWidth = 1;
    var yt = ticks(low, high, 7, false);
    var digits = Math.max(0, Math.min(3, -Math.floor(Math.log10(yt.step) + 1e-9)));
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    yt.values.forEach(function (m) {
      var y = Y(m) + 0.5;
      ctx.strokeStyle = "#e8e8e8";
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(right, y); ctx.stroke();
      ctx.fillStyle = "#444";
      ctx.fillText(m.toFixed(digits), left - 6, y);
    });
    var xt = ticks(x0, x1, Math.max(2, Math.floor((right - left) / 110)), true);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    xt.values.forEach(function (v) {
      var x = X(v) + 0.5;
      ctx.strokeStyle = "#f0f0f0";
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
      ctx.strokeStyle = "#888";
      ctx.beginPath(); ctx.moveTo(x, bottom); ctx.lineTo(x, bottom + 4); ctx.stroke();
      ctx.fillStyle = "#444";
      ctx.fillText(grouped(v), x, bottom + 6);
    });
    ctx.strokeStyle = "#888";
    ctx.strokeRect(left + 0.5, top + 0.5, right - left, bottom - top);
    ctx.fillStyle = "#333";
    ctx.fillText("record index", (left + right) / 2, bottom + 24);
    ctx.save();
    ctx.translate(14, (top + bottom) / 2); ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText("MiB", 0, 0);
    ctx.restore();

    ctx.save();
    ctx.beginPath(); ctx.rect(left, top, right - left, bottom - top); ctx.clip();
    ctx.lineWidth = 2; ctx.lineJoin = "miter";
    series.forEach(function (s) {
      var xs = s[1].x, ys = s[1].y;
      ctx.strokeStyle = ctx.fillStyle = COLOURS[s[0]];
      if (xs.length === 1) {
        ctx.fillRect(X(xs[0]) - 3, Y(ys[0] / MB) - 3, 6, 6);
        return;
      }
      ctx.beginPath();
      var py = Y(ys[0] / MB);
      ctx.moveTo(X(xs[0]), py);
      for (var i = 1; i < xs.length; i++) {
        var px = X(xs[i]);
        ctx.lineTo(px, py);
        py = Y(ys[i] / MB);
        ctx.lineTo(px, py);
      }
      ctx.stroke();
    });
    ctx.restore();

    frame = { left: left, right: right, x0: x0, x1: x1, series: series };
    var box = canvas.getBoundingClientRect();
    canvas.setAttribute("data-box", [
      Math.round(box.left + window.scrollX), Math.round(box.top + window.scrollY),
      Math.round(box.width), Math.round(box.height)].join(","));
    canvas.setAttribute("data-rendered", "true");
  }

  function valueAt(s, v) {
    var xs = s.x, lo = 0, hi = xs.length - 1;
    if (v < xs[0]) { return null; }
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (xs[mid] <= v) { lo = mid; } else { hi = mid - 1; }
    }
    return s.y[lo];
  }

  canvas.addEventListener("mousemove", function (event) {
    if (!frame) { return; }
    var px = event.clientX - canvas.getBoundingClientRect().left;
    if (px < frame.left || px > frame.right) { readout.textContent = ""; return; }
    var v = Math.round(frame.x0 + (px - frame.left) / (frame.right - frame.left) *
      (frame.x1 - frame.x0));
    var text = "record " + grouped(v);
    frame.series.slice().reverse().forEach(function (s) {
      var y = valueAt(s[1], v);
      if (y !== null) {
        text += " \\u00b7 " + s[0].toUpperCase() + " " + mib(y) + " MiB";
      }
    });
    readout.textContent = text + (data.bucket > 1 ? " (bucket extremes)" : "");
  });
  canvas.addEventListener("mouseleave", function () { readout.textContent = ""; });
  if (vmsBox) { vmsBox.addEventListener("change", draw); }
  var pending = false;
  window.addEventListener("resize", function () {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; draw(); });
  });
  draw();
})();
""".replace("RSS_COLOUR", RSS_COLOUR).replace("VMS_COLOUR", VMS_COLOUR)


# The command


def _report(argv, prog):
    args = _parser(prog).parse_args(argv)
    path = args.csv
    output = output_beside(path, args.output, ".html")
    try:
        stream = open(path, newline="", encoding="utf-8-sig")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    with stream:
        check_writable(output)
        try:
            memory = read_memory(path, stream)
        except OSError as error:
            raise UsageError(f"cannot read {path}: {error.strerror or error}") from None

    name = os.path.basename(path)
    title = args.title if args.title is not None else f"pikos memory report: {name}"
    from pikos import __version__

    page = render(memory, title, name, args.top, __version__)
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
