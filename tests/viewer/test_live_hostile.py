"""What a hostile or broken peer can send to a reader of the live stream
(`pikos.live.decode`, the viewer's receiver and model): every message is
checked against docs/wire-format.md and dropped, counted, when it does not
follow it; nothing a peer sends stops the receiver or the display; what is
kept stays bounded under a flood.  Loopback sockets only."""

import json
import queue
import random
import time

import pytest
from pikos.live import (
    MAX_RECORD_BYTES,
    MAX_SESSIONS,
    WIRE_VERSION,
    BadMessage,
    Message,
    decode,
)
from pikos.viewer.model import LiveModel
from pikos.viewer.receiver import Receiver, drain
from pikos.viewer.render import render

zmq = pytest.importorskip("zmq")

#: Bound on every loop that waits for the receiver.
TIMEOUT = 30

FIELDS = ["index", "function", "lineNo", "RSS", "VMS", "line", "filename"]
HEADER = {
    "monitor": "line_memory",
    "record": "LineMemoryRecord",
    "fields": FIELDS,
    "host": "box",
    "pid": 7,
    "program": "script.py",
    "argv": ["script.py", "--token", "x"],
    "python": "3.12.1",
    "started": 1.5,
}
ROW = [0, "f", 3, 26894336, 322174976, "x = 1", "script.py"]
KINDS = ["header", "records", "stats", "end"]


def envelope(session="s1", seq=0, **changes):
    value = {"version": WIRE_VERSION, "session": session, "pid": 7, "seq": seq}
    value["time"] = 1000.0
    value.update(changes)
    return json.dumps(value).encode()


def records_payload(*rows):
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def good(kind, session="s1", seq=0):
    """Valid frames of each kind."""
    if kind == "header":
        return [b"pikos.header", envelope(session, seq), json.dumps(HEADER).encode()]
    if kind == "records":
        payload = records_payload(ROW, [1, *ROW[1:]])
        return [b"pikos.records", envelope(session, seq, records=2), payload]
    if kind == "stats":
        stats = {"functions": [["a.py", 1, "f", 2, 2, 0.5, 1.0]]}
        return [b"pikos.stats", envelope(session, seq), json.dumps(stats).encode()]
    end = {"records": 2, "messages": 3, "seconds": 0.5}
    return [b"pikos.end", envelope(session, seq), json.dumps(end).encode()]


DEEP = b"[" * 5000 + b"]" * 5000

#: (frames, what the BadMessage says): what the issue found and its kin.
BAD = [
    ([b"pikos.header", b"[]", b"{}"], "the envelope is not a JSON object"),
    ([b"pikos.header", b"[" * 2000, b"{}"], "the envelope"),
    ([b"pikos.header", DEEP, b"{}"], "the envelope of 10,000 bytes"),
    ([b"pikos.header", b"{", b"{}"], "the envelope is not JSON"),
    ([b"pikos.header", b"\xff\xfe", b"{}"], "the envelope is not JSON"),
    ([b"pikos.end", envelope(time="soon"), b"{}"], "time is not a number"),
    ([b"pikos.end", envelope(time=True), b"{}"], "time is not a number"),
    ([b"pikos.end", envelope(seq=-1), b"{}"], "seq is not a number >= 0"),
    ([b"pikos.end", envelope(pid="7"), b"{}"], "pid is not a number >= 0"),
    ([b"pikos.end", envelope(session=""), b"{}"], "session is not a string"),
    ([b"pikos.end", envelope(session=["s"]), b"{}"], "session is not a string"),
    ([b"pikos.end", envelope(session="s" * 500), b"{}"], "session is not a string"),
    ([b"pikos.end", envelope(version=99), b"{}"], "wire format version 99"),
    ([b"pikos.end", envelope(version="1"), b"{}"], "wire format version '1'"),
    ([b"pikos.end", b'{"version":1,"time":NaN}', b"{}"], "NaN is not JSON"),
    # 3.11 and 3.12 stop parsing it (RecursionError); 3.13 parses it.
    ([b"pikos.records", envelope(records=1), DEEP + b"\n"], "a record "),
    (
        [b"pikos.records", envelope(records=1), b"[" * 500 + b"]" * 500 + b"\n"],
        "a record holds list values",
    ),
    (
        [b"pikos.records", envelope(records=1), b'["x", {"a": 1}]\n'],
        "a record holds dict values",
    ),
    ([b"pikos.records", envelope(records=1), b'{"a": 1}\n'], "a record is a JSON"),
    ([b"pikos.records", envelope(records=1), b"[Infinity]\n"], "Infinity is not"),
    (
        [b"pikos.records", envelope(records=1), b'["' + b"x" * 2**20 + b'"]\n'],
        f"a record of 1,048,580 bytes (at most {MAX_RECORD_BYTES:,})",
    ),
    ([b"pikos.records", envelope(records=5), b"[1]\n"], "1 records where the"),
    ([b"pikos.records", envelope(), b"[1]\n"], "records is not a number"),
    ([b"pikos.records", envelope(records=1), b"[1]"], "does not end with a new"),
    ([b"pikos.header", envelope(), b"[]"], "the header is not a JSON object"),
    ([b"pikos.header", envelope(), b'{"fields": "RSS"}'], "fields is not a list"),
    ([b"pikos.header", envelope(), b'{"fields": [1]}'], "fields is not a list"),
    ([b"pikos.header", envelope(), b'{"monitor": 5}'], "monitor is not a string"),
    ([b"pikos.header", envelope(), b'{"x": [[[[[1]]]]]}'], "nests deeper than 4"),
    ([b"pikos.header", envelope(), b'{"x": "' + b"y" * 300_000 + b'"}'], "bytes"),
    ([b"pikos.stats", envelope(), b"{}"], "no list of functions"),
    ([b"pikos.stats", envelope(), b'{"functions": [[1, 2]]}'], "a statistics row"),
    (
        [b"pikos.stats", envelope(), b'{"functions": [["a", 1, "f", 1, 1, "x", 1]]}'],
        "a statistics row",
    ),
    ([b"pikos.end", envelope(), b'{"records": -3}'], "records is not a number"),
    ([b"pikos.end", envelope(), b"5"], "the end marker is not a JSON object"),
]


@pytest.mark.parametrize("frames, problem", BAD, ids=range(len(BAD)))
def test_a_message_off_the_wire_format_is_refused_with_its_problem(frames, problem):
    sessions = {}
    with pytest.raises(BadMessage) as raised:
        decode(frames, sessions)
    assert problem in str(raised.value)
    assert sessions == {}  # nothing kept of it


def test_valid_messages_of_every_kind_decode():
    sessions = {}
    kinds = [decode(good(k, seq=i), sessions) for i, k in enumerate(KINDS)]
    assert [m.kind for m in kinds] == KINDS
    header, batch, stats, end = kinds
    assert header.data == HEADER and batch.header == HEADER
    assert batch.count == 2 and batch.records[1] == tuple([1, *ROW[1:]])
    assert batch.last_record == tuple([1, *ROW[1:]])
    assert stats.data["functions"][0][2] == "f"
    assert end.data["records"] == 2 and sessions["s1"].ended
    # Not pikos' (another topic, another frame count): not a message at all.
    assert decode([b"other", b"{}", b"{}"], sessions) is None
    assert decode([b"pikos.end", b"{}"], sessions) is None


def test_sessions_are_bounded_forgetting_the_quietest():
    sessions = {}
    for n in range(MAX_SESSIONS + 10):
        decode(good("header", session=f"s{n}"), sessions)
        decode(good("records", session="busy", seq=n + 1), sessions)
    assert len(sessions) == MAX_SESSIONS
    assert "busy" in sessions and "s0" not in sessions
    assert f"s{MAX_SESSIONS + 9}" in sessions


def test_the_model_forgets_ended_tabs_first_and_says_so():
    model = LiveModel(max_tabs=3)
    for n, ended in enumerate([False, True, False]):
        model.feed(
            Message("header", f"s{n}", n, 0, 1.0, HEADER, header=HEADER), received=n
        )
        if ended:
            model.feed(Message("end", f"s{n}", n, 1, 1.0, {}), received=n)
    model.select(2)
    model.feed(Message("header", "new", 9, 0, 1.0, HEADER), received=10)
    assert list(model.tabs) == ["s0", "s2", "new"]
    assert model.current_tab.session == "s2"  # the selection stays put
    model.feed(Message("header", "newer", 9, 0, 1.0, HEADER), received=11)
    assert list(model.tabs) == ["s2", "new", "newer"]
    screen = ["".join(text for text, _ in row) for row in render(model, 100, 10)]
    assert "dropped: 2 sessions forgotten (at most 3 tabs)" in screen


def _mutate(rng, frames):
    frames = list(frames)
    at = rng.randrange(3)
    data = bytearray(frames[at])
    op = rng.randrange(8)
    if op == 0 and data:  # flip a byte
        data[rng.randrange(len(data))] = rng.randrange(256)
    elif op == 1:  # cut
        del data[rng.randrange(len(data) + 1) :]
    elif op == 2:  # insert JSON punctuation or a deep nest
        piece = rng.choice([b"[", b"{", b'"', b",", b"]", b"}", b"\n", b"[" * 3000])
        spot = rng.randrange(len(data) + 1)
        data[spot:spot] = piece
    elif op == 3:  # another frame's bytes
        data = bytearray(frames[rng.randrange(3)])
    elif op == 4:  # an envelope key of another type
        value = json.loads(good("end")[1])
        key = rng.choice(["version", "session", "pid", "seq", "time", "records"])
        value[key] = rng.choice([None, -1, 2**70, 1.5, "x", [], {}, True, "s" * 200])
        frames[1] = json.dumps(value).encode()
        return frames
    elif op == 5:  # a record of odd values
        value = rng.choice([[], [[]], [{}], [None], [1e308], ["\ud800"], [2**80]])
        data = bytearray(json.dumps(value).encode() + b"\n")
    elif op == 6:  # another topic
        frames[0] = rng.choice([b"pikos.header", b"pikos.records", b"pikos.end"])
        return frames
    else:  # repeat a span
        if data:
            start = rng.randrange(len(data))
            data[start:start] = data[start : start + rng.randrange(1, 64)]
    frames[at] = bytes(data)
    return frames


def test_fuzzed_messages_are_decoded_or_refused_and_never_break_the_view():
    """A bounded mutation fuzzer over valid messages of every kind: the
    decoder either gives a Message the model can show, pause (deep copy)
    and render, or says BadMessage; nothing else escapes."""
    rng = random.Random(17)
    model = LiveModel()
    sessions = {}
    outcomes = {"message": 0, "bad": 0, "ignored": 0}
    deadline = time.monotonic() + 10
    for count in range(3000):
        if time.monotonic() > deadline:
            break
        frames = good(rng.choice(KINDS), session=f"s{count % 3}", seq=count)
        for _ in range(rng.randrange(1, 4)):
            frames = _mutate(rng, frames)
        try:
            message = decode(frames, sessions)
        except BadMessage:
            outcomes["bad"] += 1
            continue
        if message is None:
            outcomes["ignored"] += 1
            continue
        outcomes["message"] += 1
        model.feed(message)
        if count % 50 == 0:
            render(model.snapshot(), 80, 24)
            render(model, 30, 5)
    assert outcomes["bad"] > 100 and outcomes["message"] > 100, outcomes
    assert len(sessions) <= MAX_SESSIONS


def _statm_bytes():
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096
    except OSError:
        return None


class Flood:
    """A receiver bound on loopback and a PUB socket connected to it."""

    def __init__(self, max_queued):
        self.receiver = Receiver("tcp://127.0.0.1:*", bind=True, max_queued=max_queued)
        self.context = zmq.Context()
        self.publisher = self.context.socket(zmq.PUB)
        self.publisher.setsockopt(zmq.LINGER, 0)
        # Nothing dropped on our side: the receiver sees every message.
        self.publisher.setsockopt(zmq.SNDHWM, 0)
        self.publisher.connect(self.receiver.endpoint)
        self.receiver.start()

    def handshake(self):
        """Send probes until one has arrived (the subscription travels
        after the connection), then a marker, and empty the queue up to the
        marker: what is sent next arrives after every probe."""
        deadline = time.monotonic() + TIMEOUT
        while self.receiver.queue.empty():
            assert time.monotonic() < deadline, "nothing received"
            self.publisher.send_multipart(good("header", session="probe"))
            time.sleep(0.05)
        self.publisher.send_multipart(good("header", session="marker"))
        while True:
            assert time.monotonic() < deadline, "no marker came"
            try:
                item = self.receiver.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if getattr(item, "session", None) == "marker":
                break
        self.receiver.sessions.clear()

    def seen(self):
        """Messages the receiver has handled: each is on the queue (a
        message or a problem) or counted as lost."""
        return self.receiver.queue.qsize() + self.receiver.lost

    def wait_for(self, count):
        deadline = time.monotonic() + TIMEOUT
        while self.seen() < count:
            assert time.monotonic() < deadline, f"{self.seen()} of {count} came"
            time.sleep(0.02)

    def close(self):
        self.receiver.stop()
        self.publisher.close()
        self.context.term()


def test_crafted_messages_neither_stop_the_receiver_nor_hide_later_programs():
    flood = Flood(max_queued=1000)
    try:
        flood.handshake()
        for frames, _ in BAD[:16]:
            flood.publisher.send_multipart(frames)
        flood.publisher.send_multipart(good("header", session="legit"))
        flood.wait_for(17)
    finally:
        flood.close()
    model = LiveModel()
    drain(flood.receiver.queue, model)
    assert list(model.tabs) == ["legit"]
    assert model.errors == 16 and flood.receiver.rejected == 16
    assert model.error.startswith("unreadable message: ")
    screen = render(model.snapshot(), 200, 20)  # a pause, then a redraw
    assert "(16 unreadable messages)" in "".join(t for t, _ in screen[2])


def test_a_flood_of_large_records_and_sessions_keeps_the_collector_bounded():
    """300 batches of about 1 MB and 3000 sessions into a collector whose
    display does not keep up: what it keeps stays bounded (the queue, one
    record per message, the sessions) and the drops are on screen."""
    queued = 50
    flood = Flood(max_queued=queued)
    big_row = [0, "f", 3, 1, 2, "y" * (MAX_RECORD_BYTES - 100), "s.py"]
    line = json.dumps(big_row).encode() + b"\n"
    payload = line * 16  # 1 MB, records within the limit
    try:
        flood.handshake()
        before = _statm_bytes()
        sent = 0
        for n in range(300):
            frames = good("records", session=f"big{n % 5}", seq=n)
            frames[1] = envelope(f"big{n % 5}", n, records=16)
            flood.publisher.send_multipart(frames[:2] + [payload], copy=False)
            sent += 1
        for n in range(3000):
            flood.publisher.send_multipart(good("header", session=f"many{n}"))
            sent += 1
        flood.wait_for(sent)
        after = _statm_bytes()
    finally:
        flood.close()
    receiver = flood.receiver
    assert receiver.queue.qsize() <= queued and receiver.lost >= sent - queued
    assert len(receiver.sessions) <= MAX_SESSIONS
    kept = [receiver.queue.get_nowait() for _ in range(receiver.queue.qsize())]
    assert all(len(m.data) <= len(line) for m in kept if m.kind == "records")
    if before is not None:
        # 300 MB went through; the receiver keeps about 50 lines of 64 KiB.
        assert after - before < 150 * 2**20, (before, after)
    model = LiveModel()
    for message in kept:
        model.feed(message)
    model.lost = receiver.lost
    assert len(model.tabs) <= MAX_SESSIONS
    screen = ["".join(t for t, _ in row) for row in render(model, 120, 10)]
    assert any(row.startswith(f"dropped: {receiver.lost:,} messages") for row in screen)
