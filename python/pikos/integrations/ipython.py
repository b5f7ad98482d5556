"""IPython and Jupyter magics, loaded with ``%load_ext pikos``:

- ``%pikos_stats [-s KEY] [-l N] stmt`` and ``%%pikos_stats``: the function
  statistics of a statement (like ``%prun``);
- ``%pikos_lines -f FUNC stmt`` and ``%%pikos_lines``: hits and time per
  line of the functions named (like ``%lprun``);
- ``%pikos_memory -f FUNC stmt``: memory per line of the functions named
  (like ``%mprun``);
- ``%pikos_memit stmt``: its peak memory and the increment over the start
  (like ``%memit``);
- ``%pikos_trace -o FILE stmt``: a recording of it in a file whose name
  chooses the format (like ``pikos-run -o``), its path printed.

Tables are shown with ``display``: text in a terminal, HTML in a notebook.
The statement runs in the user's namespace, once."""

import html
import io
import os
import re

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.display import display

#: ``%prun``'s default order: own time.
_DEFAULT_SORT = "time"


class Table:
    """A table a magic shows: ``repr`` is its text (a terminal), and
    ``_repr_html_`` the same rows as an HTML table (a notebook)."""

    def __init__(self, title, header, rows, text):
        self.title, self.header, self.rows, self.text = title, header, rows, text

    def __repr__(self):
        return self.text

    def _repr_html_(self):
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        return (
            f"<div><p>{html.escape(self.title)}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )


class Tables:
    """Several tables shown as one output (one per function)."""

    def __init__(self, tables, text):
        self.tables, self.text = tables, text

    def __repr__(self):
        return self.text

    def _repr_html_(self):
        return "".join(table._repr_html_() for table in self.tables)


@magics_class
class PikosMagics(Magics):
    def _run(self, code, watch):
        """Run ``code`` (source text) in the user's namespace inside
        ``watch`` (a monitor or another context manager), which sees the
        statement and nothing of IPython's."""
        namespace = self.shell.user_ns
        compiled = compile(code, "<pikos magic>", "exec")
        with watch:
            exec(compiled, namespace, namespace)

    def _options(self, line, cell, flags):
        """The options (``-X VALUE``, each of ``flags`` taking a value and
        repeatable: a list per flag) at the start of a magic's line, and the
        statement: the rest of the line exactly as written, or the cell."""
        opts, rest = {}, line.lstrip()
        while len(rest) > 1 and rest[0] == "-" and rest[1] in flags:
            flag, rest = rest[1], rest[2:].lstrip()
            value = re.match(r"\"[^\"]*\"|'[^']*'|\S+", rest)
            if value is None:
                raise UsageError(f"-{flag} needs a value")
            opts.setdefault(flag, []).append(value.group().strip("\"'"))
            rest = rest[value.end() :].lstrip()
        code = cell if cell is not None else rest
        if not code.strip():
            raise UsageError("give a statement to run (or use the cell form)")
        return opts, code

    @line_cell_magic
    def pikos_stats(self, line, cell=None):
        """Function statistics of a statement, as ``%prun`` gives them,
        gathered by pikos' StatsMonitor (exact counts, own and cumulative
        times).

        ``%pikos_stats [-s KEY] [-l N] statement`` or ``%%pikos_stats``:
        ``-s`` a pstats sort key (default ``time``: own time), ``-l`` the
        first N functions only."""
        import pstats

        from pikos.monitors.api import StatsMonitor

        opts, code = self._options(line, cell, "sl")
        sort = opts.get("s", [_DEFAULT_SORT])[-1]
        limit = _positive(opts.get("l", [None])[-1], "-l", int)
        if sort not in pstats.Stats.sort_arg_dict_default:
            keys = ", ".join(sorted(pstats.Stats.sort_arg_dict_default))
            raise UsageError(f"-s {sort}: not a pstats sort key ({keys})")
        monitor = StatsMonitor()
        self._run(code, monitor)
        display(stats_table(monitor, sort, limit))

    def _functions(self, names, magic):
        """The objects the ``-f`` expressions name, in the user's namespace."""
        if not names:
            raise UsageError(f"%{magic} needs at least one -f FUNCTION")
        functions = []
        for name in names:
            try:
                functions.append(eval(name, self.shell.user_ns))
            except Exception as error:
                raise UsageError(
                    f"-f {name}: {type(error).__name__}: {error}"
                ) from None
        return functions

    @line_cell_magic
    def pikos_lines(self, line, cell=None):
        """Hits and time per line of the ``-f`` functions while a statement
        runs, in ``kernprof -lv``'s table (LineStatsMonitor: a line's time
        includes what it calls).

        ``%pikos_lines -f FUNC [-f FUNC2] [-u SECONDS] statement`` or
        ``%%pikos_lines -f FUNC``: ``-u`` the unit of the Time column
        (default 1e-6: microseconds)."""
        from pikos.monitors.api import LineStatsMonitor

        opts, code = self._options(line, cell, "fu")
        unit = _positive(opts.get("u", ["1e-6"])[-1], "-u", float)
        functions = self._functions(opts.get("f", []), "pikos_lines")
        try:
            monitor = LineStatsMonitor(functions)
        except (TypeError, ValueError) as error:
            raise UsageError(str(error)) from None
        self._run(code, monitor)
        display(lines_tables(monitor.get_stats(), unit))

    @line_magic
    def pikos_memory(self, line):
        """Memory per line of the ``-f`` functions while a statement runs,
        in memory_profiler's table (Mem usage, Increment, Occurrences).

        ``%pikos_memory -f FUNC [-f FUNC2] statement``."""
        import tempfile

        from pikos.monitors.api import FocusedLineMemoryMonitor
        from pikos.recorders.api import CSVFileRecorder

        opts, code = self._options(line, None, "f")
        functions = self._functions(opts.get("f", []), "pikos_memory")
        with tempfile.TemporaryDirectory(prefix="pikos-memory-") as directory:
            path = os.path.join(directory, "lines.csv")
            try:
                monitor = FocusedLineMemoryMonitor(
                    CSVFileRecorder(path), functions=functions
                )
            except (TypeError, ValueError) as error:
                raise UsageError(str(error)) from None
            self._run(code, monitor)
            if monitor.error is not None:
                raise UsageError(f"recording the lines failed: {monitor.error}")
            display(memory_tables(path))

    @line_magic
    def pikos_memit(self, line):
        """Peak memory while a statement runs, and its increment over the
        memory at the start (the kernel's high-water mark: no peak between
        samples is missed).  Linux.  ``%pikos_memit statement``."""
        from pikos.integrations.memory import PeakRSS, PeakUnavailable
        from pikos.messages import MIB

        if not line.strip():
            raise UsageError("give a statement to run")
        try:
            peak = PeakRSS()
            self._run(line, peak)
        except PeakUnavailable as error:
            raise UsageError(str(error)) from None
        print(
            f"peak memory: {peak.peak / MIB:.2f} MiB, "
            f"increment: {peak.growth / MIB:.2f} MiB"
        )

    @line_cell_magic
    def pikos_trace(self, line, cell=None):
        """Record the function events of a statement into a file.

        ``%pikos_trace -o FILE statement`` or ``%%pikos_trace -o FILE``: the
        file's name chooses the format, as for ``pikos-run -o`` (``.csv``,
        ``.speedscope.json``, ``.trace.json``, ``.collapsed.txt``, ``.pb.gz``,
        ``callgrind.out.*``, ``.pikos``, else text)."""
        from pikos.messages import CommandError
        from pikos.monitors.api import FunctionMonitor
        from pikos.runner.recording import (
            TRACE_RECORDINGS,
            make_recorder,
            recording_of,
        )

        opts, code = self._options(line, cell, "o")
        if "o" not in opts:
            raise UsageError("%pikos_trace needs -o FILE")
        output = os.path.expanduser(opts["o"][-1])
        try:
            recording = recording_of(None, output)
            recorder = make_recorder(recording, output, buffered=True)
        except CommandError as error:
            raise UsageError(str(error)) from None
        monitor = FunctionMonitor(recorder, timed=recording in TRACE_RECORDINGS)
        self._run(code, monitor)
        if monitor.error is not None:
            raise UsageError(f"writing {output} failed: {monitor.error}")
        print(f"pikos: {recording} recording written to {output}")


def _positive(text, option, kind):
    """An option's value as a positive ``kind`` (None stays None)."""
    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise UsageError(f"{option} must be a positive number, not {text!r}")
    return value


def stats_table(monitor, sort, limit):
    """The ``%prun`` table of a StatsMonitor, as a Table."""
    import pstats

    stream = io.StringIO()
    stats = pstats.Stats(monitor, stream=stream).sort_stats(sort)
    restrictions = () if limit is None else (limit,)
    stats.print_stats(*restrictions)
    rows = []
    for key in stats.fcn_list[: limit or None]:
        cc, nc, tt, ct, _ = stats.stats[key]
        calls = f"{nc}/{cc}" if nc != cc else f"{nc}"
        rows.append(
            (
                calls,
                f"{tt:.6f}",
                f"{tt / nc:.6f}" if nc else "",
                f"{ct:.6f}",
                f"{ct / cc:.6f}" if cc else "",
                pstats.func_std_string(key),
            )
        )
    header = ("ncalls", "tottime", "percall", "cumtime", "percall", "function")
    title = f"{stats.total_calls} function calls in {stats.total_tt:.6f} seconds"
    return Table(title, header, rows, stream.getvalue().strip("\n"))


def lines_tables(stats, output_unit):
    """LineStatsMonitor's totals as kernprof's tables (text and HTML)."""
    from pikos.monitors.line_stats_monitor import table_rows

    stream = io.StringIO()
    stats.print_stats(stream, output_unit=output_unit, sort=True)
    header = ("Line #", "Hits", "Time", "Per Hit", "% Time", "Line Contents")
    tables = []
    for key in sorted(stats.timings, key=stats.total_time, reverse=True):
        filename, first_lineno, name = key
        title = (
            f"{name} ({filename}:{first_lineno}): {stats.total_time(key):g} s; "
            f"Time in units of {output_unit:g} s"
        )
        rows = list(table_rows(key, stats.timings[key], stats.unit, output_unit))
        tables.append(Table(title, header, rows, ""))
    if not tables:
        stream.write("(no line of the functions ran)\n")
    return Tables(tables, stream.getvalue().rstrip("\n"))


def memory_tables(path):
    """A line memory CSV as memory_profiler's tables (text and HTML)."""
    from pikos.reports import line_table
    from pikos.reports.memory_csv import read_memory

    with open(path, newline="", encoding="utf-8") as stream:
        memory = read_memory(path, stream)
    header = ("Line #", "Mem usage", "Increment", "Occurrences", "Line Contents")
    found = line_table.tables(memory.locations, path)
    tables = [
        Table(
            "; ".join(line_table.table_title(table)),
            header,
            list(line_table.table_rows(table)),
            "",
        )
        for table in found
    ]
    text = line_table.render_tables(found) or "(no line of the functions ran)"
    return Tables(tables, text.rstrip("\n"))


def load(shell):
    shell.register_magics(PikosMagics)
