"""``pikos live``: the model and the screen layout, checked without a
terminal; the command's errors; and the viewer itself in tmux, collecting a
memory monitor's and a statistics monitor's streams from two programs, and
showing a line_stats program's hottest lines as they change."""

import itertools
import json
import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from commands import SCRIPTS, free_port, read_csv
from pikos import _native
from pikos.cli._common import UsageError
from pikos.live import WIRE_VERSION, Message
from pikos.viewer.model import LiveModel, apply_key
from pikos.viewer.receiver import Receiver, check_address, drain
from pikos.viewer.render import ASCII_BLOCKS, MIB, bar_chart, render

BIN = Path(sys.executable).parent
PIKOS = str(BIN / "pikos")
PIKOS_RUN = str(BIN / "pikos-run")
TARGET = str(SCRIPTS / "live_target.py")
TIMEOUT = 60

MEMORY_FIELDS = ["index", "function", "lineNo", "RSS", "VMS", "line", "filename"]
MEMORY_HEADER = {
    "monitor": "line_memory",
    "fields": MEMORY_FIELDS,
    "host": "box",
    "pid": 100,
    "program": "/somewhere/script.py",
}
STATS_HEADER = {
    "monitor": "stats",
    "fields": ["filename", "line", "function", "calls", "primitive_calls"],
    "host": "box",
    "pid": 200,
    "program": "/elsewhere/stats_me.py",
}
# [filename, line, name, calls, primitive calls, own s, cumulative s]
STATS_ROWS = [
    ["/a/prog.py", 10, "middle", 5, 5, 0.5, 2.0],
    ["~", 0, "<built-in method time.sleep>", 50, 50, 3.0, 3.0],
    ["/a/prog.py", 1, "<module>", 1, 1, 0.1, 9.0],
    ["/a/prog.py", 20, "another", 500, 400, 0.2, 0.3],
]


def message(kind, session="s1", pid=100, seq=0, data=None, **fields):
    """A Message as pikos.live.decode makes them."""
    return Message(
        kind=kind,
        session=session,
        pid=pid,
        seq=seq,
        time=fields.pop("time", 1000.0 + seq),
        data=data,
        **fields,
    )


def records(*rows):
    """A records payload: JSON Lines."""
    return b"".join(json.dumps(list(row)).encode() + b"\n" for row in rows)


def memory_row(index, rss, vms, fields=MEMORY_FIELDS):
    values = {
        "index": index,
        "function": "f",
        "lineNo": 3,
        "RSS": rss,
        "VMS": vms,
        "line": "x = 1",
        "filename": "script.py",
    }
    return [values[name] for name in fields]


def text(rows):
    """A rendered screen as plain text lines."""
    return ["".join(segment for segment, _ in row) for row in rows]


# --- The model ---------------------------------------------------------------


def test_one_tab_per_session_in_order_of_first_appearance():
    model = LiveModel()
    model.feed(message("header", "b", pid=2, data=dict(MEMORY_HEADER, pid=2)))
    model.feed(message("header", "a", pid=1, data=dict(STATS_HEADER, pid=1)))
    model.feed(message("records", "b", pid=2, seq=1, data=records(memory_row(0, 1, 2))))
    model.feed(message("header", "c", pid=3, data=dict(MEMORY_HEADER, pid=3)))
    assert list(model.tabs) == ["b", "a", "c"]
    assert [tab.pid for tab in model.tab_list] == [2, 1, 3]
    assert model.current_tab.session == "b"
    first = model.tab_list[0]
    assert (first.program, first.monitor, first.host) == (
        "script.py",
        "line_memory",
        "box",
    )
    assert first.fields == MEMORY_FIELDS and first.is_memory and not first.is_stats
    assert model.tab_list[1].is_stats and not model.tab_list[1].is_memory
    assert model.messages == 4


def test_memory_samples_come_from_each_batchs_last_record():
    # RSS and VMS are found by name: here VMS comes first.
    fields = ["VMS", "index", "RSS", "function", "lineNo", "line", "filename"]
    model = LiveModel()
    model.feed(message("header", data=dict(MEMORY_HEADER, fields=fields)))
    batch = records(
        *(memory_row(i, 10 * MIB + i, 50 * MIB + i, fields) for i in range(3))
    )
    tab = model.feed(message("records", seq=1, time=5.0, data=batch))
    model.feed(
        message("records", seq=2, time=6.0, data=records(memory_row(3, 7, 8, fields)))
    )
    assert list(tab.samples) == [(5.0, 10 * MIB + 2, 50 * MIB + 2), (6.0, 7, 8)]
    assert tab.records == 4
    assert tab.last_record == tuple(memory_row(3, 7, 8, fields))
    assert tab.last_time == 6.0


def test_memory_samples_are_bounded():
    model = LiveModel(max_samples=5)
    model.feed(message("header", data=MEMORY_HEADER))
    for seq in range(1, 20):
        model.feed(message("records", seq=seq, data=records(memory_row(seq, seq, seq))))
    tab = model.current_tab
    assert [rss for _, rss, _ in tab.samples] == [15, 16, 17, 18, 19]
    assert tab.records == 19


def test_records_are_counted_without_a_final_newline():
    model = LiveModel()
    model.feed(message("header", data=MEMORY_HEADER))
    tab = model.feed(message("records", seq=1, data=records([0], [1]) + b"[2]"))
    assert tab.records == 3
    assert tab.last_record == (2,)


@pytest.mark.parametrize(
    "key, names",
    [
        (
            "cumulative",
            ["<module>", "<built-in method time.sleep>", "middle", "another"],
        ),
        ("calls", ["another", "<built-in method time.sleep>", "middle", "<module>"]),
        ("own", ["<built-in method time.sleep>", "middle", "another", "<module>"]),
        ("name", ["<built-in method time.sleep>", "<module>", "another", "middle"]),
    ],
)
def test_statistics_sort_by_each_key(key, names):
    model = LiveModel()
    model.feed(message("header", data=STATS_HEADER))
    model.feed(message("stats", seq=1, data={"functions": STATS_ROWS}))
    model.set_sort(key)
    assert [row[2] for row in model.sorted_functions()] == names
    screen = text(render(model, 100, 20))
    header = next(line for line in screen if "own(s)" in line)
    marked = {"calls": "*calls", "own": "*own(s)", "cumulative": "*cum(s)"}
    assert marked.get(key, "*function") in header
    assert header.count("*") == 1


def test_statistics_replace_the_table_and_name_functions():
    model = LiveModel()
    model.feed(message("header", data=STATS_HEADER))
    model.feed(message("stats", seq=1, data={"functions": STATS_ROWS}))
    tab = model.feed(message("stats", seq=2, data={"functions": STATS_ROWS[:1]}))
    assert tab.functions == [STATS_ROWS[0]]
    model.feed(message("stats", seq=3, data={"functions": STATS_ROWS}))
    screen = "\n".join(text(render(model, 100, 20)))
    assert "calls" in screen and "own(s)" in screen and "cum(s)" in screen
    assert "middle (prog.py:10)" in screen
    # builtins (file "~") are named alone
    assert "<built-in method time.sleep>\n" in screen + "\n"
    assert "~" not in screen
    assert "500/400" in screen  # calls/primitive calls, as pstats shows them
    assert "updates 3" in screen


def test_statistics_table_is_cut_to_the_screen():
    many = [["/a/p.py", i, f"f{i}", i, i, 0.0, float(i)] for i in range(100)]
    model = LiveModel()
    model.feed(message("header", data=STATS_HEADER))
    model.feed(message("stats", seq=1, data={"functions": many}))
    screen = text(render(model, 80, 12))
    assert len(screen) == 12
    assert "f99 (p.py:99)" in screen[4]  # the largest cumulative time first
    assert screen[-2].startswith("... ") and "more" in screen[-2]


def test_dropped_messages_are_summed():
    model = LiveModel()
    model.feed(message("header", data=MEMORY_HEADER))
    model.feed(message("records", seq=3, data=records(memory_row(0, 1, 1)), dropped=2))
    tab = model.feed(
        message("records", seq=7, data=records(memory_row(1, 1, 1)), dropped=3)
    )
    assert tab.dropped == 5
    assert "dropped 5 messages" in text(render(model, 120, 10))[1]


def test_end_marks_the_tab_done():
    model = LiveModel()
    model.feed(message("header", data=MEMORY_HEADER))
    model.feed(message("records", seq=1, data=records(memory_row(0, 1, 1))))
    screen = text(render(model, 120, 10))
    assert "(done)" not in screen[0] and screen[1].endswith("live")
    tab = model.feed(message("end", seq=2, data={"records": 5, "messages": 3}))
    assert tab.ended and tab.sent == 5
    screen = text(render(model, 120, 10))
    assert "[1] 100 script.py (done)" in screen[0]
    assert "records 1 of 5 sent" in screen[1] and screen[1].endswith("ended")


def test_records_before_any_header_show_pid_and_unknown_monitor():
    # A viewer that joined late: decode has seen no header (header None).
    model = LiveModel()
    batch = records(memory_row(0, 5 * MIB, 9 * MIB))
    tab = model.feed(message("records", pid=4242, seq=9, data=batch))
    assert tab.header is None and tab.monitor == "unknown" and not tab.is_memory
    assert tab.records == 1 and not tab.samples
    screen = text(render(model, 120, 20))
    assert "[1] 4242" in screen[0]
    assert screen[1].startswith("unknown  pid 4242")
    assert any("last record" in line for line in screen)
    # Then the header comes (publishers resend it to new subscribers).
    model.feed(message("header", pid=4242, seq=10, data=dict(MEMORY_HEADER, pid=4242)))
    model.feed(message("records", pid=4242, seq=11, data=batch))
    assert tab.monitor == "line_memory" and len(tab.samples) == 1
    screen = "\n".join(text(render(model, 120, 20)))
    assert "RSS 5.0 MiB  VMS 9.0 MiB" in screen


def test_a_records_message_brings_the_header_decode_saw():
    model = LiveModel()
    batch = records(memory_row(0, 3 * MIB, 4 * MIB))
    tab = model.feed(message("records", seq=5, data=batch, header=MEMORY_HEADER))
    assert tab.monitor == "line_memory" and len(tab.samples) == 1


def test_stats_before_the_header_still_show_the_table():
    model = LiveModel()
    tab = model.feed(message("stats", seq=4, data={"functions": STATS_ROWS}))
    assert tab.monitor == "unknown" and tab.is_stats
    assert any("middle (prog.py:10)" in line for line in text(render(model, 100, 20)))


def test_the_stats_summary_counts_in_the_singular():
    model = LiveModel()
    one = [["prog.py", 1, "only", 1, 1, 0.5, 0.5]]
    model.feed(message("stats", seq=1, data={"functions": one}))
    screen = text(render(model, 100, 20))
    assert any("1 function, 1 call;" in line for line in screen)


def test_malformed_payloads_do_not_break_the_model():
    model = LiveModel()
    model.feed(message("header", data=MEMORY_HEADER))
    model.feed(message("records", seq=1, data=b"not json\n"))
    model.feed(message("records", seq=2, data=records(["short"])))
    model.feed(message("records", seq=3, data=b""))
    model.feed(message("records", seq=4, data=b"5\n"))
    model.feed(message("stats", "t", seq=1, data={"functions": [["x"], "y", None]}))
    model.feed(message("stats", "u", seq=1, data=["not", "a", "dict"]))
    model.feed(message("end", "v", data=None))
    assert model.tabs["s1"].records == 3 and not model.tabs["s1"].samples
    assert model.tabs["t"].functions == []
    for index in range(len(model.tabs)):
        model.select(index)
        render(model, 80, 24)


# --- Keys, layout ------------------------------------------------------------


def three_tabs():
    model = LiveModel()
    for pid in (1, 2, 3):
        model.feed(
            message("header", f"s{pid}", pid=pid, data=dict(MEMORY_HEADER, pid=pid))
        )
    return model


def test_keys_switch_tabs_sort_pause_and_quit():
    model = three_tabs()
    assert model.current == 0
    for key, expected in [
        ("\t", 1),
        ("right", 2),
        ("l", 0),  # wraps
        ("backtab", 2),
        ("left", 1),
        ("h", 0),
        ("3", 2),
        ("9", 2),  # no tab 9: unchanged
        ("1", 0),
    ]:
        assert apply_key(model, key) is None
        assert model.current == expected, key
    for key, sort in [("c", "calls"), ("o", "own"), ("n", "name"), ("t", "cumulative")]:
        apply_key(model, key)
        assert model.sort == sort
    assert apply_key(model, "p") == apply_key(model, " ") == "pause"
    assert apply_key(model, "q") == "quit"
    assert apply_key(model, "") is None and apply_key(model, "z") is None
    with pytest.raises(ValueError):
        model.set_sort("speed")


def test_a_snapshot_does_not_change_with_later_messages():
    model = three_tabs()
    frozen = model.snapshot()
    model.feed(
        message("records", "s1", pid=1, seq=1, data=records(memory_row(0, 1, 2)))
    )
    model.feed(message("header", "s9", pid=9, data=MEMORY_HEADER))
    assert len(frozen.tabs) == 3 and frozen.tab_list[0].records == 0
    screen = text(render(frozen, 120, 10, paused=True, unseen=2))
    assert "PAUSED" in screen[1] and "2 new messages" in screen[1]


def test_waiting_screen_names_the_address():
    screen = text(render(LiveModel(), 100, 10, waiting="waiting for a program on X"))
    assert screen[1] == "waiting for a program on X"
    assert screen[-1].startswith("q quit")


def test_errors_are_shown_under_the_status_line():
    model = three_tabs()
    model.note_error("pikos wire format version 99 (this pikos reads version 1)")
    model.note_error("pikos wire format version 99 (this pikos reads version 1)")
    screen = text(render(model, 200, 10))
    assert screen[2].startswith("error: pikos wire format version 99")
    assert "2 unreadable messages" in screen[2]


def memory_model(samples=30):
    model = LiveModel()
    model.feed(message("header", data=MEMORY_HEADER))
    for i in range(samples):
        row = memory_row(i, (100 + i) * MIB, (300 + i) * MIB)
        model.feed(message("records", seq=i + 1, time=float(i), data=records(row)))
    return model


def test_memory_screen_shows_figures_and_labelled_charts():
    screen = text(render(memory_model(), 120, 45))
    assert screen[2].startswith("RSS 129.0 MiB  VMS 329.0 MiB")
    joined = "\n".join(screen)
    for label in ("100.0 MiB |", "129.0 MiB |", "300.0 MiB |", "329.0 MiB |"):
        assert label in joined
    assert "█" in joined and "29.0 s ago" in joined
    ascii_screen = "\n".join(text(render(memory_model(), 120, 45, ascii_only=True)))
    assert "#" in ascii_screen and "█" not in ascii_screen


def test_render_fits_every_size():
    stats = LiveModel()
    stats.feed(message("stats", data={"functions": STATS_ROWS}, header=STATS_HEADER))
    stats.note_error("a long problem " * 20)
    models = [LiveModel(), memory_model(), memory_model(3000), stats, three_tabs()]
    for model, width, height in itertools.product(
        models, [0, 1, 2, 7, 20, 41, 80, 200], [0, 1, 2, 3, 4, 5, 8, 13, 24, 60]
    ):
        rows = render(model, width, height, waiting="waiting " * 40)
        assert len(rows) == (height if width > 0 else 0), (width, height)
        for row in rows:
            assert sum(len(segment) for segment, _ in row) <= width


def test_tab_bar_keeps_the_current_tab_visible():
    model = LiveModel()
    for pid in range(100, 130):
        model.feed(
            message("header", f"s{pid}", pid=pid, data=dict(MEMORY_HEADER, pid=pid))
        )
    model.select(25)
    bar = text(render(model, 60, 5))[0]
    assert "[26] 125 script.py" in bar and bar.startswith("<")


def test_bar_chart_scales_from_min_to_max():
    lines = bar_chart([10, 20, 30], rows=2, columns=5, levels=ASCII_BLOCKS)
    assert lines == [" _#  ", "_##  "]
    assert bar_chart([7, 7], rows=2, columns=3, levels=ASCII_BLOCKS) == ["   ", "__ "]
    # more values than columns: the highest of each run
    assert bar_chart([1, 9, 1, 1], rows=2, columns=2, levels=" #") == ["# ", "##"]
    assert bar_chart([1], rows=0, columns=4) == []


# --- Addresses and the receiver ----------------------------------------------


@pytest.mark.parametrize(
    "address, bind",
    [
        ("nonsense", False),
        ("tcp://127.0.0.1", False),
        ("tcp://:9001", False),
        ("tcp://127.0.0.1:99999", True),
        ("tcp://127.0.0.1:0", False),
        ("tcp://127.0.0.1:*", False),
        ("inproc://pikos", True),
        ("http://127.0.0.1:80", False),
    ],
)
def test_bad_addresses_are_usage_errors(address, bind):
    with pytest.raises(UsageError):
        check_address(address, bind)


@pytest.mark.parametrize(
    "address, bind",
    [
        ("tcp://127.0.0.1:9001", False),
        ("tcp://*:9001", True),
        ("tcp://127.0.0.1:*", True),
        ("tcp://[::1]:9001", False),
        ("ipc:///tmp/pikos", True),
    ],
)
def test_good_addresses(address, bind):
    check_address(address, bind)


def frames(kind, session, seq, payload, version=WIRE_VERSION):
    envelope = {
        "version": version,
        "session": session,
        "pid": 77,
        "seq": seq,
        "time": 1.0,
    }
    if kind == "records":
        envelope["records"] = payload.count(b"\n")
    else:
        payload = json.dumps(payload).encode()
    return [f"pikos.{kind}".encode(), json.dumps(envelope).encode(), payload]


def test_receiver_reports_another_wire_version_and_carries_on():
    zmq = pytest.importorskip("zmq")
    receiver = Receiver("tcp://127.0.0.1:*", bind=True)
    context = zmq.Context()
    publisher = context.socket(zmq.PUB)
    publisher.setsockopt(zmq.LINGER, 0)
    publisher.connect(receiver.endpoint)
    receiver.start()
    model = LiveModel()
    try:
        # Until the subscription has reached the publisher messages are
        # lost: send until both the problem and the good message arrive.
        deadline = time.monotonic() + 20
        while model.error is None or not model.tabs:
            assert time.monotonic() < deadline, "nothing received"
            publisher.send_multipart(frames("header", "old", 0, {}, version=99))
            publisher.send_multipart(frames("header", "new", 0, MEMORY_HEADER))
            time.sleep(0.05)
            drain(receiver.queue, model)
    finally:
        receiver.stop()
        publisher.close()
        context.term()
    assert "version 99" in model.error
    assert list(model.tabs) == ["new"] and model.tabs["new"].monitor == "line_memory"


# --- The command ---------------------------------------------------------------


def run_pikos(*args, **kwargs):
    return subprocess.run(
        [PIKOS, *args], capture_output=True, text=True, timeout=TIMEOUT, **kwargs
    )


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--connect", "nonsense"], "'nonsense' is not a ZeroMQ address"),
        (["--bind", "tcp://127.0.0.1:99999"], "port must be a number 1-65535"),
        (["--connect", "tcp://a:1", "--bind", "tcp://b:2"], "not allowed with"),
        (["extra"], "unrecognized arguments: extra"),
    ],
)
def test_bad_command_lines_exit_2_with_one_line(args, expected):
    done = run_pikos("live", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("pikos live: error: ")
    assert expected in done.stderr


def test_without_a_terminal_exits_2():
    done = run_pikos("live", stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stderr == (
        "pikos live: error: stdout is not a terminal: the viewer draws on one "
        "(run it in a terminal, not through a pipe or a file; "
        "pikos.live.subscribe reads the stream from Python)\n"
    )


def test_help_exits_0():
    done = run_pikos("live", "-h")
    assert done.returncode == 0 and "--bind ADDR" in done.stdout


def test_an_address_in_use_exits_1_with_one_line():
    taken = _native.Subscriber("tcp://127.0.0.1:*", True, [])
    # A terminal, so that the address is what fails.
    main, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [PIKOS, "live", "--bind", taken.endpoint],
            stdin=terminal,
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
        )
    finally:
        os.close(terminal)
        os.close(main)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("pikos live: error: ")
    assert "Address already in use" in done.stderr


# --- The lines view: a line_stats session ------------------------------------

LINES_HEADER = {
    "monitor": "line_stats",
    "fields": ["filename", "line", "function", "hits", "time", "percent", "source"],
    "host": "box",
    "pid": 300,
    "program": "/a/lines.py",
}
# [filename, line, function, hits, seconds, percent of the function, source]
LINES_ROWS = [
    ["/a/lines.py", 7, "work", 1000, 0.25, 40.0, "total += i * i"],
    ["/a/lines.py", 9, "work", 3, 0.375, 60.0, "time.sleep(0.125)"],
]


def test_the_lines_view_shows_the_hottest_lines_first():
    model = LiveModel()
    model.feed(message("header", "l", pid=300, data=LINES_HEADER))
    tab = model.feed(message("lines", "l", pid=300, seq=1, data={"lines": LINES_ROWS}))
    assert tab.is_lines and not tab.is_stats and tab.line_updates == 1
    screen = text(render(model, 100, 12, now=0.0))
    assert "line_stats  pid 300" in screen[1] and "updates 1" in screen[1]
    assert "the 2 hottest lines, by time" in screen
    header = next(line for line in screen if "hits" in line)
    assert header.split() == ["hits", "time(s)", "%", "time", "line"]
    rows = [line for line in screen if "(lines.py:" in line]
    assert rows[0].split() == [
        "3", "0.3750", "60.0", "work", "(lines.py:9)", "time.sleep(0.125)",
    ]  # fmt: skip
    assert rows[1].split()[:3] == ["1,000", "0.2500", "40.0"]
    # The next totals replace these.
    model.feed(message("lines", "l", pid=300, seq=2, data={"lines": LINES_ROWS[:1]}))
    assert len(model.current_tab.lines) == 1


def test_malformed_line_totals_do_not_break_the_model():
    model = LiveModel()
    tab = model.feed(message("lines", data={"lines": [["x"], None, LINES_ROWS[0]]}))
    assert tab.lines == [LINES_ROWS[0]]
    tab = model.feed(message("lines", data=["not", "a", "dict"]))
    assert tab.is_lines
    for height in range(1, 8):
        assert len(render(model, 40, height, now=0.0)) == height


def test_a_line_stats_program_streams_its_line_totals(tmp_path):
    from pikos.live import subscribe

    address = f"tcp://127.0.0.1:{free_port()}"
    received = subscribe(address, bind=True, timeout=TIMEOUT)
    program = subprocess.Popen(
        [PIKOS_RUN, "line_stats", TARGET, "1", f"--live-connect={address}",
         "--live-wait"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        kinds, last = [], None
        for got in received:
            kinds.append(got.kind)
            if got.kind == "header":
                assert got.data["monitor"] == "line_stats"
            elif got.kind == "lines":
                last = got.data["lines"]
            elif got.kind == "end":
                break
        _, err = program.communicate(timeout=TIMEOUT)
    finally:
        received.close()
        if program.poll() is None:
            program.kill()
            program.wait()
    assert program.returncode == 0, err
    assert kinds[0] == "header" and kinds[-1] == "end"
    assert kinds.count("lines") >= 2  # running totals, then the final ones
    sleep = next(row for row in last if row[6] == "time.sleep(0.01)")
    assert sleep[2] == "main" and sleep[3] > 10 and sleep[5] > 50
    times = [row[4] for row in last]
    assert times == sorted(times, reverse=True)
    # The table still comes at the end, on stderr.
    assert "Line Contents" in err


# --- In a terminal: tmux -------------------------------------------------------

_servers = itertools.count()


class Tmux:
    """A private tmux server (``tmux -L``), its commands and its pane."""

    def __init__(self, env):
        self.server = f"pikos-test-{os.getpid()}-{next(_servers)}"
        self.env = env
        self.socket = None

    def __call__(self, *args, check=True):
        done = subprocess.run(
            ["tmux", "-L", self.server, "-f", os.devnull, *args],
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            env=self.env,
            timeout=TIMEOUT,
        )
        if check and done.returncode:
            raise AssertionError(f"tmux {shlex.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def kill(self):
        """Stop the server and remove its socket (a killed server leaves it)."""
        self("kill-server", check=False)
        if self.socket:
            Path(self.socket).unlink(missing_ok=True)

    def screen(self):
        return self("capture-pane", "-p", "-t", "live")

    def keys(self, *keys):
        self("send-keys", "-t", "live", *keys)

    def pane(self, variable):
        return self("list-panes", "-t", "live", "-F", f"#{{{variable}}}").strip()

    def quit(self, status_file):
        """Press q; the viewer's exit status, once its pane is dead (the
        pane's command writes it to ``status_file``)."""
        self.keys("q")
        deadline = time.monotonic() + 15
        while not (status_file.exists() and self.pane("pane_dead") == "1"):
            assert time.monotonic() < deadline, f"q did not quit:\n{self.screen()}"
            time.sleep(0.1)
        return status_file.read_text().strip()

    def wait_for(self, what, found, timeout=15):
        """Poll the pane until ``found(screen)`` is true; return the screen
        (failing, with the last screen, after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if found(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{what}: not shown within {timeout} s; the pane:\n{screen}"
                )
            time.sleep(0.1)


RSS = re.compile(r"^RSS (\d+\.\d) MiB  VMS \d+\.\d MiB", re.MULTILINE)


def tab_numbers(screen):
    """pid -> tab number, from the tab bar."""
    bar = screen.splitlines()[0] if screen else ""
    return {int(pid): number for number, pid in re.findall(r"\[(\d+)\] (\d+)", bar)}


@pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed: the viewer needs a terminal, tmux provides one",
)
def test_viewer_in_tmux_collects_a_memory_and_a_stats_program(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("TMUX", None)  # a test run inside tmux still gets a server of its own
    tmux = Tmux(env)
    programs = []
    try:
        # The viewer's exit status goes to a file: tmux itself sometimes
        # misses the SIGCHLD of a pane's process (seen with tmux 3.3a: the
        # process stays a zombie and #{pane_dead_status} stays empty).
        status_file = tmp_path / "viewer-status"
        viewer = shlex.join([PIKOS, "live", "--bind", address])
        command = f"{viewer}; echo $? > {shlex.quote(str(status_file))}"
        # remain-on-exit keeps the pane, to be seen dead.
        tmux(
            "new-session", "-d", "-x", "140", "-y", "45", "-s", "live", command,
            ";", "set-option", "-t", "live", "remain-on-exit", "on",
        )  # fmt: skip
        tmux.socket = tmux("display-message", "-p", "#{socket_path}").strip()
        tmux.wait_for(
            "the waiting line", lambda s: f"waiting for a program on {address}" in s
        )

        for monitor in ("line_memory", "stats"):
            programs.append(
                subprocess.Popen(
                    [
                        PIKOS_RUN,
                        monitor,
                        TARGET,
                        f"--live-connect={address}",
                        "--live-wait",
                    ],
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        memory, stats = programs
        pids = {memory.pid, stats.pid}
        screen = tmux.wait_for("two tabs", lambda s: set(tab_numbers(s)) == pids)
        numbers = tab_numbers(screen)

        # The memory tab: its RSS figure follows the program.
        tmux.keys(numbers[memory.pid])
        status = f"line_memory  pid {memory.pid}"
        screen = tmux.wait_for(
            "the memory tab", lambda s: status in s and RSS.search(s)
        )
        first = RSS.search(screen).group(1)
        tmux.wait_for(
            f"an RSS other than {first} MiB",
            lambda s: RSS.search(s) and RSS.search(s).group(1) != first,
        )

        # Tab: the statistics tab, sorted by cumulative time; c: by calls.
        tmux.keys("Tab")
        status = f"stats  pid {stats.pid}"
        screen = tmux.wait_for(
            "the stats tab", lambda s: status in s and "grow_memory_chunk" in s
        )
        assert "*cum(s)" in screen and "*calls" not in screen
        assert re.search(r"grow_memory_chunk \(live_target\.py:\d+\)", screen)
        tmux.keys("c")
        tmux.wait_for("the calls sort", lambda s: "*calls" in s and "*cum(s)" not in s)

        # p pauses (and says so), p resumes.
        tmux.keys("p")
        tmux.wait_for("PAUSED", lambda s: "PAUSED" in s)
        tmux.keys("p")
        tmux.wait_for("the display resumed", lambda s: "PAUSED" not in s)

        outputs = {}
        for program in programs:
            outputs[program], err = program.communicate(timeout=TIMEOUT)
            assert program.returncode == 0, err
        # pikos-run stats prints the table at the end, as cProfile does.
        assert "grow_memory_chunk" in outputs[stats]
        tmux.wait_for(
            "both sessions ended", lambda s: s.split("\n", 1)[0].count("(done)") == 2
        )

        # A digit selects a tab; q quits with status 0.
        tmux.keys(numbers[memory.pid])
        tmux.wait_for(
            "the memory tab again", lambda s: f"line_memory  pid {memory.pid}" in s
        )
        assert tmux.quit(status_file) == "0"
    finally:
        tmux.kill()
        for program in programs:
            if program.poll() is None:
                program.kill()
                program.wait()


@pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed: the viewer needs a terminal, tmux provides one",
)
def test_viewer_in_tmux_shows_the_hottest_lines_updating(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("TMUX", None)
    tmux = Tmux(env)
    program = None
    try:
        viewer = shlex.join([PIKOS, "live", "--bind", address])
        tmux(
            "new-session", "-d", "-x", "140", "-y", "40", "-s", "live", viewer,
            ";", "set-option", "-t", "live", "remain-on-exit", "on",
        )  # fmt: skip
        tmux.socket = tmux("display-message", "-p", "#{socket_path}").strip()
        tmux.wait_for(
            "the waiting line", lambda s: f"waiting for a program on {address}" in s
        )
        program = subprocess.Popen(
            [PIKOS_RUN, "line_stats", TARGET, "4", f"--live-connect={address}",
             "--live-wait"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        sleep_row = re.compile(
            r"^\s*([\d,]+)\s+[\d.]+\s+[\d.]+\s+main \(live_target\.py:\d+\)"
            r"\s+time\.sleep\(0\.01\)$",
            re.MULTILINE,
        )
        status = f"line_stats  pid {program.pid}"
        screen = tmux.wait_for(
            "the lines view", lambda s: status in s and sleep_row.search(s)
        )
        assert "hits" in screen and "time(s)" in screen and "% time" in screen
        first = sleep_row.search(screen).group(1)
        tmux.wait_for(
            f"the sleep line's hits past {first}",
            lambda s: sleep_row.search(s) and sleep_row.search(s).group(1) != first,
        )
        _, err = program.communicate(timeout=TIMEOUT)
        assert program.returncode == 0, err
        tmux.wait_for("the session ended", lambda s: "(done)" in s.split("\n", 1)[0])
        tmux.keys("q")
    finally:
        tmux.kill()
        if program is not None and program.poll() is None:
            program.kill()
            program.wait()


@pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed: the viewer needs a terminal, tmux provides one",
)
def test_viewer_in_tmux_replays_a_capture_to_its_final_state(tmp_path):
    """``pikos live --replay FILE`` in a terminal: the capture's session is
    shown ended, with the memory of its last records, and stays shown until
    q (status 0), as for a program that ended while watched."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("TMUX", None)
    made = subprocess.run(
        [PIKOS_RUN, "line_memory", TARGET, "0.5", "-o", "m.pikos"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    # The last RSS the capture holds: what the ended tab must show.
    exported = subprocess.run(
        [PIKOS, "export", "m.pikos", "--format", "csv", "-o", "m.csv"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    _, rows = read_csv(tmp_path / "m.csv")
    last = rows[-1]
    final = f"RSS {int(last['RSS']) / MIB:.1f} MiB"
    tmux = Tmux(env)
    try:
        status_file = tmp_path / "viewer-status"
        viewer = shlex.join([PIKOS, "live", "--replay", "m.pikos"])
        command = f"{viewer}; echo $? > {shlex.quote(str(status_file))}"
        tmux(
            "new-session", "-d", "-x", "140", "-y", "40", "-s", "live",
            "-c", str(tmp_path), command,
            ";", "set-option", "-t", "live", "remain-on-exit", "on",
        )  # fmt: skip
        tmux.socket = tmux("display-message", "-p", "#{socket_path}").strip()
        screen = tmux.wait_for(
            "the replayed session, ended",
            lambda s: "(done)" in s.split("\n", 1)[0] and final in s,
        )
        assert re.search(r"^line_memory  pid \d+ .* ended$", screen, re.MULTILINE)
        # The final state stays: nothing more comes, nothing is cleared.
        time.sleep(1)
        screen = tmux.screen()
        assert "(done)" in screen.split("\n", 1)[0] and final in screen
        assert tmux.quit(status_file) == "0"
    finally:
        tmux.kill()
