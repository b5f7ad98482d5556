"""What ``pikos live`` shows, apart from any terminal: one :class:`Tab` per
publishing session, fed decoded :class:`pikos.live.Message` s, and the keys
that change the selection and the sort (:func:`apply_key`)."""

import copy
import os
import time
from collections import deque
from dataclasses import dataclass, field

from pikos.live import MAX_SESSIONS

__all__ = ["LiveModel", "Tab", "apply_key", "function_label"]

#: Memory samples kept per tab (one per records message, about 10 a second).
MAX_SAMPLES = 2000

#: The statistics' sort orders, and their keys.
SORT_KEYS = ("calls", "own", "cumulative", "name")
SORT_LETTERS = {"c": "calls", "o": "own", "t": "cumulative", "n": "name"}


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
    #: a line totals session's hottest lines: [filename, line, function,
    #: hits, seconds, percent of the function's time, source]
    lines: list = field(default_factory=list)
    #: line totals messages received
    line_updates: int = 0
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

    @property
    def is_lines(self):
        """Whether this is a line totals session (``pikos-run line_stats``)."""
        return self.monitor == "line_stats" or self.line_updates > 0

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

    def set_lines(self, data):
        """Take a line totals message's rows (the hottest lines so far:
        they replace the previous ones), hottest first."""
        self.line_updates += 1
        rows = data.get("lines") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            return
        kept = [
            list(row[:7])
            for row in rows
            if isinstance(row, list | tuple)
            and len(row) >= 7
            and all(_is_number(row[i]) for i in (1, 3, 4, 5))
        ]
        kept.sort(key=lambda row: (-row[4], str(row[0]), row[1]))
        self.lines = kept


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
        elif message.kind == "lines":
            tab.set_lines(message.data)
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
