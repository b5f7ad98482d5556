"""`pikos diff BASE NEW` over pstats files (pikos-run stats, cProfile) and
pprof profiles: the rows per function, their order, and
`--fail-on-calls[=THRESHOLD]` failing with the functions it names."""

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
PIKOS_RUN = str(BIN / "pikos-run")
PIKOS = str(BIN / "pikos")
FIB = str(Path(__file__).resolve().parent.parent / "scripts" / "fib_calls.py")
TIMEOUT = 120
FIB15_CALLS = 1973
FIB12_CALLS = 465


def run(argv, cwd=None):
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd
    )


def rows(stdout):
    """The table: {function label: (calls before, after, change, own
    change)}; and the own changes in table order."""
    lines = stdout.splitlines()
    assert lines[0].startswith("BASE ")
    assert lines[1].split()[:3] == ["calls", "before", "after"]
    table, order = {}, []
    for line in lines[2:]:
        fields = line.split(None, 9)
        table[fields[9]] = (fields[0], fields[1], fields[2], float(fields[5]))
        order.append(float(fields[5]))
    return table, order


def fib_row(table):
    (row,) = [v for k, v in table.items() if k.startswith("fib (") and FIB in k]
    return row


@pytest.fixture(scope="module")
def pstats_pair(tmp_path_factory):
    where = tmp_path_factory.mktemp("pstats")
    for name, n in (("base.pstats", 12), ("new.pstats", 15)):
        proc = run([PIKOS_RUN, "stats", FIB, n, "-o", where / name])
        assert proc.returncode == 0, proc.stderr
    return where / "base.pstats", where / "new.pstats"


def test_diff_of_two_pikos_stats_files(pstats_pair):
    base, new = pstats_pair
    proc = run([PIKOS, "diff", base, new])
    assert proc.returncode == 0, proc.stderr
    table, order = rows(proc.stdout)
    assert fib_row(table)[:3] == (
        str(FIB12_CALLS),
        str(FIB15_CALLS),
        f"+{FIB15_CALLS - FIB12_CALLS}",
    )
    assert fib_row(table)[3] > 0
    magnitudes = [abs(x) for x in order]
    assert magnitudes == sorted(magnitudes, reverse=True)


@pytest.mark.parametrize(
    "option, fails",
    [
        ("--fail-on-calls", True),
        ("--fail-on-calls=1507", True),
        ("--fail-on-calls=1508", False),
        ("--fail-on-calls=300%", True),
        ("--fail-on-calls=400%", False),
    ],
)
def test_fail_on_calls_names_the_functions_that_grew(pstats_pair, option, fails):
    base, new = pstats_pair
    # The bare flag before the files: it never takes BASE as its value.
    proc = run([PIKOS, "diff", option, base, new])
    assert proc.returncode == (1 if fails else 0), proc.stderr
    if fails:
        assert proc.stderr.startswith("pikos diff: error: calls grew past ")
        assert f"fib ({FIB}:" in proc.stderr
        assert f"{FIB12_CALLS} -> {FIB15_CALLS} (+{FIB15_CALLS - FIB12_CALLS})" in (
            proc.stderr
        )
        assert proc.stderr.count("\n") == 1
    else:
        assert proc.stderr == ""
    assert "calls before" in proc.stdout


def test_diff_of_cprofile_files_and_of_a_file_with_itself(tmp_path):
    for name, n in (("a.prof", 12), ("b.prof", 15)):
        proc = run([sys.executable, "-m", "cProfile", "-o", tmp_path / name, FIB, n])
        assert proc.returncode == 0, proc.stderr
    proc = run([PIKOS, "diff", tmp_path / "a.prof", tmp_path / "b.prof"])
    assert proc.returncode == 0, proc.stderr
    table, _ = rows(proc.stdout)
    assert fib_row(table)[:2] == (str(FIB12_CALLS), str(FIB15_CALLS))
    same = run(
        [PIKOS, "diff", "--fail-on-calls", tmp_path / "a.prof", tmp_path / "a.prof"]
    )
    assert same.returncode == 0, same.stderr
    assert same.stdout.splitlines()[1] == "no function changed"


def test_diff_of_two_pprof_profiles(tmp_path):
    for name, n in (("base.pb.gz", 12), ("new.pb.gz", 15)):
        proc = run([PIKOS_RUN, "functions", FIB, n, "-o", tmp_path / name])
        assert proc.returncode == 0, proc.stderr
    proc = run(
        [
            PIKOS,
            "diff",
            tmp_path / "base.pb.gz",
            tmp_path / "new.pb.gz",
            "--fail-on-calls=10",
        ]
    )
    assert proc.returncode == 1
    table, _ = rows(proc.stdout)
    assert fib_row(table)[:3] == (str(FIB12_CALLS), str(FIB15_CALLS), "+1508")
    assert "(pprof)" in proc.stdout.splitlines()[0]
    assert "calls grew past 10 in 1 function: fib (" in proc.stderr


def test_diff_of_two_captures(tmp_path):
    for name, n in (("base.pikos", 12), ("new.pikos", 15)):
        proc = run([PIKOS_RUN, "functions", "--timed", FIB, n, "-o", tmp_path / name])
        assert proc.returncode == 0, proc.stderr
    proc = run([PIKOS, "diff", tmp_path / "base.pikos", tmp_path / "new.pikos"])
    assert proc.returncode == 0, proc.stderr
    table, _ = rows(proc.stdout)
    assert fib_row(table)[:3] == (str(FIB12_CALLS), str(FIB15_CALLS), "+1508")
    assert "(capture)" in proc.stdout.splitlines()[0]


def test_diff_errors_are_one_line(tmp_path, pstats_pair):
    base, _ = pstats_pair
    text = tmp_path / "notes.txt"
    text.write_text("not a profile\n")
    proc = run([PIKOS, "diff", base, text])
    assert proc.returncode == 1
    assert proc.stderr == (
        f"pikos diff: error: {text} is neither a pstats file nor a pprof profile\n"
    )
    proc = run([PIKOS, "diff", base, tmp_path / "missing"])
    assert proc.returncode == 2
    assert "no such file" in proc.stderr
    proc = run([PIKOS, "diff", base, base, "--fail-on-calls=lots"])
    assert proc.returncode == 2
    assert "takes a count (10) or a percentage (5%), not 'lots'" in proc.stderr
