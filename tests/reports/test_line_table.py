"""``pikos report --format text``: a line memory CSV as memory_profiler's
table per function.

Handmade CSVs over a real source file pin the numbers exactly (what a line
is charged, the highest RSS after it, its runs, the nested code merged into
its function, a second session); a real ``pikos-run line_memory`` run is
compared with memory_profiler's own table of the same function, parsed by
the same code: the same columns and, line by line, the same runs and
increments within a few MiB.
"""

import csv
import re
import subprocess
import sys
import textwrap

import pikos.cli.report as report
import pytest
from commands import PIKOS, SCRIPTS, command_env, run
from pikos.reports import line_table

MB = 2**20
LINE_HEADER = ["index", "function", "lineNo", "RSS", "VMS", "line", "filename"]
TARGET = SCRIPTS / "line_memory_target.py"

PROGRAM = """\
import os


def outer(n):
    values = [i * 2 for i in range(n)]
    return sum(values)


class Box:
    size = 3

    def grow(self):
        return self.size + 1


outer(2)
"""


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(LINE_HEADER)
        for index, function, line_no, rss_mib, text, filename in rows:
            writer.writerow(
                [index, function, line_no, rss_mib * MB, 100 * MB, text, filename]
            )
    return path


def report_text(capsys, *argv):
    status = report.main(["--format", "text", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


CELLS = re.compile(r"^\s*(\d+)(?:\s+(-?\d+\.\d) MiB\s+(-?\d+\.\d) MiB\s+(\d+))?\s*$")


def parse_tables(text):
    """Every table of ``text`` (pikos' or memory_profiler's): its column
    header and {line: (mem usage, increment, occurrences, contents)}, with
    None for the cells of a line that did not run.  The cells are 6, 12,
    12 and 10 characters wide, with 1, 2 and 3 spaces between them and the
    contents (the header's "Occurrences" overflows its 10 by one)."""
    tables = []
    lines = text.splitlines()
    for at, line in enumerate(lines):
        if not line.startswith("=====") or at == 0:
            continue
        header = lines[at - 1]
        column = 6 + 1 + 12 + 1 + 12 + 2 + 10 + 3
        assert header.index("Line Contents") == column + 1, header
        rows = {}
        for body in lines[at + 1 :]:
            if not body.strip():
                break
            match = CELLS.match(body[:column])
            assert match, f"not a table row: {body!r}"
            number, usage, increment, hits = match.groups()
            rows[int(number)] = (
                None if usage is None else float(usage),
                None if increment is None else float(increment),
                None if hits is None else int(hits),
                body[column:],
            )
        tables.append((header, rows))
    return tables


def test_numbers_per_line_and_function(tmp_path, capsys):
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    name = str(program)
    path = write_csv(
        tmp_path / "lines.csv",
        [
            (0, "<module>", 1, 10, "import os", name),
            (1, "<module>", 4, 10, "def outer(n):", name),
            (2, "<module>", 9, 10, "class Box:", name),
            (3, "Box", 10, 10, "    size = 3", name),
            (4, "Box", 12, 10, "    def grow(self):", name),
            (5, "<module>", 16, 11, "outer(2)", name),
            (6, "outer", 5, 11, "    values = ...", name),
            (7, "<listcomp>", 5, 12, "    values = ...", name),
            (8, "<listcomp>", 5, 14, "    values = ...", name),
            (9, "<listcomp>", 5, 15, "    values = ...", name),
            (10, "outer", 6, 15, "    return sum(values)", name),
            # A second session appended (the index starts again): nothing
            # read after index 10 is charged to it.
            (0, "outer", 5, 20, "    values = ...", name),
            (1, "outer", 6, 26, "    return sum(values)", name),
        ],
    )
    status, out, err = report_text(capsys, path)
    assert (status, err) == (0, "")
    assert out.startswith(
        f"pikos line memory: {path}, 13 records (MiB = 2**20 bytes)\n"
    )
    tables = out.split("Filename: ")[1:]
    assert [t.splitlines()[1] for t in tables] == [
        "Function: <module> (the lines that ran)",
        "Function: Box, lines 9-13",
        "Function: outer, lines 4-6",
    ]
    parsed = [rows for _, rows in parse_tables(out)]
    assert parsed[0] == {
        1: (10.0, 0.0, 1, "import os"),
        4: (10.0, 0.0, 1, "def outer(n):"),
        9: (10.0, 0.0, 1, "class Box:"),
        16: (11.0, 0.0, 1, "outer(2)"),
    }
    assert parsed[1] == {
        9: (None, None, None, "class Box:"),
        10: (10.0, 0.0, 1, "    size = 3"),
        11: (None, None, None, ""),
        12: (11.0, 1.0, 1, "    def grow(self):"),
        13: (None, None, None, "        return self.size + 1"),
    }
    # Line 5: outer's two runs (+1, then +6 in the second session) and the
    # comprehension's three (+2, +1, 0), in one row as memory_profiler
    # counts nested code; the highest RSS after it is the second session's.
    assert parsed[2] == {
        4: (None, None, None, "def outer(n):"),
        5: (26.0, 10.0, 5, "    values = [i * 2 for i in range(n)]"),
        6: (26.0, 0.0, 2, "    return sum(values)"),
    }
    # The exact text of a row: memory_profiler's columns and widths.
    assert "     5     26.0 MiB     10.0 MiB           5       values = [i" in out


def test_without_source_the_lines_that_ran_with_the_records_text(tmp_path, capsys):
    gone = str(tmp_path / "gone.py")
    path = write_csv(
        tmp_path / "lines.csv",
        [
            (0, "work", 7, 5, "    x = [0] * 9", gone),
            (1, "work", 3, 8, "    y = 2", gone),
            (2, "work", 7, 7, "    x = [0] * 9", gone),
        ],
    )
    status, out, err = report_text(capsys, path)
    assert (status, err) == (0, "")
    assert "Function: work (the lines that ran)" in out
    ((header, rows),) = parse_tables(out)
    assert header == line_table.HEADER
    assert rows == {
        3: (7.0, -1.0, 1, "    y = 2"),
        7: (8.0, 3.0, 2, "    x = [0] * 9"),
    }


def test_other_csvs_are_clear_errors(tmp_path, capsys):
    functions = tmp_path / "functions.csv"
    functions.write_text(
        "index,type,function,RSS,VMS,lineNo,filename\n0,call,f,1,2,3,a.py\n"
    )
    status, out, err = report_text(capsys, functions)
    assert (status, out) == (1, "")
    assert err.startswith(f"pikos report: error: {functions}: not a line memory CSV")
    assert "'pikos-run line_memory'" in err and err.count("\n") == 1

    plain = tmp_path / "plain.csv"
    plain.write_text("index,type,function,lineNo,filename\n0,call,f,3,a.py\n")
    status, out, err = report_text(capsys, plain)
    assert status == 1 and "no RSS and VMS columns" in err

    bad = write_csv(tmp_path / "bad.csv", [(0, "f", "three", 1, "x", "a.py")])
    status, out, err = report_text(capsys, bad)
    assert status == 1 and "lineNo is not an integer: 'three'" in err

    for option in (["-o", tmp_path / "x.txt"], ["--title", "t"], ["--top", "3"]):
        status, out, err = report_text(capsys, *option, plain)
        assert status == 2 and "only with --format html" in err, err


MEMORY_PROFILER = """\
import sys
sys.path.insert(0, {scripts!r})
import memory_profiler
import line_memory_target as target
profiler = memory_profiler.LineProfiler(backend="psutil")
profiler.add_function(target.grow)
profiler.enable_by_count()
target.grow({megabytes})
profiler.disable_by_count()
memory_profiler.show_results(profiler)
"""


def test_the_same_table_as_memory_profiler(tmp_path):
    pytest.importorskip("memory_profiler")
    megabytes = 16
    theirs = subprocess.run(
        [
            sys.executable,
            "-c",
            MEMORY_PROFILER.format(scripts=str(SCRIPTS), megabytes=megabytes),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=command_env(),
        check=True,
    ).stdout
    done = run(
        "line_memory",
        TARGET,
        megabytes,
        "--recording",
        "csv",
        "--focused-on=grow",
        "-o",
        "lines.csv",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    ours = run("report", "--format", "text", "lines.csv", cwd=tmp_path, command=PIKOS)
    assert (ours.returncode, ours.stderr) == (0, "")

    ((their_header, their_rows),) = parse_tables(theirs)
    ((our_header, our_rows),) = parse_tables(ours.stdout)
    assert our_header == their_header == line_table.HEADER
    assert sorted(our_rows) == sorted(their_rows)  # the function's lines
    first = min(our_rows)
    # memory_profiler reads memory once at the call, charged to the def
    # line; pikos has line records only.
    assert our_rows[first][:3] == (None, None, None)
    body = sorted(our_rows)[1:]
    assert [our_rows[n][3] for n in body] == [their_rows[n][3] for n in body]
    for n in body:
        assert our_rows[n][2] == their_rows[n][2] == 1  # occurrences
        assert abs(our_rows[n][1] - their_rows[n][1]) <= 3, (n, ours.stdout, theirs)
    kept, scratch, dropped, returned = body
    for rows in (our_rows, their_rows):
        assert rows[kept][1] > megabytes - 3
        assert rows[scratch][1] > 2 * megabytes - 3
        assert rows[dropped][1] < -(2 * megabytes - 3)
        assert abs(rows[returned][1]) < 3
    # Mem usage: each process has its own baseline; the steps between the
    # lines are the same.
    for a, b in zip(body[:-1], body[1:], strict=True):
        ours_step = our_rows[b][0] - our_rows[a][0]
        their_step = their_rows[b][0] - their_rows[a][0]
        assert abs(ours_step - their_step) <= 3, (a, b, ours.stdout, theirs)
    assert textwrap.dedent(our_rows[kept][3]).startswith("kept = ")
