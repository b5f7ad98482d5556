"""The product's main job, as ``make demo`` runs it: the seeds' mandelbrot
example under ``pikos-run line_memory ... --recording csv
--focused-on=mandelbrot``, then ``pikos plot``."""

import csv
import inspect
import struct
import subprocess
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mandelbrot_set_example.py"
BIN = Path(sys.executable).parent


def run(*args, cwd):
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def mandelbrot_lines():
    """Line numbers and source of the body of ``mandelbrot``."""
    source = EXAMPLE.read_text().splitlines()
    start = next(i for i, s in enumerate(source) if s.startswith("def mandelbrot"))
    end = next(i for i, s in enumerate(source) if "return divtime" in s)
    body = {}
    for number in range(start + 2, end + 2):  # 1-based, after the docstring
        text = source[number - 1]
        if text.strip() and not text.strip().startswith(('"""', "#")):
            body[number] = text
    return body


def test_demo_records_every_line_of_mandelbrot_and_plots_them(tmp_path):
    plain = run(sys.executable, EXAMPLE, cwd=tmp_path)
    result = run(
        BIN / "pikos-run",
        "line_memory",
        EXAMPLE,
        "--recording",
        "csv",
        "--focused-on=mandelbrot",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain.stdout  # the example's own output, unchanged
    assert "never diverged" in result.stdout

    with open(tmp_path / "monitor_records.csv", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["index", "function", "lineNo", "RSS", "VMS", "line", "filename"]
    records = rows[1:]
    assert [int(r[0]) for r in records] == list(range(len(records)))
    assert {r[1] for r in records} == {"mandelbrot"}
    assert {r[6] for r in records} == {str(EXAMPLE)}
    body = mandelbrot_lines()
    for _, _, line_no, rss, vms, line, _ in records:
        assert body[int(line_no)] == line
        assert 0 < int(rss) <= int(vms)
    # 4 set-up lines, 20 iterations of the loop header and its 5 statements,
    # the loop's last test and the return: 126 records.
    loop = [n for n, s in body.items() if s.strip().startswith("for ")][0]
    assert sum(1 for r in records if int(r[2]) == loop) == 21
    assert len(records) == 4 + 20 * 6 + 2

    plot = run(
        BIN / "pikos", "plot", "monitor_records.csv", "-o", "memory.png", cwd=tmp_path
    )
    assert plot.returncode == 0, plot.stderr
    assert plot.stdout.startswith(f"wrote memory.png ({len(records)} records, RSS ")
    png = (tmp_path / "memory.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", png[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (800, 450)
    assert struct.unpack(">I", png[29:33])[0] == zlib.crc32(png[12:29])


def test_example_runs_on_its_own():
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("mandelbrot_set_example", EXAMPLE)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    image = module.mandelbrot(40, 40, maxit=5)
    assert image.shape == (40, 40)
    assert image.min() >= 0 and image.max() == 5
    assert list(inspect.signature(module.mandelbrot).parameters) == ["h", "w", "maxit"]
