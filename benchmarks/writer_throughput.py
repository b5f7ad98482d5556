"""Throughput of pikos' CSV writer, from the Rust benchmark
``crates/pikos-core/benches/csv_writer.rs``, as a section of BENCHMARKS.md.

    python benchmarks/writer_throughput.py --output BENCHMARKS.md --append

It runs ``cargo bench -p pikos-core --bench csv_writer`` (release build, best
of 5 rounds of 2M records per record kind) and checks the target of issue 5:
at least 10 M records/s.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
from pathlib import Path

from markdown_report import cpu_model, publish

ROOT = Path(__file__).resolve().parent.parent
KEY = "csv-writer"
TARGET = 10.0  # M records/s
COMMAND = ["cargo", "bench", "-q", "-p", "pikos-core", "--bench", "csv_writer"]
LINE = re.compile(
    r"^(?P<what>.+?)\s+(?P<kind>FunctionMemory|LineMemory|Function|Line)\s+"
    r"(?P<rate>[\d.]+) M records/s\s+(?P<mbs>\d+) MB/s"
)


def measure() -> list[dict[str, str]]:
    done = subprocess.run(COMMAND, cwd=ROOT, capture_output=True, text=True, check=True)
    rows = [m.groupdict() for m in map(LINE.match, done.stdout.splitlines()) if m]
    if not rows:
        raise SystemExit(
            f"no results in the output of {' '.join(COMMAND)}:\n{done.stdout}"
        )
    return rows


def render(rows: list[dict[str, str]]) -> str:
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"<!-- pikos-bench: {KEY} -->",
        "## CSV writer throughput (Rust, no Python)",
        "",
        f"- Command: `{' '.join(COMMAND)}` "
        "(via `python benchmarks/writer_throughput.py`)",
        f"- Date: {date}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores",
        "- Data: 2,000,000 records per kind from 40 code objects of 60 source lines "
        "(half with commas or quotes); best of 5 rounds (3 for the file)",
        "- *encode*: `Pipeline::events` into memory, the writer thread's work; "
        "*push + FileSink*: the hook-side push, batches over the channel, the writer "
        "thread, `write` to /dev/null",
        "",
        "| path | record kind | M records/s | MB/s |",
        "|---|---|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['what']} | {row['kind']} | {row['rate']} | {row['mbs']} |"
        )
    slowest = min(rows, key=lambda row: float(row["rate"]))
    verdict = "PASS" if float(slowest["rate"]) >= TARGET else "FAIL"
    lines += [
        "",
        f"- Target (issue 5): at least {TARGET:.0f} M records/s: slowest measured "
        f"{slowest['rate']} M records/s ({slowest['what']}, {slowest['kind']}): "
        f"**{verdict}**.",
        "",
        f"<!-- end pikos-bench: {KEY} -->",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write the section here")
    parser.add_argument(
        "--append", action="store_true", help="replace only this section of --output"
    )
    args = parser.parse_args(argv)
    section = render(measure())
    publish(section, args.output, args.append, key=KEY)
    return 0


if __name__ == "__main__":
    sys.exit(main())
