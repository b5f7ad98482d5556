"""Child processes: by default they stop recording at once (the parent's
output stays the parent's alone); with ``pikos-run --subprocesses`` each
records into a file of its own, named with its pid.  No file is ever
written by two processes."""

import csv
import io
import json
import os
import subprocess
import sys
import textwrap

import pytest
from pikos.runner.children import child_output

PIKOS_RUN = os.path.join(os.path.dirname(sys.executable), "pikos-run")
TIMEOUT = 120

#: A script whose children each call leaf() a known number of times, and
#: report their pid: 7 per multiprocessing child (fork, spawn, forkserver),
#: 3 in an os.fork child, none in a plain Python subprocess.
SCRIPT = textwrap.dedent(
    """\
    import json, multiprocessing as mp, os, subprocess, sys

    def leaf(i):
        return i

    def work(n):
        return sum(leaf(i) for i in range(n))

    def child(q, n):
        q.put((os.getpid(), work(n)))

    if __name__ == "__main__":
        pids = {}
        work(5)
        for method in ("fork", "spawn", "forkserver"):
            ctx = mp.get_context(method)
            q = ctx.Queue()
            p = ctx.Process(target=child, args=(q, 7))
            p.start()
            pid, total = q.get()
            p.join()
            assert total == 21 and p.exitcode == 0
            pids[method] = pid
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            work(3)
            os.write(write, b"x")
            os._exit(0) if "--os-exit" in sys.argv else sys.exit(0)
        os.close(write)
        os.read(read, 1)
        os.waitpid(pid, 0)
        pids["os.fork"] = pid
        sub = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True, text=True, check=True,
        )
        pids["subprocess"] = int(sub.stdout)
        print(json.dumps(pids))
    """
)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert header == ["index", "type", "function", "lineNo", "filename"]
    assert all(len(row) == 5 for row in body), path  # no partial row
    assert [int(row[0]) for row in body] == list(range(len(body))), path
    return body


def leaf_calls(rows):
    return sum(1 for row in rows if row[1] == "call" and row[2] == "leaf")


def run(tmp_path, *options):
    script = tmp_path / "kids.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [PIKOS_RUN, "functions", str(script), "--recording", "csv", *options],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_children_stop_recording_by_default(tmp_path):
    pids = run(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["kids.py", "monitor_records.csv"]
    rows = read_csv(tmp_path / "monitor_records.csv")
    # The parent's own 5 calls, nothing of its children.
    assert leaf_calls(rows) == 5
    assert len(pids) == 5


@pytest.mark.parametrize("exit", ["sys.exit", "os._exit"])
def test_with_subprocesses_each_child_has_its_own_file(tmp_path, exit):
    options = ["--subprocesses"]
    if exit == "os._exit":
        options += ["--", "--os-exit"]
    pids = run(tmp_path, *options)
    files = {
        name
        for name in os.listdir(tmp_path)
        if name.startswith("monitor_records") and name.endswith(".csv")
    }
    by_pid = {pid: f"monitor_records.{pid}.csv" for pid in pids.values()}
    assert set(by_pid.values()) <= files  # multiprocessing's helpers have theirs
    assert leaf_calls(read_csv(tmp_path / "monitor_records.csv")) == 5
    for method in ("fork", "spawn", "forkserver"):
        assert leaf_calls(read_csv(tmp_path / by_pid[pids[method]])) == 7, method
    child = read_csv(tmp_path / by_pid[pids["os.fork"]])
    if exit == "sys.exit":
        assert leaf_calls(child) == 3
    else:
        # os._exit: no exit handler runs; the file holds whole rows only
        # (none here: the writer had not written when the process ended).
        assert leaf_calls(child) <= 3
    assert leaf_calls(read_csv(tmp_path / by_pid[pids["subprocess"]])) == 0
    for name in files:  # every file is whole, helpers' too
        read_csv(tmp_path / name)


def test_a_timeline_per_child(tmp_path):
    script = tmp_path / "fork.py"
    script.write_text(
        "import os\n\ndef leaf():\n    return 1\n\n"
        "pid = os.fork()\n"
        "if pid == 0:\n    leaf()\n    raise SystemExit(0)\n"
        "os.waitpid(pid, 0)\nleaf()\nleaf()\nprint(pid)\n"
    )
    proc = subprocess.run(
        [PIKOS_RUN, "functions", str(script), "--recording", "speedscope"]
        + ["--subprocesses"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    pid = int(proc.stdout)
    parent = json.loads((tmp_path / "monitor_records.speedscope.json").read_text())
    child = json.loads(
        (tmp_path / f"monitor_records.{pid}.speedscope.json").read_text()
    )

    def opens(document, name):
        frames = [f["name"] for f in document["shared"]["frames"]]
        return sum(
            1
            for profile in document["profiles"]
            for event in profile["events"]
            if event["type"] == "O" and frames[event["frame"]] == name
        )

    assert opens(parent, "leaf") == 2
    assert opens(child, "leaf") == 1
    # The parent's spool was never removed by the child's copy.
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".pikos-spool.csv")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["stats"], "stats does not take --subprocesses"),
        (["functions"], "choose a file recording"),
        (["functions", "-o", "-", "--recording", "csv"], "choose a file recording"),
        (["functions", "--live=tcp://127.0.0.1:5999"], "needs --live-connect"),
        (["functions", "--recording", "csv", "--focused-on", "leaf"], "--focused-on"),
    ],
)
def test_usage_errors(tmp_path, options, message):
    script = tmp_path / "s.py"
    script.write_text("def leaf():\n    return 1\n")
    monitor, *rest = options
    proc = subprocess.run(
        [PIKOS_RUN, monitor, str(script), "--subprocesses", *rest],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("monitor_records.csv", "monitor_records.42.csv"),
        ("/a/b/run.log", "/a/b/run.42.log"),
        ("out.speedscope.json", "out.42.speedscope.json"),
        ("out.trace.json", "out.42.trace.json"),
        ("stacks.folded", "stacks.42.folded"),
        ("noending", "noending.42"),
    ],
)
def test_child_output_names(path, expected):
    assert child_output(path, 42) == expected


def test_another_sitecustomize_still_runs(tmp_path):
    """The boot directory shadows a sitecustomize the child would have
    loaded: it is run all the same."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import builtins\nbuiltins.SEEN = 1\n")
    script = tmp_path / "s.py"
    script.write_text(
        "import subprocess, sys\n"
        "out = subprocess.run([sys.executable, '-c', 'print(SEEN)'],"
        " capture_output=True, text=True)\n"
        "print(out.stdout.strip(), out.returncode)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run(
        [PIKOS_RUN, "functions", str(script), "--recording", "csv", "--subprocesses"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "1 0\n"
    assert io.StringIO(proc.stderr).read() == ""


@pytest.mark.parametrize("buffered", [[], ["--buffered"]])
def test_forking_under_a_file_recording_looks_single_threaded(tmp_path, buffered):
    """pikos' writer (and flusher) threads stop around fork: os.fork on
    3.12+ has no thread of ours to warn about, and the child is not forked
    with one holding a lock."""
    script = tmp_path / "f.py"
    script.write_text(
        "import os\n\ndef leaf():\n    return 1\n\n"
        "for _ in range(3):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
        "    leaf()\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PYTHONWARNINGS="error::DeprecationWarning")
    proc = subprocess.run(
        [PIKOS_RUN, "functions", str(script), "--recording", "csv", *buffered],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")
    rows = read_csv(tmp_path / "monitor_records.csv")
    assert leaf_calls(rows) == 3


def test_children_stream_to_the_same_collector(tmp_path):
    """--live-connect: every process publishes to the viewer that binds the
    address, which tells them apart by pid."""
    import zmq
    from pikos.live import decode

    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    port = sub.bind_to_random_port("tcp://127.0.0.1")
    script = tmp_path / "s.py"
    script.write_text(
        "import os, subprocess, sys\n\n"
        "def leaf():\n    return 1\n\n"
        "pid = os.fork()\n"
        "if pid == 0:\n    leaf()\n    sys.exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "sub = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],"
        " capture_output=True, text=True, check=True)\n"
        "leaf()\nprint(pid, sub.stdout.strip(), os.getpid())\n"
    )
    proc = subprocess.Popen(
        [PIKOS_RUN, "functions", str(script), "--subprocesses", "--live-wait"]
        + ["--live-connect", f"tcp://127.0.0.1:{port}"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ended, leaves, sessions = set(), {}, {}
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    try:
        while len(ended) < 3 and poller.poll(TIMEOUT * 1000):
            message = decode(sub.recv_multipart(), sessions)
            if message.kind == "end":
                ended.add(message.pid)
            for record in message.records:
                if record[1] == "call" and record[2] == "leaf":
                    leaves[message.pid] = leaves.get(message.pid, 0) + 1
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
        sub.close(linger=0)
        context.term()
    assert proc.returncode == 0, err
    child, spawned, parent = map(int, out.split())
    assert ended == {child, spawned, parent}
    assert leaves == {child: 1, parent: 1}


#: Pool's exit terminates its workers (SIGTERM); a child killed by SIGTERM
#: stays killed by it, and a child with a SIGTERM handler of its own keeps
#: it.  Prints the two children's exit codes.
TERMINATED = textwrap.dedent(
    """\
    import json, multiprocessing as mp, signal, sys, time

    def leaf(i):
        return i

    def work(n):
        return sum(leaf(i) for i in range(n))

    def sleeper(ready):
        work(10)
        ready.set()
        time.sleep(60)

    def own_handler(ready):
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(7))
        ready.set()
        time.sleep(60)

    if __name__ == "__main__":
        ctx = mp.get_context(sys.argv[1])
        with ctx.Pool(2) as pool:
            assert pool.map(work, [1000] * 8) == [499500] * 8
        codes = []
        for target in (sleeper, own_handler):
            ready = ctx.Event()
            p = ctx.Process(target=target, args=(ready,))
            p.start()
            ready.wait()
            p.terminate()
            p.join()
            codes.append(p.exitcode)
        print(json.dumps(codes))
    """
)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_children_ended_by_sigterm_write_every_record(tmp_path, method):
    script = tmp_path / "pool.py"
    script.write_text(TERMINATED)
    plain = subprocess.run(
        [sys.executable, str(script), method],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert plain.stdout == "[-15, 7]\n", plain.stderr
    proc = subprocess.run(
        [PIKOS_RUN, "functions", str(script), "--recording", "csv"]
        + ["--subprocesses", "--buffered", "--", method],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert (proc.returncode, proc.stdout) == (0, plain.stdout), proc.stderr
    children = [
        name
        for name in os.listdir(tmp_path)
        if name.startswith("monitor_records.") and name != "monitor_records.csv"
    ]
    # Every file whole (read_csv checks), every leaf call of the pool's
    # workers and of the terminated sleeper written.
    calls = sum(leaf_calls(read_csv(tmp_path / name)) for name in children)
    assert calls == 8 * 1000 + 10
