"""A capture read as the live stream (`pikos.live.read`): the messages
`subscribe` gives for the same records; `pikos live --replay` plays it into
the viewer's model, which ends showing the final state; `pikos report` and
`pikos plot` read captures of memory monitors."""

import pytest
from commands import PIKOS, SCRIPTS, run, streamed
from pikos.live import BadMessage, read, record
from pikos.monitors.api import FunctionMonitor
from pikos.recorders.api import CaptureRecorder
from pikos.viewer.model import LiveModel
from pikos.viewer.receiver import drain
from pikos.viewer.render import render
from pikos.viewer.replay import Replay

TIMEOUT = 30


def work():
    return sorted(str(i) for i in range(20))


def replayed(path):
    """The viewer's model once `pikos live --replay` has played ``path``."""
    replay = Replay(path)
    replay.start()
    assert replay.done.wait(TIMEOUT)
    replay.stop()
    model = LiveModel()
    drain(replay.queue, model, limit=5)
    return model


def test_read_gives_the_messages_subscribe_gives(tmp_path):
    def monitored(recorder):
        with FunctionMonitor(recorder):
            work()

    received = streamed(monitored)
    with FunctionMonitor(CaptureRecorder(tmp_path / "run.pikos")):
        work()
    read_back = list(read(tmp_path / "run.pikos"))
    assert [m.kind for m in read_back] == [m.kind for m in received]
    assert [m.seq for m in read_back] == list(range(len(read_back)))
    assert [r for m in read_back for r in m.records] == [
        r for m in received for r in m.records
    ]
    assert [m.count for m in read_back] == [m.count for m in received]
    same = ["monitor", "record", "fields", "host", "pid", "program", "argv", "python"]
    header, sent = read_back[0].data, received[0].data
    assert {k: header[k] for k in same} == {k: sent[k] for k in same}
    assert read_back[-1].data["records"] == received[-1].data["records"]
    assert all(m.header == header and m.session == header["session"] for m in read_back)


def test_read_of_a_cut_capture_says_where(tmp_path):
    with FunctionMonitor(CaptureRecorder(tmp_path / "run.pikos")):
        work()
    data = (tmp_path / "run.pikos").read_bytes()
    (tmp_path / "cut.pikos").write_bytes(data[:-3])
    cuts = []
    messages = list(read(tmp_path / "cut.pikos", on_cut=cuts.append))
    kinds = [m.kind for m in messages]
    assert kinds[0] == "header" and "end" not in kinds
    assert cuts and cuts[0]["block"] >= 2 and 12 < cuts[0]["offset"] < len(data)
    (tmp_path / "no.pikos").write_bytes(b"not a capture")
    with pytest.raises(ValueError, match="not a pikos capture"):
        list(read(tmp_path / "no.pikos"))


def test_read_keeps_records_longer_than_the_stream_takes(tmp_path):
    # A generated source line of 70 kB: the stream's readers refuse a record
    # over 64 KiB (a flood guard), a capture's reader keeps it.
    literal = "x" * 70_000
    script = tmp_path / "long.py"
    script.write_text(f'text = "{literal}"\nprint(len(text))\n', "utf-8")
    done = run("lines", script, "-o", "l.pikos", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    messages = list(read(tmp_path / "l.pikos"))
    records = [r for m in messages if m.kind == "records" for r in m.records]
    assert [r[1:4] for r in records] == [
        ("<module>", 1, f'text = "{literal}"'),
        ("<module>", 2, "print(len(text))"),
    ]
    assert [m.kind for m in messages][-1] == "end"
    payload = next(m for m in messages if m.kind == "records").data
    with pytest.raises(
        BadMessage, match=r"a record of 70,\d{3} bytes \(at most 65,536\)"
    ):
        record(payload.splitlines()[0])
    (tab,) = replayed(tmp_path / "l.pikos").tabs.values()
    assert tab.ended and tab.records == 2


def test_replay_feeds_the_viewer_to_the_final_state(tmp_path):
    script = tmp_path / "hostile.py"
    script.write_text((SCRIPTS / "capture" / "hostile.py").read_text("utf-8"), "utf-8")
    done = run("line_memory", script, "-o", "m.pikos", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    model = replayed(tmp_path / "m.pikos")
    (tab,) = model.tabs.values()
    assert tab.ended and tab.sent == tab.records > 50
    assert tab.header["monitor"] == "line_memory" and tab.samples
    rows = render(model, 100, 30, waiting="replaying")
    screen = "\n".join("".join(segment[0] for segment in row) for row in rows)
    assert "line_memory" in screen
    with pytest.raises(ValueError, match="not a pikos capture"):
        Replay(script)
    done = run("live", "--replay", script, cwd=tmp_path, command=PIKOS)
    assert done.returncode == 1 and "not a pikos capture" in done.stderr


def test_report_and_plot_read_captures(tmp_path):
    script = tmp_path / "hostile.py"
    script.write_text((SCRIPTS / "capture" / "hostile.py").read_text("utf-8"), "utf-8")
    done = run("line_memory", script, "-o", "m.pikos", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # The report of a capture is the report of its CSV.
    assert run("export", "m.pikos", cwd=tmp_path, command=PIKOS).returncode == 0
    for name in ["m.pikos", "m.csv"]:
        done = run(
            "report",
            name,
            "--title",
            "T",
            "-o",
            f"{name}.html",
            cwd=tmp_path,
            command=PIKOS,
        )
        assert done.returncode == 0, done.stderr
    page = (tmp_path / "m.pikos.html").read_text("utf-8")
    assert "hostile.py:" in page
    assert page.replace("m.pikos", "m.csv") == (tmp_path / "m.csv.html").read_text(
        "utf-8"
    )
    pytest.importorskip("matplotlib")
    done = run("plot", "m.pikos", "-o", "m.svg", cwd=tmp_path, command=PIKOS)
    assert done.returncode == 0, done.stderr
    assert "record" in done.stdout and (tmp_path / "m.svg").exists()
    done = run("functions", script, "-o", "f.pikos", cwd=tmp_path)
    done = run("report", "f.pikos", cwd=tmp_path, command=PIKOS)
    assert done.returncode == 1 and "RSS" in done.stderr
