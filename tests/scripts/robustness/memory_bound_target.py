"""Target of tests/robustness/test_memory_bound.py: a long run of a trivial
function under FunctionMonitor, untraced or recorded, that prints what it
measured as one JSON object on stdout.

    python memory_bound_target.py MODE [CALLS] [CSV_PATH]

MODE is one of

- ``untraced``: the loop alone, pikos is not even imported;
- ``csv``: ``FunctionMonitor(CSVFileRecorder(CSV_PATH))`` (default
  ``/dev/null``: the real encoder and writer thread, no file of gigabytes);
- ``zeromq``: ``FunctionMonitor(ZeroMQRecorder(...))`` bound to a free
  ``tcp://127.0.0.1`` port, drained by a plain pyzmq SUB socket in a second
  process (this script in mode ``subscribe``), started first and waited for
  with ``wait_for_ready``;
- ``subscribe PORT``: that subscriber (internal).

CALLS (default 50,000,000) calls of ``f`` give 2 * CALLS call/return events:
the loop runs in the ``with`` block itself, so it adds no event of its own.

Printed: ``peak_rss_kib`` (``VmHWM`` of /proc/self/status: this process
image's own peak; ``ru_maxrss``, printed as ``ru_maxrss_kib``, also carries
the peak of the process that spawned it, since Linux keeps the larger of the
two across ``exec``), ``events`` (the monitor's next record index: every
event it recorded), ``seconds`` (the loop, monitor set-up and finalize
included), ``wchar`` for ``csv`` (bytes this process passed to ``write`` during the
session, from /proc/self/io: the writer thread's output to /dev/null), and
for ``zeromq`` what the subscriber counted.
"""

import json
import os
import resource
import socket
import subprocess
import sys
import time

CALLS = 50_000_000
#: Seconds the subscriber waits for the next message before giving up.
IDLE_TIMEOUT = 120


def f():
    pass


def proc_field(name, field):
    """An integer field of /proc/self/<name> ("VmHWM:   1234 kB" -> 1234)."""
    with open(f"/proc/self/{name}") as stream:
        for line in stream:
            key, _, value = line.partition(":")
            if key == field:
                return int(value.split()[0])
    raise LookupError(f"no {field} in /proc/self/{name}")


def untraced(calls):
    start = time.perf_counter()
    for _ in range(calls):
        f()
    return {"seconds": time.perf_counter() - start, "events": None}


def traced(recorder, calls, count_writes=False):
    from pikos.monitors.api import FunctionMonitor

    monitor = FunctionMonitor(recorder)
    wchar = proc_field("io", "wchar")
    start = time.perf_counter()
    with monitor:
        for _ in range(calls):
            f()
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "events": monitor._hook.index}
    if count_writes:
        result["wchar"] = proc_field("io", "wchar") - wchar
    return result


def to_csv(calls, path):
    from pikos.recorders.api import CSVFileRecorder

    return traced(CSVFileRecorder(path), calls, count_writes=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def to_zeromq(calls):
    from pikos.recorders.api import ZeroMQRecorder

    port = free_port()
    subscriber = subprocess.Popen(
        [sys.executable, __file__, "subscribe", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        recorder = ZeroMQRecorder(
            zmq_port=port, wait_for_ready=True, ready_timeout=60, linger=10
        )
        result = traced(recorder, calls)
        out, _ = subscriber.communicate(timeout=IDLE_TIMEOUT + 60)
    finally:
        if subscriber.poll() is None:
            subscriber.kill()
            subscriber.wait()
    result["subscriber"] = json.loads(out) if subscriber.returncode == 0 else None
    result["session"] = recorder.session
    return result


def first_index(payload):
    """The index of a records payload's first row (``[index,...``)."""
    return int(bytes(payload[1:32]).split(b",", 1)[0])


def last_index(payload):
    tail = bytes(payload[-4096:])
    start = tail.rfind(b"\n", 0, len(tail) - 1) + 1
    return int(tail[start + 1 :].split(b",", 1)[0])


def subscribe(port):
    """Drain the stream of one session with plain pyzmq; count messages,
    records, bytes and drops (gaps in ``seq``), and check the records'
    indexes run on from batch to batch wherever no message was lost."""
    import zmq

    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"pikos.")
    sub.connect(f"tcp://127.0.0.1:{port}")
    counts = {
        "messages": 0,
        "headers": 0,
        "batches": 0,
        "records": 0,
        "payload_bytes": 0,
        "dropped_messages": 0,
        "index_breaks": 0,
        "bad_batches": 0,
        "first_seq": None,
        "sessions": [],
        "end": None,
        "timed_out": False,
    }
    prev_seq = prev_last = None
    while True:
        if not sub.poll(IDLE_TIMEOUT * 1000):
            counts["timed_out"] = True
            break
        topic, envelope, payload = sub.recv_multipart(copy=False)
        topic = topic.bytes
        envelope = json.loads(envelope.bytes)
        counts["messages"] += 1
        counts["payload_bytes"] += len(payload)
        if envelope["session"] not in counts["sessions"]:
            counts["sessions"].append(envelope["session"])
        seq = envelope["seq"]
        if prev_seq is None:
            counts["first_seq"] = seq
        elif seq != prev_seq + 1:
            counts["dropped_messages"] += seq - prev_seq - 1
        if topic == b"pikos.records":
            buffer = payload.buffer
            first, last = first_index(buffer), last_index(buffer)
            counts["batches"] += 1
            counts["records"] += envelope["records"]
            if last - first + 1 != envelope["records"]:
                counts["bad_batches"] += 1
            if prev_last is not None and seq == prev_seq + 1 and first != prev_last + 1:
                counts["index_breaks"] += 1
            prev_last = last
        elif topic == b"pikos.header":
            counts["headers"] += 1
        elif topic == b"pikos.end":
            counts["end"] = json.loads(payload.bytes)
            break
        prev_seq = seq
    sub.close(linger=0)
    context.term()
    print(json.dumps(counts))


def main(argv):
    mode = argv[1] if len(argv) > 1 else "untraced"
    if mode == "subscribe":
        subscribe(int(argv[2]))
        return 0
    calls = int(argv[2]) if len(argv) > 2 else CALLS
    if mode == "untraced":
        result = untraced(calls)
    elif mode == "csv":
        result = to_csv(calls, argv[3] if len(argv) > 3 else os.devnull)
    elif mode == "zeromq":
        result = to_zeromq(calls)
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    result.update(
        mode=mode,
        python=sys.version.split()[0],
        calls=calls,
        peak_rss_kib=proc_field("status", "VmHWM"),
        ru_maxrss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
