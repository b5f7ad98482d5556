"""A long run: about 100 million function events written to a CSV file,
then to a capture, with the peak RSS of the profiled process next to the
same run untraced.  pikos' file writer recycles a fixed set of batches, so
memory must stay bounded whatever the length of the run (issue 5; issue 8
asks for at most 64 MiB above the untraced run, issue 21 the same of the
capture).  The capture is then exported to CSV (to /dev/null), timed:
issue 21 asks for 10 million events/s or more.

    python benchmarks/long_run.py --output BENCHMARKS.md --append

Each run is a child process (its ``ru_maxrss`` is its own peak).  The CSV's
rows and the capture's exported records are counted afterwards, then the
files are deleted.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from markdown_report import cpu_model, publish
from measurement import export_capture_to_csv
from workloads import WORKLOADS, count_events

HERE = Path(__file__).resolve().parent
REPEATS = 1700  # call-heavy repeats: 1,700 x 58,910 events = about 100 million
LIMIT_MIB = 64
EXPORT_TARGET = 10e6  # events/s of the capture's export to CSV (issue 21)

CHILD = """
import sys, time
sys.path.insert(0, {here!r})
from workloads import call_heavy
mode, path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.perf_counter()
if mode in ("csv", "capture"):
    from pikos.monitors.api import FunctionMonitor
    from pikos.recorders.api import CaptureRecorder, CSVFileRecorder
    recorder = CSVFileRecorder if mode == "csv" else CaptureRecorder
    with FunctionMonitor(recorder(path)):
        call_heavy(repeats)
else:
    call_heavy(repeats)
elapsed = time.perf_counter() - start
# VmHWM: this process image's own peak (ru_maxrss would carry the parent's
# peak over the exec).
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(elapsed, peak)
"""


def child(mode: str, path: Path, repeats: int) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of one child run (Linux: /proc)."""
    code = CHILD.format(here=str(HERE))
    done = subprocess.run(
        [sys.executable, "-c", code, mode, str(path), str(repeats)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, peak = done.stdout.split()
    return float(seconds), int(peak)


def count_rows(path: Path) -> int:
    rows = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 24):
            rows += chunk.count(b"\n")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write the section here")
    parser.add_argument(
        "--append", action="store_true", help="replace only this section"
    )
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--tmpdir", type=Path, help="where the CSV and the capture go")
    args = parser.parse_args(argv)

    workload = WORKLOADS["call-heavy"]
    # partial, not a lambda: no frame of its own (the child calls the
    # workload directly too).
    one = count_events(workload, functools.partial(workload.func, 1))
    two = count_events(workload, functools.partial(workload.func, 2))
    events = one + (two - one) * (args.repeats - 1)  # the loop's own events once
    with tempfile.TemporaryDirectory(prefix="pikos-long-", dir=args.tmpdir) as tmp:
        path = Path(tmp) / "long.csv"
        plain_s, plain_kib = child("untraced", path, args.repeats)
        traced_s, traced_kib = child("csv", path, args.repeats)
        size = path.stat().st_size
        rows = count_rows(path) - 1  # the header
        path.unlink()
        capture = Path(tmp) / "long.pikos"
        capture_s, capture_kib = child("capture", capture, args.repeats)
        capture_size = capture.stat().st_size
        start = time.perf_counter()
        records = export_capture_to_csv(capture, os.devnull)
        export_s = time.perf_counter() - start
    over = (traced_kib - plain_kib) / 1024
    verdict = "PASS" if over <= LIMIT_MIB else "FAIL"
    check = "one per event" if rows == events else f"MISMATCH: {events:,} events"
    capture_over = (capture_kib - plain_kib) / 1024
    capture_verdict = "PASS" if capture_over <= LIMIT_MIB else "FAIL"
    capture_check = (
        "one per event" if records == events else f"MISMATCH: {events:,} events"
    )
    export_rate = events / export_s
    export_verdict = "PASS" if export_rate >= EXPORT_TARGET else "FAIL"
    key = "long-run-" + "{}.{}".format(*sys.version_info[:2])
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = "\n".join(
        [
            f"<!-- pikos-bench: {key} -->",
            f"## Long run: {events / 1e6:.0f} million events to a CSV file "
            f"and to a capture (Python {sys.version.split()[0]})",
            "",
            "- Command: `python benchmarks/long_run.py` (run by `make bench`)",
            f"- Date: {date}; machine: {cpu_model()}, {os.cpu_count()} cores",
            f"- Workload: call-heavy x {args.repeats} ({events:,} call/return events), "
            "FunctionMonitor → CSVFileRecorder, then → CaptureRecorder, each run "
            "a child process",
            "",
            "| run | seconds | peak RSS (MiB) |",
            "|---|---:|---:|",
            f"| untraced | {plain_s:.1f} | {plain_kib / 1024:.1f} |",
            f"| pikos FunctionMonitor → CSVFileRecorder | {traced_s:.1f} | "
            f"{traced_kib / 1024:.1f} |",
            f"| pikos FunctionMonitor → CaptureRecorder | {capture_s:.1f} | "
            f"{capture_kib / 1024:.1f} |",
            "",
            f"- The CSV file: {rows:,} rows ({check}), {size / 1e9:.2f} GB.",
            f"- Peak RSS above the untraced run: {over:.1f} MiB (at most "
            f"{LIMIT_MIB} MiB: **{verdict}**); batches are recycled, so it does "
            "not grow with the run.",
            f"- The capture: {capture_size:,} bytes, "
            f"{capture_size / events:.2f} bytes/event; exported to CSV "
            f"(`pikos export --format csv`, to {os.devnull}): {records:,} records "
            f"({capture_check}) in {export_s:.1f} s.",
            f"- Peak RSS of the capture run above the untraced run: "
            f"{capture_over:.1f} MiB (at most {LIMIT_MIB} MiB: **{capture_verdict}**).",
            f"- Export of the capture to CSV: {export_rate / 1e6:.1f}M events/s "
            f"(at least {EXPORT_TARGET / 1e6:g}M: **{export_verdict}**).",
            "",
            f"<!-- end pikos-bench: {key} -->",
            "",
        ]
    )
    publish(section, args.output, args.append, key=key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
