"""pprof and callgrind files from timed function records: the recorders,
`pikos-run --recording`, `pikos export`, each read back by pikos' own
reader (pprof) or a parser of the format's rules (callgrind), and by the
real tools when the machine has them (tools/system-deps.sh installs them:
Debian's golang-go gives `go tool pprof`, valgrind `callgrind_annotate`)."""

import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import timeline_target
from pikos import _native
from pikos.monitors.api import FunctionMonitor, LineMonitor
from pikos.recorders.api import CallgrindRecorder, PprofRecorder

BIN = Path(sys.executable).parent
PIKOS_RUN = str(BIN / "pikos-run")
PIKOS = str(BIN / "pikos")
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
FIB = str(SCRIPTS / "fib_calls.py")
TIMELINE = str(SCRIPTS / "timeline_target.py")
TIMEOUT = 120
FIB15_CALLS = 1973
FIB12_CALLS = 465
# timeline_target: fib(10) on the main thread, fib(8) on "worker"
TIMELINE_FIB_CALLS = 177 + 67


def run(argv, cwd=None, env=None):
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, env=env
    )


def functions(path):
    """pprof file -> {name: (file, first line, calls, own ns, cumulative
    ns)} for the functions of the test scripts and the builtins."""
    totals = {}
    for name, file, line, calls, own, cumulative in _native.pprof_functions(path):
        if file and Path(file).parent != SCRIPTS:
            continue
        assert name not in totals, f"{name} twice"
        totals[name] = (file, line, calls, own, cumulative)
    return totals


def read_callgrind(path):
    """A callgrind file by the format's rules: (header, own cost per
    (file, function), calls and inclusive cost per (caller, callee))."""
    names = {}

    def name(kind, value):
        match = re.fullmatch(r"\((\d+)\)(?: (.*))?", value)
        assert match, f"uncompressed {kind} name {value!r}"
        key = (kind, match[1])
        if match[2] is not None:
            assert key not in names, f"{kind} id {match[1]} defined twice"
            names[key] = match[2]
        return names[key]

    header, own, edges = {}, Counter(), defaultdict(lambda: [0, 0])
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# callgrind format"
    file = function = callee_file = callee = None
    pending_call = None
    for line in lines[1:]:
        if not line or line.startswith("#"):
            continue
        if re.match(r"^[a-z]+: ", line):
            key, value = line.split(": ", 1)
            header[key] = value
        elif line.startswith("fl="):
            file = name("fl", line[3:])
        elif line.startswith("fn="):
            function = (file, name("fn", line[3:]))
        elif line.startswith("cfi="):
            callee_file = name("fl", line[4:])
        elif line.startswith("cfn="):
            callee = (callee_file, name("fn", line[4:]))
        elif line.startswith("calls="):
            count, _target = line[6:].split()
            pending_call = int(count)
        else:
            _position, cost = map(int, line.split())
            if pending_call is None:
                own[function] += cost
            else:
                edge = edges[(function, callee)]
                edge[0] += pending_call
                edge[1] += cost
                pending_call = None
    assert pending_call is None, "calls= without its cost line"
    return header, own, edges


# --- the recorders ------------------------------------------------------------


def test_pprof_recorder_counts_every_call_and_keeps_builtins(tmp_path):
    path = tmp_path / "p.pb.gz"
    recorder = PprofRecorder(str(path))
    with FunctionMonitor(recorder):
        timeline_target.main()
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    totals = functions(path)
    file, line, calls, own, cumulative = totals["fib"]
    assert file == timeline_target.__file__
    assert line == timeline_target.fib.__code__.co_firstlineno
    assert calls == TIMELINE_FIB_CALLS
    assert 0 < own <= cumulative
    # A builtin is a frame of its own, without a file.
    assert totals["len"][0] == ""
    assert totals["len"][2] >= 1
    assert recorder.summary["threads"] == 2


def test_callgrind_recorder_totals_are_the_own_costs(tmp_path):
    path = tmp_path / "callgrind.out.test"
    with FunctionMonitor(CallgrindRecorder(str(path))):
        timeline_target.main()
    header, own, edges = read_callgrind(path)
    assert header["events"] == "Wall"
    assert header["positions"] == "line"
    assert int(header["totals"]) == int(header["summary"]) == sum(own.values())
    fib = (timeline_target.__file__, "fib")
    calls_in = sum(count for (_, callee), (count, _) in edges.items() if callee == fib)
    assert calls_in == TIMELINE_FIB_CALLS
    # Recursive calls: fib -> fib with their inclusive time.
    assert edges[(fib, fib)][0] == TIMELINE_FIB_CALLS - 2
    assert edges[(fib, fib)][1] > 0
    assert (("<built-in>", "len")) in own


def test_the_recorders_need_function_events(tmp_path):
    for recorder_class in (PprofRecorder, CallgrindRecorder):
        with pytest.raises(ValueError, match="writes timed function records"):
            with LineMonitor(recorder_class(str(tmp_path / "x"))):
                pass


# --- pikos-run and pikos export -------------------------------------------------


@pytest.mark.parametrize(
    "recording, default",
    [
        ("pprof", "monitor_records.pb.gz"),
        ("callgrind", "callgrind.out.monitor_records"),
    ],
)
def test_pikos_run_recording_writes_the_default_file(tmp_path, recording, default):
    proc = run([PIKOS_RUN, "functions", FIB, "--recording", recording], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(tmp_path)) == [default]
    path = tmp_path / default
    if recording == "pprof":
        assert functions(path)["fib"][2] == FIB15_CALLS
    else:
        _, _, edges = read_callgrind(path)
        assert edges[((FIB, "fib"), (FIB, "fib"))][0] == FIB15_CALLS - 1
        assert edges[((FIB, "main"), (FIB, "fib"))][0] == 1


def test_the_output_name_chooses_pprof_or_callgrind(tmp_path):
    for name in ("a.pprof", "callgrind.out.b"):
        proc = run([PIKOS_RUN, "functions", FIB, "12", "-o", name], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert functions(tmp_path / "a.pprof")["fib"][2] == FIB12_CALLS
    read_callgrind(tmp_path / "callgrind.out.b")


def test_children_of_subprocesses_keep_the_names_the_tools_look_for():
    from pikos.runner.children import child_output

    assert child_output("d/p.pb.gz", 42) == os.path.join("d", "p.42.pb.gz")
    assert child_output("d/callgrind.out.run", 42) == os.path.join(
        "d", "callgrind.out.run.42"
    )


def test_pikos_export_to_pprof_and_callgrind(tmp_path):
    records = tmp_path / "run.csv"
    proc = run([PIKOS_RUN, "functions", TIMELINE, "--timed", "-o", str(records)])
    assert proc.returncode == 0, proc.stderr
    proc = run([PIKOS, "export", str(records), "--format", "pprof"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{tmp_path / 'run.pb.gz'}: ")
    assert functions(tmp_path / "run.pb.gz")["fib"][2] == TIMELINE_FIB_CALLS
    proc = run([PIKOS, "export", str(records), "--format", "callgrind"])
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "callgrind.out.run"
    assert proc.stdout.startswith(f"{out}: ")
    header, own, _ = read_callgrind(out)
    assert int(header["totals"]) == sum(own.values())
    assert header["cmd"] == "run.csv"
    # -o -: the gzipped profile on stdout, the summary on stderr.
    proc = subprocess.run(
        [PIKOS, "export", str(records), "-f", "pprof", "-o", "-"],
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith(b"stdout: ")
    (tmp_path / "piped.pb.gz").write_bytes(proc.stdout)
    assert functions(tmp_path / "piped.pb.gz")["fib"][2] == TIMELINE_FIB_CALLS


# --- the real readers ---------------------------------------------------------


def go_pprof(tmp_path, *args):
    """`go tool pprof ARGS` offline, with its caches in tmp_path; skips
    (saying why) where Go is not installed."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("`go` is not installed (tools/system-deps.sh installs golang-go)")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "PPROF_TMPDIR": str(home),
        "GOCACHE": str(home / "gocache"),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "",
    }
    proc = run([go, "tool", "pprof", "-symbolize=none", *args], env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def fib15_pprof(tmp_path, n=15, name="fib.pb.gz"):
    path = tmp_path / name
    proc = run(
        [PIKOS_RUN, "functions", FIB, str(n), "--recording", "pprof", "-o", path]
    )
    assert proc.returncode == 0, proc.stderr
    return path


def top_rows(text):
    """`-top` rows: {function: flat value} (values as printed)."""
    rows = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 6 and fields[1].endswith("%") and fields[4].endswith("%"):
            rows[fields[5]] = fields[0]
    return rows


def test_go_tool_pprof_shows_the_exact_calls(tmp_path):
    path = fib15_pprof(tmp_path)
    every = ("-nodefraction=0", "-edgefraction=0")
    top = go_pprof(tmp_path, "-top", *every, "-sample_index=calls", str(path))
    rows = top_rows(top)
    assert rows["fib"] == str(FIB15_CALLS), top
    assert rows["main"] == "1", top
    # len(sys.argv) in <module>, len(str(n)) in main: a builtin's own frame.
    assert rows["len"] == "2", top
    assert "Type: calls" in top
    # Wall time, the default sample type, in nanoseconds.
    top = go_pprof(tmp_path, "-top", *every, "-unit=ns", str(path))
    assert "Type: wall" in top
    assert top_rows(top).keys() == rows.keys()


def test_go_tool_pprof_traces_show_the_stacks_and_thread(tmp_path):
    path = fib15_pprof(tmp_path)
    traces = go_pprof(tmp_path, "-traces", "-sample_index=calls", str(path))
    stacks = {}
    for block in traces.split("-----------+")[1:]:
        labels, frames, count = {}, [], None
        for line in block.splitlines()[1:]:
            fields = line.split()
            if not fields or set(line.strip()) == {"-"}:
                continue
            if fields[0].endswith(":"):
                labels[fields[0][:-1]] = " ".join(fields[1:])
                continue
            if count is None:
                count = int(fields[0])
            frames.append(fields[-1])
        if not frames:  # after the last separator
            continue
        assert labels["thread"].startswith("MainThread ("), block
        stacks[tuple(frames)] = count
    # Each stack once, leaf first, with its exact calls: fib(15) recurses
    # 15 deep, and the 610 calls of fib(1) at the bottom... are spread over
    # the depths; every depth's counts add up to 1973.
    fib_stacks = {s: n for s, n in stacks.items() if s[0] == "fib"}
    assert sum(fib_stacks.values()) == FIB15_CALLS, traces
    assert max(s.count("fib") for s in fib_stacks) == 15, traces
    assert all(s[-2:] == ("main", "<module>") for s in fib_stacks), traces
    assert stacks[("fib", "main", "<module>")] == 1, traces
    assert stacks[("len", "main", "<module>")] == 1, traces
    assert stacks[("len", "<module>")] == 1, traces


def test_go_tool_pprof_diff_base(tmp_path):
    base = fib15_pprof(tmp_path, 12, "base.pb.gz")
    new = fib15_pprof(tmp_path, 15, "new.pb.gz")
    top = go_pprof(
        tmp_path, "-top", "-sample_index=calls", f"-diff_base={base}", str(new)
    )
    assert top_rows(top)["fib"] == str(FIB15_CALLS - FIB12_CALLS), top


def test_callgrind_annotate_reads_the_file_and_its_totals(tmp_path):
    annotate = shutil.which("callgrind_annotate")
    if annotate is None:
        pytest.skip(
            "callgrind_annotate is not installed "
            "(tools/system-deps.sh installs valgrind)"
        )
    path = tmp_path / "callgrind.out.fib"
    proc = run([PIKOS_RUN, "functions", FIB, "--recording", "callgrind", "-o", path])
    assert proc.returncode == 0, proc.stderr
    header, own, _ = read_callgrind(path)
    total = sum(own.values())
    # (run elsewhere: callgrind_annotate shortens names under its cwd)
    proc = run([annotate, "--threshold=100", str(path)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.replace(",", "")
    assert re.search(rf"^\s*{total}\s+.*PROGRAM TOTALS", text, re.M), text
    # Per function: callgrind_annotate's own costs are the file's.
    listed = {
        m[2]: int(m[1])
        for m in re.finditer(r"^\s*(\d+)\s+(?:\([^)]*\)\s+)?(\S+)\s*$", text, re.M)
    }
    assert listed[f"{FIB}:fib"] == own[(FIB, "fib")], text
    assert sum(listed.values()) == total, text
