"""docs/capture-format.md is enough to read a capture: a reader written
here from that page alone (plain Python and the zstandard package) reads
captures of every kind and finds the records `pikos export` writes as CSV,
the wire's session header and end marker."""

import csv
import io
import json
import struct

import pytest
from commands import PIKOS, SCRIPTS, run

zstandard = pytest.importorskip("zstandard")


class Reader:
    """The layout of docs/capture-format.md, version 1."""

    def __init__(self, data):
        assert data[:8] == b"PIKOSCAP"
        assert struct.unpack_from("<I", data, 8) == (1,)
        self.data, self.at = data, 12
        self.raw, self.i = b"", 0

    def varint(self):
        n = shift = 0
        while True:
            byte = self.raw[self.i]
            self.i += 1
            n |= (byte & 0x7F) << shift
            if byte < 0x80:
                return n
            shift += 7

    def signed(self):
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def string(self):
        size = self.varint()
        self.i += size
        return self.raw[self.i - size : self.i].decode("utf-8")

    def value(self, strings):
        kind = self.raw[self.i]
        self.i += 1
        if kind == 0:
            return None
        if kind == 1:
            return self.signed()
        if kind == 2:
            return strings[self.varint()]
        return self.string()  # 3: a string, 4: a number's text

    def blocks(self):
        while self.at + 8 <= len(self.data):
            size, raw_size = struct.unpack_from("<II", self.data, self.at)
            frame = self.data[self.at + 8 : self.at + 8 + size]
            self.at += 8 + size
            self.raw = zstandard.ZstdDecompressor().decompress(
                frame, max_output_size=raw_size
            )
            assert len(self.raw) == raw_size
            self.i = 0
            yield

    def items(self):
        for _ in self.blocks():
            while self.i < len(self.raw):
                tag = self.raw[self.i]
                self.i += 1
                if tag == 1:
                    header = json.loads(self.string())
                    fields, varying = [], []
                    for _ in range(self.varint()):
                        fields.append(self.string())
                        varying.append(self.raw[self.i])
                        self.i += 1
                    strings, locations = [], []
                    yield "session", (header, fields)
                elif tag == 2:
                    strings.append(self.string())
                elif tag == 3:
                    locations.append([self.value(strings) for v in varying if not v])
                elif tag == 4:
                    n = self.varint()
                    ids = [self.varint() for _ in range(n)]
                    columns = []
                    for _ in range(sum(varying)):
                        column, total = [], 0
                        for _ in range(n):
                            total += self.signed()
                            column.append(total)
                        columns.append(column)
                    for e, id in enumerate(ids):
                        fixed, changing = iter(locations[id]), iter(columns)
                        yield (
                            "record",
                            [next(changing)[e] if v else next(fixed) for v in varying],
                        )
                elif tag == 5:
                    yield "record", [self.value(strings) for _ in range(self.varint())]
                elif tag == 6:
                    yield "end", json.loads(self.string())
                else:
                    raise AssertionError(f"unknown record {tag}")


def as_csv(values):
    return ["" if v is None else str(v) for v in values]


@pytest.mark.parametrize(
    ("monitor", "options"),
    [
        ("functions", []),
        ("lines", []),
        ("function_memory", []),
        ("line_memory", []),
        ("functions", ["--timed"]),
        ("function_memory", ["--timed"]),
    ],
)
def test_a_reader_made_from_the_page_reads_every_kind(tmp_path, monitor, options):
    script = tmp_path / "hostile.py"
    script.write_text(
        (SCRIPTS / "capture" / "hostile.py").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    done = run(monitor, *options, script, "-o", "run.pikos", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = run("export", "run.pikos", "-o", "run.csv", cwd=tmp_path, command=PIKOS)
    assert done.returncode == 0, done.stderr
    items = list(Reader((tmp_path / "run.pikos").read_bytes()).items())
    kinds = [kind for kind, _ in items]
    assert kinds[0] == "session" and kinds[-1] == "end" and kinds.count("session") == 1
    (header, fields) = items[0][1]
    # The wire's session header, and what the capture adds.
    for key in [
        "monitor",
        "record",
        "fields",
        "host",
        "pid",
        "program",
        "argv",
        "python",
        "started",
    ]:
        assert key in header
    assert header["fields"] == fields and header["kind"] and header["session"]
    records = [as_csv(value) for kind, value in items if kind == "record"]
    with open(tmp_path / "run.csv", newline="", encoding="utf-8") as stream:
        exported = list(csv.reader(stream))
    assert exported[0] == fields
    assert records == exported[1:]
    assert items[-1][1]["records"] == len(records) > 50


def test_the_pages_own_reader_runs(tmp_path):
    # The page's code block, run on a capture (its last lines print it).
    page = (SCRIPTS.parent.parent / "docs" / "capture-format.md").read_text()
    code = page.split("## Reading it with Python and zstandard alone")[1]
    code = code.split("```python\n")[1].split("```")[0]
    script = tmp_path / "hostile.py"
    script.write_text(
        (SCRIPTS / "capture" / "hostile.py").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    assert run("lines", script, "-o", "run.pikos", cwd=tmp_path).returncode == 0
    out = io.StringIO()
    namespace = {"print": lambda *a: out.write(repr(a) + "\n")}
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "capture-format.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("(('session'") and lines[-1].startswith("(('end'")
    assert sum(line.startswith("(('record'") for line in lines) > 50
