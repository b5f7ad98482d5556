"""Profiles read as per-function totals, and two of them compared: what
``pikos diff`` shows.

A profile is a pstats file (``StatsMonitor.dump_stats``, ``pikos-run stats
-o FILE``, ``cProfile``'s ``-o``/``dump_stats``) or a pprof profile
(``pikos-run functions --recording pprof``, ``PprofRecorder``, ``pikos export
--format pprof``, or another tool's, gzipped or not), or a capture of timed
function records (``pikos-run functions --timed --recording capture``: its
statistics, as ``pikos export --format pstats`` makes them), told apart by
their content, not their names.  Every function is keyed by ``(file, first line,
name)``, as pstats keys it; times are seconds.
"""

import marshal
import pstats
from dataclasses import dataclass

from pikos import _native
from pikos.messages import CommandError

#: the first bytes of a gzip stream (pprof files are gzipped)
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Totals:
    """One function's totals in one profile: ``calls`` is None where the
    profile counts no calls (a sampling profiler's pprof)."""

    calls: int | None
    own: float
    cumulative: float


@dataclass(frozen=True)
class Profile:
    """A profile's functions, ``(file, line, name) -> Totals``, and what
    kind of file it came from (``"pstats"``, ``"pprof"`` or ``"capture"``)."""

    kind: str
    functions: dict


def load(path):
    """The profile at ``path``; a :class:`CommandError` names a file that is
    neither kind."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    if data.startswith(GZIP_MAGIC):
        return _pprof(path)
    if _native.is_capture(path):
        return _capture(path)
    stats = _pstats_dict(data)
    if stats is not None:
        return _pstats(path, stats)
    try:
        return _pprof(path)
    except CommandError:
        raise CommandError(
            f"{path} is neither a pstats file nor a pprof profile"
        ) from None


def _pstats_dict(data):
    """The dict a pstats file holds, or None when ``data`` is not one."""
    try:
        stats = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(stats, dict):
        return None
    for key, value in stats.items():
        if not (
            isinstance(key, tuple)
            and len(key) == 3
            and isinstance(value, tuple)
            and len(value) == 5
        ):
            return None
    return stats


def _pstats(path, stats):
    if not stats:  # a profile of nothing (pstats.Stats refuses to load it)
        return Profile("pstats", {})
    # pstats.Stats checks what the dict holds as it reads it; the dict
    # above only said the file has pstats' shape.
    try:
        raw = pstats.Stats(path).stats
    except Exception as error:  # a damaged file: pstats' own words
        raise CommandError(f"{path}: not a readable pstats file ({error})") from None
    functions = {}
    for (file, line, name), (_primitive, calls, own, cumulative, _) in raw.items():
        functions[(file, line, name)] = Totals(calls, own, cumulative)
    return Profile("pstats", functions)


def _capture(path):
    from pikos.monitors.stats_monitor import pstats_of

    try:
        rows, _read = _native.capture_stats(path)
    except ValueError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    functions = {
        key: Totals(calls, own, cumulative)
        for key, (_primitive, calls, own, cumulative, _) in pstats_of(rows).items()
    }
    return Profile("capture", functions)


def _pprof(path):
    try:
        rows = _native.pprof_functions(path)
    except ValueError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    functions = {}
    for name, file, line, calls, own, cumulative in rows:
        key = (file, line, name)
        before = functions.get(key)
        if before is not None:  # the same function under two ids
            calls = None if calls is None else calls + (before.calls or 0)
            own += round(before.own * 1e9)
            cumulative += round(before.cumulative * 1e9)
        functions[key] = Totals(calls, own / 1e9, cumulative / 1e9)
    return Profile("pprof", functions)


@dataclass(frozen=True)
class Change:
    """One function before and after (None: absent from that profile)."""

    function: tuple
    before: Totals | None
    after: Totals | None

    def _get(self, totals, field):
        return 0 if totals is None else getattr(totals, field)

    @property
    def own_change(self):
        return self._get(self.after, "own") - self._get(self.before, "own")

    @property
    def cumulative_change(self):
        return self._get(self.after, "cumulative") - self._get(
            self.before, "cumulative"
        )

    @property
    def calls_before(self):
        return self._get(self.before, "calls")

    @property
    def calls_after(self):
        return self._get(self.after, "calls")

    @property
    def calls_change(self):
        """The growth in calls, or None where either side counts none."""
        before, after = self.calls_before, self.calls_after
        if before is None or after is None:
            return None
        return after - before


def compare(base, new):
    """Every function of either profile, sorted by the largest change in
    own time first (then by name, for a stable order)."""
    keys = base.functions.keys() | new.functions.keys()
    changes = [
        Change(key, base.functions.get(key), new.functions.get(key)) for key in keys
    ]
    changes.sort(key=lambda c: (-abs(c.own_change), label(c.function)))
    return changes


def label(function):
    """``name (file:line)``, or the name alone for a builtin (no file, or
    pstats' ``~``)."""
    file, line, name = function
    if not file or file == "~":
        return name
    return f"{name} ({file}:{line})"


class Threshold:
    """``--fail-on-calls``'s threshold: a count (``10``: more than 10 more
    calls), a percentage (``5%``: more than 5% more calls than before; a
    function new in NEW grew past any percentage), or empty: any growth."""

    def __init__(self, text):
        self.text = text
        text = text.strip()
        self.percent = text.endswith("%")
        number = text[:-1] if self.percent else text
        try:
            self.value = float(number) if number else 0.0
        except ValueError:
            self.value = -1.0
        if self.value < 0 or self.value != self.value or self.value == float("inf"):
            raise ValueError(
                f"--fail-on-calls takes a count (10) or a percentage (5%), not {text!r}"
            )

    def exceeded(self, change):
        """Whether ``change``'s calls grew past the threshold."""
        growth = change.calls_change
        if growth is None or growth <= 0:
            return False
        if not self.percent:
            return growth > self.value
        before = change.calls_before
        if not before:
            return True
        return growth * 100 > self.value * before

    def __str__(self):
        if not self.text.strip():
            return "any growth"
        return self.text.strip()
