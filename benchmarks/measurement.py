"""Measurement for the overhead benchmarks (run.py): a configuration's
setup and timer, the untraced baseline, the timer of a monitor around the
workload (with its one-off CSV check and file size per event), and the
interleaved rounds that time every row.

A configuration is set up once (raising Unavailable if it cannot run), then
timed many times. Each timing covers exactly the traced region: installing
the hook, the workload, and removing the hook (for pikos, the monitor's exit,
which flushes and joins its writer).
"""

from __future__ import annotations

import csv
import gc
import importlib
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workloads import (
    Workload,
    count_events,
)


class Unavailable(Exception):
    """A configuration cannot run here; the message says why."""


Run = Callable[[], object]


@dataclass
class Config:
    key: str
    label: str
    kinds: tuple[str, ...]  # the workload kinds this configuration applies to
    setup: Callable[[Context], Timer]
    # Slow references run a scaled-down workload (1/divisor) in fewer rounds;
    # their times are scaled back up by the ratio of event counts.
    divisor: int = 1
    slow: bool = False


@dataclass
class Context:
    workload: Workload
    events: int  # events of one full-size run (profile, or trace line events)
    tmpdir: Path
    notes: list[str] = field(default_factory=list)


class Timer:
    """Times one run of the workload under a configuration."""

    def time(self, run: Run) -> float:
        raise NotImplementedError

    def check(self, run: Run, ctx: Context) -> None:
        """Optional one-off sanity check, outside the timings."""


class Untraced(Timer):
    def time(self, run: Run) -> float:
        t0 = time.perf_counter()
        run()
        return time.perf_counter() - t0


def all_events(run: Run, ctx: Context) -> int:
    """Expected CSV data rows: one per event of the workload's kind."""
    return count_events(ctx.workload, run)


def no_events(run: Run, ctx: Context) -> int:
    """Expected CSV data rows of a focused monitor outside its focus."""
    return 0


class MonitorTimer(Timer):
    """A pikos-style monitor (context manager) around the workload.

    ``make(path)`` builds a fresh monitor for each timing, outside the timed
    region; ``path`` is a fresh file (unused by recorders that write none).
    ``expect(run, ctx)``, if given, is the number of data rows the CSV file
    must have, checked once; that run also gives the file's size per event
    (``bytes_per_event``, shown beside the row).  With ``capture``, the file
    is a capture (``.pikos``): its size is what is reported, and the rows
    are counted in its export to CSV.
    """

    def __init__(
        self,
        make: Callable[[Path], object],
        name: str,
        tmpdir: Path,
        expect: Callable[[Run, Context], int] | None = None,
        capture: bool = False,
    ) -> None:
        self.make = make
        self.name = name
        self.tmpdir = tmpdir
        self.expect = expect
        self.capture = capture
        self.count = 0
        self.bytes_per_event: float | None = None

    def _path(self) -> Path:
        self.count += 1
        suffix = ".pikos" if self.capture else ".csv"
        return self.tmpdir / f"{self.name}-{self.count}{suffix}"

    def time(self, run: Run) -> float:
        path = self._path()
        monitor = self.make(path)
        t0 = time.perf_counter()
        with monitor:
            run()
        elapsed = time.perf_counter() - t0
        path.unlink(missing_ok=True)
        return elapsed

    def check(self, run: Run, ctx: Context) -> None:
        if self.expect is None:
            return
        path = self._path()
        with self.make(path):
            run()
        size = path.stat().st_size if path.exists() else 0
        if self.capture and path.exists():
            capture, path = path, path.with_suffix(".csv")
            export_capture_to_csv(capture, path)
            capture.unlink()
        header, rows, own = count_csv_rows(path)
        path.unlink(missing_ok=True)
        rows += header is not None
        events = self.expect(run, ctx)
        expected = events + 1 + own
        verdict = "OK" if rows == expected else f"MISMATCH, expected {expected:,}"
        own_note = (
            f", {own} of them lines of the benchmark's own with block" if own else ""
        )
        per_event = ""
        if events:
            self.bytes_per_event = size / events
            per_event = f", {self.bytes_per_event:.2f} bytes/event"
        kind = "capture, exported to CSV," if self.capture else "CSV file"
        message = (
            f"{self.name}: the {kind} had {rows:,} row{'s' * (rows != 1)} "
            f"(header {header}{own_note}), {size / 1e3:,.1f} kB{per_event}: {verdict}"
        )
        print("  check:", message)
        ctx.notes.append(message)


def count_csv_rows(path: Path) -> tuple[list[str] | None, int, int]:
    """(header, data rows, rows of the benchmark's own frames) of a CSV file.

    A C-level trace hook also sees the lines of the benchmark's own frames
    inside the with block (the call of run() and the exit, and a wrapper's
    __enter__/__exit__ such as pikos_rows.HookBackend); a sys.settrace count
    does not, so rows from those files are counted apart."""
    header, rows, own = None, 0, 0
    if path.exists():
        with path.open(newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            where = header.index("filename") if "filename" in (header or ()) else -1
            for record in reader:
                if where >= 0 and is_harness(record[where]):
                    own += 1
                rows += 1
    return header, rows, own


def export_capture_to_csv(capture: Path, output: Path | str) -> int:
    """Export ``capture`` to CSV at ``output`` (``pikos export --format
    csv``); returns the records read."""
    native = import_pikos("pikos._native")
    encoder = import_pikos("pikos.recorders.csv_recorder").csv_encoder({})
    return native.export_capture(str(capture), str(output), encoder)["records"]


HERE = Path(__file__).resolve().parent
_HARNESS: dict[str, bool] = {}


def is_harness(filename: str) -> bool:
    """Whether ``filename`` is one of the benchmark's own files (any but the
    workloads)."""
    known = _HARNESS.get(filename)
    if known is None:
        path = Path(filename).resolve()
        known = _HARNESS[filename] = path.parent == HERE and path.name != "workloads.py"
    return known


def setup_untraced(ctx: Context) -> Timer:
    return Untraced()


def import_pikos(module: str):
    try:
        return importlib.import_module(module)
    except Exception as exc:  # a half-built package can fail in many ways
        raise Unavailable(
            f"import {module} failed: {type(exc).__name__}: {exc}"
        ) from exc


EVENT_NAMES = {"function": "call/return events", "line": "line events"}


# --- running -----------------------------------------------------------------


@dataclass
class Row:
    config: Config
    timer: Timer | None
    unavailable: str | None = None
    scale: float = 1.0  # full-size events / events of the run actually timed
    times: list[float] = field(default_factory=list)


def measure(
    configs: list[Config],
    workload: Workload,
    rounds: int,
    slow_rounds: int,
    tmpdir: Path,
    only: set[str],
) -> tuple[list[Row], Context]:
    """Time the rows of ``configs`` that apply to ``workload`` (only those
    keyed in ``only`` when given, and the untraced baseline)."""
    full = workload.runner()
    events = count_events(workload, full)
    ctx = Context(workload=workload, events=events, tmpdir=tmpdir)
    print(f"== {workload.name}: {events:,} {EVENT_NAMES[workload.kind]} per run")

    rows: list[Row] = []
    for config in configs:
        if workload.kind not in config.kinds:
            continue
        if only and config.key not in only and config.key != "untraced":
            continue
        try:
            timer = config.setup(ctx)
        except Unavailable as exc:
            print(f"  {config.key}: unavailable: {exc}")
            rows.append(Row(config, None, unavailable=str(exc)))
            continue
        row = Row(config, timer)
        if config.divisor > 1:
            small = count_events(workload, runner_of(row, workload))
            row.scale = events / small
        rows.append(row)

    # One untimed warm-up of each row (imports, caches, first file creation),
    # then the one-off checks.
    for row in rows:
        if row.timer is not None:
            run = runner_of(row, workload)
            guarded(row, row.timer.time, run)
            if row.timer is not None:
                guarded(row, row.timer.check, run, ctx)

    slow_every = max(1, -(-rounds // max(1, slow_rounds)))  # ceil division
    for r in range(rounds):
        active = [row for row in rows if row.timer is not None]
        if not active:
            break
        shift = r % len(active)
        ran_before = {row.config.key: len(row.times) for row in active}
        for row in active[shift:] + active[:shift]:
            if row.config.slow and (r % slow_every or len(row.times) >= slow_rounds):
                continue
            run = runner_of(row, workload)
            gc.collect()
            elapsed = guarded(row, row.timer.time, run)
            if elapsed is not None:
                row.times.append(elapsed * row.scale)
        summary = "  ".join(
            f"{row.config.key}={row.times[-1]:.3f}"
            for row in active
            if len(row.times) > ran_before[row.config.key]
        )
        print(f"  round {r + 1}/{rounds}: {summary}", flush=True)
    return rows, ctx


def guarded(row: Row, action: Callable[..., float | None], *args) -> float | None:
    """Call ``action(*args)`` for ``row``; a failure drops the row, not the run."""
    try:
        result = action(*args)
    except Exception as exc:
        reason = f"failed: {type(exc).__name__}: {exc}"
    else:
        if sys.getprofile() is None and sys.gettrace() is None:
            return result
        reason = "failed: left a profile or trace hook installed"
    sys.setprofile(None)
    sys.settrace(None)
    row.timer, row.unavailable, row.times = None, reason, []
    print(f"  {row.config.key}: {reason}", flush=True)
    return None


def runner_of(row: Row, workload: Workload) -> Run:
    return workload.runner(row.config.divisor)


def peak_rss_mib() -> float:
    """The peak RSS of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
