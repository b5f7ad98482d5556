"""``pikos report --format text``: a line memory CSV as memory_profiler's
table, one per function: ``Line #``, ``Mem usage``, ``Increment``,
``Occurrences``, ``Line Contents``, memory in MiB (2**20 bytes).

The numbers are the per-line totals of
:func:`pikos.reports.memory_csv.read_memory` (one reader for every
report).  A line record's RSS is read as the line starts, so what the line
did shows in the next record's reading:

- ``Mem usage``: the highest RSS read after the line ran (the next record's
  RSS; for the last record of a session, its own);
- ``Increment``: the sum, over the line's runs, of the RSS change from its
  record to the next one;
- ``Occurrences``: the line's records (its runs).

As in memory_profiler, a table covers the function from its first line
(decorators included) to its last, each line of the source with the cells
of the lines that ran filled in; the lines of code nested in it
(comprehensions, lambdas, ``<genexpr>``) count as its own.  The source is
found with :mod:`linecache` and :mod:`ast`; code at a module's top level,
or whose source cannot be read, gets the lines that ran only, with the text
the records carry.
"""

import ast
import linecache
from dataclasses import dataclass, field

from pikos.messages import CommandError, mib
from pikos.reports.memory_csv import LINE_MEMORY

_TEMPLATE = "{:>6} {:>12} {:>12}  {:>10}   {}"
HEADER = _TEMPLATE.format(
    "Line #", "Mem usage", "Increment", "Occurrences", "Line Contents"
)

#: The scopes a table can cover, by the ``co_name`` their code carries.
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass
class Table:
    """One function's table: where it is and its lines."""

    filename: str
    function: str
    first: int  # the first line shown (0: the lines that ran only)
    last: int
    #: line number -> [peak, increment, occurrences, text]
    lines: dict = field(default_factory=dict)


def render(memory, path):
    """The text of every function's table, in the order the functions first
    ran, for the :class:`~pikos.reports.memory_csv.Memory` of the line
    memory CSV ``path``; any other CSV is a CommandError."""
    if memory.layout != LINE_MEMORY:
        raise CommandError(
            f"{path}: not a line memory CSV (the text table needs the records "
            f"of 'pikos-run {LINE_MEMORY}': a 'line' column); the HTML report "
            "takes it: pikos report CSV"
        )
    out = [
        f"pikos line memory: {path}, {memory.records:,} records (MiB = 2**20 bytes)",
        "Mem usage: the highest RSS after the line ran; Increment: the RSS "
        "change over its runs; Occurrences: its runs",
        "",
        "",
    ]
    return "\n".join(out + _lines_of(tables(memory.locations, path)))


def render_tables(found):
    """The text of the :class:`Table` s ``found``, one after the other."""
    return "\n".join(_lines_of(found))


def _lines_of(found):
    out = []
    for table in found:
        out.extend(_render_table(table))
    return out


def tables(locations, path="<rows>"):
    """The :class:`Table` of each function, in order of first appearance
    (``path`` names the CSV in errors)."""
    found = {}
    scopes = {}  # filename -> its scopes, read once
    for location in locations:
        try:
            line_no = int(location.lineNo)
        except ValueError:
            raise CommandError(
                f"{path}: lineNo is not an integer: {location.lineNo!r} "
                f"(function {location.function})"
            ) from None
        filename = location.filename
        if filename not in scopes:
            scopes[filename] = _scopes_of(filename)
        first, last, name = _scope(scopes[filename], location.function, line_no)
        key = (filename, name, first)
        table = found.get(key)
        if table is None:
            table = found[key] = Table(filename, name, first, last)
        cell = table.lines.get(line_no)
        if cell is None:
            table.lines[line_no] = [
                location.peak,
                location.net,
                location.hits,
                location.line,
            ]
        else:  # code nested on the same line (a comprehension's own code)
            cell[0] = max(cell[0], location.peak)
            cell[1] += location.net
            cell[2] += location.hits
    return list(found.values())


def _scopes_of(filename):
    """(first line, last line, name, depth) of every function and class of
    the file, or [] when its source cannot be read or parsed."""
    source = "".join(linecache.getlines(filename))
    if not source:
        return []
    try:
        tree = ast.parse(source, filename)
    except (SyntaxError, ValueError):
        return []
    found = []

    def visit(node, depth):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _SCOPES):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                found.append((first, child.end_lineno, child.name, depth))
                visit(child, depth + 1)
            else:
                visit(child, depth)

    visit(tree, 0)
    return found


def _scope(scopes, function, line_no):
    """(first, last, name) of the table a record of ``function`` at
    ``line_no`` goes to: the innermost function or class of that name
    holding the line; for code nested in one (``<listcomp>``, ``<lambda>``,
    ...), the innermost holding it; else (0, 0, function)."""
    holding = [s for s in scopes if s[0] <= line_no <= s[1]]
    nested = function.startswith("<") and function != "<module>"
    candidates = holding if nested else [s for s in holding if s[2] == function]
    if not candidates:
        return 0, 0, function
    first, last, name, _ = max(candidates, key=lambda s: s[3])
    return first, last, name


def table_rows(table):
    """The rows of one table: ``(line #, mem usage, increment, occurrences,
    line contents)``, the number cells empty ("") for lines that did not
    run, memory as text in MiB."""
    if table.first:
        numbers = range(table.first, table.last + 1)
        source = linecache.getlines(table.filename)
    else:
        numbers = sorted(table.lines)
        source = []
    for number in numbers:
        cell = table.lines.get(number)
        if number <= len(source):
            text = source[number - 1].rstrip("\r\n")
        else:
            text = cell[3] if cell is not None else ""
        if cell is None:
            yield number, "", "", "", text
        else:
            peak, increment, hits, _ = cell
            yield number, mib(peak), mib(increment), hits, text


def table_title(table):
    """Where the table is: ``(Filename: ..., Function: ...)`` lines."""
    if table.first:
        where = f"{table.function}, lines {table.first}-{table.last}"
    else:
        where = f"{table.function} (the lines that ran)"
    return f"Filename: {table.filename}", f"Function: {where}"


def _render_table(table):
    out = [*table_title(table), "", HEADER, "=" * len(HEADER)]
    for row in table_rows(table):
        line = _TEMPLATE.format(*row)
        out.append(line if row[1] != "" else line.rstrip())
    out.extend(["", ""])
    return out
