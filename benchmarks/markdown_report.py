"""The markdown of the overhead benchmarks: one section per interpreter
in BENCHMARKS.md (the machine, the tables of ratios, the checks and the
targets), written or replaced in place (``publish``; long_run.py and
writer_throughput.py publish theirs through it too).
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

from measurement import EVENT_NAMES, Context, Row, peak_rss_mib
from workloads import (
    SMOKE,
    Workload,
)

REPO = Path(__file__).resolve().parent.parent
TITLE = "# pikos overhead benchmarks"


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


EVENT_COUNTS = {
    "function": "sys.setprofile count, c_call/c_return included",
    "line": "sys.settrace count, every frame traced",
}


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x"


def render_table(rows: list[Row], ctx: Context, rounds: int) -> list[str]:
    base = next(r for r in rows if r.config.key == "untraced")
    base_min, base_med = min(base.times), statistics.median(base.times)
    # The file size per event, for the rows whose check measured one.
    sizes = {row.config.key: bytes_per_event(row) for row in rows}
    size_column = any(size is not None for size in sizes.values())
    lines = [
        "| configuration | min s | median s | ratio (min) | ratio (median) |"
        + (" bytes/event |" if size_column else ""),
        "|---|---:|---:|---:|---:|" + ("---:|" if size_column else ""),
    ]
    footnotes = []
    for row in rows:
        label = row.config.label
        size = sizes[row.config.key]
        size_cell = (f" {size:.2f} |" if size is not None else " |") * size_column
        if row.unavailable is not None:
            lines.append(
                f"| {label} | unavailable: {row.unavailable} | | | |" + size_cell
            )
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
            f"{ratio(lo, base_min)} | {ratio(med, base_med)} |" + size_cell
        )
    lines.append("")
    lines.extend(footnotes)
    return lines


def bytes_per_event(row: Row) -> float | None:
    """The size per event of the file ``row`` wrote in its check, if any."""
    return getattr(row.timer, "bytes_per_event", None)


def ratios_of(rows: list[Row], key: str) -> tuple[float, float] | None:
    base = next(r for r in rows if r.config.key == "untraced")
    for row in rows:
        if row.config.key == key and row.times:
            return (
                min(row.times) / min(base.times),
                statistics.median(row.times) / statistics.median(base.times),
            )
    return None


def render_targets(
    rows: list[Row], workload: Workload, targets: list, configs: list
) -> list[str]:
    """The lines of ``targets`` (run.py's Target) that apply to ``workload``
    on this Python, each with its verdict; rows are named by ``configs``."""
    lines = []
    version = "{}.{}".format(*sys.version_info[:2])
    for target in targets:
        if target.workload != workload.name:
            continue
        if target.pythons and version not in target.pythons:
            continue
        label = next(c.label for c in configs if c.key == target.key)
        if target.form == "size":
            lines.append(render_size_target(rows, target, label))
            continue
        ref_label = next(c.label for c in configs if c.key == target.reference)
        if target.form == "faster":
            head = (
                f"Target ({target.issue}): {label} at least {target.limit:g}x "
                f"faster than {ref_label} (reference ratio / this ratio)"
            )
        else:
            head = (
                f"Target ({target.issue}): {label} ratio within {target.limit:g}x "
                f"of {ref_label}'s ratio"
            )
        mine = ratios_of(rows, target.key)
        ref = ratios_of(rows, target.reference)
        if mine is None or ref is None:
            lines.append(f"- {head}: not measured (row unavailable).")
            continue
        measured = f"measured {mine[0]:.2f}x vs {ref[0]:.2f}x"
        if target.form == "faster":
            rel_min, rel_med = ref[0] / mine[0], ref[1] / mine[1]
            verdict = "PASS" if rel_min >= target.limit else "FAIL"
            result = f"**{rel_min:.1f}x** faster on minima ({rel_med:.1f}x on medians)"
        else:
            rel_min, rel_med = mine[0] / ref[0], mine[1] / ref[1]
            verdict = "PASS" if rel_min <= target.limit else "FAIL"
            result = f"**{rel_min:.2f}x** of it on minima ({rel_med:.2f}x on medians)"
        lines.append(f"- {head}: {measured} = {result}: **{verdict}**.")
    # What any monitor reading fresh memory per event can reach at best.
    floor = ratios_of(rows, "empty-c-trace-memory")
    historic = ratios_of(rows, "historic-line-memory-csv")
    if floor is not None and historic is not None:
        lines.append(
            f"- Ceiling, for reference: an empty trace hook that only reads "
            f"`/proc/self/statm` at each line ({floor[0]:.2f}x) is already only "
            f"{historic[0] / floor[0]:.1f}x faster than the original-style "
            f"reference ({historic[0]:.2f}x); a fresh memory reading per event "
            f"cannot do better than that here."
        )
    return lines


def render_size_target(rows: list[Row], target, label: str) -> str:
    """The line of a "size" target: the row's file, in bytes per event."""
    head = f"Target ({target.issue}): {label} file at most {target.limit:g} bytes/event"
    size = next((bytes_per_event(r) for r in rows if r.config.key == target.key), None)
    if size is None:
        return f"- {head}: not measured (row unavailable)."
    verdict = "PASS" if size <= target.limit else "FAIL"
    return (
        f"- {head}: measured {size:.2f} bytes/event (at most {target.limit:g}): "
        f"**{verdict}**."
    )


def render_section(
    results, rounds: int, slow_rounds: int, tmpdir: Path, targets: list, configs: list
) -> str:
    impl = platform.python_implementation()
    command = shlex.join(["python", *sys.argv])
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
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
        f"- Peak RSS of the benchmark process: {peak_rss_mib():.0f} MiB",
    ]
    if SMOKE:
        lines.append(
            "- **Smoke run** (PIKOS_BENCH_SMOKE=1): shrunk workloads, the numbers "
            "mean nothing"
        )
    lines.append("")
    for rows, ctx in results:
        wl = ctx.workload
        lines.append(
            f"### {wl.name}: {ctx.events:,} {EVENT_NAMES[wl.kind]} per run "
            f"({EVENT_COUNTS[wl.kind]})"
        )
        lines.append("")
        lines.append(f"Workload: {wl.description}.")
        lines.append("")
        lines.extend(render_table(rows, ctx, rounds))
        lines.append("")
        for note in ctx.notes:
            lines.append(f"- Check: {note}")
        lines.extend(render_targets(rows, wl, targets, configs))
        lines.append("")
    lines.append(f"<!-- end pikos-bench: {interpreter_key()} -->")
    return "\n".join(lines) + "\n"


def write_report(
    path: Path, section: str, append: bool, key: str | None = None
) -> None:
    """Write ``section`` to ``path``; with ``append``, replace only the
    section marked ``key`` (default: this interpreter's) and keep the rest."""
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
    key = re.escape(key or interpreter_key())
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


def publish(
    section: str, output: Path | None, append: bool, key: str | None = None
) -> None:
    """Print ``section``, and write it to ``output`` when given (see
    :func:`write_report`)."""
    print(section)
    if output:
        write_report(output, section, append, key)
        print(f"wrote {output}")
