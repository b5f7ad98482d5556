"""The layout of ``pikos live``: a :class:`~pikos.viewer.model.LiveModel`
as rows of (text, style) segments that fit the screen, without a terminal
(the curses loop in :mod:`pikos.viewer.terminal` draws them)."""

import os
import time
from itertools import zip_longest

from pikos.messages import MIB, counted, mib
from pikos.viewer.model import function_label

__all__ = ["render", "bar_chart", "BLOCKS", "ASCII_BLOCKS", "MIB"]


#: A tab that has sent nothing for this many seconds says so.
QUIET_SECONDS = 5.0

#: Bar levels, from empty to a full cell.
BLOCKS = " ▁▂▃▄▅▆▇█"
ASCII_BLOCKS = " _-=#"

FOOTER = (
    "q quit  Tab/Right/l next  S-Tab/Left/h previous  1-9 tab  "
    "sort: c calls  o own  t total  n name  p pause"
)

_STATS_COLUMNS = (("calls", "calls"), ("own", "own(s)"), ("cumulative", "cum(s)"))
_COLUMN_WIDTH = 10


# Layout: rows of (text, style) segments.  Styles are names the curses view
# maps to attributes: "", "bold", "reverse", "dim", "error", "paused",
# "rss", "vms".


def _fit(segments, width):
    """``segments`` cut to ``width`` characters in all."""
    fitted, left = [], width
    for text, style in segments:
        if left <= 0:
            break
        text = text[:left]
        if text:
            fitted.append((text, style))
        left -= len(text)
    return fitted


def _tab_bar(model, width):
    tabs = model.tab_list
    if not tabs:
        return [("pikos live", "bold")]
    current = tabs.index(model.current_tab)  # current_tab keeps it in range
    labels = []
    for number, tab in enumerate(tabs, 1):
        label = f" [{number}] {tab.pid}"
        if tab.program:
            label += f" {tab.program}"
        if tab.ended:
            label += " (done)"
        labels.append(label + " ")
    # Scroll the bar so that the selected tab is always visible.
    start = 0
    while start < current and sum(map(len, labels[start : current + 1])) + 1 > width:
        start += 1
    segments = [("<", "dim")] if start else []
    for index in range(start, len(tabs)):
        if index == current:
            style = "reverse"
        else:
            style = "dim" if tabs[index].ended else ""
        segments.append((labels[index], style))
    return segments


def _state(tab, now):
    if tab.ended:
        return "ended"
    if tab.header is None:
        return "live (no header yet)"
    if tab.received is not None and now - tab.received > QUIET_SECONDS:
        return f"no message for {now - tab.received:.0f} s"
    return "live"


def _status(model, waiting, paused, unseen, now):
    segments = []
    if paused:
        segments += [(" PAUSED ", "paused"), (f" {unseen:,} new messages  ", "")]
    tab = model.current_tab
    if tab is None:
        return segments + [(waiting, "")]
    parts = [tab.monitor, f"pid {tab.pid}"]
    if tab.host:
        parts.append(f"host {tab.host}")
    if tab.is_lines:
        parts.append(f"updates {tab.line_updates:,}")
    elif tab.is_stats:
        parts.append(f"updates {tab.updates:,}")
    else:
        records = f"records {tab.records:,}"
        if tab.ended and tab.sent is not None and tab.sent != tab.records:
            records += f" of {tab.sent:,} sent"
        parts.append(records)
    parts.append(f"dropped {tab.dropped:,} messages")
    parts.append(_state(tab, now))
    return segments + [("  ".join(parts), "bold")]


def _squeeze(values, columns):
    """At most ``columns`` values: the highest of each of ``columns`` runs
    of about equal length when there are more (peaks stay visible)."""
    count = len(values)
    if count <= columns:
        return list(values)
    return [
        max(values[i * count // columns : (i + 1) * count // columns])
        for i in range(columns)
    ]


def bar_chart(values, rows, columns, levels=BLOCKS):
    """``rows`` lines of ``columns`` characters: one vertical bar per value
    (the highest of each run when there are more values than columns),
    from the lowest value (a sliver) to the highest (full height), drawn
    with ``levels`` (empty to full cell)."""
    if rows <= 0 or columns <= 0:
        return []
    values = _squeeze(list(values), columns)
    steps = len(levels) - 1
    full = rows * steps
    low, high = min(values, default=0), max(values, default=0)
    if high > low:
        heights = [1 + round((v - low) * (full - 1) / (high - low)) for v in values]
    else:
        heights = [1] * len(values)
    lines = []
    for row in range(rows):
        floor = (rows - 1 - row) * steps
        bars = "".join(levels[min(steps, max(0, h - floor))] for h in heights)
        lines.append(bars.ljust(columns))
    return lines


def _chart(title, times, values, width, rows, levels, style):
    """A titled chart of ``values`` (bytes) with its lowest and highest
    values labelled in MiB, and a time axis: ``rows`` + 2 lines."""
    top, bottom = mib(max(values)), mib(min(values))
    margin = max(len(top), len(bottom))
    columns = width - margin - 2
    if columns < 1 or rows < 2:
        return []
    lines = [[(title, "bold")]]
    for row, bars in enumerate(bar_chart(values, rows, columns, levels)):
        label = top if row == 0 else bottom if row == rows - 1 else ""
        lines.append([(label.rjust(margin) + " |", "dim"), (bars, style)])
    used = min(len(values), columns)
    left = f"{times[-1] - times[0]:.1f} s ago" if len(times) > 1 else ""
    axis = left.ljust(max(used - 3, len(left) + 1)) + "now"
    lines.append([(" " * (margin + 2) + axis, "dim")])
    return lines


def _memory_lines(tab, width, height, levels):
    if not tab.samples:
        return [[("no memory figures yet", "dim")]]
    times, rss, vms = zip(*tab.samples, strict=True)
    lines = [
        [
            (f"RSS {mib(rss[-1])}  VMS {mib(vms[-1])}", "bold"),
            (f"   {len(times):,} samples over {times[-1] - times[0]:.1f} s", "dim"),
        ],
        [],
    ]
    room = height - len(lines)
    if room >= 2 * 4 + 1:
        rows = (room - 1) // 2 - 2
        lines += _chart("RSS", times, rss, width, rows, levels, "rss")
        lines.append([])
        lines += _chart("VMS", times, vms, width, rows, levels, "vms")
    elif room >= 4:
        lines += _chart("RSS", times, rss, width, room - 2, levels, "rss")
    return lines


def _stats_header(sort):
    titles = [("*" if key == sort else "") + title for key, title in _STATS_COLUMNS]
    name = ("*" if sort == "name" else "") + "function"
    return "  ".join(title.rjust(_COLUMN_WIDTH) for title in titles) + "  " + name


def _stats_lines(model, tab, height):
    if not tab.updates:
        return [[("no statistics yet", "dim")]]
    rows = model.sorted_functions(tab)
    calls = sum(row[3] for row in rows)
    lines = [
        [
            (
                f"{counted(len(rows), 'function', grouped=True)}, "
                f"{counted(calls, 'call', grouped=True)}; sorted by {model.sort}",
                "",
            )
        ],
        [(_stats_header(model.sort), "bold")],
    ]
    room = height - len(lines)
    shown = rows if len(rows) <= room else rows[: max(room - 1, 0)]
    for filename, line, name, count, primitive, own, cumulative in shown:
        count_text = str(count) if count == primitive else f"{count}/{primitive}"
        text = "  ".join(
            [
                count_text.rjust(_COLUMN_WIDTH),
                f"{own:.4f}".rjust(_COLUMN_WIDTH),
                f"{cumulative:.4f}".rjust(_COLUMN_WIDTH),
                function_label(filename, line, name),
            ]
        )
        lines.append([(text, "")])
    if len(shown) < len(rows) and room > 0:
        lines.append([(f"... {len(rows) - len(shown):,} more", "dim")])
    return lines


_LINES_HEADER = f"{'hits':>10}  {'time(s)':>10}  {'% time':>7}  line"


def _hot_lines(tab, height):
    """The hottest lines: hits, time, % of their function's time, where,
    and the source text."""
    if not tab.line_updates:
        return [[("no line totals yet", "dim")]]
    rows = tab.lines
    lines = [
        [(f"the {counted(len(rows), 'hottest line', grouped=True)}, by time", "")],
        [(_LINES_HEADER, "bold")],
    ]
    room = height - len(lines)
    for filename, line, name, hits, seconds, percent, source in rows[: max(room, 0)]:
        where = f"{name} ({os.path.basename(str(filename))}:{line})"
        text = f"{hits:>10,}  {seconds:>10.4f}  {percent:>7.1f}  {where}  {source}"
        lines.append([(text, "")])
    return lines


def _record_lines(tab):
    if tab.last_record is None:
        return [[("no records yet", "dim")]]
    lines = [[("last record:", "bold")]]
    fields = tab.fields
    for position, (name, value) in enumerate(
        zip_longest(fields[: len(tab.last_record)], tab.last_record)
    ):
        lines.append([(f"  {name or f'field {position}'}: {value!r}", "")])
    return lines


def _dropped_line(model):
    parts = []
    if model.lost:
        parts.append(f"{model.lost:,} messages dropped (the display fell behind)")
    if model.forgotten:
        parts.append(
            f"{model.forgotten:,} sessions forgotten (at most {model.max_tabs} tabs)"
        )
    return "dropped: " + "; ".join(parts)


def render(
    model, width, height, waiting="", paused=False, unseen=0, ascii_only=False, now=None
):
    """The screen for ``model`` as at most ``height`` rows of (text, style)
    segments, each row at most ``width`` characters: tab bar, status line,
    the selected tab's view, key help.  ``waiting`` is the status shown
    before any program is heard from; ``paused`` and ``unseen`` (messages
    since the pause) mark a paused display."""
    if width <= 0 or height <= 0:
        return []
    now = time.monotonic() if now is None else now
    top = [_tab_bar(model, width), _status(model, waiting, paused, unseen, now)]
    if model.error is not None:
        count = f" ({model.errors:,} unreadable messages)" if model.errors > 1 else ""
        top.append([(f"error: {model.error}{count}", "error")])
    if model.lost or model.forgotten:
        top.append([(_dropped_line(model), "error")])
    if height == 1:
        return [_fit(top[0], width)]
    room = height - len(top) - 1
    body = []
    tab = model.current_tab
    if tab is not None and room > 0:
        if tab.is_lines:
            body = _hot_lines(tab, room)
        elif tab.is_stats:
            body = _stats_lines(model, tab, room)
        elif tab.is_memory:
            levels = ASCII_BLOCKS if ascii_only else BLOCKS
            body = _memory_lines(tab, width, room, levels)
        else:
            body = _record_lines(tab)
    rows = (top + body)[: height - 1]
    rows += [[]] * (height - 1 - len(rows))
    rows.append([(FOOTER.ljust(width), "reverse")])
    return [_fit(row, width) for row in rows]
