"""ZeroMQRecorder and the live stream: read with plain pyzmq against the
documented wire format (docs/wire-format.md), collector mode with several
processes, programs that run with no viewer or lose theirs, and drops
counted by sequence numbers."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import zmq
from commands import SCRIPTS, free_port, streamed
from pikos.errors import RecorderError
from pikos.filters.api import OnValue
from pikos.live import decode
from pikos.monitors.api import FunctionMonitor, LineMemoryMonitor, LineMonitor
from pikos.monitors.records import FunctionRecord
from pikos.recorders.api import ListRecorder, ZeroMQRecorder

BIN = Path(sys.executable).parent
PIKOS_RUN = str(BIN / "pikos-run")
SCRIPT = str(SCRIPTS / "live_stream.py")
TIMEOUT = 60
ENVELOPE_KEYS = {"version", "session", "pid", "seq", "time"}


def work():
    return sorted([3, 1, 2]), len("abc")


class Collector:
    """A plain pyzmq SUB socket that binds (or connects) and gathers
    messages on a thread until it has seen `ends` end markers."""

    def __init__(self, address=None, bind=True, ends=1, hwm=None):
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.SUB)
        if hwm is not None:
            self.socket.setsockopt(zmq.RCVHWM, hwm)
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        if bind:
            port = self.socket.bind_to_random_port("tcp://127.0.0.1")
            self.address = f"tcp://127.0.0.1:{port}"
        else:
            self.address = address
            self.socket.connect(address)
        self.ends = ends
        self.messages = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        deadline = time.monotonic() + TIMEOUT
        seen = 0
        while seen < self.ends and time.monotonic() < deadline:
            if not poller.poll(100):
                continue
            frames = self.socket.recv_multipart()
            self.messages.append(frames)
            if frames[0] == b"pikos.end":
                seen += 1

    def join(self):
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "no end marker came"
        self.socket.close(linger=0)
        self.context.term()
        return self.messages


def parse(frames):
    topic, envelope, payload = frames
    envelope = json.loads(envelope)
    if topic == b"pikos.records":
        body = [json.loads(line) for line in payload.decode().splitlines()]
    else:
        body = json.loads(payload)
    return topic.decode(), envelope, body


def test_plain_pyzmq_reads_the_documented_format():
    collector = Collector()
    recorder = ZeroMQRecorder(
        address=collector.address, connect=True, wait_for_ready=True, ready_timeout=10
    )
    with FunctionMonitor(recorder):
        work()
    messages = [parse(m) for m in collector.join()]
    reference = ListRecorder()
    with FunctionMonitor(reference):
        work()

    topics = [t for t, _, _ in messages]
    assert topics[0] == "pikos.header" and topics[-1] == "pikos.end"
    for _, envelope, _ in messages:
        assert ENVELOPE_KEYS <= set(envelope)
        assert envelope["version"] == 1
        assert envelope["pid"] == os.getpid()
        assert envelope["session"] == recorder.session
    seqs = [e["seq"] for _, e, _ in messages]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))

    header = messages[0][2]
    assert header["monitor"] == "functions"
    assert header["record"] == "FunctionRecord"
    assert header["fields"] == list(FunctionRecord._fields)
    assert header["pid"] == os.getpid()
    assert header["host"] == socket.gethostname()
    assert header["python"] == sys.version.split()[0]

    rows = [row for t, _, body in messages if t == "pikos.records" for row in body]
    counts = [e["records"] for t, e, _ in messages if t == "pikos.records"]
    assert sum(counts) == len(rows)
    # The same records, value for value, as a ListRecorder gets (the index
    # and the line of the with statement are this monitor's own).
    expected = [list(r)[1:] for r in reference.records]
    assert [row[1:3] + row[4:] for row in rows] == [e[:2] + e[3:] for e in expected]
    assert [row[0] for row in rows] == list(range(len(rows)))
    end = messages[-1][2]
    assert end["records"] == len(rows)
    assert end["messages"] == len(messages)


def test_built_in_filters_and_python_records():
    collector = Collector(ends=2)
    recorder = ZeroMQRecorder(
        address=collector.address,
        connect=True,
        filter_=OnValue("type", "c_call"),
        wait_for_ready=True,
        ready_timeout=10,
    )
    with FunctionMonitor(recorder):
        work()
    recorder._wait = 10.0  # the second session waits for the viewer too
    recorder.prepare(FunctionRecord)
    # Values only Python can encode: floats and objects.
    recorder.record(FunctionRecord(1.5, "c_call", object, float("inf"), "x.py"))
    recorder.finalize()
    messages = [parse(m) for m in collector.join()]
    rows = [row for t, _, body in messages if t == "pikos.records" for row in body]
    assert [row[1:3] for row in rows[:2]] == [["c_call", "sorted"], ["c_call", "len"]]
    assert rows[2] == [1.5, "c_call", "<class 'object'>", "inf", "x.py"]
    sessions = {e["session"] for _, e, _ in messages}
    assert len(sessions) == 2  # each prepare starts a session
    assert [t for t, _, _ in messages].count("pikos.end") == 2


def test_pikos_live_subscribe_decodes_headers_records_and_end():
    def work(recorder):
        with LineMemoryMonitor(recorder):
            x = [0] * 10
            del x

    received = streamed(work)
    kinds = [m.kind for m in received]
    assert kinds[0] == "header" and kinds[-1] == "end"
    records = [r for m in received for r in m.records]
    lines = [r[5].strip() for r in records]
    assert lines[:2] == ["x = [0] * 10", "del x"]
    assert {r[1] for r in records} == {"work"}
    assert all(isinstance(r[3], int) and r[3] > 0 for r in records)  # RSS
    batch = next(m for m in received if m.kind == "records")
    assert batch.last_record == records[-1]
    assert batch.header["monitor"] == "line_memory"
    assert all(m.dropped == 0 for m in received)


def test_a_batch_of_long_records_reaches_the_viewer_in_messages_it_takes(tmp_path):
    # 10,000 line events of a 2 kB source line (one per turn of the loop):
    # a batch of 8192 is 17 MB as JSON, more than a subscriber takes in one
    # message (16 MiB).
    module = tmp_path / "long_line.py"
    literal = "y" * 2000
    module.write_text(
        f'def spin(n):\n    for i in range(n): s = "{literal}"\n', "utf-8"
    )
    spec = importlib.util.spec_from_file_location("long_line", module)
    long_line = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(long_line)

    def work(recorder):
        with LineMonitor(recorder):
            long_line.spin(10_000)

    received = streamed(work)
    records = [m for m in received if m.kind == "records"]
    assert sum(m.count for m in records) == received[-1].data["records"] > 10_000
    assert max(len(m.data) for m in records) < 9 * 2**20
    assert all(m.dropped == 0 and m.rejected == 0 for m in received)


def run_live(*args, script_args=("2000",), **kwargs):
    return subprocess.Popen(
        [PIKOS_RUN, *args, SCRIPT, *script_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def expected_total(n):
    return f"total {sum(2 * i for i in range(n))}\n"


def test_collector_receives_two_processes_at_once():
    collector = Collector(ends=2)
    procs = [
        run_live(
            monitor,
            f"--live-connect={collector.address}",
            "--live-wait",
            script_args=("3000", "0.0002"),
        )
        for monitor in ("functions", "line_memory")
    ]
    outputs = [p.communicate(timeout=TIMEOUT) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out == expected_total(3000)
    messages = [parse(m) for m in collector.join()]
    by_pid = {}
    for topic, envelope, body in messages:
        by_pid.setdefault(envelope["pid"], []).append((topic, envelope, body))
    assert set(by_pid) == {p.pid for p in procs}
    monitors = set()
    for stream in by_pid.values():
        header = next(b for t, _, b in stream if t == "pikos.header")
        monitors.add(header["monitor"])
        rows = [r for t, _, b in stream if t == "pikos.records" for r in b]
        steps = [r for r in rows if "step" in r]
        end = next(b for t, _, b in stream if t == "pikos.end")
        assert end["records"] == len(rows)  # nothing dropped
        if header["monitor"] == "functions":
            assert sum(1 for r in rows if r[1:3] == ["call", "step"]) == 3000
        else:
            assert len(steps) == 3000  # one line per call of step
    assert monitors == {"functions", "line_memory"}


def test_the_program_runs_the_same_with_no_viewer():
    started = time.monotonic()
    proc = run_live("line_memory", f"--live=tcp://127.0.0.1:{free_port()}")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert (proc.returncode, out, err) == (0, expected_total(2000), "")
    assert time.monotonic() - started < 30  # never waited for a viewer
    # In process too: records taken with nobody listening are simply dropped.
    recorder = ZeroMQRecorder(zmq_port=0)
    with FunctionMonitor(recorder):
        assert work() == ([1, 2, 3], 3)
    assert recorder.endpoint.startswith("tcp://127.0.0.1:")


def test_a_viewer_that_leaves_mid_run_does_not_disturb_the_program():
    port = free_port()
    proc = run_live(
        "functions", f"--live=tcp://127.0.0.1:{port}", script_args=("4000", "0.0005")
    )
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"tcp://127.0.0.1:{port}")
    got = []
    deadline = time.monotonic() + TIMEOUT
    while len(got) < 3 and time.monotonic() < deadline:
        if sub.poll(100):
            got.append(sub.recv_multipart())
    sub.close(linger=0)  # the viewer goes away mid-run
    context.term()
    out, err = proc.communicate(timeout=TIMEOUT)
    assert (proc.returncode, out, err) == (0, expected_total(4000), "")
    assert any(m[0] == b"pikos.records" for m in got)


def test_drops_show_as_gaps_in_sequence_numbers():
    # A viewer that stops reading for a while as a program publishes fast,
    # with small queues on its side: ZeroMQ drops, the program goes on, and
    # the sequence numbers tell the viewer how many messages it lost.
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 2)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    port = sub.bind_to_random_port("tcp://127.0.0.1")
    proc = run_live(
        "line_memory",
        f"--live-connect=tcp://127.0.0.1:{port}",
        script_args=("1500000",),
    )
    sessions, messages = {}, []
    deadline = time.monotonic() + TIMEOUT
    while not messages and time.monotonic() < deadline:
        if sub.poll(100):
            messages.append(decode(sub.recv_multipart(), sessions))
    time.sleep(1.0)  # not reading: the queues fill up and ZeroMQ drops
    while sub.poll(2000):
        message = decode(sub.recv_multipart(), sessions)
        messages.append(message)
        if message.kind == "end":
            break
    out, err = proc.communicate(timeout=TIMEOUT)
    sub.close(linger=0)
    context.term()
    assert (proc.returncode, out, err) == (0, expected_total(1_500_000), "")
    (session,) = sessions.values()
    first, last = messages[0].seq, messages[-1].seq
    assert session.dropped > 0
    # Every message between the first and the last received is either
    # received or counted as dropped, and the count is per message.
    assert len(messages) + session.dropped == last - first + 1
    assert sum(m.dropped for m in messages) == session.dropped
    assert any(m.dropped for m in messages[1:])


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="zmq_port must be a TCP port"):
        ZeroMQRecorder(zmq_port=70000)
    with pytest.raises(ValueError, match="zmq_port"):
        ZeroMQRecorder(zmq_port="9001")
    with pytest.raises(ValueError, match="address must be a ZeroMQ endpoint"):
        ZeroMQRecorder(address="127.0.0.1:9001")
    with pytest.raises(ValueError, match="hwm"):
        ZeroMQRecorder(hwm=0)
    with pytest.raises(ValueError, match="linger"):
        ZeroMQRecorder(linger=-1)


@pytest.mark.parametrize(
    "address, connect, message",
    [
        # libzmq would bind port 34463 (99999 modulo 65536) without a word.
        ("tcp://127.0.0.1:99999", False, "the port must be a number 1-65535"),
        ("tcp://127.0.0.1:0", False, "the port must be a number 1-65535"),
        ("tcp://127.0.0.1:*", True, "not '*'"),
        ("tcp://9001", False, "a tcp address is tcp://HOST:PORT"),
        ("inproc://pikos", False, "only reaches threads of one process"),
        ("http://127.0.0.1:80", True, "unknown transport 'http'"),
        (9001, False, "is not a ZeroMQ address"),
    ],
)
def test_addresses_libzmq_would_misread_are_refused(address, connect, message):
    with pytest.raises(ValueError, match="address must be a ZeroMQ endpoint") as error:
        ZeroMQRecorder(address=address, connect=connect)
    assert message in str(error.value)


def test_an_explicit_address_with_any_port_binds_one():
    recorder = ZeroMQRecorder(address="tcp://127.0.0.1:*")
    monitor = FunctionMonitor(recorder)
    with monitor:
        pass
    host, _, port = recorder.endpoint.rpartition(":")
    assert host == "tcp://127.0.0.1"
    assert 1 <= int(port) <= 65535


def test_an_address_in_use_fails_at_enable_naming_it():
    port = free_port()
    first = ZeroMQRecorder(zmq_port=port)
    first.prepare(FunctionRecord)
    try:
        monitor = FunctionMonitor(ZeroMQRecorder(zmq_port=port))
        with pytest.raises(OSError, match=f"tcp://127.0.0.1:{port}: cannot bind"):
            monitor.enable()
        assert sys.getprofile() is None
    finally:
        first.finalize()


def test_waiting_for_a_viewer_times_out_with_a_recorder_error():
    monitor = FunctionMonitor(
        ZeroMQRecorder(zmq_port=0, wait_for_ready=True, ready_timeout=0.3)
    )
    with pytest.raises(RecorderError, match="no viewer subscribed"):
        monitor.enable()
    assert sys.getprofile() is None


def test_pikos_run_live_wait_times_out_cleanly():
    proc = subprocess.run(
        [PIKOS_RUN, "functions", "--live-wait", "--live=tcp://127.0.0.1:0", SCRIPT],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    # Port 0 is not a ZeroMQ wildcard: a clear error, no traceback.
    assert proc.returncode != 0
    assert proc.stderr.startswith("pikos-run: error: ")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--live", "--recording", "csv"], "--live streams the records"),
        (["--live", "--live-connect=tcp://127.0.0.1:1"], "choose one"),
        (["--live-wait"], "--live-wait needs --live"),
        (["--live=nonsense"], "address must be a ZeroMQ endpoint"),
        (["--live=tcp://127.0.0.1:99999"], "the port must be a number 1-65535"),
        (["--live-connect=tcp://127.0.0.1:*"], "not '*'"),
    ],
)
def test_pikos_run_live_usage_errors(args, message):
    proc = subprocess.run(
        [PIKOS_RUN, "functions", *args, SCRIPT],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("pikos-run: error: ")
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1


# --- Who can reach the stream (docs/security.md) -------------------------------

VIEWER = """
import sys
from pikos.live import DEFAULT_ADDRESS, subscribe
print(DEFAULT_ADDRESS)
kinds = []
for message in subscribe(timeout=30):
    kinds.append(message.kind)
    if message.kind == "end":
        break
print(" ".join(sorted(set(kinds))))
"""


def test_by_default_the_stream_is_a_socket_only_the_user_can_reach(tmp_path):
    """`pikos-run --live` and a reader with no address agree on a Unix
    socket in a per-user directory of mode 0700 (here under a private
    XDG_RUNTIME_DIR, so the test shares nothing with other runs)."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    viewer = subprocess.Popen(
        [sys.executable, "-c", VIEWER], stdout=subprocess.PIPE, text=True, env=env
    )
    proc = run_live("functions", "--live", "--live-wait", env=env)
    out, err = proc.communicate(timeout=TIMEOUT)
    seen, _ = viewer.communicate(timeout=TIMEOUT)
    assert (proc.returncode, out, err) == (0, expected_total(2000), "")
    address, kinds = seen.splitlines()
    assert address == f"ipc://{tmp_path}/pikos/live"
    assert kinds == "end header records"
    directory = tmp_path / "pikos"
    assert directory.stat().st_mode & 0o777 == 0o700
    assert directory.stat().st_uid == os.geteuid()
    # TCP only when asked for, by host or port.
    assert ZeroMQRecorder().address.startswith("ipc://")
    assert ZeroMQRecorder(zmq_port=9001).address == "tcp://127.0.0.1:9001"
    assert ZeroMQRecorder(zmq_host="::1").address == "tcp://::1:9001"


@pytest.mark.parametrize("kind", ["open", "symlink"])
def test_a_default_directory_others_could_use_is_refused(tmp_path, monkeypatch, kind):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    directory = tmp_path / "pikos"
    if kind == "open":
        directory.mkdir(mode=0o755)
        directory.chmod(0o755)
        problem = "its mode is 755, not 700"
    else:
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        directory.symlink_to(tmp_path / "elsewhere")
        problem = "it is a symbolic link"
    monitor = FunctionMonitor(ZeroMQRecorder(address=f"ipc://{directory}/live"))
    with pytest.raises(OSError, match="is not a private directory") as error:
        monitor.enable()
    assert problem in str(error.value)
    assert sys.getprofile() is None


def test_a_unix_socket_in_use_or_a_file_is_never_taken_over(tmp_path):
    """As with a TCP port in use, a second program on the same ipc path
    fails (libzmq alone would silently take the path over), and a path
    that is not a socket is left alone (libzmq would delete it)."""
    address = f"ipc://{tmp_path}/live"
    first = ZeroMQRecorder(address=address)
    first.prepare(FunctionRecord)
    try:
        monitor = FunctionMonitor(ZeroMQRecorder(address=address))
        with pytest.raises(OSError, match="cannot bind: Address already in use"):
            monitor.enable()
    finally:
        first.finalize()
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    monitor = FunctionMonitor(ZeroMQRecorder(address=f"ipc://{notes}"))
    with pytest.raises(OSError, match="exists and is not a socket"):
        monitor.enable()
    assert notes.read_text() == "keep me"


def test_an_oversized_subscription_is_refused_not_kept():
    """A peer's oversized subscription used to be kept by the publisher
    (50 MiB took a program from 21 MB to 4.6 GB) and count as a viewer:
    ZeroMQ now drops the peer before keeping it, so no viewer came.  (16
    KiB: libzmq's SUB side keeps its own subscriptions in a trie it walks
    recursively, so a larger one would overflow this test's stack.)"""
    port = free_port()
    context = zmq.Context()
    peer = context.socket(zmq.SUB)
    peer.setsockopt(zmq.LINGER, 0)
    peer.setsockopt(zmq.SUBSCRIBE, b"x" * (16 * 1024))
    peer.connect(f"tcp://127.0.0.1:{port}")
    try:
        recorder = ZeroMQRecorder(zmq_port=port, wait_for_ready=True, ready_timeout=1)
        with pytest.raises(RecorderError, match="no viewer subscribed"):
            FunctionMonitor(recorder).enable()
    finally:
        peer.close()
        context.term()
