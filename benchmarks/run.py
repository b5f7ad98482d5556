"""Overhead benchmarks for pikos: traced time as a ratio to untraced time.

    python benchmarks/run.py --output BENCHMARKS.md [--rounds N] [--quick]
    python benchmarks/run.py --output BENCHMARKS.md --append   # add this Python

Every configuration runs in this one process, in interleaved rounds: round r
runs each configuration once, starting at a rotating offset, so that drifts
of the machine (frequency, other load) spread over all rows alike. The
report gives the minimum and the median over the rounds, and ratios to the
untraced row of the same run.

With --append, BENCHMARKS.md keeps one section per interpreter (CPython 3.11,
3.12, ...): the section of the running interpreter is replaced, others stay.

pikos is imported lazily: rows whose pikos part is missing are reported as
unavailable with the reason, and the other rows still run.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime
import gc
import importlib
import inspect
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import WORKLOADS, Workload, count_profile_events  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TITLE = "# pikos overhead benchmarks"


class Unavailable(Exception):
    """A configuration cannot run here; the message says why."""


# --- configurations ------------------------------------------------------------
#
# A configuration is set up once (raising Unavailable if it cannot run), then
# timed many times. Each timing covers exactly the traced region: installing
# the hook, the workload, and removing the hook (for pikos, the monitor's exit,
# which flushes and joins its writer).

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
    events: int  # profile events of one full-size run
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


class CProfile(Timer):
    def time(self, run: Run) -> float:
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        try:
            run()
        finally:
            profiler.disable()
        return time.perf_counter() - t0


class EmptyNativeHook(Timer):
    """pikos' empty C-level profile hook: the interpreter's own floor."""

    def __init__(self, native) -> None:
        self.enable = native.empty_hook_enable
        self.disable = native.empty_hook_disable

    def time(self, run: Run) -> float:
        t0 = time.perf_counter()
        self.enable(False)  # trace=False: a profile (call/return) hook
        try:
            run()
        finally:
            self.disable()
        return time.perf_counter() - t0


class EmptyPythonProfile(Timer):
    def time(self, run: Run) -> float:
        t0 = time.perf_counter()
        sys.setprofile(lambda f, e, a: None)
        try:
            run()
        finally:
            sys.setprofile(None)
        return time.perf_counter() - t0


class MonitorTimer(Timer):
    """A pikos-style monitor (context manager) around the workload.

    ``make(path)`` builds a fresh monitor for each timing, outside the timed
    region; ``path`` is a fresh file (unused by recorders that write none).
    """

    def __init__(
        self,
        make: Callable[[Path], object],
        name: str,
        tmpdir: Path,
        csv_out: bool,
    ) -> None:
        self.make = make
        self.name = name
        self.tmpdir = tmpdir
        self.csv_out = csv_out
        self.count = 0

    def _path(self) -> Path:
        self.count += 1
        return self.tmpdir / f"{self.name}-{self.count}.csv"

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
        if not self.csv_out:
            return
        path = self._path()
        with self.make(path):
            run()
        expected = sum(count_profile_events(run).values()) + 1
        with path.open(newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = 1 + sum(1 for _ in reader) if header is not None else 0
        size = path.stat().st_size
        path.unlink()
        verdict = "OK" if rows == expected else f"MISMATCH, expected {expected:,}"
        message = (
            f"{self.name}: the CSV file had {rows:,} rows "
            f"(header {header}), {size / 1e6:.1f} MB: {verdict}"
        )
        print("  check:", message)
        ctx.notes.append(message)


def setup_untraced(ctx: Context) -> Timer:
    return Untraced()


def setup_cprofile(ctx: Context) -> Timer:
    return CProfile()


def setup_empty_native(ctx: Context) -> Timer:
    native = import_pikos("pikos._native")
    missing = [
        name
        for name in ("empty_hook_enable", "empty_hook_disable")
        if not hasattr(native, name)
    ]
    if missing:
        raise Unavailable(f"pikos._native has no {', '.join(missing)}")
    return EmptyNativeHook(native)


def setup_empty_python(ctx: Context) -> Timer:
    return EmptyPythonProfile()


def setup_pikos_function_csv(ctx: Context) -> Timer:
    monitors = import_pikos("pikos.monitors.api")
    recorders = import_pikos("pikos.recorders.api")

    def make(path: Path):
        return monitors.FunctionMonitor(recorders.CSVFileRecorder(str(path)))

    return MonitorTimer(make, "pikos-function-csv", ctx.tmpdir, csv_out=True)


def discarding_recorder_class(recorders) -> type:
    for name in dir(recorders):
        lowered = name.lower()
        if name.endswith("Recorder") and ("discard" in lowered or "null" in lowered):
            return getattr(recorders, name)
    raise Unavailable("pikos.recorders.api has no discarding recorder")


def setup_pikos_function_discard(ctx: Context) -> Timer:
    monitors = import_pikos("pikos.monitors.api")
    recorder_class = discarding_recorder_class(import_pikos("pikos.recorders.api"))

    def make(path: Path):
        return monitors.FunctionMonitor(recorder_class())

    name = f"pikos-function-{recorder_class.__name__}"
    return MonitorTimer(make, name, ctx.tmpdir, csv_out=False)


# --- the historic reference: the original pikos, pure Python -----------------
#
# Faithful to pikos 2012-2015 (FunctionMonitor.on_function_event with a
# CSVFileRecorder): inspect.getframeinfo on every event, a namedtuple record,
# a recorder method with a filter test, and csv.writer.writerow.

HistoricFunctionRecord = namedtuple(
    "HistoricFunctionRecord", "index type function lineNo filename"
)


class HistoricCSVFileRecorder:
    def __init__(self, filename: Path, filter_=None) -> None:
        self._filename = filename
        self._filter = (lambda x: True) if filter_ is None else filter_
        self._file = None
        self._writer = None

    def prepare(self, record) -> None:
        self._file = open(self._filename, "w", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(record._fields)

    def finalize(self) -> None:
        self._file.close()

    def record(self, data) -> None:
        if self._filter(data):
            self._writer.writerow(data)


class HistoricFunctionMonitor:
    def __init__(self, recorder: HistoricCSVFileRecorder) -> None:
        self._recorder = recorder
        self._index = 0

    def __enter__(self) -> HistoricFunctionMonitor:
        self._recorder.prepare(HistoricFunctionRecord)
        sys.setprofile(self.on_function_event)
        return self

    def __exit__(self, *exc) -> None:
        sys.setprofile(None)
        self._recorder.finalize()

    def on_function_event(self, frame, event, arg) -> None:
        filename, lineno, function, _, _ = inspect.getframeinfo(frame, context=0)
        if event.startswith("c_"):
            function = arg.__name__
        record = HistoricFunctionRecord(self._index, event, function, lineno, filename)
        self._recorder.record(record)
        self._index += 1


def setup_historic_function_csv(ctx: Context) -> Timer:
    def make(path: Path):
        return HistoricFunctionMonitor(HistoricCSVFileRecorder(path))

    return MonitorTimer(make, "historic-function-csv", ctx.tmpdir, csv_out=False)


# The rows, in report order. Later workloads (line-heavy, n-body) add their
# configurations here with kinds=("line",) or both kinds.
CONFIGS: list[Config] = [
    Config("untraced", "untraced", ("function", "line"), setup_untraced),
    Config("cprofile", "cProfile", ("function",), setup_cprofile),
    Config(
        "empty-c-hook",
        "empty C-level profile hook (floor)",
        ("function",),
        setup_empty_native,
    ),
    Config(
        "empty-py-profile",
        "sys.setprofile, empty Python callback",
        ("function",),
        setup_empty_python,
    ),
    Config(
        "pikos-function-csv",
        "pikos FunctionMonitor → CSVFileRecorder",
        ("function",),
        setup_pikos_function_csv,
    ),
    Config(
        "pikos-function-discard",
        "pikos FunctionMonitor → discarding recorder",
        ("function",),
        setup_pikos_function_discard,
    ),
    Config(
        "historic-function-csv",
        "original pikos style (pure Python: getframeinfo, csv.writer)",
        ("function",),
        setup_historic_function_csv,
        divisor=20,
        slow=True,
    ),
]

# Targets checked in the report: (description, config, reference config, limit
# on config ratio / reference ratio). Later issues add theirs.
TARGETS: list[tuple[str, str, str, str, float]] = [
    (
        "issue 2",
        "call-heavy",
        "pikos-function-csv",
        "cprofile",
        1.5,
    ),
]


def import_pikos(module: str):
    try:
        return importlib.import_module(module)
    except Exception as exc:  # a half-built package can fail in many ways
        raise Unavailable(
            f"import {module} failed: {type(exc).__name__}: {exc}"
        ) from exc


# --- running -----------------------------------------------------------------


@dataclass
class Row:
    config: Config
    timer: Timer | None
    unavailable: str | None = None
    scale: float = 1.0  # full-size events / events of the run actually timed
    times: list[float] = field(default_factory=list)


def measure(
    workload: Workload, rounds: int, slow_rounds: int, tmpdir: Path, only: set[str]
) -> tuple[list[Row], Context]:
    full = workload.runner()
    events = sum(count_profile_events(full).values())
    ctx = Context(workload=workload, events=events, tmpdir=tmpdir)
    print(f"== {workload.name}: {events:,} profile events per run")

    rows: list[Row] = []
    for config in CONFIGS:
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
            small = sum(count_profile_events(runner_of(row, workload)).values())
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


# --- reporting -----------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        return "no commit yet"
    try:
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        dirty = False
    return commit + (" (uncommitted changes)" if dirty else "")


def filesystem_of(path: Path) -> str:
    """The mount type holding ``path`` (tmpfs vs disk changes the CSV rows)."""
    best, kind = "", "unknown filesystem"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and path.is_relative_to(parts[1]):
                    if len(parts[1]) >= len(best):
                        best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def pikos_version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("pikos")
    except PackageNotFoundError:
        return "not installed"


def interpreter_key() -> str:
    major, minor = sys.version_info[:2]
    return f"{platform.python_implementation().lower()}-{major}.{minor}"


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x"


def render_table(rows: list[Row], ctx: Context, rounds: int) -> list[str]:
    base = next(r for r in rows if r.config.key == "untraced")
    base_min, base_med = min(base.times), statistics.median(base.times)
    lines = [
        "| configuration | min s | median s | ratio (min) | ratio (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    footnotes = []
    for row in rows:
        label = row.config.label
        if row.unavailable is not None:
            lines.append(f"| {label} | unavailable: {row.unavailable} | | | |")
            continue
        if row.config.divisor > 1:
            mark = "†" * (len(footnotes) + 1)
            label += f" {mark}"
            footnotes.append(
                f"{mark} run on 1/{row.config.divisor} of the workload "
                f"({ctx.events / row.scale:,.0f} events) in {len(row.times)} of "
                f"{rounds} rounds; times multiplied by {row.scale:.2f} "
                "(full-size events / events run)."
            )
        lo, med = min(row.times), statistics.median(row.times)
        lines.append(
            f"| {label} | {lo:.3f} | {med:.3f} | "
            f"{ratio(lo, base_min)} | {ratio(med, base_med)} |"
        )
    lines.append("")
    lines.extend(footnotes)
    return lines


def ratios_of(rows: list[Row], key: str) -> tuple[float, float] | None:
    base = next(r for r in rows if r.config.key == "untraced")
    for row in rows:
        if row.config.key == key and row.times:
            return (
                min(row.times) / min(base.times),
                statistics.median(row.times) / statistics.median(base.times),
            )
    return None


def render_targets(rows: list[Row], workload: Workload) -> list[str]:
    lines = []
    for issue, wl_name, key, ref_key, limit in TARGETS:
        if wl_name != workload.name:
            continue
        label = next(c.label for c in CONFIGS if c.key == key)
        ref_label = next(c.label for c in CONFIGS if c.key == ref_key)
        head = f"Target ({issue}): {label} ratio within {limit}x of {ref_label}'s ratio"
        mine, ref = ratios_of(rows, key), ratios_of(rows, ref_key)
        if mine is None or ref is None:
            lines.append(f"- {head}: not measured (row unavailable).")
            continue
        rel_min, rel_med = mine[0] / ref[0], mine[1] / ref[1]
        verdict = "PASS" if rel_min <= limit else "FAIL"
        lines.append(
            f"- {head}: measured {mine[0]:.2f}x vs {ref[0]:.2f}x = "
            f"**{rel_min:.2f}x** of it on minima ({rel_med:.2f}x on medians): "
            f"**{verdict}**."
        )
    return lines


def render_section(results, rounds: int, slow_rounds: int, tmpdir: Path) -> str:
    impl = platform.python_implementation()
    command = shlex.join(["python", *sys.argv])
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lines = [
        f"<!-- pikos-bench: {interpreter_key()} -->",
        f"## {impl} {platform.python_version()}",
        "",
        f"- Command: `{command}`",
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores "
        f"({affinity} usable), {platform.system()} {platform.release()} "
        f"{platform.machine()}",
        f"- Python: {impl} {platform.python_version()} "
        f"({platform.python_compiler()}), `{sys.executable}`",
        f"- pikos: {pikos_version()}; git: {git_commit()}",
        f"- Rounds: {rounds} interleaved (slow references: {slow_rounds}); "
        "gc.collect() before each timing; time.perf_counter",
        f"- Files written to: {tmpdir} ({filesystem_of(tmpdir)})",
        f"- Peak RSS of the benchmark process: {peak_kib / 1024:.0f} MiB",
        "",
    ]
    for rows, ctx in results:
        wl = ctx.workload
        lines.append(
            f"### {wl.name}: {ctx.events:,} call/return events per run "
            "(sys.setprofile count, c_call/c_return included)"
        )
        lines.append("")
        lines.append(f"Workload: {wl.description}.")
        lines.append("")
        lines.extend(render_table(rows, ctx, rounds))
        lines.append("")
        for note in ctx.notes:
            lines.append(f"- Check: {note}")
        lines.extend(render_targets(rows, wl))
        lines.append("")
    lines.append(f"<!-- end pikos-bench: {interpreter_key()} -->")
    return "\n".join(lines) + "\n"


def write_report(path: Path, section: str, append: bool) -> None:
    header = (
        f"{TITLE}\n\n"
        "Ratio = traced time / untraced time of the same workload in the same "
        "run. Regenerate with `make bench`, or `python benchmarks/run.py "
        "--output BENCHMARKS.md --append` once per Python version "
        "(see benchmarks/README.md).\n\n"
    )
    if not append or not path.exists():
        path.write_text(header + section)
        return
    text = path.read_text()
    key = re.escape(interpreter_key())
    pattern = re.compile(
        rf"<!-- pikos-bench: {key} -->.*?<!-- end pikos-bench: {key} -->\n?",
        re.DOTALL,
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    if not text.startswith(TITLE):
        text = header + text
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write the report here")
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the other interpreters' sections of --output; replace this one's",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 11)")
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds, 1 for the slow references"
    )
    parser.add_argument(
        "--workload",
        action="append",
        choices=sorted(WORKLOADS),
        help="run only this workload (repeatable; default: all)",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        choices=[c.key for c in CONFIGS],
        help="run only this configuration (repeatable; untraced always runs)",
    )
    parser.add_argument(
        "--tmpdir", type=Path, help="where the CSV files go (default: system temp)"
    )
    args = parser.parse_args(argv)

    rounds = args.rounds or (3 if args.quick else 11)
    slow_rounds = 1 if args.quick else max(1, rounds // 3)
    if sys.getprofile() is not None or sys.gettrace() is not None:
        print("warning: a profile or trace hook is already installed", file=sys.stderr)

    results = []
    with tempfile.TemporaryDirectory(prefix="pikos-bench-", dir=args.tmpdir) as tmp:
        for name in args.workload or list(WORKLOADS):
            results.append(
                measure(
                    WORKLOADS[name], rounds, slow_rounds, Path(tmp), set(args.config)
                )
            )

    tmpdir = (args.tmpdir or Path(tempfile.gettempdir())).resolve()
    section = render_section(results, rounds, slow_rounds, tmpdir)
    print()
    print(section)
    if args.output:
        write_report(args.output, section, args.append)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
