"""Line statistics: which line is slow, as ``line_profiler`` answers it,
aggregated in the core as the program runs (no record per line)."""

import inspect
import json
import linecache
import os
import pickle
import sys
from tokenize import TokenError

from pikos.monitors.focus import FunctionSet
from pikos.monitors.hook_monitor import _TRACE_SLOT
from pikos.monitors.totals_monitor import TotalsMonitor

__all__ = ["LineStats", "LineStatsMonitor"]

#: Seconds per time unit of the totals (they are kept in nanoseconds).
UNIT = 1e-9

#: The ``format`` value of the JSON files ``dump_stats`` writes.
JSON_FORMAT = "pikos-line-stats"
JSON_VERSION = 1


class LineStats:
    """Per-line totals in ``line_profiler``'s shape (its ``LineStats``):

    - ``timings``: ``{(filename, first_lineno, function_name): [(lineno,
      hits, total_time), ...]}``, lines in order, times in ``unit``s;
    - ``unit``: seconds per time unit (``1e-9``: nanoseconds).
    """

    def __init__(self, timings, unit):
        self.timings = timings
        self.unit = unit

    def __repr__(self):
        return f"LineStats({len(self.timings)} functions, unit={self.unit:g})"

    def __eq__(self, other):
        if not isinstance(other, LineStats):
            return NotImplemented
        return (self.timings, self.unit) == (other.timings, other.unit)

    def total_time(self, key):
        """Seconds spent in the lines of the function ``key``."""
        return sum(time for _, _, time in self.timings[key]) * self.unit

    def to_json(self):
        """The totals as the JSON document ``dump_stats(NAME.json)`` writes
        (the schema: ``docs/line-timing.md``)."""
        functions = [
            {
                "filename": filename,
                "first_lineno": first_lineno,
                "function": name,
                "total_time": sum(time for _, _, time in lines),
                "lines": [list(line) for line in lines],
            }
            for (filename, first_lineno, name), lines in self.timings.items()
        ]
        return {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "unit": self.unit,
            "functions": functions,
        }

    def print_stats(self, stream=None, *, output_unit=1e-6, sort=False):
        """Print ``kernprof -lv``'s table per function: a header with the
        total time, the file, the function and its first line, then ``Line
        #``, ``Hits``, ``Time``, ``Per Hit``, ``% Time`` and ``Line
        Contents``, times in ``output_unit`` seconds (stated on top).  With
        ``sort``, the function with the most time comes first."""
        stream = sys.stdout if stream is None else stream
        stream.write(f"Timer unit: {output_unit:g} s\n\n")
        keys = list(self.timings)
        if sort:
            keys.sort(key=self.total_time, reverse=True)
        for key in keys:
            _print_function(stream, key, self.timings[key], self.unit, output_unit)


def _source_block(filename, first_lineno, name):
    """The function's source lines, numbered: the block that starts at its
    first line (module code: None, only the lines hit are shown)."""
    lines = linecache.getlines(filename)
    if not lines or name == "<module>" or first_lineno < 1:
        return None
    try:
        block = inspect.getblock(lines[first_lineno - 1 :])
    except (SyntaxError, IndexError, TokenError):  # not a whole block of Python
        return None
    return range(first_lineno, first_lineno + len(block))


_HEADER = (
    f"{'Line #':>6} {'Hits':>9} {'Time':>12} {'Per Hit':>8} {'% Time':>8}"
    "  Line Contents"
)


def _number(value, width):
    """``value`` with one decimal, or in fewer digits when that is too wide."""
    text = f"{value:.1f}"
    return text if len(text) <= width else f"{value:.3g}"


def table_rows(key, lines, unit, output_unit):
    """The rows of one function's table: ``(lineno, hits, time, per hit,
    % time, source text)``, times in ``output_unit`` seconds as text, the
    number cells empty ("") for the lines of its block that did not run."""
    filename, first_lineno, name = key
    total = sum(time for _, _, time in lines)
    scale = unit / output_unit
    by_line = {lineno: (hits, time) for lineno, hits, time in lines}
    shown = _source_block(filename, first_lineno, name)
    for lineno in sorted(set(shown or ()) | set(by_line)):
        text = linecache.getline(filename, lineno).rstrip("\n").rstrip()
        if lineno not in by_line:
            yield lineno, "", "", "", "", text
            continue
        hits, time = by_line[lineno]
        percent = 100.0 * time / total if total else 0.0
        per_hit = time * scale / hits if hits else 0.0
        yield (
            lineno,
            hits,
            _number(time * scale, 12),
            _number(per_hit, 8),
            f"{percent:.1f}",
            text,
        )


def _print_function(stream, key, lines, unit, output_unit):
    filename, first_lineno, name = key
    total = sum(time for _, _, time in lines)
    stream.write(f"Total time: {total * unit:g} s\n")
    stream.write(f"File: {filename}\n")
    stream.write(f"Function: {name} at line {first_lineno}\n\n")
    stream.write(_HEADER + "\n")
    stream.write("=" * len(_HEADER) + "\n")
    for row in table_rows(key, lines, unit, output_unit):
        lineno, hits, time, per_hit, percent, text = row
        line = f"{lineno:>6} {hits:>9} {time:>12} {per_hit:>8} {percent:>8}  {text}"
        stream.write((line if hits != "" else line.rstrip()) + "\n")
    stream.write("\n")


class LineStatsMonitor(TotalsMonitor):
    """Per line: hits and total time, with ``line_profiler``'s rules,
    aggregated in the core as the program runs.

    A line's time runs from its line event to the next line event of the
    same frame, or to the frame's return, so it includes what the line
    calls; a generator or coroutine is charged nothing while it is
    suspended; each thread keeps its own frames.  ``functions=None`` counts
    every line of the program (line_profiler needs each function named);
    ``functions=[...]`` only the lines of those functions' own frames.

        >>> def work():
        ...     total = 0
        ...     for i in range(3):
        ...         total += i
        ...     return total
        >>> monitor = LineStatsMonitor(functions=[work])
        >>> with monitor:
        ...     _ = work()
        >>> [(line, hits) for line, hits, _ in monitor.get_stats().timings[
        ...     (work.__code__.co_filename, work.__code__.co_firstlineno, "work")]]
        [(2, 1), (3, 4), (4, 3), (5, 1)]

    The totals add up over enable/disable sessions; lines still running at
    ``disable`` count up to then.  On Python 3.12 (and for focused
    monitors on 3.13) it takes its events from ``sys.monitoring``, as the
    line monitors do (``PIKOS_HOOK`` chooses).

    Given a :class:`~pikos.recorders.zeromq_recorder.ZeroMQRecorder`, it
    publishes the hottest lines (hits, time, % of their function's time,
    source) every ``publish_every`` seconds while the program runs:
    ``pikos live`` shows them.

    Parameters
    ----------
    functions : None (every line), or the functions whose lines to count:
        functions, methods, decorated functions or code objects (see
        :class:`~pikos.monitors.focus.FunctionSet`).
    recorder : None, or a ZeroMQRecorder to publish the running totals on
        (keyword only).
    publish_every : seconds between published totals (default 0.25).
    all_threads : also cover the threads already running when the monitor is
        enabled (keyword only).  False (the default): the enabling thread
        and the threads started while it is enabled.
    """

    _kind = "line"

    _totals_class = "LineStats"
    _totals_hook = "line_stats"
    _topic = "line_stats"
    _what = "line statistics"
    _keeps = "get_stats, print_stats and dump_stats"
    _threading_slot = _TRACE_SLOT

    def __init__(
        self, functions=None, *, recorder=None, publish_every=0.25, all_threads=False
    ):
        self._setup_totals(recorder, publish_every, all_threads)
        self._functions = None
        if functions is not None:
            self._functions = FunctionSet(functions, on_change=self._hook.set_focus)

    @property
    def functions(self):
        """The :class:`~pikos.monitors.focus.FunctionSet` counted, or None
        (every line)."""
        return self._functions

    def _install(self):
        self._note_thread()
        super()._install()

    def _stop_in_child(self):
        super()._stop_in_child()
        self._totals.clear()

    def get_stats(self):
        """The totals so far, as :class:`LineStats` (``line_profiler``'s
        shape: ``.timings`` and ``.unit``).  Two code objects of one
        function (the same file, first line and name) are one entry."""
        timings = {}
        for filename, first_lineno, name, lines in self._totals.rows():
            key = (filename, first_lineno, name)
            if key in timings:
                merged = {line: (hits, time) for line, hits, time in timings[key]}
                for line, hits, time in lines:
                    old = merged.get(line, (0, 0))
                    merged[line] = (old[0] + hits, old[1] + time)
                lines = [(line, *merged[line]) for line in sorted(merged)]
            timings[key] = [tuple(line) for line in lines]
        return LineStats(dict(sorted(timings.items())), UNIT)

    def print_stats(self, stream=None, *, output_unit=1e-6, sort=False):
        """Print ``kernprof -lv``'s table of every function with a line
        counted (see :meth:`LineStats.print_stats`)."""
        self.get_stats().print_stats(stream, output_unit=output_unit, sort=sort)

    def dump_stats(self, path):
        """Write the totals to ``path``: ``NAME.lprof`` as ``kernprof``
        writes it (``python -m line_profiler NAME.lprof`` shows it; needs
        the line_profiler package), ``NAME.json`` in pikos' documented
        schema, ``NAME.txt`` the table."""
        path = os.fspath(path)
        suffix = os.path.splitext(path)[1].lower()
        stats = self.get_stats()
        if suffix == ".lprof":
            data = pickle.dumps(_line_profiler_stats(stats), pickle.HIGHEST_PROTOCOL)
            with open(path, "wb") as out:
                out.write(data)
        elif suffix == ".json":
            with open(path, "w", encoding="utf-8") as out:
                json.dump(stats.to_json(), out, indent=1)
                out.write("\n")
        elif suffix == ".txt":
            with open(path, "w", encoding="utf-8") as out:
                stats.print_stats(out)
        else:
            raise ValueError(
                f"dump_stats writes .lprof, .json or .txt files, not {path!r}"
            )


def _line_profiler_stats(stats):
    """``stats`` as line_profiler's own ``LineStats`` (what ``.lprof`` files
    hold, pickled)."""
    try:
        from line_profiler.line_profiler import LineStats as Theirs
    except ImportError:
        raise ImportError(
            "writing a .lprof file needs the line_profiler package "
            "(pip install line_profiler); .json and .txt need nothing"
        ) from None
    return Theirs(stats.timings, stats.unit)
