"""Outputs never damage what pikos did not create (issue 17): a timeline
output is written to its path as ``open(path, "w")`` would (through links,
into FIFOs and devices) and replaces atomically only a regular file; the
private files (spool, partial output) are made with ``O_EXCL`` and gone at
the end; paths that are not UTF-8 work as the OS gives them."""

import gc
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import timeline_target
from pikos.monitors.api import FunctionMonitor
from pikos.recorders.api import CSVFileRecorder, SpeedscopeRecorder

BIN = Path(sys.executable).parent
PIKOS_RUN = str(BIN / "pikos-run")
PIKOS = str(BIN / "pikos")
TIMEOUT = 120

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file semantics")


def run(argv, cwd=None, **kwargs):
    return subprocess.run(argv, capture_output=True, timeout=TIMEOUT, cwd=cwd, **kwargs)


def fib_calls(doc):
    frames = doc["shared"]["frames"]
    return sum(
        1
        for profile in doc["profiles"]
        for event in profile["events"]
        if event["type"] == "O" and frames[event["frame"]]["name"] == "fib"
    )


@pytest.fixture(scope="module")
def timed_csv(tmp_path_factory):
    """A timed function CSV of fib(5) (15 calls), the input of `pikos export`."""
    path = tmp_path_factory.mktemp("input") / "run.csv"
    with FunctionMonitor(CSVFileRecorder(str(path)), timed=True):
        timeline_target.fib(5)
    return path


def leftovers(directory, *keep):
    return sorted(set(os.listdir(directory)) - set(keep))


# --- links, FIFOs, devices ----------------------------------------------------------


def test_a_recorder_writes_through_a_symlink(tmp_path):
    target = tmp_path / "real.speedscope.json"
    target.write_text("old")
    link = tmp_path / "link.speedscope.json"
    link.symlink_to(target.name)
    with FunctionMonitor(SpeedscopeRecorder(str(link))):
        timeline_target.fib(5)
    gc.collect()  # the spool goes with the recorder
    assert link.is_symlink()
    assert fib_calls(json.loads(target.read_text(encoding="utf-8"))) == 15
    assert leftovers(tmp_path, target.name, link.name) == []


def test_export_writes_through_a_symlink(tmp_path, timed_csv):
    target = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)  # dangling: open(path, "w") creates the target
    proc = run([PIKOS, "export", str(timed_csv), "-o", str(link)])
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink()
    assert fib_calls(json.loads(target.read_text(encoding="utf-8"))) == 15


def written_into_a_fifo(fifo, command):
    """What a reader of the FIFO ``fifo`` got while ``command`` ran (which
    must succeed and leave the FIFO a FIFO)."""
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        proc = run(command)
        assert proc.returncode == 0, proc.stderr
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced"
        out, _ = reader.communicate(timeout=TIMEOUT)
    finally:
        reader.kill()
        reader.wait()
    return out


def test_export_into_a_fifo_reaches_its_reader(tmp_path, timed_csv):
    fifo = tmp_path / "pipe.speedscope.json"
    out = written_into_a_fifo(fifo, [PIKOS, "export", str(timed_csv), "-o", str(fifo)])
    assert fib_calls(json.loads(out)) == 15
    assert leftovers(tmp_path, fifo.name) == []


def test_pikos_run_into_a_fifo_reaches_its_reader(tmp_path):
    fifo = tmp_path / "pipe.trace.json"
    script = tmp_path / "s.py"
    script.write_text("def f():\n    return 1\n\nf()\n")
    command = [PIKOS_RUN, "functions", str(script), "-o", str(fifo)]
    out = written_into_a_fifo(fifo, command)
    names = {e.get("name") for e in json.loads(out)["traceEvents"]}
    assert "f" in names
    assert leftovers(tmp_path, fifo.name, script.name) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_export_into_a_full_device_reports_it_and_keeps_the_device(tmp_path, timed_csv):
    # Through a link: the device itself is never at risk, even before a fix.
    link = tmp_path / "full.json"
    link.symlink_to("/dev/full")
    proc = run([PIKOS, "export", str(timed_csv), "-o", str(link)], text=True)
    assert proc.returncode == 1
    assert "No space left on device" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert link.is_symlink()
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert leftovers(tmp_path, link.name) == []


def test_a_replaced_regular_file_keeps_its_mode(tmp_path, timed_csv):
    out = tmp_path / "out.speedscope.json"
    out.write_text("old")
    os.chmod(out, 0o640)
    proc = run([PIKOS, "export", str(timed_csv), "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    assert fib_calls(json.loads(out.read_text(encoding="utf-8"))) == 15


def test_export_to_dash_writes_stdout(tmp_path, timed_csv):
    proc = run([PIKOS, "export", str(timed_csv), "-o", "-"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert fib_calls(json.loads(proc.stdout)) == 15
    assert os.listdir(tmp_path) == []  # no file named "-"
    # The summary goes to stderr, out of the data's way.
    assert b"15 calls" in proc.stderr
    proc = run([PIKOS, "export", str(timed_csv), "-f", "collapsed", "-o", "-"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split(b"\n")[0].split(b" ")[-1].isdigit()


# --- private files ----------------------------------------------------------------


def test_a_planted_symlink_at_the_spool_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out.speedscope.json"
    # The names the spool and the partial output had before issue 17.
    for planted in (
        ".out.speedscope.json.pikos-spool.csv",
        ".out.speedscope.json.partial",
    ):
        (tmp_path / planted).symlink_to(victim)
    recorder = SpeedscopeRecorder(str(out))
    spool = Path(recorder.spool)
    assert spool.parent == tmp_path
    assert stat.S_IMODE(os.lstat(spool).st_mode) == 0o600
    with FunctionMonitor(recorder):
        timeline_target.fib(5)
    assert victim.read_text() == "precious"
    assert fib_calls(json.loads(out.read_text(encoding="utf-8"))) == 15
    del recorder
    gc.collect()
    assert not spool.exists()


def test_a_spool_swapped_for_a_symlink_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    recorder = SpeedscopeRecorder(str(tmp_path / "out.json"))
    os.remove(recorder.spool)
    os.symlink(victim, recorder.spool)
    monitor = FunctionMonitor(recorder)
    with pytest.raises(OSError):
        monitor.enable()
    assert victim.read_text() == "precious"


def test_pikos_run_leaves_no_private_file(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("def f():\n    return 1\n\nf()\n")
    for out in ("a.speedscope.json", "b.trace.json", "c.folded"):
        proc = run([PIKOS_RUN, "functions", str(script), "-o", out], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert leftovers(tmp_path) == sorted(
        ["s.py", "a.speedscope.json", "b.trace.json", "c.folded"]
    )


# --- paths that are not UTF-8 -------------------------------------------------------

RAW_OUT = b"o\xfeut"
RAW_SCRIPT = b"sc\xffript.py"


def test_pikos_run_takes_a_non_utf8_output_and_script(tmp_path):
    raw_dir = os.fsencode(tmp_path)
    with open(os.path.join(raw_dir, RAW_SCRIPT), "w") as stream:
        stream.write("def f():\n    return 1\n\nf()\n")
    for ending in (b".csv", b".txt", b".speedscope.json"):
        argv = [PIKOS_RUN, "functions", "--timed", RAW_SCRIPT, "-o", RAW_OUT + ending]
        proc = run(argv, cwd=raw_dir)
        assert proc.returncode == 0, proc.stderr
        with open(os.path.join(raw_dir, RAW_OUT + ending), "rb") as stream:
            written = stream.read()
        # Records name the file as pikos always writes a name that is not
        # UTF-8: the byte backslash-escaped (its surrogate escape).
        if ending == b".speedscope.json":
            doc = json.loads(written)
            files = {f["file"] for f in doc["shared"]["frames"] if f["name"] == "f"}
            assert [os.path.basename(name) for name in files] == ["sc\\udcffript.py"]
        else:
            assert b"sc\\udcffript.py" in written, written[:300]
    # A UTF-8 locale's stdout is strict: the name goes out as its bytes.
    strict = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    folded = RAW_OUT + b".folded"
    proc = run(
        [PIKOS, "export", RAW_OUT + b".csv", "-o", folded], cwd=raw_dir, env=strict
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(folded + b": 2 calls from 4 records")
    assert os.path.exists(os.path.join(raw_dir, folded))
    argv = [PIKOS_RUN, "function_memory", RAW_SCRIPT, "-o", RAW_OUT + b".mem.csv"]
    assert run(argv, cwd=raw_dir).returncode == 0
    proc = run([PIKOS, "report", RAW_OUT + b".mem.csv"], cwd=raw_dir, env=strict)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == RAW_OUT + b".mem.html\n"
    proc = run([PIKOS, "plot", RAW_OUT + b".mem.csv"], cwd=raw_dir, env=strict)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"wrote " + RAW_OUT + b".mem.png (")


def test_recorders_take_non_utf8_paths_as_str_or_bytes(tmp_path):
    raw_dir = os.fsencode(tmp_path)
    as_bytes = os.path.join(raw_dir, RAW_OUT + b".csv")
    as_str = os.fsdecode(os.path.join(raw_dir, RAW_OUT + b".speedscope.json"))
    for recorder in (CSVFileRecorder(as_bytes), SpeedscopeRecorder(as_str)):
        with FunctionMonitor(recorder, timed=True):
            timeline_target.fib(5)
    with open(as_bytes, "rb") as stream:
        assert stream.read().count(b",call,fib,") == 15
    with open(as_str, encoding="utf-8") as stream:
        assert fib_calls(json.load(stream)) == 15
