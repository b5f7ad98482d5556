"""The capture (`CaptureRecorder`, `pikos-run --recording capture`,
docs/capture-format.md): every monitor kind exported back to the bytes the
CSV and text recorders write, timelines made from it, and captures cut
short (a truncated file, a process killed, `os._exit`) read back to their
last whole block."""

import csv
import io
import json
import signal
import subprocess
import sys
import time

import pytest
from commands import PIKOS, PIKOS_RUN, SCRIPTS, command_env, run
from pikos.monitors.api import FunctionMonitor, LineMemoryMonitor
from pikos.recorders.api import CaptureRecorder, CSVFileRecorder, TextFileRecorder

HOSTILE_NAME = 'we"ird, é\tname.py'


def capture_script(tmp_path, name, target=None):
    path = tmp_path / (target or f"{name}.py")
    path.write_text(
        (SCRIPTS / "capture" / f"{name}.py").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    return path


def export(tmp_path, *args):
    return run(*args, cwd=tmp_path, command=PIKOS)


def rows(path, masked=()):
    """The CSV's rows, with the ``masked`` columns blanked."""
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    header = next(reader)
    at = [header.index(name) for name in masked]
    return header, [
        [("" if i in at else v) for i, v in enumerate(row)] for row in reader
    ]


@pytest.mark.parametrize("monitor", ["functions", "lines"])
def test_export_is_byte_identical_to_the_csv_and_text_recordings(tmp_path, monitor):
    script = capture_script(tmp_path, "hostile", HOSTILE_NAME)
    for recording, out in [
        ("capture", "run.pikos"),
        ("csv", "run.csv"),
        ("text", "run.log"),
    ]:
        done = run(monitor, script, "--recording", recording, "-o", out, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    for fmt, direct in [("csv", "run.csv"), ("text", "run.log")]:
        done = export(
            tmp_path, "export", "run.pikos", "--format", fmt, "-o", f"back.{fmt}"
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert (tmp_path / f"back.{fmt}").read_bytes() == (
            tmp_path / direct
        ).read_bytes()
    # The capture is a small fraction of the CSV.
    assert (tmp_path / "run.pikos").stat().st_size * 5 < (
        tmp_path / "run.csv"
    ).stat().st_size


@pytest.mark.parametrize(
    ("monitor", "options", "masked"),
    [
        ("function_memory", [], ["RSS", "VMS"]),
        ("line_memory", [], ["RSS", "VMS"]),
        ("functions", ["--timed"], ["time", "thread"]),
        ("function_memory", ["--timed"], ["RSS", "VMS", "time", "thread"]),
    ],
)
def test_kinds_that_vary_by_run_export_the_same_records(
    tmp_path, monitor, options, masked
):
    script = capture_script(tmp_path, "hostile", HOSTILE_NAME)
    for out in ["run.pikos", "run.csv"]:
        done = run(monitor, *options, script, "-o", out, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    done = export(tmp_path, "export", "run.pikos", "-o", "back.csv")
    assert done.returncode == 0, done.stderr
    header, back = rows(tmp_path / "back.csv", masked)
    assert (header, back) == rows(tmp_path / "run.csv", masked)
    # Memory figures are numbers of bytes; times grow.
    header, exact = rows(tmp_path / "back.csv")
    for name in masked:
        column = [int(row[header.index(name)]) for row in exact]
        assert all(v > 0 for v in column) or name == "time"
        if name == "thread":
            assert len(set(column)) == 1
        if name == "time":
            assert column == sorted(column)


def deterministic(n):
    total = 0
    for i in range(n):
        total += len(str(i)) + max(i, 3)
    return total


def test_the_recorder_keeps_every_session_and_python_filtered_rows(tmp_path):
    # A Python filter: the monitor passes record objects to record(), which
    # the capture keeps whole (rows); then a second session, appended.
    keep = lambda record: record.type != "c_return"  # noqa: E731
    recorders = [
        CaptureRecorder(tmp_path / "api.pikos", keep),
        CSVFileRecorder(tmp_path / "api.csv", keep),
    ]
    for recorder in recorders:
        monitor = FunctionMonitor(recorder)
        for _ in range(2):
            with monitor:
                deterministic(30)
    assert recorders[0].filename == str(tmp_path / "api.pikos")
    done = export(tmp_path, "export", "api.pikos", "-o", "back.csv")
    assert done.returncode == 0, done.stderr
    assert "from 2 sessions" in done.stdout
    assert (tmp_path / "back.csv").read_bytes() == (tmp_path / "api.csv").read_bytes()


def test_memory_records_with_a_builtin_filter(tmp_path):
    from pikos.filters.api import OnValue

    capture = CaptureRecorder(
        tmp_path / "m.pikos", OnValue("function", "deterministic")
    )
    text = TextFileRecorder(
        tmp_path / "m.log", OnValue("function", "deterministic"), formatted=True
    )
    for recorder in [capture, text]:
        with LineMemoryMonitor(recorder):
            deterministic(5)
    done = export(tmp_path, "export", "m.pikos", "--format", "text", "-o", "back.log")
    assert done.returncode == 0, done.stderr
    back = (tmp_path / "back.log").read_text(encoding="utf-8").splitlines()
    direct = (tmp_path / "m.log").read_text(encoding="utf-8").splitlines()
    assert len(back) == len(direct) > 10

    # The same lines but for the memory figures (two runs).
    def strip(line):
        return [p.strip() for i, p in enumerate(line.split("|")) if i not in (3, 4)]

    assert [strip(line) for line in back] == [strip(line) for line in direct]


def test_timelines_from_a_capture_are_those_of_its_csv(tmp_path):
    script = capture_script(tmp_path, "hostile")
    done = run("functions", "--timed", script, "-o", "t.pikos", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert export(tmp_path, "export", "t.pikos", "-o", "t.csv").returncode == 0
    for fmt in ["speedscope", "chrome", "collapsed"]:
        a = export(
            tmp_path,
            "export",
            "t.pikos",
            "--format",
            fmt,
            "--name",
            "x",
            "-o",
            f"a.{fmt}",
        )
        b = export(
            tmp_path,
            "export",
            "t.csv",
            "--format",
            fmt,
            "--name",
            "x",
            "-o",
            f"b.{fmt}",
        )
        assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
        assert (tmp_path / f"a.{fmt}").read_bytes() == (
            tmp_path / f"b.{fmt}"
        ).read_bytes()
    # A capture without times says so.
    assert run("functions", script, "-o", "u.pikos", cwd=tmp_path).returncode == 0
    done = export(tmp_path, "export", "u.pikos", "--format", "chrome")
    assert done.returncode == 1 and "no time and thread fields" in done.stderr


def test_a_truncated_capture_exports_up_to_its_last_whole_block(tmp_path):
    script = capture_script(tmp_path, "hostile")
    assert run("lines", script, "-o", "full.pikos", cwd=tmp_path).returncode == 0
    assert export(tmp_path, "export", "full.pikos", "-o", "full.csv").returncode == 0
    data = (tmp_path / "full.pikos").read_bytes()
    full = (tmp_path / "full.csv").read_bytes()
    for cut in [13, 20, len(data) // 3, len(data) // 2, len(data) - 1]:
        (tmp_path / "cut.pikos").write_bytes(data[:cut])
        done = export(tmp_path, "export", "cut.pikos", "-o", "cut.csv")
        assert done.returncode == 0, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        assert "cut.pikos is cut at byte" in done.stderr and "block" in done.stderr
        assert full.startswith((tmp_path / "cut.csv").read_bytes())
    # Not a capture at all: an error.
    (tmp_path / "no.pikos").write_bytes(b"PIKOS")
    done = export(tmp_path, "export", "no.pikos", "--format", "csv")
    assert done.returncode == 2 and "not one" in done.stderr


def test_a_killed_run_loses_at_most_its_last_tenth_of_a_second(tmp_path):
    script = capture_script(tmp_path, "killed")
    process = subprocess.Popen(
        [PIKOS_RUN, "lines", str(script), "-o", "k.pikos"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        env=command_env(),
        text=True,
    )
    try:
        assert process.stdout.readline() == "ready\n"
        time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    done = export(tmp_path, "export", "k.pikos", "-o", "k.csv")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "k.pikos" in done.stderr
    header, records = rows(tmp_path / "k.csv")
    lines = [row[header.index("line")].strip() for row in records]
    # Everything up to the ready line, recorded 0.2 s before the kill.
    assert lines.count("total += i") == 20000
    assert 'sys.stdout.write("ready\\n")' in lines


def test_a_full_disk_leaves_a_capture_of_whole_blocks(tmp_path):
    resource = pytest.importorskip("resource")
    script = capture_script(tmp_path, "bursts")

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))

    done = subprocess.run(
        [PIKOS_RUN, "functions", "--timed", str(script), "-o", "f.pikos"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=command_env(),
        preexec_fn=small_files,
        timeout=60,
    )
    # The script goes on; the recording stops, saying why.
    assert done.returncode == 0 and done.stdout == "done\n", done.stderr
    assert "recording stopped early" in done.stderr and "f.pikos" in done.stderr
    data = (tmp_path / "f.pikos").read_bytes()
    assert len(data) <= 4000
    done = export(tmp_path, "export", "f.pikos", "-o", "f.csv")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") == 1 and "full disk" in done.stderr
    header, records = rows(tmp_path / "f.csv")
    assert header[-2:] == ["time", "thread"] and len(records) > 100
    assert [int(r[0]) for r in records] == list(range(len(records)))


def test_os_exit_loses_nothing(tmp_path):
    script = capture_script(tmp_path, "exits_now")
    for out in ["e.pikos", "e.csv"]:
        done = run("functions", script, "-o", out, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    done = export(tmp_path, "export", "e.pikos", "-o", "back.csv")
    assert done.returncode == 0, done.stderr
    assert "without its end marker" in done.stderr
    assert (tmp_path / "back.csv").read_bytes() == (tmp_path / "e.csv").read_bytes()


def test_usage(tmp_path):
    script = capture_script(tmp_path, "hostile")
    done = run("functions", script, "--recording", "capture", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "monitor_records.pikos").exists()
    done = run("functions", script, "--recording", "capture", "-o", "-", cwd=tmp_path)
    assert done.returncode == 2 and "-o FILE.pikos" in done.stderr
    done = export(tmp_path, "export", "monitor_records.pikos")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "monitor_records.csv").exists()
    session = json.loads(
        __import__("pikos._native", fromlist=["_"]).capture_session(
            tmp_path / "monitor_records.pikos"
        )[0]
    )
    assert session["monitor"] == "functions" and session["kind"] == "function"
    assert (
        session["argv"][0].endswith("hostile.py")
        and session["python"] == sys.version.split()[0]
    )


def test_pstats_from_a_capture_count_calls_as_cprofile(tmp_path):
    import pstats

    script = capture_script(tmp_path, "hostile")
    done = run("functions", "--timed", script, "-o", "t.pikos", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = export(tmp_path, "export", "t.pikos", "--format", "pstats")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("t.pstats: ") and " functions from " in done.stdout
    ours = pstats.Stats(str(tmp_path / "t.pstats")).stats
    done = run(
        "-m", "cProfile", "-o", "c.pstats", script, cwd=tmp_path, command=sys.executable
    )
    assert done.returncode == 0, done.stderr
    theirs = pstats.Stats(str(tmp_path / "c.pstats")).stats

    def calls(stats):
        # Python functions of the script, by name and line: (primitive
        # calls, calls)
        return {
            key[1:]: value[:2]
            for key, value in stats.items()
            if key[0].endswith("hostile.py") and key[2] != "<module>"
        }

    assert calls(ours) == calls(theirs) and len(calls(ours)) >= 4
    seconds = [value[3] for value in ours.values()]
    assert all(s >= 0 for s in seconds) and max(seconds) > 0
    # Not timed: an error naming the fields.
    assert run("functions", script, "-o", "u.pikos", cwd=tmp_path).returncode == 0
    done = export(tmp_path, "export", "u.pikos", "--format", "pstats")
    assert done.returncode == 1 and "no time and thread fields" in done.stderr
    done = export(tmp_path, "export", "c.pstats", "--format", "pstats")
    assert done.returncode == 2 and "not one" in done.stderr
