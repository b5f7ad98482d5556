"""The page of ``pikos report``: a :class:`~pikos.reports.memory_csv.Memory`
as one self-contained HTML file.  Its style and script are package data,
``assets/report.css`` and ``assets/report.js``, inlined into every page (no
network, no external file); the data is JSON in the page."""

import html
import json
from importlib import resources

from pikos.messages import MIB
from pikos.reports.memory_csv import FUNCTION_MEMORY, LINE_MEMORY, OTHER_MEMORY

#: Table rows by default.
DEFAULT_TOP = 20

#: Line colours: the screenshot test looks for them, the legend shows them.
RSS_COLOUR = "#1565c0"
VMS_COLOUR = "#e65100"

#: layout -> (what a location is, plural)
NOUNS = {
    LINE_MEMORY: ("line", "lines"),
    FUNCTION_MEMORY: ("function", "functions"),
    OTHER_MEMORY: ("location", "locations"),
}

#: layout -> what ran between two records, for the table's note
ATTRIBUTION = {
    LINE_MEMORY: " (the line that ran between the two readings)",
    FUNCTION_MEMORY: " (the code that ran between the two events)",
    OTHER_MEMORY: "",
}


def _asset(name):
    """The text of ``assets/name``, the line colours filled in."""
    text = resources.files(__package__).joinpath("assets", name).read_text("utf-8")
    return text.replace("RSS_COLOUR", RSS_COLOUR).replace("VMS_COLOUR", VMS_COLOUR)


CSS = _asset("report.css")
SCRIPT = _asset("report.js")


def top_locations(memory, count):
    """The ``count`` locations with the largest growth (more than 0), the
    largest first; on a tie the one seen first."""
    grown = [location for location in memory.locations if location.growth > 0]
    grown.sort(key=lambda location: location.growth, reverse=True)
    return grown[:count]


def script_json(value):
    """``value`` as JSON that can stand inside a ``<script>`` element: no
    ``<``, ``>`` or ``&`` (so no ``</script>`` and no ``<!--``), ASCII only."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _e(text):
    return html.escape(str(text), quote=True)


def _mib(value, signed=False):
    return f"{value / MIB:{'+' if signed else ''},.2f}"


def _mib_cell(value, name, signed=False):
    """A table cell of class ``name`` showing ``value`` bytes in MiB (3
    decimals: one 4 KiB page is 0.004), exact in its tooltip."""
    number = f"{value / MIB:{'+' if signed else ''},.3f}"
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
    source = memory.layout == LINE_MEMORY
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
