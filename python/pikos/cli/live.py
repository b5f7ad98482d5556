"""``pikos live``: watch programs that stream their records while they run.

    pikos live [--connect ADDR | --bind ADDR]

By default the viewer connects to :data:`pikos.live.DEFAULT_ADDRESS` (a
Unix socket only this user can reach), where ``pikos-run MONITOR script.py
--live`` publishes.  With ``--bind ADDR`` it
collects instead: it binds ``ADDR`` and any number of programs connect to it
(``pikos-run MONITOR script.py --live-connect=ADDR``).  Each program's
session gets a tab of its own, in the order they were first heard from.

A memory monitor's tab shows the current RSS and VMS and a chart of both over
time; a ``stats`` tab shows the functions' running totals (calls, own time,
cumulative time), sorted as asked; any other monitor's tab shows its last
record.  The programs never wait for the viewer: messages it was too slow
for are lost, and counted.  Messages that do not follow the wire format
are dropped and counted too, and what is kept is bounded: at most
``MAX_SESSIONS`` tabs (the quietest is forgotten), ``MAX_QUEUED`` messages
waiting for the display, one record per tab (docs/security.md).

Keys: ``q`` quit; Tab, Right or ``l`` next tab; Shift-Tab, Left or ``h``
previous tab; ``1``-``9`` tab N; ``c``, ``o``, ``t``, ``n`` sort the
statistics by calls, own time, cumulative (total) time or name; ``p`` or
space pause the display (messages are still received and counted).

The display is curses, so a terminal is needed.  :class:`LiveModel` holds
what is shown and :func:`render` lays it out as text, neither touching the
terminal: both can be tested, or reused, without one.
"""

import copy
import locale
import os
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import zip_longest

from pikos import _native, live
from pikos.cli._common import CommandError, Parser, UsageError, counted, run_command
from pikos.live import DEFAULT_ADDRESS, MAX_SESSIONS, BadMessage, decode

__all__ = ["LiveModel", "Tab", "Receiver", "render", "apply_key", "bar_chart"]

MIB = 2**20

#: Memory samples kept per tab (one per records message, about 10 a second).
MAX_SAMPLES = 2000

#: Decoded messages waiting for the display; more are dropped (and counted)
#: rather than kept, so a flood cannot grow the viewer.
MAX_QUEUED = 1000

#: Seconds a receive waits before the receiving thread checks for a stop.
POLL_SECONDS = 0.2

#: Milliseconds between redraws when no key is pressed.
REDRAW_MS = 200

#: The longest the UI spends feeding queued messages to the model per frame,
#: so that a burst never freezes the keys.
DRAIN_SECONDS = 0.1

#: A tab that has sent nothing for this many seconds says so.
QUIET_SECONDS = 5.0

#: The statistics' sort orders, and their keys.
SORT_KEYS = ("calls", "own", "cumulative", "name")
SORT_LETTERS = {"c": "calls", "o": "own", "t": "cumulative", "n": "name"}

#: Bar levels, from empty to a full cell.
BLOCKS = " ▁▂▃▄▅▆▇█"
ASCII_BLOCKS = " _-=#"

FOOTER = (
    "q quit  Tab/Right/l next  S-Tab/Left/h previous  1-9 tab  "
    "sort: c calls  o own  t total  n name  p pause"
)

_STATS_COLUMNS = (("calls", "calls"), ("own", "own(s)"), ("cumulative", "cum(s)"))
_COLUMN_WIDTH = 10


@dataclass
class Tab:
    """What the viewer knows of one publishing session."""

    session: str
    pid: int
    #: the session's header (None until one is seen: a viewer that joined
    #: late, or whose first message was lost)
    header: dict | None = None
    #: messages received, records in them, messages lost before them
    messages: int = 0
    records: int = 0
    dropped: int = 0
    ended: bool = False
    #: the records the end marker says were sent (None before the end)
    sent: int | None = None
    #: when the last message was sent (publisher's clock) and received
    #: (this process' monotonic clock)
    last_time: float | None = None
    received: float | None = None
    last_record: tuple | None = None
    #: (time, RSS, VMS) per records message of a memory monitor
    samples: deque = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    #: a statistics session's rows: [filename, line, name, calls,
    #: primitive_calls, own_seconds, cumulative_seconds]
    functions: list = field(default_factory=list)
    #: statistics messages received
    updates: int = 0
    _memory_at: tuple | None = None

    def __post_init__(self):
        if self.header is not None:
            self.set_header(self.header)

    def set_header(self, header):
        """Take ``header`` (a session header object) as this session's."""
        self.header = header
        fields = self.fields
        if "RSS" in fields and "VMS" in fields:
            self._memory_at = (fields.index("RSS"), fields.index("VMS"))
        else:
            self._memory_at = None

    @property
    def fields(self):
        """The record fields' names, in order (empty before the header)."""
        fields = (self.header or {}).get("fields")
        return [str(name) for name in fields] if isinstance(fields, list) else []

    @property
    def monitor(self):
        """The monitor's name, "unknown" before the header."""
        return str((self.header or {}).get("monitor") or "unknown")

    @property
    def program(self):
        """The program's file name (no directory), "" before the header."""
        program = (self.header or {}).get("program")
        return os.path.basename(str(program)) if program else ""

    @property
    def host(self):
        """The publishing host's name, "" before the header."""
        return str((self.header or {}).get("host") or "")

    @property
    def is_memory(self):
        """Whether the records carry RSS and VMS."""
        return self._memory_at is not None

    @property
    def is_stats(self):
        """Whether this is a statistics session (``pikos-run stats``)."""
        return self.monitor == "stats" or self.updates > 0

    def add_records(self, message):
        """Count a records message's records; sample its memory."""
        data = message.data if isinstance(message.data, bytes) else b""
        count = message.count
        if count is None:
            count = data.count(b"\n")
            if data and not data.endswith(b"\n"):
                count += 1
        self.records += count
        try:
            # One line decoded per message: enough for a live figure, and
            # cheap however large the batch.
            record = message.last_record
        except (ValueError, TypeError):  # not JSON, or not a JSON array
            return
        if record is None:
            return
        self.last_record = record
        if self._memory_at is None:
            return
        try:
            rss, vms = (record[at] for at in self._memory_at)
        except IndexError:
            return
        if _is_number(rss) and _is_number(vms):
            self.samples.append((message.time, rss, vms))

    def set_stats(self, data):
        """Take a statistics message's rows (running totals: they replace
        the previous ones)."""
        self.updates += 1
        rows = data.get("functions") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            return
        self.functions = [
            list(row[:7])
            for row in rows
            if isinstance(row, list | tuple)
            and len(row) >= 7
            and all(_is_number(row[i]) for i in (3, 4, 5, 6))
        ]


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def function_label(filename, line, name):
    """How a statistics row names its function: ``name (file.py:12)``, or
    just the name for builtins (whose file name is ``~``)."""
    if filename == "~" or not filename:
        return str(name)
    return f"{name} ({os.path.basename(str(filename))}:{line})"


def _name_key(row):
    return (str(row[2]), str(row[0]), row[1] if _is_number(row[1]) else 0)


#: Sort keys of statistics rows; ties go by name, so the order is stable.
_SORTS = {
    "calls": lambda row: (-row[3], _name_key(row)),
    "own": lambda row: (-row[5], _name_key(row)),
    "cumulative": lambda row: (-row[6], _name_key(row)),
    "name": _name_key,
}


class LiveModel:
    """What ``pikos live`` shows, fed :class:`pikos.live.Message` s: one
    :class:`Tab` per session, the selected tab and the statistics' sort
    order.  No terminal involved."""

    def __init__(self, max_samples=MAX_SAMPLES, max_tabs=MAX_SESSIONS):
        self.max_samples = max_samples
        self.max_tabs = max_tabs
        #: session id -> Tab, in the order the sessions were first heard from
        self.tabs = {}
        #: the selected tab's position in :attr:`tabs`
        self.current = 0
        #: one of SORT_KEYS
        self.sort = "cumulative"
        #: messages fed so far
        self.messages = 0
        #: the last unreadable message's problem, and how many there were
        self.error = None
        self.errors = 0
        #: messages the receiver had no room for (the display fell behind)
        self.lost = 0
        #: tabs forgotten to make room for new sessions
        self.forgotten = 0

    def feed(self, message, received=None):
        """Take one message; return its session's tab.  ``received`` is
        when it arrived (``time.monotonic()``, the default)."""
        self.messages += 1
        tab = self.tabs.get(message.session)
        if tab is None:
            if len(self.tabs) >= self.max_tabs:
                self._forget_one()
            tab = Tab(
                message.session, message.pid, samples=deque(maxlen=self.max_samples)
            )
            self.tabs[message.session] = tab
        tab.messages += 1
        tab.dropped += message.dropped
        tab.last_time = message.time
        tab.received = time.monotonic() if received is None else received
        # The header travels with every message once decode has seen it, so
        # a tab created by a records message gets it as soon as it exists.
        header = message.data if message.kind == "header" else message.header
        if isinstance(header, dict) and header != tab.header:
            tab.set_header(header)
        if message.kind == "records":
            tab.add_records(message)
        elif message.kind == "stats":
            tab.set_stats(message.data)
        elif message.kind == "end":
            tab.ended = True
            if isinstance(message.data, dict) and _is_number(
                message.data.get("records")
            ):
                tab.sent = message.data["records"]
        return tab

    def _forget_one(self):
        """Make room for a tab: forget an ended session's tab, else the
        one heard from least recently (never the selected one)."""
        tabs = self.tab_list
        selected = self.current_tab
        candidates = [t for t in tabs if t is not selected] or tabs
        ended = [t for t in candidates if t.ended]
        victim = min(
            ended or candidates,
            key=lambda t: -1.0 if t.received is None else t.received,
        )
        del self.tabs[victim.session]
        self.forgotten += 1
        if selected is not None and selected is not victim:
            self.current = self.tab_list.index(selected)

    def note_error(self, text):
        """Remember a message that could not be read (shown, not fatal)."""
        self.error = str(text)
        self.errors += 1

    @property
    def tab_list(self):
        """The tabs, in order."""
        return list(self.tabs.values())

    @property
    def current_tab(self):
        """The selected tab, None before any message."""
        tabs = self.tab_list
        if not tabs:
            return None
        self.current = min(max(self.current, 0), len(tabs) - 1)
        return tabs[self.current]

    def select(self, index):
        """Select tab ``index`` (from 0) if there is one; return whether
        there was."""
        if 0 <= index < len(self.tabs):
            self.current = index
            return True
        return False

    def step(self, delta):
        """Select the tab ``delta`` places on (negative: back), wrapping."""
        if self.tabs:
            self.current = (self.current + delta) % len(self.tabs)

    def set_sort(self, key):
        """Sort the statistics by ``key``, one of :data:`SORT_KEYS`."""
        if key not in SORT_KEYS:
            raise ValueError(f"sort key must be one of {SORT_KEYS}, not {key!r}")
        self.sort = key

    def sorted_functions(self, tab=None):
        """The statistics rows of ``tab`` (default: the selected one) in
        the current sort order: largest first, or by name."""
        tab = self.current_tab if tab is None else tab
        if tab is None:
            return []
        return sorted(tab.functions, key=_SORTS[self.sort])

    def snapshot(self):
        """A copy that no later message changes (what a paused display
        shows)."""
        return copy.deepcopy(self)


def apply_key(model, key):
    """Apply key ``key`` to ``model``: a character, or "right", "left",
    "backtab".  Returns "quit" or "pause" for those (the caller's business),
    else None."""
    if key in ("q", "Q", "\x03"):
        return "quit"
    if key in ("p", "P", " "):
        return "pause"
    if key in ("\t", "right", "l"):
        model.step(1)
    elif key in ("backtab", "left", "h"):
        model.step(-1)
    elif len(key) == 1 and key in "123456789":
        model.select(int(key) - 1)
    elif key in SORT_LETTERS:
        model.set_sort(SORT_LETTERS[key])
    return None


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
    if tab.is_stats:
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


def _mib(value):
    return f"{value / MIB:.1f} MiB"


def _chart(title, times, values, width, rows, levels, style):
    """A titled chart of ``values`` (bytes) with its lowest and highest
    values labelled in MiB, and a time axis: ``rows`` + 2 lines."""
    top, bottom = _mib(max(values)), _mib(min(values))
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
            (f"RSS {_mib(rss[-1])}  VMS {_mib(vms[-1])}", "bold"),
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
        if tab.is_stats:
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


def check_address(address, bind):
    """Raise UsageError unless ``address`` is a ZeroMQ endpoint another
    process can use (see :func:`pikos.live.check_address`)."""
    try:
        live.check_address(address, bind)
    except ValueError as error:
        raise UsageError(str(error)) from None


def open_subscriber(address, bind):
    """The native subscriber on ``address``: UsageError when ZeroMQ
    refuses the address itself, CommandError when it cannot be used now
    (e.g. already in use)."""
    try:
        return _native.Subscriber(address, bind, [])
    except OSError as error:
        # The native error carries no errno, only ZeroMQ's text.
        if str(error).endswith("Invalid argument"):
            raise UsageError(f"{address}: not a usable ZeroMQ address") from None
        hint = ""
        if "in use" in str(error):
            hint = " (another `pikos live --bind` or a program run with --live?)"
        raise CommandError(f"{error}{hint}") from None


def _describe(error):
    if isinstance(error, BadMessage):
        return f"unreadable message: {error}"  # decode names the problem
    return f"unreadable message ({type(error).__name__}: {error})"


class Receiver:
    """The subscriber, read on a daemon thread: the messages, and the text
    of the problems (unreadable messages), go on :attr:`queue`, at most
    ``max_queued`` of them; what finds it full is counted in :attr:`lost`.
    Nothing a peer sends stops the thread: a message that does not follow
    the wire format is a problem on the queue, and the next one is read."""

    def __init__(self, address, bind, max_queued=MAX_QUEUED):
        self.queue = queue.Queue(maxsize=max_queued)
        #: messages and problems dropped because the queue was full
        self.lost = 0
        #: messages that did not follow the wire format
        self.rejected = 0
        #: sessions the decoder knows (bounded by pikos.live.MAX_SESSIONS)
        self.sessions = {}
        self._subscriber = open_subscriber(address, bind)
        #: the endpoint bound or connected (with the port ``*`` chose)
        self.endpoint = self._subscriber.endpoint or address
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._receive, name="pikos-live-receiver", daemon=True
        )

    def start(self):
        """Start receiving."""
        self._thread.start()

    def stop(self, timeout=1.0):
        """Stop receiving (within ``POLL_SECONDS``; waits up to
        ``timeout``)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _put(self, item):
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self.lost += 1

    def _receive(self):
        while not self._stopping.is_set():
            try:
                frames = self._subscriber.recv(POLL_SECONDS)
            except OSError as error:
                # The socket itself failed: nothing more will come.
                self._put(f"receiving stopped: {error}")
                return
            if frames is None:
                continue
            try:
                message = decode(frames, self.sessions)
            except Exception as error:  # noqa: BLE001 - a peer's bytes must never stop us
                self.rejected += 1
                self._put(_describe(error))
                continue
            if message is None:
                continue
            if message.kind == "records":
                # The view needs the count and the last record only: the
                # rest of the batch is not kept while it waits.
                last = message.data.rstrip(b"\n").rsplit(b"\n", 1)[-1]
                message.data = last + b"\n" if last else b""
            self._put(message)


def drain(messages, model, limit=DRAIN_SECONDS):
    """Feed ``model`` what is on the queue ``messages`` (for up to
    ``limit`` seconds); strings are problems to show."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            item = messages.get_nowait()
        except queue.Empty:
            return
        if isinstance(item, str):
            model.note_error(item)
            continue
        try:
            model.feed(item)
        except Exception as error:  # noqa: BLE001 - the viewer outlives any message
            model.note_error(f"unshowable message ({type(error).__name__}: {error})")


def _styles(curses):
    styles = {
        "": curses.A_NORMAL,
        "bold": curses.A_BOLD,
        "reverse": curses.A_REVERSE,
        "dim": curses.A_DIM,
        "error": curses.A_BOLD,
        "paused": curses.A_REVERSE | curses.A_BOLD,
        "rss": curses.A_NORMAL,
        "vms": curses.A_NORMAL,
    }
    try:
        if curses.has_colors():
            curses.start_color()
            curses.use_default_colors()
            for pair, color in enumerate(
                (curses.COLOR_RED, curses.COLOR_GREEN, curses.COLOR_CYAN), 1
            ):
                curses.init_pair(pair, color, -1)
            styles["error"] |= curses.color_pair(1)
            styles["rss"] = curses.color_pair(2)
            styles["vms"] = curses.color_pair(3)
    except curses.error:
        pass  # a terminal without (default) colors: attributes only
    return styles


def _draw(curses, stdscr, rows, styles, width):
    stdscr.erase()
    for y, row in enumerate(rows):
        x = 0
        for text, style in row:
            text = text[: width - x]
            try:
                stdscr.addstr(y, x, text, styles.get(style, curses.A_NORMAL))
            except curses.error:
                # Writing the bottom-right cell moves the cursor past the
                # edge (an error after the write), as does a terminal
                # shrinking under us: neither is worth stopping for.
                pass
            x += len(text)
    stdscr.refresh()


def _key_name(curses, key):
    names = {
        curses.KEY_RIGHT: "right",
        curses.KEY_LEFT: "left",
        curses.KEY_BTAB: "backtab",
    }
    if key in names:
        return names[key]
    return chr(key) if 0 <= key < 256 else ""


def _loop(stdscr, curses, receiver, waiting, ascii_only):
    styles = _styles(curses)
    try:
        curses.curs_set(0)
    except curses.error:
        pass  # a terminal that cannot hide its cursor
    stdscr.keypad(True)
    stdscr.timeout(REDRAW_MS)
    model = LiveModel()
    frozen = None  # the paused display's copy of the model
    while True:
        drain(receiver.queue, model)
        model.lost = receiver.lost
        view = model if frozen is None else frozen
        height, width = stdscr.getmaxyx()
        unseen = 0 if frozen is None else model.messages - frozen.messages
        rows = render(
            view,
            width,
            height,
            waiting=waiting,
            paused=frozen is not None,
            unseen=unseen,
            ascii_only=ascii_only,
        )
        _draw(curses, stdscr, rows, styles, width)
        key = stdscr.getch()
        if key == -1:
            continue
        if key == curses.KEY_RESIZE:
            stdscr.clear()  # repaint everything at the new size
            continue
        action = apply_key(view, _key_name(curses, key))
        if action == "quit":
            return 0
        if action == "pause":
            if frozen is None:
                frozen = model.snapshot()
            else:
                model.current, model.sort = frozen.current, frozen.sort
                frozen = None


def _utf8():
    try:
        codeset = locale.nl_langinfo(locale.CODESET)
    except (AttributeError, ValueError):
        return False
    return codeset.replace("-", "").lower() == "utf8"


def _import_curses():
    try:
        import curses
    except ImportError:
        raise CommandError(
            "the curses module is missing (on Windows: pip install windows-curses)"
        ) from None
    return curses


def _show(receiver, waiting):
    curses = _import_curses()
    try:
        # curses draws non-ASCII text in the user's locale only once it is set.
        locale.setlocale(locale.LC_ALL, "")
    except locale.Error:
        pass  # an unknown locale: the C one, and ASCII charts
    try:
        return curses.wrapper(_loop, curses, receiver, waiting, not _utf8())
    except curses.error as error:
        raise CommandError(f"cannot draw on this terminal: {error}") from None


def _parser(prog):
    parser = Parser(
        prog=prog,
        description="Watch programs run with pikos-run ... --live (or "
        "--live-connect): their memory over time, or their functions' "
        "running statistics, one tab per program.",
        epilog="keys: q quit; Tab, Right, l next tab; Shift-Tab, Left, h "
        "previous; 1-9 tab N; c, o, t, n sort by calls, own time, total time, "
        "name; p or space pause.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--connect",
        metavar="ADDR",
        help="connect to a program publishing on ADDR (pikos-run ... "
        f"--live=ADDR); the default, on {DEFAULT_ADDRESS}",
    )
    where.add_argument(
        "--bind",
        metavar="ADDR",
        help="bind ADDR and collect the programs that connect to it "
        "(pikos-run ... --live-connect=ADDR); tcp://HOST:* picks a free port",
    )
    return parser


def _live(argv, prog):
    args = _parser(prog).parse_args(argv)
    bind = args.bind is not None
    if bind:
        address = args.bind
    else:
        address = args.connect if args.connect is not None else DEFAULT_ADDRESS
    check_address(address, bind)
    for name in ("stdout", "stdin"):
        stream = getattr(sys, name)
        if stream is None or not stream.isatty():
            raise UsageError(
                f"{name} is not a terminal: the viewer draws on one (run it in "
                "a terminal, not through a pipe or a file; pikos.live.subscribe "
                "reads the stream from Python)"
            )
    # Before curses starts, so that a bad or busy address is one plain line.
    receiver = Receiver(address, bind)
    endpoint = receiver.endpoint
    option = f"--live-connect={endpoint}" if bind else f"--live={endpoint}"
    waiting = (
        f"waiting for a program on {endpoint} (pikos-run MONITOR script.py {option})"
    )
    receiver.start()
    try:
        return _show(receiver, waiting)
    except KeyboardInterrupt:  # Ctrl-C: quit, as q does
        return 0
    finally:
        receiver.stop()


def main(argv=None, prog="pikos live"):
    """Run ``pikos live ...``; return the exit status."""
    return run_command(prog, _live, argv)
