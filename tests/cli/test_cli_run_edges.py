"""pikos-run where a program meets the edges of the runner: forks, thread
pools left open, options it shares with the script, failing packages,
recordings that fail, and live CSV on stdout."""

import os
import signal
import subprocess

import pytest
from commands import PIKOS_RUN, assert_error, python, read_csv, run, script, write

try:
    import resource
except ImportError:  # not on Windows
    resource = None

FORK = script("fork")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("buffered", [[], ["--buffered"]], ids=["live", "buffered"])
def test_a_forked_child_stops_recording_and_the_parent_file_is_whole(
    tmp_path, buffered
):
    write(tmp_path / "s.py", FORK)
    result = run("functions", "s.py", "--recording", "csv", *buffered, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "child exit 0\n"
    assert "Traceback" not in result.stderr and "panic" not in result.stderr.lower()
    header, rows = read_csv(tmp_path / "monitor_records.csv")
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))
    functions = {r["function"] for r in rows}
    assert "parent_work" in functions
    assert "child_work" not in functions  # the child stopped recording


def test_a_thread_pool_left_open_does_not_hang(tmp_path):
    write(
        tmp_path / "s.py",
        """\
        from concurrent.futures import ThreadPoolExecutor

        def square(x):
            return x * x

        pool = ThreadPoolExecutor(2)  # never shut down: the interpreter does
        print(sum(pool.map(square, range(10))))
        """,
    )
    result = run("functions", "s.py", "--recording", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "285\n"
    _, rows = read_csv(tmp_path / "monitor_records.csv")
    assert (
        sum(1 for r in rows if r["function"] == "square" and r["type"] == "call") == 10
    )


@pytest.mark.parametrize(
    "args, option",
    [
        (["-o", "a.csv", "s.py", "-o", "b.csv"], "-o"),
        (["s.py", "--recording", "csv", "--recording=text"], "--recording"),
        (["--focused-on=f", "s.py", "--focused-on", "g"], "--focused-on"),
    ],
)
def test_an_option_given_twice_is_an_error(tmp_path, args, option):
    write(tmp_path / "s.py", "print('ran')\n")
    result = run("functions", *args, cwd=tmp_path)
    assert_error(result, "pikos-run", option, "twice", "--")
    assert result.stdout == ""  # the script did not run
    assert not (tmp_path / "b.csv").exists()


def test_m_without_a_module(tmp_path):
    result = run("functions", "-m", cwd=tmp_path)
    assert_error(result, "pikos-run", "-m", "expected one argument")


@pytest.mark.parametrize(
    "args",
    [["-m", "badpkg.sub"], ["s.py", "--focused-on", "badpkg.sub.f"]],
    ids=["module", "focus"],
)
def test_a_package_failing_to_import_is_named(tmp_path, args):
    write(tmp_path / "badpkg" / "__init__.py", "raise RuntimeError('broken package')\n")
    write(tmp_path / "badpkg" / "sub.py", "def f():\n    pass\n")
    write(tmp_path / "s.py", "print('ran')\n")
    result = run("functions", *args, cwd=tmp_path)
    assert_error(result, "pikos-run", "badpkg", "RuntimeError", "broken package")


def test_a_syntax_error_in_a_focused_package_is_not_the_scripts(tmp_path):
    write(tmp_path / "synpkg" / "__init__.py", "def (:\n")
    write(tmp_path / "s.py", "print('ran')\n")
    result = run("functions", "s.py", "--focused-on", "synpkg.mod.f", cwd=tmp_path)
    assert_error(result, "pikos-run", "synpkg", "SyntaxError")


def _file_size_limit(limit):
    """For preexec_fn: files this process writes stop growing at ``limit``
    bytes (writes beyond fail with EFBIG instead of killing it)."""

    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return apply


@pytest.mark.skipif(resource is None, reason="needs setrlimit")
@pytest.mark.parametrize("exit_code", ["", "sys.exit(0)", "sys.exit()"])
def test_a_recording_failing_midway_is_reported_and_the_run_goes_on(
    tmp_path, exit_code
):
    write(
        tmp_path / "s.py",
        "import sys\n\ndef work():\n    return 1\n\n"
        f"for _ in range(50_000):\n    work()\nprint('done')\n{exit_code}\n",
    )
    result = subprocess.run(
        [PIKOS_RUN, "functions", "s.py", "--recording", "csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_file_size_limit(4096),
    )
    assert result.stdout == "done\n"  # the program itself went on
    assert result.returncode == 0, result.stderr  # ... and its status is its own
    assert result.stderr.startswith("pikos-run: error: recording stopped early")
    assert "File too large" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # reported once
    # What was written before the failure is there, whole rows only.
    text = (tmp_path / "monitor_records.csv").read_bytes().decode()
    assert text.startswith("index,type,") and text.endswith("\r\n")
    assert len(text) <= 4096


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_recording_that_cannot_start_stops_before_the_script(tmp_path):
    write(tmp_path / "s.py", "print('ran')\n")
    result = run(
        "functions", "s.py", "-o", "/dev/full", "--recording", "csv", cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("pikos-run: error: cannot start recording")
    assert "/dev/full" in result.stderr and "No space left" in result.stderr


def test_csv_on_stdout_is_live_unless_buffered(tmp_path):
    write(
        tmp_path / "s.py",
        """\
        def work():
            return 1

        work()
        print("after work", flush=True)
        """,
    )
    plain = python("s.py", cwd=tmp_path)
    live = run("functions", "s.py", "--recording", "csv", "-o", "-", cwd=tmp_path)
    assert live.returncode == 0, live.stderr
    lines = live.stdout.splitlines()
    # The call of work is on stdout before the line printed after it.
    assert lines.index("after work") > next(
        i for i, line in enumerate(lines) if ",call,work," in line
    )
    assert [line for line in lines if "," not in line] == plain.stdout.splitlines()
