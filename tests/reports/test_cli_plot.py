"""``pikos plot``: a memory monitor's CSV drawn as PNG, SVG or PDF."""

import csv
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib

import matplotlib
import numpy as np
import pytest
from pikos.cli import plot
from pikos.monitors.api import LineMemoryMonitor
from pikos.recorders.api import CSVFileRecorder
from pikos.reports import memory_csv as csv_reader

MB = 2**20
LINE_HEADER = ["index", "function", "lineNo", "RSS", "VMS", "line", "filename"]
SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_csv(path, rss, vms=None, header=LINE_HEADER):
    """A line memory monitor's CSV at ``path``, one row per value of
    ``rss``."""
    vms = vms if vms is not None else [value * 4 for value in rss]
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for index, (r, v) in enumerate(zip(rss, vms, strict=True)):
            writer.writerow([index, "f", 10 + index, r, v, "x = [1, 2]", "a, b.py"])
    return path


@pytest.fixture
def memory_csv(tmp_path):
    return write_csv(tmp_path / "memory.csv", [10 * MB, 30 * MB, 20 * MB])


def run(capsys, *argv):
    status = plot.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_error(err, *names):
    """``err`` is one ``pikos plot: error:`` line naming each of ``names``."""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("pikos plot: error: "), err
    assert "Traceback" not in err
    for name in names:
        assert str(name) in err


def png_size(path):
    """The width and height in the IHDR chunk of the PNG at ``path``,
    checking its signature and CRC."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    chunk = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert crc == zlib.crc32(kind + chunk)
    return struct.unpack(">II", chunk[:8])


def svg_root(path):
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return root


def svg_texts(root):
    return ["".join(text.itertext()).strip() for text in root.iter(f"{SVG}text")]


# Outputs


def test_png_is_800_by_450(memory_csv, tmp_path, capsys):
    output = tmp_path / "out.png"
    status, out, err = run(capsys, memory_csv, "-o", output)
    assert (status, err) == (0, "")
    assert out == f"wrote {output} (3 records, RSS 10.0..30.0 MiB)\n"
    assert png_size(output) == (800, 450)


def test_default_output_replaces_the_suffix(memory_csv, capsys):
    status, out, _ = run(capsys, memory_csv)
    output = memory_csv.with_suffix(".png")
    assert status == 0
    assert out.startswith(f"wrote {output} (3 records")
    assert png_size(output) == (800, 450)


def test_svg_keeps_text_and_size(memory_csv, tmp_path, capsys):
    output = tmp_path / "out.svg"
    assert run(capsys, memory_csv, "-o", output)[0] == 0
    root = svg_root(output)
    assert (root.get("width"), root.get("height")) == ("576pt", "324pt")
    assert any(True for _ in root.iter(f"{SVG}path"))
    texts = svg_texts(root)
    assert "RSS (MiB)" in texts
    assert "record index" in texts
    assert "Memory of memory.csv" in texts
    assert "VMS" not in texts


def test_vms_adds_a_second_line_with_a_legend(memory_csv, tmp_path, capsys):
    output = tmp_path / "out.svg"
    status, _, _ = run(capsys, memory_csv, "-o", output, "--vms", "--title", "Peak")
    assert status == 0
    texts = svg_texts(svg_root(output))
    assert {"RSS", "VMS", "Peak"} <= set(texts)


def test_pdf(memory_csv, tmp_path, capsys):
    output = tmp_path / "out.PDF"  # the extension's case does not matter
    assert run(capsys, memory_csv, "-o", output)[0] == 0
    assert output.read_bytes().startswith(b"%PDF")


def test_leaves_matplotlib_settings_alone(memory_csv, tmp_path, capsys):
    before = matplotlib.rcParams["svg.fonttype"]
    assert run(capsys, memory_csv, "-o", tmp_path / "out.svg")[0] == 0
    assert matplotlib.rcParams["svg.fonttype"] == before


def test_csv_of_a_real_line_memory_monitor(tmp_path, capsys):
    path = tmp_path / "lines.csv"

    def allocate():
        numbers = [float(i) for i in range(50_000)]
        return len(numbers)

    with LineMemoryMonitor(CSVFileRecorder(str(path))):
        allocate()
    with open(path, newline="", encoding="utf-8") as stream:
        records = len(list(csv.reader(stream))) - 1
    assert records > 0

    status, out, err = run(capsys, path, "--vms")
    assert (status, err) == (0, "")
    assert out.startswith(f"wrote {tmp_path / 'lines.png'} ({records} records, RSS ")
    assert png_size(tmp_path / "lines.png") == (800, 450)


def test_large_csv_is_decimated(tmp_path, capsys):
    rows = 300_000
    rss = [20 * MB + (i % 1000) * 1024 for i in range(rows)]
    rss[123_457] = 99 * MB  # a one-record peak
    path = write_csv(tmp_path / "big.csv", rss)
    status, out, err = run(capsys, path)
    assert (status, err) == (0, "")
    assert out == f"wrote {tmp_path / 'big.png'} (300000 records, RSS 20.0..99.0 MiB)\n"
    assert png_size(tmp_path / "big.png") == (800, 450)


def scan_rss(values):
    rows = ([str(i), str(v)] for i, v in enumerate(values))
    return csv_reader.scan(["index", "RSS"], rows, needed=("index", "RSS"))


def test_decimation_keeps_the_ends_and_the_extremes():
    # The plot draws what pikos report draws: the one rule of memory_csv.
    values = np.random.default_rng(1).integers(0, 1000, 1_000_003).tolist()
    values[777_777] = 5000
    values[3] = -5
    shown = scan_rss(values).rss.x
    assert len(shown) <= 2 * csv_reader.MAX_BUCKETS + 2
    assert shown[0] == 0 and shown[-1] == len(values) - 1
    assert np.all(np.diff(shown) > 0)
    assert {3, 777_777} <= set(shown)
    assert scan_rss(values[:1000]).rss.x == list(range(1000))


def test_umbrella_command(memory_csv, tmp_path):
    output = tmp_path / "out.svg"
    done = subprocess.run(
        [sys.executable, "-m", "pikos", "plot", str(memory_csv), "-o", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"wrote {output} (3 records, RSS 10.0..30.0 MiB)\n"
    assert svg_root(output).get("width") == "576pt"


def test_help(capsys):
    status, out, _ = run(capsys, "-h")
    assert status == 0
    assert out.startswith("usage: pikos plot")


# Errors


def test_unsupported_extension(memory_csv, tmp_path, capsys):
    output = tmp_path / "out.jpg"
    status, out, err = run(capsys, memory_csv, "-o", output)
    assert (status, out) == (2, "")
    assert_error(err, output, "'.jpg'", ".png, .svg, .pdf")
    assert not output.exists()


def test_unknown_option(memory_csv, capsys):
    status, _, err = run(capsys, memory_csv, "--bogus")
    assert status == 2
    assert_error(err, "--bogus")


@pytest.mark.parametrize("module", ["matplotlib", "numpy"])
def test_matplotlib_missing(memory_csv, monkeypatch, capsys, module):
    monkeypatch.setitem(sys.modules, module, None)
    status, out, err = run(capsys, memory_csv)
    assert (status, out) == (1, "")
    assert err == (
        "pikos plot: error: matplotlib is needed to plot: pip install 'pikos[plot]'\n"
    )
    assert not memory_csv.with_suffix(".png").exists()


def test_missing_csv(tmp_path, capsys):
    path = tmp_path / "absent.csv"
    status, _, err = run(capsys, path)
    assert status == 2
    assert_error(err, path, "No such file or directory")


def test_csv_is_a_directory(tmp_path, capsys):
    status, _, err = run(capsys, tmp_path, "-o", tmp_path / "out.png")
    assert status == 2
    assert_error(err, tmp_path)


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="Linux /proc")
def test_unreadable_csv(tmp_path, capsys):
    # Opens, then every read fails (EIO), even for root.
    status, _, err = run(capsys, "/proc/self/mem", "-o", tmp_path / "out.png")
    assert status == 2
    assert_error(err, "/proc/self/mem", "cannot read")


def test_output_directory_missing(memory_csv, tmp_path, capsys):
    output = tmp_path / "nowhere" / "out.png"
    status, _, err = run(capsys, memory_csv, "-o", output)
    assert status == 2
    assert_error(err, output)


def test_empty_csv(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, path, "empty file, no header")


def test_function_record_csv_has_no_rss(tmp_path, capsys):
    path = tmp_path / "calls.csv"
    path.write_text("index,type,function,lineNo,filename\n0,call,f,1,a.py\n")
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(
        err,
        path,
        "no RSS column: not a memory monitor's CSV "
        "(header: index,type,function,lineNo,filename)",
    )


def test_vms_needs_a_vms_column(tmp_path, capsys):
    path = tmp_path / "rss.csv"
    path.write_text("index,RSS\n0,1024\n")
    assert run(capsys, path)[0] == 0
    status, _, err = run(capsys, path, "--vms")
    assert status == 1
    assert_error(err, path, "no VMS column")


def test_header_only(tmp_path, capsys):
    path = write_csv(tmp_path / "header.csv", [])
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, path, "no records to plot")
    assert not (tmp_path / "header.png").exists()


def test_non_integer_rss(tmp_path, capsys):
    path = write_csv(tmp_path / "bad.csv", [MB, "12.5MB", MB])
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, path, "line 3", "RSS is not an integer: '12.5MB'")


def test_short_row(tmp_path, capsys):
    path = tmp_path / "short.csv"
    path.write_text("index,function,lineNo,RSS,VMS\n0,f,1,1024,4096\n1,f\n")
    status, _, err = run(capsys, path)
    assert status == 1
    assert_error(err, path, "line 3", "no RSS value")
