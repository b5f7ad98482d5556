"""The IPython magics on a real InteractiveShell: %load_ext pikos, then
each magic on a known function."""

import csv
import json

import pytest

IPython = pytest.importorskip("IPython")  # a test dependency (requirements-dev)
from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

FIB = """
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def grow():
    kept = bytearray(24 * 1024 * 1024)
    kept[::4096] = b"x" * len(kept[::4096])
    return len(kept)
"""


@pytest.fixture(scope="module")
def shell():
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "pikos")
    shell.run_cell(FIB)
    yield shell
    InteractiveShell.clear_instance()


def stats_rows(text):
    """(ncalls, function) of each row of a pstats table."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[1][0].isdigit() and "(" in line:
            rows.append((parts[0], parts[-1]))
    return rows


def test_pikos_stats_line_form_sorts_limits_and_counts_exactly(shell, capsys):
    shell.run_line_magic("pikos_stats", "-s calls -l 2 fib(15)")
    out = capsys.readouterr().out
    assert "1974 function calls (2 primitive calls)" in out
    assert "Ordered by: call count" in out
    rows = stats_rows(out)
    assert len(rows) == 2
    assert rows[0][0] == "1973/1" and rows[0][1].endswith("(fib)")


def test_pikos_stats_cell_form_and_its_html(shell, capsys):
    shell.run_cell_magic("pikos_stats", "", "a = fib(10)\nb = sorted([3, 1, 2])")
    out = capsys.readouterr().out
    assert shell.user_ns["a"] == 55 and shell.user_ns["b"] == [1, 2, 3]
    assert "Ordered by: internal time" in out
    assert "{built-in method builtins.sorted}" in out
    from pikos.integrations.ipython import stats_table
    from pikos.monitors.api import StatsMonitor

    fib, monitor = shell.user_ns["fib"], StatsMonitor()
    with monitor:
        fib(5)
    page = stats_table(monitor, "calls", None)._repr_html_()
    assert page.count("<tr>") == 2  # the header and fib's row
    assert "<td>15/1</td>" in page and "<th>cumtime</th>" in page


def test_pikos_stats_rejects_an_unknown_sort_key(shell):
    with pytest.raises(UsageError, match="-s nonsense: not a pstats sort key"):
        shell.run_line_magic("pikos_stats", "-s nonsense fib(3)")


def test_pikos_memit_reports_peak_and_increment(shell, capsys):
    statement = (
        "block = bytearray(40 * 1024 * 1024); "
        "block[::4096] = b'x' * len(block[::4096]); del block"
    )
    shell.run_line_magic("pikos_memit", statement)
    out = capsys.readouterr().out.strip()
    assert out.startswith("peak memory: ") and ", increment: " in out
    increment = float(out.split("increment: ")[1].split()[0])
    assert 39.0 <= increment <= 60.0  # the 40 MiB block, freed before the end


def test_pikos_trace_writes_the_format_its_name_chooses(shell, capsys, tmp_path):
    trace = tmp_path / "fib.speedscope.json"
    shell.run_line_magic("pikos_trace", f"-o {trace} fib(6)")
    assert capsys.readouterr().out == (
        f"pikos: speedscope recording written to {trace}\n"
    )
    frames = json.loads(trace.read_text())["shared"]["frames"]
    assert "fib" in {frame["name"] for frame in frames}
    table = tmp_path / "fib.csv"
    shell.run_line_magic("pikos_trace", f"-o {table} fib(2)")
    with open(table, newline="") as f:
        rows = list(csv.reader(f))
    calls = [r[2] for r in rows[1:] if r[1] == "call"]
    assert calls == ["<module>", "fib", "fib", "fib"]


def test_a_statement_that_raises_still_raises(shell):
    result = shell.run_cell("%pikos_stats fib(None)")
    assert isinstance(result.error_in_exec, TypeError)


def test_pikos_lines_times_the_named_functions_lines(shell, capsys):
    shell.run_line_magic("pikos_lines", "-f fib fib(10)")
    out = capsys.readouterr().out
    assert "Timer unit: 1e-06 s" in out and "Function: fib at line 1" in out
    header = "Line #      Hits         Time  Per Hit   % Time  Line Contents"
    assert header in out
    row = next(line for line in out.splitlines() if line.strip().startswith("2 "))
    assert row.split()[1] == "177"  # fib(10): 177 calls, one line each
    assert row.split()[4] == "100.0"


def test_pikos_lines_html_and_its_usage_errors(shell):
    from pikos.integrations.ipython import lines_tables
    from pikos.monitors.api import LineStatsMonitor

    fib = shell.user_ns["fib"]
    monitor = LineStatsMonitor([fib])
    with monitor:
        fib(4)
    page = lines_tables(monitor.get_stats(), 1e-6)._repr_html_()
    assert "<th>Per Hit</th>" in page and "<td>9</td>" in page
    with pytest.raises(UsageError, match="needs at least one -f FUNCTION"):
        shell.run_line_magic("pikos_lines", "fib(3)")
    with pytest.raises(UsageError, match="-f nothing: NameError"):
        shell.run_line_magic("pikos_lines", "-f nothing fib(3)")


def test_pikos_memory_gives_memory_profilers_table(shell, capsys):
    shell.run_line_magic("pikos_memory", "-f grow grow()")
    out = capsys.readouterr().out
    assert "Function: grow, lines 4-7" in out
    assert "Line #    Mem usage    Increment  Occurrences   Line Contents" in out
    row = next(line for line in out.splitlines() if "kept = bytearray" in line)
    number, usage, _, increment, _, occurrences = row.split()[:6]
    assert (number, occurrences) == ("5", "1")
    assert 20.0 <= float(increment) <= 30.0  # the 24 MiB block, touched


def test_pikos_memory_html_has_the_same_rows(shell, tmp_path):
    from pikos.integrations.ipython import memory_tables
    from pikos.monitors.api import FocusedLineMemoryMonitor
    from pikos.recorders.api import CSVFileRecorder

    grow, path = shell.user_ns["grow"], tmp_path / "lines.csv"
    with FocusedLineMemoryMonitor(CSVFileRecorder(str(path)), functions=[grow]):
        grow()
    page = memory_tables(str(path))._repr_html_()
    assert "<th>Occurrences</th>" in page
    assert page.count("<tr>") == 1 + 4  # the header, then lines 4 to 7


def test_the_statement_runs_as_written_after_the_options(shell, capsys):
    shell.run_line_magic("pikos_stats", '-l 1 print("a\\tb  c", -2)')
    out = capsys.readouterr().out
    assert out.startswith("a\tb  c -2\n")
    shell.run_line_magic("pikos_memit", 'print("x  y", -1)')
    assert capsys.readouterr().out.startswith("x  y -1\n")
