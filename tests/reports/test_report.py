"""``pikos report``: a memory monitor's CSV as one self-contained HTML page.

The reader and the growth attribution are checked on small handmade CSVs
with exact numbers; a real ``pikos-run line_memory`` run is reported end to
end, and the page is rendered by headless Chromium (the chart must really
be drawn: its colours are counted in a screenshot).

``PIKOS_REPORT_SCREENSHOT=docs/images/report.png`` keeps the screenshot of
that real run (the one the documentation shows).
"""

import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pikos.cli.report as report
import pytest
from commands import SCRIPTS
from pikos.reports import html, memory_csv

MB = 2**20
LINE_HEADER = ["index", "function", "lineNo", "RSS", "VMS", "line", "filename"]
FUNCTION_HEADER = ["index", "type", "function", "RSS", "VMS", "lineNo", "filename"]
HOSTILE = "</script><b>&\"'é"
BIN = Path(sys.executable).parent


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(capsys, *argv):
    status = report.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_error(err, *names):
    """``err`` is one ``pikos report: error:`` line naming each of ``names``."""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("pikos report: error: "), err
    assert "Traceback" not in err
    for name in names:
        assert str(name) in err, err


class Page(HTMLParser):
    """The parts of a report page the tests look at: the elements with an
    id (tag and attributes), the growth table's rows (cell class -> text,
    and the growth and net in bytes from the cells' tooltips) and the
    embedded JSON."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.ids = {}
        self.rows = []
        self.data_json = None
        self._cell = None
        self._text = []
        self._in_data = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] = (tag, attrs)
        if attrs.get("id") == "pikos-data":
            self._in_data, self._text = True, []
        if tag == "tr" and attrs.get("class") == "loc":
            self.rows.append({})
        elif tag == "td" and self.rows:
            self._cell = attrs["class"].split()[-1]
            self._text = []
            if "title" in attrs:
                bytes_ = int(attrs["title"].removesuffix(" bytes").replace(",", ""))
                self.rows[-1][self._cell + "_bytes"] = bytes_

    def handle_data(self, data):
        self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell:
            self.rows[-1][self._cell] = "".join(self._text)
            self._cell = None
        elif tag == "script" and self._in_data:
            self.data_json = json.loads("".join(self._text))
            self._in_data = False


def table(rows):
    """The table's rows as (function, file:line, hits, growth, net), the
    growth and net in bytes."""
    return [
        (
            row["fn"],
            row["where"],
            int(row["hits"].replace(",", "")),
            row["growth_bytes"],
            row["net_bytes"],
        )
        for row in rows
    ]


# Reading and attribution

LINE_ROWS = [
    # index, function, lineNo, RSS, VMS, line, filename
    [0, "main", 10, 10 * MB, 100 * MB, "x = 1", "a.py"],
    [1, "grow", 20, 10 * MB, 100 * MB, "    buf.append(b'1' * n)", "a.py"],
    [2, "main", 11, 14 * MB, 104 * MB, "y = 2", "a.py"],
    [3, "grow", 20, 13 * MB, 104 * MB, "    buf.append(b'1' * n)", "a.py"],
    [4, "main", 12, 19 * MB + 4096, 110 * MB, "z = 3", "a.py"],
    [5, "free", 30, 19 * MB + 4096, 110 * MB, "del buf", "b.py"],
    [6, "main", 13, 9 * MB, 90 * MB, "w = 4", "a.py"],
    [7, "main", 11, 10 * MB, 91 * MB, "y = 2", "a.py"],
]


@pytest.fixture
def line_csv(tmp_path):
    return write_csv(tmp_path / "lines.csv", LINE_HEADER, LINE_ROWS)


def read(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return memory_csv.read_memory(str(path), stream)


def totals(memory):
    return {
        (loc.function, loc.filename, loc.lineNo): (loc.hits, loc.growth, loc.net)
        for loc in memory.locations
    }


def test_line_records_growth_is_charged_to_the_earlier_record(line_csv):
    memory = read(line_csv)
    assert memory.layout == "line_memory"
    assert memory.records == 8
    assert (memory.first_rss, memory.last_rss) == (10 * MB, 10 * MB)
    assert (memory.first_vms, memory.last_vms) == (100 * MB, 91 * MB)
    # Records 4 and 5 share the peak: the first is named.
    assert (memory.peak_rss, memory.peak_rss_at) == (19 * MB + 4096, 4)
    assert (memory.peak_vms, memory.peak_vms_at) == (110 * MB, 4)
    assert totals(memory) == {
        ("main", "a.py", "10"): (1, 0, 0),
        ("grow", "a.py", "20"): (2, 10 * MB + 4096, 10 * MB + 4096),
        ("main", "a.py", "11"): (2, 0, -1 * MB),  # the last record: no change
        ("main", "a.py", "12"): (1, 0, 0),
        ("free", "b.py", "30"): (1, 0, -10 * MB - 4096),
        ("main", "a.py", "13"): (1, 1 * MB, 1 * MB),
    }
    assert memory.locations[1].line == "    buf.append(b'1' * n)"
    top = html.top_locations(memory, 20)
    assert [(loc.function, loc.lineNo) for loc in top] == [
        ("grow", "20"),
        ("main", "13"),
    ]
    # Every record is drawn, in order.
    assert memory.bucket == 1
    assert memory.rss.x == list(range(8))
    assert memory.rss.y == [row[3] for row in LINE_ROWS]
    assert memory.vms.y == [row[4] for row in LINE_ROWS]


def test_page_of_line_records(line_csv, tmp_path, capsys):
    output = tmp_path / "page.html"
    status, out, err = run(capsys, line_csv, "-o", output)
    assert (status, out, err) == (0, f"{output}\n", "")
    text = output.read_text(encoding="utf-8")
    page = Page(text)
    assert page.ids["chart"][0] == "canvas"
    assert "<title>pikos memory report: lines.csv</title>" in text
    assert "<h1>pikos memory report: lines.csv</h1>" in text
    summary = re.sub(r"<[^>]+>", "", text.split('id="summary">')[1].split("</p>")[0])
    assert summary == (
        "8 records &middot; peak RSS 19.00 MiB (record 4) &middot; "
        "peak VMS 110.00 MiB (record 4) &middot; "
        "RSS first 10.00 MiB, last 10.00 MiB &middot; net change +0.00 MiB"
    )
    assert table(page.rows) == [
        ("grow", "a.py:20", 2, 10 * MB + 4096, 10 * MB + 4096),
        ("main", "a.py:13", 1, 1 * MB, 1 * MB),
    ]
    assert [row["src"] for row in page.rows] == ["buf.append(b'1' * n)", "w = 4"]
    assert [(row["growth"], row["net"]) for row in page.rows] == [
        ("10.004", "+10.004"),
        ("1.000", "+1.000"),
    ]
    assert "2 of 6 lines grew RSS." in text
    assert page.data_json["rss"] == {"x": list(range(8)), "y": memory_ys(3)}
    assert page.data_json["vms"]["y"] == memory_ys(4)
    assert page.data_json["records"] == 8


def memory_ys(column):
    return [row[column] for row in LINE_ROWS]


def test_page_is_self_contained(line_csv, tmp_path, capsys):
    output = tmp_path / "page.html"
    assert run(capsys, line_csv, "-o", output)[0] == 0
    text = output.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=|https?:|//cdn|@import|url\(""", text)
    assert text.count("<script") == 2 and text.count("</script>") == 2
    assert text.startswith("<!DOCTYPE html>")


def test_rss_alone_is_drawn_by_default(line_csv, tmp_path, capsys):
    # VMS (110 MiB here) on RSS's axis squashed RSS (10-19 MiB) to a sliver:
    # it is off by default, and its box turns it on (issue 17).
    output = tmp_path / "page.html"
    assert run(capsys, line_csv, "-o", output)[0] == 0
    page = Page(output.read_text(encoding="utf-8"))
    tag, attrs = page.ids["show-vms"]
    assert (tag, attrs["type"]) == ("input", "checkbox")
    assert "checked" not in attrs
    assert 'if (vmsBox && vmsBox.checked) { list.unshift(["vms"' in html.SCRIPT


def test_function_records_with_time_and_thread_columns(tmp_path):
    header = FUNCTION_HEADER + ["time", "thread"]
    rows = [
        [0, "call", "f", 10 * MB, 50 * MB, 1, "b.py", 1_000, 7],
        [1, "c_call", "append", 12 * MB, 50 * MB, "", "b.py", 2_000, 7],
        [2, "return", "f", 15 * MB, 52 * MB, 4, "b.py", 3_000, 8],
        [3, "call", "f", 15 * MB, 52 * MB, 1, "b.py", 4_000, 7],
        [4, "return", "f", 11 * MB, 51 * MB, 4, "b.py", 5_000, 7],
    ]
    path = write_csv(tmp_path / "functions.csv", header, rows)
    memory = read(path)
    assert memory.layout == "function_memory"
    assert totals(memory) == {
        ("f", "b.py", "1"): (2, 2 * MB, -2 * MB),
        ("append", "b.py", ""): (1, 3 * MB, 3 * MB),
        ("f", "b.py", "4"): (2, 0, 0),
    }
    assert memory.rss.x == [0, 1, 2, 3, 4]
    page = Page(html.render(memory, "t", "functions.csv"))
    assert table(page.rows) == [
        ("append", "b.py", 1, 3 * MB, 3 * MB),  # no lineNo: the file alone
        ("f", "b.py:1", 2, 2 * MB, -2 * MB),
    ]
    assert "src" not in page.rows[0]  # function records have no source text


def test_columns_are_found_by_name(tmp_path):
    header = ["thread", "RSS", "filename", "VMS", "function", "index", "lineNo"]
    rows = [
        [1, 5 * MB, "c.py", 9 * MB, "g", 0, 3],
        [1, 6 * MB, "c.py", 9 * MB, "h", 1, 4],
    ]
    memory = read(write_csv(tmp_path / "odd.csv", header, rows))
    assert memory.layout == "memory"
    assert totals(memory) == {
        ("g", "c.py", "3"): (1, MB, MB),
        ("h", "c.py", "4"): (1, 0, 0),
    }


def test_without_index_or_locations_the_position_is_the_index(tmp_path):
    path = write_csv(tmp_path / "bare.csv", ["RSS", "VMS"], [[1, 2], [3, 4], [2, 5]])
    memory = read(path)
    assert memory.rss.x == [0, 1, 2]
    assert totals(memory) == {("", "", ""): (3, 2, 1)}


def test_a_new_session_is_charged_to_nobody(tmp_path):
    # A second monitoring session appended to the file starts again at 0.
    rows = [
        [0, "f", 1, 10 * MB, 90 * MB, "a", "s.py"],
        [1, "f", 2, 12 * MB, 90 * MB, "b", "s.py"],
        [0, "f", 1, 40 * MB, 90 * MB, "a", "s.py"],
        [1, "f", 2, 41 * MB, 90 * MB, "b", "s.py"],
    ]
    memory = read(write_csv(tmp_path / "two.csv", LINE_HEADER, rows))
    assert totals(memory) == {
        ("f", "s.py", "1"): (2, 3 * MB, 3 * MB),
        ("f", "s.py", "2"): (2, 0, 0),
    }


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("index,RSS,VMS\n0,1,2\n\n1,3,4\n")
    assert read(path).records == 2


def test_top_limits_the_rows(line_csv, tmp_path, capsys):
    output = tmp_path / "page.html"
    assert run(capsys, line_csv, "-o", output, "--top", "1")[0] == 0
    text = output.read_text(encoding="utf-8")
    rows = Page(text).rows
    assert [row["fn"] for row in rows] == ["grow"]
    assert "2 of 6 lines grew RSS; the table shows the 1 largest." in text


def test_no_growth(tmp_path, capsys):
    rows = [
        [0, "f", 1, 9 * MB, 9 * MB, "a", "s.py"],
        [1, "f", 2, 8 * MB, 9 * MB, "b", "s.py"],
    ]
    path = write_csv(tmp_path / "shrink.csv", LINE_HEADER, rows)
    assert run(capsys, path)[0] == 0
    page = Page(path.with_suffix(".html").read_text(encoding="utf-8"))
    assert page.rows == [] and "no-growth" in page.ids and "growth" not in page.ids


def test_html_escaping(tmp_path, capsys):
    rows = [
        [0, HOSTILE, 1, MB, 2 * MB, HOSTILE, HOSTILE + ".py"],
        [1, HOSTILE, 2, 3 * MB, 4 * MB, HOSTILE, HOSTILE + ".py"],
    ]
    path = write_csv(tmp_path / "<b>&\"'é <!--.csv", LINE_HEADER, rows)
    output = tmp_path / "page.html"
    status, _, err = run(capsys, path, "-o", output, "--title", HOSTILE)
    assert (status, err) == (0, "")
    text = output.read_text(encoding="utf-8")
    assert HOSTILE not in text
    assert text.count("</script>") == 2  # the page's own two
    assert "<!--" not in text and "<b>&" not in text
    escaped = "&lt;/script&gt;&lt;b&gt;&amp;&quot;&#x27;é"
    assert f"<title>{escaped}</title>" in text
    page = Page(text)
    assert (page.rows[0]["fn"], page.rows[0]["src"]) == (HOSTILE, HOSTILE)
    assert page.rows[0]["where"] == HOSTILE + ".py:1"
    assert page.data_json["source"] == "<b>&\"'é <!--.csv"  # exact after JSON


def test_script_json_cannot_end_the_script():
    value = {"s": "</script><!--<b>&\u2028é", "n": [1, -2]}
    text = html.script_json(value)
    assert not set(text) & set("<>&") and text.isascii()
    assert json.loads(text) == value


def scan_values(rss, vms, limit=memory_csv.MAX_BUCKETS):
    rows = (
        [str(i), str(r), str(v)] for i, (r, v) in enumerate(zip(rss, vms, strict=True))
    )
    return memory_csv.scan(["index", "RSS", "VMS"], rows, limit=limit)


def test_decimation_keeps_the_true_extremes_of_a_million_records():
    count = 1_000_003
    rng = random.Random(5)
    rss = [20 * MB + rng.randrange(1000) * 4096 for _ in range(count)]
    vms = [90 * MB + rng.randrange(1000) * 4096 for _ in range(count)]
    rss[777_777], rss[3] = 99 * MB, 1 * MB  # one-record peak and dip
    vms[123_457], vms[999_999] = 500 * MB, 2 * MB
    memory = scan_values(rss, vms)
    assert memory.records == count
    assert memory.buckets <= memory_csv.MAX_BUCKETS
    assert memory.buckets * memory.bucket >= count
    for series, values in ((memory.rss, rss), (memory.vms, vms)):
        assert len(series.x) <= 2 * memory_csv.MAX_BUCKETS + 2
        assert series.x[0] == 0 and series.x[-1] == count - 1
        assert all(a < b for a, b in zip(series.x, series.x[1:], strict=False))
        assert series.y == [values[x] for x in series.x]
        assert max(series.y) == max(values) and min(series.y) == min(values)
    assert {777_777, 3} <= set(memory.rss.x)
    assert {123_457, 999_999} <= set(memory.vms.x)
    assert (memory.peak_rss, memory.peak_rss_at) == (99 * MB, 777_777)
    assert (memory.peak_vms, memory.peak_vms_at) == (500 * MB, 123_457)


@pytest.mark.parametrize("count", [1, 7, 8, 9, 100, 1001])
def test_decimation_is_each_buckets_first_low_and_high(count):
    rng = random.Random(count)
    rss = [rng.randrange(5) for _ in range(count)]  # many ties
    vms = [rng.randrange(5) for _ in range(count)]
    memory = scan_values(rss, vms, limit=8)
    size = memory.bucket
    assert memory.buckets == -(-count // size) <= 8
    for series, values in ((memory.rss, rss), (memory.vms, vms)):
        keep = {0, count - 1}
        for start in range(0, count, size):
            part = values[start : start + size]
            keep |= {start + part.index(min(part)), start + part.index(max(part))}
        assert series.x == sorted(keep)
        assert series.y == [values[x] for x in series.x]


# The command


def test_default_output_replaces_the_suffix(line_csv, capsys):
    status, out, _ = run(capsys, line_csv)
    assert (status, out) == (0, f"{line_csv.with_suffix('.html')}\n")
    assert line_csv.with_suffix(".html").read_text(encoding="utf-8").startswith("<!DOC")


def test_umbrella_command(line_csv, tmp_path):
    output = tmp_path / "out.html"
    done = subprocess.run(
        [sys.executable, "-m", "pikos", "report", str(line_csv), "-o", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{output}\n", "")
    assert (
        "report"
        in subprocess.run(
            [sys.executable, "-m", "pikos", "-h"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


def test_help(capsys):
    status, out, _ = run(capsys, "-h")
    assert status == 0
    assert out.startswith("usage: pikos report")
    assert "--top N" in out


# Errors


def test_missing_csv(tmp_path, capsys):
    path = tmp_path / "absent.csv"
    status, out, err = run(capsys, path)
    assert (status, out) == (2, "")
    assert_error(err, path, "cannot read", "No such file or directory")


def test_csv_is_a_directory(tmp_path, capsys):
    status, _, err = run(capsys, tmp_path, "-o", tmp_path / "out.html")
    assert status == 2
    assert_error(err, tmp_path, "cannot read")


def test_output_directory_missing(line_csv, tmp_path, capsys):
    output = tmp_path / "nowhere" / "out.html"
    status, out, err = run(capsys, line_csv, "-o", output)
    assert (status, out) == (2, "")
    assert_error(err, output, "cannot write", "no such directory")


def test_output_is_a_directory(line_csv, tmp_path, capsys):
    status, _, err = run(capsys, line_csv, "-o", tmp_path)
    assert status == 2
    assert_error(err, tmp_path, "cannot write", "is a directory")


def test_output_would_overwrite_the_csv(tmp_path, capsys):
    path = write_csv(tmp_path / "memory.html", ["RSS", "VMS"], [[1, 2]])
    status, _, err = run(capsys, path)
    assert status == 2
    assert_error(err, path, "would overwrite the CSV")
    assert path.read_text().startswith("RSS,VMS")


@pytest.mark.parametrize("top", ["0", "-3", "many"])
def test_top_must_be_a_positive_integer(line_csv, capsys, top):
    status, _, err = run(capsys, line_csv, "--top", top)
    assert status == 2
    assert_error(err, "--top", f"invalid positive integer value: '{top}'")


def test_unknown_option(line_csv, capsys):
    status, _, err = run(capsys, line_csv, "--bogus")
    assert status == 2
    assert_error(err, "--bogus")


def test_empty_csv(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, path, "empty file, no header")
    assert not path.with_suffix(".html").exists()


def test_header_only(tmp_path, capsys):
    path = write_csv(tmp_path / "header.csv", LINE_HEADER, [])
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, path, "no records to report")
    assert not path.with_suffix(".html").exists()


def test_function_record_csv_has_no_rss(tmp_path, capsys):
    path = tmp_path / "calls.csv"
    path.write_text("index,type,function,lineNo,filename\n0,call,f,1,a.py\n")
    status, _, err = run(capsys, path)
    assert status == 1
    assert err == (
        f"pikos report: error: {path}: no RSS and VMS columns: not a memory "
        "monitor's CSV (header: index,type,function,lineNo,filename)\n"
    )


def test_no_vms_column(tmp_path, capsys):
    path = tmp_path / "rss.csv"
    path.write_text("index,RSS\n0,1024\n")
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, path, "no VMS column: not a memory monitor's CSV")


def test_non_integer_rss(tmp_path, capsys):
    rows = [LINE_ROWS[0], [1, "f", 2, "12.5MB", MB, "x", "a.py"], LINE_ROWS[1]]
    path = write_csv(tmp_path / "bad.csv", LINE_HEADER, rows)
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, f"{path}, line 3: RSS is not an integer: '12.5MB'")


def test_non_integer_index(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("index,RSS,VMS\n0,1,2\n1,3,4\nx,5,6\n")
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, f"{path}, line 4: index is not an integer: 'x'")


def test_short_row(tmp_path, capsys):
    path = tmp_path / "short.csv"
    path.write_text("index,function,lineNo,RSS,VMS\n0,f,1,1024,4096\n1,f\n")
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, f"{path}, line 3: 2 fields where the header has 5")


def test_line_number_counts_quoted_newlines(tmp_path, capsys):
    path = tmp_path / "multi.csv"
    path.write_text('index,RSS,VMS,line\n0,1,2,"a\nb"\n1,x,2,c\n')
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, f"{path}, line 4: RSS is not an integer: 'x'")


def test_not_utf8(tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"index,RSS,VMS,line\n0,1,2,caf\xe9\n")
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, path, "not UTF-8 text")


def test_nul_byte(tmp_path, capsys):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"index,RSS,VMS\n0,1,2\n1,\x00,2\n")
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, f"{path}, line 3")


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="Linux /proc")
def test_unreadable_csv(tmp_path, capsys):
    # Opens, then every read fails (EIO), even for root.
    status, _, err = run(capsys, "/proc/self/mem", "-o", tmp_path / "out.html")
    assert status == 2
    assert_error(err, "/proc/self/mem", "cannot read")


# A real run, end to end, rendered by headless Chromium


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """``pikos-run line_memory report_target.py``, then ``pikos report``:
    the CSV and the page."""
    where = tmp_path_factory.mktemp("real")
    data = where / "out.csv"
    page = where / "out.html"
    subprocess.run(
        [str(BIN / "pikos-run"), "line_memory", str(SCRIPTS / "report_target.py")]
        + ["-o", str(data)],
        cwd=where,
        check=True,
        timeout=300,
    )
    done = subprocess.run(
        [sys.executable, "-m", "pikos", "report", str(data), "-o", str(page)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{page}\n", "")
    return data, page


def reference_table(path, top=html.DEFAULT_TOP):
    """The growth table of the CSV at ``path``, computed plainly with every
    row in memory: (function, file:line, hits, growth, net) in bytes."""
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    where = [(row["function"], f"{row['filename']}:{row['lineNo']}") for row in rows]
    hits = Counter(where)
    growth, net = Counter(), Counter()
    for i in range(len(rows) - 1):
        change = int(rows[i + 1]["RSS"]) - int(rows[i]["RSS"])
        growth[where[i]] += max(change, 0)
        net[where[i]] += change
    order = sorted(dict.fromkeys(where), key=lambda key: -growth[key])
    return [key + (hits[key], growth[key], net[key]) for key in order if growth[key]][
        :top
    ]


def test_real_line_memory_run(real_run):
    data, page = real_run
    rows = Page(page.read_text(encoding="utf-8")).rows
    assert table(rows) == reference_table(data)
    target = str(SCRIPTS / "report_target.py")
    fill, scratch = rows[0], rows[1]
    assert (fill["fn"], fill["src"], fill["hits"]) == (
        "fill",
        'return b"\\x01" * (megabytes * MIB)',
        "4",
    )
    assert fill["where"].startswith(target + ":")
    assert fill["growth_bytes"] >= 31 * MB  # 4 x 8 MiB, filled
    assert (scratch["fn"], scratch["src"]) == (
        "main",
        'scratch = b"\\x02" * (16 * MIB)',
    )
    assert scratch["growth_bytes"] >= 15 * MB


def find_chromium():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip(
            "chromium is not installed (tools/system-deps.sh installs it; "
            "`make test` runs that script first)"
        )
    return binary


def headless(binary, tmp_path, *args):
    """Run headless Chromium on a fresh profile; its stdout."""
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1200,900",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def colour_pixels(image, colour, tolerance=0.1):
    """How many pixels of ``image`` (rows x columns x RGB(A), 0..1) are
    within ``tolerance`` of ``colour`` (#rrggbb) in every channel."""
    target = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    rgb = image[:, :, :3]
    close = (abs(rgb - target) <= tolerance).all(axis=2)
    return int(close.sum())


def test_chromium_draws_the_chart(real_run, tmp_path):
    from matplotlib.image import imread

    binary = find_chromium()
    data, page = real_run
    url = page.resolve().as_uri()
    dom = Page(headless(binary, tmp_path, "--dump-dom", url))
    tag, attrs = dom.ids["chart"]
    assert (tag, attrs.get("data-rendered")) == ("canvas", "true")
    assert table(dom.rows) == reference_table(data)
    assert dom.rows[0]["fn"] == "fill"

    shot = tmp_path / "shot.png"
    headless(binary, tmp_path, f"--screenshot={shot}", url)
    image = imread(str(shot))
    assert image.shape[:2] == (900, 1200)
    left, top, width, height = (int(v) for v in attrs["data-box"].split(","))
    assert width > 800 and height > 300 and top + height <= 900
    chart = image[top : top + height, left : left + width]
    # Each line is 2 pixels thick across the plot: well over 1000 pixels.
    assert colour_pixels(chart, html.RSS_COLOUR) > 1000
    assert colour_pixels(chart, html.VMS_COLOUR) == 0  # VMS is off by default
    # And the rest of the page does not use those colours (the legend's
    # swatches aside): what was counted is the chart.
    outside = image.copy()
    outside[top : top + height, left : left + width] = 1.0
    assert colour_pixels(outside, html.RSS_COLOUR) < 100
    assert colour_pixels(outside, html.VMS_COLOUR) < 300  # and its checkbox
    keep = os.environ.get("PIKOS_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


def test_chromium_vms_box_and_readout(real_run, tmp_path):
    from matplotlib.image import imread

    binary = find_chromium()
    _, page = real_run
    # The page, then a script that ticks VMS and points at the chart.
    poke = (
        '<script>var chart = document.getElementById("chart");'
        'document.getElementById("show-vms").click();'
        "var box = chart.getBoundingClientRect();"
        'chart.dispatchEvent(new MouseEvent("mousemove", '
        "{clientX: box.left + box.width / 2, clientY: box.top + 50}));</script>"
    )
    text = page.read_text(encoding="utf-8").replace("</body>", poke + "</body>")
    poked = tmp_path / "poked.html"
    poked.write_text(text, encoding="utf-8")
    url = poked.as_uri()
    dom = headless(binary, tmp_path, "--dump-dom", url)
    readout = re.search(r'<span id="readout">([^<]*)</span>', dom).group(1)
    assert re.fullmatch(
        r"record [\d,]+ · RSS [\d.]+ MiB · VMS [\d.]+ MiB( \(bucket extremes\))?",
        readout,
    )
    shot = tmp_path / "shot.png"
    headless(binary, tmp_path, f"--screenshot={shot}", url)
    image = imread(str(shot))
    attrs = Page(dom).ids["chart"][1]
    left, top, width, height = (int(v) for v in attrs["data-box"].split(","))
    chart = image[top : top + height, left : left + width]
    assert colour_pixels(chart, html.RSS_COLOUR) > 1000
    assert colour_pixels(chart, html.VMS_COLOUR) > 1000
