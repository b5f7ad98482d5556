"""``pikos-run line_stats``: kernprof -lv's table on stderr at exit (the
script's stdout stays its own), ``--focused-on``, and ``-o`` by ending."""

import json
import os
import sys

import pytest
from commands import python, run

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "scripts", "slow_line.py")
SCRIPT = os.path.abspath(SCRIPT)


def _functions(table):
    return [
        line.split()[1] for line in table.splitlines() if line.startswith("Function:")
    ]


def test_the_table_goes_to_stderr_and_stdout_stays_the_scripts(tmp_path):
    proc = run("line_stats", SCRIPT, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == python(SCRIPT, cwd=tmp_path).stdout == "slow_line done\n"
    err = proc.stderr
    assert err.startswith("Timer unit: 1e-06 s\n")
    assert {"<module>", "main", "slow", "consumer", "numbers"} <= set(_functions(err))
    # The hottest function first: the module (it runs everything).
    assert _functions(err)[0] == "<module>"
    sleep = [line for line in err.splitlines() if line.endswith("time.sleep(0.02)")]
    assert [int(line.split()[1]) for line in sleep] == [3, 3]


def test_focused_on_limits_the_table(tmp_path):
    proc = run("line_stats", SCRIPT, "--focused-on", "slow", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _functions(proc.stderr) == ["slow"]
    row = next(
        line for line in proc.stderr.splitlines() if line.endswith("sleep(0.02)")
    )
    assert float(row.split()[4]) > 90.0


def test_dash_o_dash_prints_the_table_on_stdout(tmp_path):
    proc = run("line_stats", SCRIPT, "--focused-on=slow", "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("slow_line done\nTimer unit: 1e-06 s\n")
    assert proc.stderr == ""


def test_lprof_opens_with_python_dash_m_line_profiler(tmp_path):
    pytest.importorskip("line_profiler")
    proc = run(
        "line_stats", SCRIPT, "--focused-on=slow", "-o", "run.lprof", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    shown = python("-m", "line_profiler", "run.lprof", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Function: slow at line 9" in shown.stdout
    assert "time.sleep(0.02)" in shown.stdout


def test_json_and_txt(tmp_path):
    proc = run(
        "line_stats", SCRIPT, "--focused-on=slow", "-o", "run.json", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "run.json").read_text())
    assert [f["function"] for f in data["functions"]] == ["slow"]
    proc = run("line_stats", SCRIPT, "--focused-on=slow", "-o", "run.txt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Line Contents" in (tmp_path / "run.txt").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "run.csv"], "line_stats writes .lprof, .json, .txt files"),
        (["--timed"], "line_stats does not take --timed"),
        (["--recording", "csv"], "line_stats does not take --recording"),
        (["--subprocesses"], "line_stats does not take --subprocesses"),
        (["--focused-on", "nowhere"], "nowhere"),
    ],
)
def test_usage_errors(tmp_path, args, message):
    proc = run("line_stats", SCRIPT, *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("pikos-run: error: ")
    assert message in proc.stderr
    assert "slow_line done" not in proc.stdout


def test_lprof_without_line_profiler_is_refused_before_the_run(tmp_path):
    # A Python whose line_profiler import fails: a sitecustomize hides it.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\nsys.modules['line_profiler'] = None\n"
    )
    env = dict(os.environ, PYTHONPATH=str(hide))
    import subprocess

    proc = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "pikos-run"),
            "line_stats",
            SCRIPT,
            "-o",
            "run.lprof",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "needs the line_profiler package" in proc.stderr
    assert not (tmp_path / "run.lprof").exists()
